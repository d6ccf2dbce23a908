"""Downstream tasks: the shown utility text, a seed solution, seeded instances, a scorer."""

from selftaught.tasks.base import SPLITS, Instance, Task
from selftaught.tasks.grid import StringGridDistance
from selftaught.tasks.loader import check_seed, load_task_file
from selftaught.tasks.lpn import LearningParityWithNoise
from selftaught.tasks.maxcut import MaxCut
from selftaught.tasks.parity import ParityWithoutNoise
from selftaught.tasks.qap import ModifiedQuadraticAssignment
from selftaught.tasks.registry import TASKS, TRANSFER_TASKS, all_tasks, get_task
from selftaught.tasks.sat import ThreeSat

__all__ = [
    "SPLITS",
    "TASKS",
    "TRANSFER_TASKS",
    "Instance",
    "LearningParityWithNoise",
    "MaxCut",
    "ModifiedQuadraticAssignment",
    "ParityWithoutNoise",
    "StringGridDistance",
    "Task",
    "ThreeSat",
    "all_tasks",
    "check_seed",
    "get_task",
    "load_task_file",
]
