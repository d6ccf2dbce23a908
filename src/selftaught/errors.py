"""The errors selftaught raises on purpose, in one hierarchy.

    SelftaughtError
    ├── UserError              bad input: one line, fit to show as is (the CLI: exit 2)
    │   ├── ConfigError        a setting, preset, config file or model string that cannot work
    │   ├── TaskError          a task that is unknown or does not work
    │   ├── ProgramError       a program, solution or improver that cannot be read or run
    │   └── RunDirError        a folder that is not a run this version can read or continue
    └── BudgetExceeded         a model call past an improver's budget (inside improver runs)

The public functions (`selftaught.improve`, `run`, ...) raise only `UserError`s for bad
input. A run that the model's spending caps, a replay, a model outage or a full disk
stop ends cleanly with its status recorded (`RunResult.status`, `RunResult.exit_code`),
not with an exception (inside, `RunHalted` carries it out); Ctrl-C is `KeyboardInterrupt`.
"""


class SelftaughtError(Exception):
    """Base of the errors selftaught raises on purpose."""


class UserError(SelftaughtError):
    """Bad input from the user: a config, a model string, a file. Printed as one line."""


class ConfigError(UserError):
    """A setting, preset, config file or model string that cannot work."""


class TaskError(UserError):
    """A task that is unknown, or a task file or object that does not work."""


class ProgramError(UserError):
    """A program, solution or improver that cannot be read or cannot run."""


class RunDirError(UserError):
    """A folder that is not a run directory this version can read or continue."""


class BudgetExceeded(SelftaughtError):
    """A model call past the improver's call budget (the paper's behaviour: it raises)."""


class RunHalted(BaseException):  # noqa: N818 - like KeyboardInterrupt, it ends the run
    """Ends the whole run cleanly: it passes through the improvers' error handling (it is
    not an `Exception`) so that nothing more is spent; the command line records it."""

    status = "stopped"
    exit_code = 0
    """The process's exit code when this ends a run (see docs/scaling.md, exit codes)."""


EXIT_RESUMABLE = 75
"""Exit code of a run stopped by a fault outside it (model server gone, disk full):
fix the cause, then `selftaught resume` (75 is EX_TEMPFAIL, "try again later")."""
