"""The errors selftaught raises on purpose, in one hierarchy, all defined here.

    SelftaughtError
    ├── UserError              bad input: one line, fit to show as is (the CLI: exit 2)
    │   ├── ConfigError        a setting, preset, config file or model string that cannot work
    │   ├── TaskError          a task that is unknown or does not work
    │   ├── ProgramError       a program, solution or improver that cannot be read or run
    │   └── RunDirError        a folder that is not a run this version can read or continue
    ├── BudgetExhausted        a model call past an improver's call budget
    ├── LanguageModelError     a model call that failed (after retries)
    │   └── StreamEnded        a replay asked for more samples of a message than were drawn
    ├── TransientError         one attempt of a model request worth retrying (rate limit, 5xx)
    └── ModelCallFailed        a model request that failed for good, as the backends say it

    RunHalted (a BaseException: improvers cannot catch it) ends a whole run cleanly
    ├── SpendingCapReached     the run's token or money cap is reached
    ├── UnrecordedRequest      a replay asked for something the recorded run never asked
    ├── ModelUnavailable       the model server failed a call's whole retry budget
    └── StorageFull            no space where the run writes (defined in store/faults.py,
                               beside the disk checks that raise it)

`BudgetExhausted` and `LanguageModelError` are also what an improver sees, by the same
names, in its sandbox worker (`language_model` raises them there). Outside this module
only exceptions that never leave their module are defined: the sandbox wire's
`sandbox.protocol.ProtocolError` and private ones that carry control flow (`_Name`).

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


class BudgetExhausted(SelftaughtError):
    """A model call past the improver's call budget (the paper's behaviour: it raises)."""


class LanguageModelError(SelftaughtError):
    """A model call failed: the backend did not answer it (after its retries)."""


class StreamEnded(LanguageModelError):
    """A replayed run asked for more samples of a message than the recorded run drew (its
    drawing again stopped there, on a failure): the replay stops drawing there too."""


class TransientError(SelftaughtError):
    """A failure worth retrying: a rate limit, a timeout, a 5xx, a dropped connection."""

    def __init__(self, message: str, *, retry_after: float | None = None, sent: bool = True):
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the server asked us to wait (`Retry-After`), if it said."""
        self.sent = sent
        """Whether the request reached the server (a refused connection did not)."""


class ModelCallFailed(SelftaughtError):
    """A call that finally failed, after retries, with a reason fit to show the improver."""

    def __init__(
        self, message: str, *, sent: bool = True, attempts: int = 1, transient: bool = False
    ):
        super().__init__(message)
        self.sent = sent
        """Whether any attempt reached the server; an unsent call costs no budget."""
        self.attempts = attempts
        self.transient = transient
        """Every attempt failed in a way worth retrying: the retry budget ran out."""


class RunHalted(BaseException):  # noqa: N818 - like KeyboardInterrupt, it ends the run
    """Ends the whole run cleanly: it passes through the improvers' error handling (it is
    not an `Exception`) so that nothing more is spent; the command line records it."""

    status = "stopped"
    exit_code = 0
    """The process's exit code when this ends a run (see docs/scaling.md, exit codes)."""


EXIT_RESUMABLE = 75
"""Exit code of a run stopped by a fault outside it (model server gone, disk full):
fix the cause, then `selftaught resume` (75 is EX_TEMPFAIL, "try again later")."""


class SpendingCapReached(RunHalted):
    """The run's cap on tokens or money is reached. Resume it with a higher cap."""


class UnrecordedRequest(RunHalted):
    """A replayed run asked for something the recorded run never asked."""

    status = "failed"
    exit_code = 1


class ModelUnavailable(RunHalted):
    """The model server failed every attempt of a call's retry budget: an outage, not a
    bad answer. The run stops (resumable) rather than record a run of failed calls."""

    exit_code = EXIT_RESUMABLE
