"""Model settings: how to reach the model, how hard to push it, what a run may spend.

In a TOML config they live under `[lm]`; flags (`--base-url`, ...) override them.
"""

from __future__ import annotations

from decimal import Decimal

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
