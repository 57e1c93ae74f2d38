"""Pricing: the seed's family prices, real model ids with cache tokens, overrides, exactness."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.config import Price
from core.costs.pricing import (
    BUILTIN_PRICES,
    PriceTable,
    Usage,
    cost_nanos,
    normalise_model_id,
    split_tokens_used,
    usd_to_nanos,
)

TABLE = PriceTable()


def usd(model: str, **tokens: int) -> Decimal:
    """Cost in USD as an exact Decimal (nano-dollars / 1e9)."""
    return Decimal(TABLE.cost_nanos(model, Usage(**tokens))) / Decimal(10**9)


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        ("haiku", Decimal("0.0005") + Decimal("0.0025")),  # 2000 in x 0.25 + 2000 out x 1.25
        ("sonnet", Decimal("0.006") + Decimal("0.03")),
        ("opus", Decimal("0.03") + Decimal("0.15")),
    ],
)
def test_family_prices_are_the_seeds(model: str, cost: Decimal) -> None:
    assert usd(model, input=2000, output=2000) == cost
    assert TABLE.resolve(model)[1] == "exact"


def test_seed_example_sonnet_500_in_300_out() -> None:
    assert usd("sonnet", input=500, output=300) == Decimal("0.006")


@pytest.mark.parametrize(
    ("model", "row", "how"),
    [
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku", "exact"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "exact"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5", "exact"),
        ("claude-opus-4-1", "claude-opus-4-1", "exact"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5", "exact"),
        ("claude-3-haiku-20240307", "claude-3-haiku", "exact"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet", "exact"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet", "exact"),
        ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet", "exact"),
        ("Claude-Haiku-4-5", "claude-haiku-4-5", "exact"),
        ("claude-sonnet-9-experimental", "sonnet", "family"),
        ("my-opus-finetune", "opus", "family"),
        ("claude-haiku-7", "haiku", "family"),
    ],
)
def test_real_ids_resolve_to_their_row_or_family(model: str, row: str, how: str) -> None:
    found, resolution = TABLE.resolve(model)
    assert found == BUILTIN_PRICES[row]
    assert resolution == how


def test_unknown_model_is_unpriced_and_calculate_raises_naming_it() -> None:
    assert TABLE.resolve("gpt-4o") == (None, "unpriced")
    with pytest.raises(ValueError, match="gpt-4o"):
        TABLE.cost_nanos("gpt-4o", Usage(input=1))


def test_cache_tokens_are_priced_per_row() -> None:
    # claude-3-5-haiku: 0.80 in, 4.00 out, 0.08 cache read, 1.00 cache write
    got = usd(
        "claude-3-5-haiku-20241022", input=1000, output=1000, cache_read=10_000, cache_write=2000
    )
    assert got == Decimal("0.0008") + Decimal("0.004") + Decimal("0.0008") + Decimal("0.002")
    # claude-opus-4-5: 5 / 25 / 0.50 / 6.25
    assert usd("claude-opus-4-5", cache_read=1_000_000, cache_write=1_000_000) == Decimal("6.75")


def test_family_rows_derive_cache_prices_from_input() -> None:
    row = BUILTIN_PRICES["sonnet"]
    assert (row.cache_read, row.cache_write) == (Decimal("0.3"), Decimal("3.75"))
    assert usd("claude-sonnet-9", cache_read=1_000_000) == Decimal("0.3")


def test_config_overrides_and_extends_the_table() -> None:
    table = PriceTable(
        {
            "sonnet": Price(input=2.0, output=10.0),
            "gpt-4o": Price(input=2.5, output=10.0, cache_read=1.25),
            "claude-sonnet-4-5-20250929": Price(input=1.0, output=1.0, cache_read=0, cache_write=0),
        }
    )
    assert table.resolve("gpt-4o")[1] == "exact"
    assert table.cost_nanos("gpt-4o", Usage(input=1_000_000, cache_read=1_000_000)) == 3_750_000_000
    # the family row changed, so did every family fallback; the built-in exact row did not
    assert table.cost_nanos("claude-sonnet-9", Usage(input=1_000_000)) == 2_000_000_000
    assert table.cost_nanos("claude-sonnet-4-5", Usage(input=1_000_000)) == 3_000_000_000
    # an override of a dated id applies to that id only
    assert table.cost_nanos("claude-sonnet-4-5-20250929", Usage(input=1_000_000)) == 10**9


def test_tokens_only_split_fifty_fifty_with_odd_token_on_the_input_side() -> None:
    assert split_tokens_used(1000) == Usage(input=500, output=500, split_half=True)
    odd = split_tokens_used(1001)
    assert (odd.input, odd.output, odd.total) == (501, 500, 1001)
    # priced as exactly half each, as the seed computes it: 1001 x (3 + 15) / 2 per 1M
    assert cost_nanos(BUILTIN_PRICES["sonnet"], odd) == 9_009_000
    assert cost_nanos(BUILTIN_PRICES["sonnet"], split_tokens_used(1000)) == 9_000_000


def test_sub_nano_costs_round_half_even() -> None:
    table = PriceTable({"tiny": Price(input=0.0005, output=0.0015)})
    assert table.cost_nanos("tiny", Usage(input=1)) == 0  # 0.5 nano -> 0 (half even)
    assert table.cost_nanos("tiny", Usage(output=1)) == 2  # 1.5 nano -> 2
    assert table.cost_nanos("tiny", Usage(input=3)) == 2  # 1.5 nano -> 2


def test_normalise_model_id() -> None:
    assert normalise_model_id("us.anthropic.claude-opus-4-1-20250805-v1:0") == "claude-opus-4-1"


@given(
    st.sampled_from(sorted(BUILTIN_PRICES)),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
)
def test_cost_is_exact_and_additive(model: str, i: int, o: int, r: int, w: int) -> None:
    row = BUILTIN_PRICES[model]
    exact = (i * row.input + o * row.output + r * row.cache_read + w * row.cache_write) * 1000
    whole = cost_nanos(row, Usage(i, o, r, w))
    # exact, then rounded half-even to the nano-dollar (haiku's derived cache write, 0.3125
    # per 1M, is the one built-in price with a fraction of a nano-dollar per token)
    assert whole == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    parts = [Usage(i), Usage(0, o), Usage(0, 0, r), Usage(0, 0, 0, w)]
    assert abs(sum(cost_nanos(row, u) for u in parts) - whole) <= 2  # four roundings at most
    assert usd_to_nanos(whole / 1e9) == whole  # the float on disk converts back exactly
