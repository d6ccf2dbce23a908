"""Model settings: how to reach the model, how hard to push it, what a run may spend.

In a TOML config they live under `[lm]`; flags (`--base-url`, ...) override them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from selftaught.lm.pricing import Price


class ModelOptions(BaseModel):
    """Options every backend understands; a backend ignores those that do not apply."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    base_url: str | None = None
    """OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL,
    then the provider's own); for `anthropic:` $ANTHROPIC_BASE_URL."""
    api_key_env: str | None = None
    """Environment variable holding the key (default: OPENAI_API_KEY or ANTHROPIC_API_KEY)."""
    concurrency: int | None = Field(None, ge=1)
    """Requests in flight at once across the whole run (default: 8 remote, 1 embedded)."""
    samples_per_request: bool | None = None
    """Whether the server returns several samples per request (`n`); None: find out."""
    timeout: float = Field(120.0, gt=0)
    """Seconds to wait for one response before retrying."""
    retries: int = Field(4, ge=0)
    """Retries of a failed request (rate limit, timeout, 5xx); finite on purpose."""
    backoff: float = Field(1.0, ge=0)
    """First retry delay in seconds; it doubles each time, with jitter, at most 60 s."""
    cache: bool = True
    """Keep every answer in the run directory's cache.sqlite, so re-running or resuming a
    run in the same directory with the same seeds asks nothing twice."""
    prices: dict[str, Price] = Field(default_factory=dict)
    """Price overrides by model string, e.g. `"openai:my-model" = {input = 1, output = 2}`
    (dollars per million tokens)."""
    max_run_tokens: int | None = Field(None, ge=1)
    """Stop the run cleanly once it has used this many tokens (resumable)."""
    max_run_cost: Decimal | None = Field(None, gt=0)
    """Stop the run cleanly once it has spent this many dollars (resumable)."""
    grammar: Literal["off", "llama.cpp", "vllm"] | None = None
    """Hold generation to one fenced Python block (or to edit blocks) with a grammar.
    None: on for `local:` (llama.cpp in-process), off for servers. For an `openai:` server,
    name its kind: `llama.cpp` (the server's `grammar` field) or `vllm` (its
    `structured_outputs` grammar); hosted APIs take neither. `off`: never."""
    header: bool = True
    """Start the answer with the required function's header (the current program's
    imports and `def` line, so its name and arity), where the backend can start an answer
    (`local:`, or a server with `grammar` set)."""
    repair: bool = True
    """Trim a sample cut at the token limit, or followed by prose, to its last complete
    top-level statement before judging it unusable."""
    max_tokens: int | None = Field(None, ge=16)
    """Tokens per sample for this model, if fewer than the budget's `max_tokens`: a cheap
    local model can give more, shorter samples. None: the backend's default, 256 for the
    embedded model (`local:smollm2`), the budget's for every other."""
    stop_loops: bool = True
    """`local:` stops a sample that repeats one span of 16-48 tokens three times in a row
    (a repetition loop) instead of letting it run to the token limit; it counts as cut."""
    redraw: int | None = Field(None, ge=0)
    """Rounds of drawing a sample again when it is unusable or gives back the program
    being improved unchanged; the improver receives each message's first good draw. The
    draws cost tokens (and count in the usable share), not calls of the improver's
    budget. None: 2 for `local:`, 0 for every other backend."""
    edits: bool = False
    """Ask for search/replace blocks against the current program instead of a whole new
    program; the framework applies them and checks the result like any other answer."""
