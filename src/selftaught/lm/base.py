"""The small backend interface: a request in, completions with usage out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Usage:
    """What model calls cost. Adds up with `+`."""

    calls: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: Decimal = Decimal(0)
    """Money in US dollars, for the samples whose price is known."""
    priced: bool = True
    """False once any sample of an unknown price is included: `cost` is then a lower bound."""
    cached: int = 0
    """Samples served from the response cache (no money, but still calls)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            samples=self.samples + other.samples,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            seconds=self.seconds + other.seconds,
            cost=self.cost + other.cost,
            priced=self.priced and other.priced,
            cached=self.cached + other.cached,
        )

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


DEFAULT_TEMPERATURE = 0.7
"""Sampling temperature of a call that does not set one (a run's `Budgets.temperature`)."""


@dataclass(frozen=True)
class AnswerShape:
    """What an answer must hold, for backends that can hold generation to it (a grammar)
    or start it for the model. Others ignore it."""

    form: str = "program"
    """`program`: one fenced Python block; `edits`: search/replace blocks."""
    header: str = ""
    """Text the program block starts with: the imports and the `def` line of the required
    function (its name and arity), or "" to leave the start to the model."""
    nested: bool = False
    """The required function may define functions or classes inside its body (the
    program being improved does)."""
    helpers: bool = False
    """Definitions may follow the required function at the top level (the program being
    improved has some beside it); otherwise the answer ends with the function."""
    program: str = ""
    """The program edits apply to (`edits` form): their search texts are held to runs of
    its lines."""


@dataclass(frozen=True)
class Request:
    """Everything that determines a response, for one prompt and `n` samples."""

    system: str
    user: str
    n: int = 1
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int = 1024
    seed: int | None = None
    """Base seed; sample i uses seed + i where the backend is seedable."""
    shape: AnswerShape | None = None
    """The answer's shape, where the backend can constrain or start it."""


@dataclass(frozen=True)
class Completion:
    """One sample: its text and what producing it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    cached: bool = False
    """Served from the response cache: it cost no money this time."""


MAX_PROMPT_CHARS = 400_000
"""Most characters of one prompt (its system text, or one message) a `LanguageModel` sends.
The orchestrator's own prompts hold one program (at most 100,000 characters) and
instructions; an improver's may hold anything up to its message cap (4 MB), which a
server may take minutes to read or time out on, again and again, until the run stops for
an outage: refused unsent, it costs no call of the budget (docs/security.md)."""

MAX_SAMPLE_CHARS = 200_000
"""Most characters of one sample kept (twice the longest usable program): past it a sample
is cut when it arrives, as if at the token limit (`bounded`), before anything stores it."""


def bounded(reply: Reply) -> Reply:
    """`reply` with every sample longer than `MAX_SAMPLE_CHARS` cut to it (its finish reason
    `length`, a note saying so): whatever a model or server returns, one sample costs the
    response cache and the records a bounded amount."""
    kept = []
    for completion in reply.completions:
        if len(completion.text) > MAX_SAMPLE_CHARS:
            reply.notes.append(
                f"a sample of {len(completion.text):,} characters was cut to {MAX_SAMPLE_CHARS:,}"
            )
            completion = dataclasses.replace(
                completion, text=completion.text[:MAX_SAMPLE_CHARS], finish_reason="length"
            )
        kept.append(completion)
    reply.completions = kept
    return reply


@dataclass
class Reply:
    """The answer to a request: `n` completions and the wall time they took."""

    completions: list[Completion] = field(default_factory=list)
    seconds: float = 0.0
    cost: Decimal | None = Decimal(0)
    """Money for the samples that were not cached; None when the price is unknown."""
    attempts: int = 1
    """Requests sent, counting retries."""
    notes: list[str] = field(default_factory=list)
    """Why anything unusual happened: retries, samples topped up one by one, cache hits."""

    @property
    def usage(self) -> Usage:
        return Usage(
            calls=1,
            samples=len(self.completions),
            prompt_tokens=sum(c.prompt_tokens for c in self.completions),
            completion_tokens=sum(c.completion_tokens for c in self.completions),
            seconds=self.seconds,
            cost=self.cost or Decimal(0),
            priced=self.cost is not None,
            cached=sum(c.cached for c in self.completions),
        )


class Backend:
    """A model behind one method, `complete`. Adapters subclass it and stay thin; policy
    lives in wrappers (`selftaught.lm.wrappers`) and in the session. The other members are
    what a backend may also offer; the defaults here say it offers nothing more."""

    name: str
    """The model string that chose this backend, e.g. `local:smollm2`."""
    supports_n: bool | None = True
    """Whether one request returns all `n` samples: True; False (ask for them one at a
    time); None (not known: learned from the first reply)."""
    base_url: str | None = None
    """The server it talks to, where answers depend on it (the response cache keys on it)."""
    constraints: str | None = None
    """What shapes generation beyond the request (a grammar), where anything does:
    constrained answers are cached apart from free ones."""

    @property
    def defaults_for(self) -> str:
        """The model string whose own defaults apply (tokens per sample, drawing again):
        this backend's, or for a replay the recorded run's, so it asks what was asked."""
        return self.name

    @property
    def redraws_no_value(self) -> bool:
        """Whether drawing again also replaces answers whose function returns no value
        (a rule newer than some recordings: a replay of one made before it says False,
        so it draws what the recorded run drew)."""
        return True

    def complete(self, request: Request) -> Reply:
        """Return exactly `request.n` completions, or raise."""
        raise NotImplementedError

    def check(self) -> None:
        """Fail early (`UserError`) on what cannot work: a key, the server, the model."""

    def close(self) -> None:
        """Release what the backend holds (a client, a database)."""
