"""Downstream tasks: the shown utility text, a seed solution, seeded instances, a scorer."""

from selftaught.tasks.base import SPLITS, Instance, Task
from selftaught.tasks.lpn import LearningParityWithNoise
from selftaught.tasks.registry import TASKS, get_task

__all__ = ["SPLITS", "TASKS", "Instance", "LearningParityWithNoise", "Task", "get_task"]
