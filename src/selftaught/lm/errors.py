"""How a model call fails, as the wrappers and the session see it."""

from __future__ import annotations

from selftaught.errors import EXIT_RESUMABLE, RunHalted


class TransientError(Exception):
    """A failure worth retrying: a rate limit, a timeout, a 5xx, a dropped connection."""

    def __init__(self, message: str, *, retry_after: float | None = None, sent: bool = True):
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the server asked us to wait (`Retry-After`), if it said."""
        self.sent = sent
        """Whether the request reached the server (a refused connection did not)."""


class ModelCallFailed(Exception):
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


__all__ = [
    "ModelCallFailed",
    "ModelUnavailable",
    "RunHalted",
    "SpendingCapReached",
    "TransientError",
    "UnrecordedRequest",
]
