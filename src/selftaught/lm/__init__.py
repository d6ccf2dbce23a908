"""Model backends behind one small interface, and the paper's `language_model` surface.

Light to import: the llama.cpp backend loads only when a `local:` model is made.
"""

from selftaught.errors import LanguageModelError
from selftaught.lm.base import Backend, Completion, Reply, Request, Usage
from selftaught.lm.registry import DEFAULT_MODEL, check_model_string, make_backend
from selftaught.lm.scripted import ScriptedBackend
from selftaught.lm.session import LanguageModel, ModelCall

__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "Completion",
    "LanguageModel",
    "LanguageModelError",
    "ModelCall",
    "Reply",
    "Request",
    "ScriptedBackend",
    "Usage",
    "check_model_string",
    "make_backend",
]
