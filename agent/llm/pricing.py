"""Cost of a call from a per-model price table that tenants can override."""

from __future__ import annotations

from collections.abc import Mapping

from agent.llm.types import Price, Usage

DEFAULT_PRICES: dict[str, Price] = {
    # USD per million tokens (input, output); list prices, override per tenant as needed.
    "gpt-4o": Price(input_per_mtok=2.5, output_per_mtok=10.0),
    "gpt-4o-mini": Price(input_per_mtok=0.15, output_per_mtok=0.6),
    "gpt-4.1": Price(input_per_mtok=2.0, output_per_mtok=8.0),
    "gpt-4.1-mini": Price(input_per_mtok=0.4, output_per_mtok=1.6),
    "gpt-4.1-nano": Price(input_per_mtok=0.1, output_per_mtok=0.4),
    "text-embedding-3-small": Price(input_per_mtok=0.02, output_per_mtok=0.0),
    "text-embedding-3-large": Price(input_per_mtok=0.13, output_per_mtok=0.0),
    "claude-3-5-haiku-latest": Price(input_per_mtok=0.8, output_per_mtok=4.0),
    "claude-haiku-4-5": Price(input_per_mtok=1.0, output_per_mtok=5.0),
    "claude-sonnet-4-5": Price(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-opus-4-1": Price(input_per_mtok=15.0, output_per_mtok=75.0),
    "gemini-2.5-flash": Price(input_per_mtok=0.3, output_per_mtok=2.5),
    "gemini-2.5-flash-lite": Price(input_per_mtok=0.1, output_per_mtok=0.4),
    "gemini-2.5-pro": Price(input_per_mtok=1.25, output_per_mtok=10.0),
    "text-embedding-004": Price(input_per_mtok=0.0, output_per_mtok=0.0),
    "gemini-embedding-001": Price(input_per_mtok=0.15, output_per_mtok=0.0),
    "extractive": Price(input_per_mtok=0.0, output_per_mtok=0.0),
}


def find_price(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price of ``model``: tenant override, then exact default, then longest prefix."""
    for table in (overrides or {}, DEFAULT_PRICES):
        if model in table:
            return table[model]
    bare = model.removeprefix("models/")
    for table in (overrides or {}, DEFAULT_PRICES):
        matches = [name for name in table if bare.startswith(name)]
        if matches:
            return table[max(matches, key=len)]
    return None


def cost_usd(model: str, usage: Usage, overrides: Mapping[str, Price] | None = None) -> float | None:
    """Cost of ``usage`` on ``model`` in USD, ``None`` when the price is unknown."""
    price = find_price(model, overrides)
    if price is None:
        return None
    total = usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok
    return round(total / 1_000_000, 10)
