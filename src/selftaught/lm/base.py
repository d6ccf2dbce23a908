"""The small backend interface: a request in, completions with usage out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Usage:
    """What model calls cost. Adds up with `+`."""

    calls: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            samples=self.samples + other.samples,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            seconds=self.seconds + other.seconds,
        )

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Request:
    """Everything that determines a response, for one prompt and `n` samples."""

    system: str
    user: str
    n: int = 1
    temperature: float = 0.7
    max_tokens: int = 1024
    seed: int | None = None
    """Base seed; sample i uses seed + i where the backend is seedable."""


@dataclass(frozen=True)
class Completion:
    """One sample: its text and what producing it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


@dataclass
class Reply:
    """The answer to a request: `n` completions and the wall time they took."""

    completions: list[Completion] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def usage(self) -> Usage:
        return Usage(
            calls=1,
            samples=len(self.completions),
            prompt_tokens=sum(c.prompt_tokens for c in self.completions),
            completion_tokens=sum(c.completion_tokens for c in self.completions),
            seconds=self.seconds,
        )


class Backend(Protocol):
    """A model behind one method. Adapters stay thin; policy lives in the session."""

    name: str
    """The model string that chose this backend, e.g. `local:smollm2`."""

    def complete(self, request: Request) -> Reply:
        """Return exactly `request.n` completions, or raise."""
        ...
