"""STOP itself: the seed improver, the meta-utility and the self-improvement loop."""

from selftaught.stop.adoption import Decision, decide, should_adopt
from selftaught.stop.context import Progress, RunContext, Scope
from selftaught.stop.evaluation import MetaEvaluation
from selftaught.stop.loop import Iteration, run_stop
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.seed_improver import meta_utility_text, seed_improver
from selftaught.stop.solutions import Evaluation, SolutionScorer

__all__ = [
    "Decision",
    "Evaluation",
    "Iteration",
    "MetaEvaluation",
    "MetaUtility",
    "Progress",
    "RunContext",
    "Scope",
    "SolutionScorer",
    "decide",
    "meta_utility_text",
    "run_stop",
    "seed_improver",
    "should_adopt",
]
