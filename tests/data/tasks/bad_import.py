import numpy as np
raise ValueError("this task file is broken on purpose")
