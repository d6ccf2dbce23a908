"""Prices of hosted models, in US dollars per million tokens. Override them in config
(`[lm.prices]`); a model missing here has an unknown price, shown as such, never as 0."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class Price(BaseModel):
    """Dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    input: Decimal
    """Per million prompt tokens."""
    output: Decimal
    """Per million completion tokens."""

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return (self.input * prompt_tokens + self.output * completion_tokens) / 1_000_000


def _p(i: str, o: str) -> Price:
    return Price(input=Decimal(i), output=Decimal(o))


# List prices as published by the providers (2025); check before relying on them.
PRICES: dict[str, Price] = {
    "openai:gpt-4o": _p("2.50", "10"),
    "openai:gpt-4o-mini": _p("0.15", "0.60"),
    "openai:gpt-4.1": _p("2", "8"),
    "openai:gpt-4.1-mini": _p("0.40", "1.60"),
    "openai:gpt-4.1-nano": _p("0.10", "0.40"),
    "openai:gpt-4-turbo": _p("10", "30"),
    "openai:gpt-4": _p("30", "60"),
    "openai:gpt-3.5-turbo": _p("0.50", "1.50"),
    "openai:o1": _p("15", "60"),
    "openai:o3": _p("2", "8"),
    "openai:o3-mini": _p("1.10", "4.40"),
    "openai:o4-mini": _p("1.10", "4.40"),
    "anthropic:claude-opus-4-0": _p("15", "75"),
    "anthropic:claude-sonnet-4-0": _p("3", "15"),
    "anthropic:claude-3-7-sonnet-latest": _p("3", "15"),
    "anthropic:claude-3-5-sonnet-latest": _p("3", "15"),
    "anthropic:claude-3-5-haiku-latest": _p("0.80", "4"),
    "anthropic:claude-3-haiku-20240307": _p("0.25", "1.25"),
}


def listed_price(model: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price of a hosted model string, configured or listed; None when unknown. Free
    backends are priced by the backend table (`selftaught.lm.registry.price_of`)."""
    if overrides and model in overrides:
        return overrides[model]
    if model in PRICES:
        return PRICES[model]
    # Dated snapshots (gpt-4o-2024-08-06, claude-3-5-haiku-20241022) cost what their family does.
    family = max((k for k in PRICES if model.startswith(k + "-")), key=len, default=None)
    return PRICES[family] if family else None
