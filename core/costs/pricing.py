"""Model prices and exact cost calculation (pure: no I/O, no clock).

Prices are USD per 1M tokens. A call's cost is computed exactly with ``Decimal``, rounded
half-even to the nano-dollar (1e-9 USD), and every sum is kept in integer nano-dollars so it
never drifts; floats appear only at the edge (the ``cost`` written to disk and returned).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Literal, NamedTuple

from core.costs.nanos import NANOS_PER_USD, nanos_to_usd, usd_to_nanos

if TYPE_CHECKING:  # only the annotation: pricing stays importable without pydantic
    from core.config import Price


Resolution = Literal["exact", "family", "unpriced"]

_MILLION = Decimal(1_000_000)
_NANO = Decimal(NANOS_PER_USD)
#: Families in lookup order; a model id containing the word falls back to its row.
FAMILIES = ("opus", "sonnet", "haiku")
CACHE_READ_FACTOR = Decimal("0.1")
CACHE_WRITE_FACTOR = Decimal("1.25")

# Suffixes and prefixes that name the same model: a release date, "-latest", a provider's
# version tag (Bedrock "-v2:0", Vertex "@20241022") and a provider prefix ("us.anthropic.").
_DATE_SUFFIX = re.compile(r"(?:-\d{8}|@\d{8}|-latest)$")
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
_PROVIDER_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic[./]")


@dataclass(frozen=True, slots=True)
class PriceRow:
    """USD per 1M tokens for the four kinds of token."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    @classmethod
    def of(
        cls,
        input: float | str | Decimal,
        output: float | str | Decimal,
        cache_read: float | str | Decimal | None = None,
        cache_write: float | str | Decimal | None = None,
    ) -> PriceRow:
        """A row; cache prices default to 0.1x (read) and 1.25x (write) the input price."""
        inp = _dec(input)
        return cls(
            inp,
            _dec(output),
            inp * CACHE_READ_FACTOR if cache_read is None else _dec(cache_read),
            inp * CACHE_WRITE_FACTOR if cache_write is None else _dec(cache_write),
        )


def _dec(value: float | str | Decimal) -> Decimal:
    # repr() of a float is its shortest round-trip decimal: 0.3 stays 0.3, not 0.299999...
    return (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else value)
    )


_SONNET = ("3", "15", "0.3", "3.75")
_OPUS = ("15", "75", "1.5", "18.75")
BUILTIN_PRICES: dict[str, PriceRow] = {
    "haiku": PriceRow.of("0.25", "1.25"),
    "sonnet": PriceRow.of("3", "15"),
    "opus": PriceRow.of("15", "75"),
    "claude-3-haiku": PriceRow.of("0.25", "1.25", "0.03", "0.30"),
    "claude-3-5-haiku": PriceRow.of("0.80", "4.00", "0.08", "1.00"),
    "claude-haiku-4-5": PriceRow.of("1.00", "5.00", "0.10", "1.25"),
    "claude-3-5-sonnet": PriceRow.of(*_SONNET),
    "claude-3-7-sonnet": PriceRow.of(*_SONNET),
    "claude-sonnet-4": PriceRow.of(*_SONNET),
    "claude-sonnet-4-5": PriceRow.of(*_SONNET),
    "claude-3-opus": PriceRow.of(*_OPUS),
    "claude-opus-4": PriceRow.of(*_OPUS),
    "claude-opus-4-1": PriceRow.of(*_OPUS),
    "claude-opus-4-5": PriceRow.of("5.00", "25.00", "0.50", "6.25"),
}


def normalise_model_id(model: str) -> str:
    """The id a price row is keyed by: lower case, without date, version or provider parts."""
    key = _PROVIDER_PREFIX.sub("", model.strip().lower())
    for _ in range(2):  # "-20241022-v2:0" and "-v2@20241022" alike
        key = _DATE_SUFFIX.sub("", _VERSION_SUFFIX.sub("", key))
    return key


def family_of(model: str) -> str | None:
    """``opus``, ``sonnet`` or ``haiku`` when the id names one, else None."""
    lower = model.lower()
    for family in FAMILIES:
        if family in lower:
            return family
    return None


class Usage(NamedTuple):
    """Token counts of one call; ``input`` excludes cache tokens (the Anthropic form).

    A named tuple: built and hashed (the price cache's key) in C, a fifth of the time of a
    frozen dataclass on every ``track_cost``."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    #: A tokens-only call: priced as half input, half output exactly.
    split_half: bool = False

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_write


def split_tokens_used(tokens_used: int) -> Usage:
    """A bare token count split 50/50 between input and output.

    The cost is exact (``tokens_used / 2`` at each price); for the
    recorded integer counts the odd token goes to the input side, so totals stay exact.
    """
    half = tokens_used // 2
    return Usage(input=tokens_used - half, output=half, split_half=True)


def cost_nanos(row: PriceRow, usage: Usage) -> int:
    """The exact cost of ``usage`` at ``row``, rounded half-even to a nano-dollar."""
    if usage.split_half:
        total = usage.input + usage.output
        usd = Decimal(total) * (row.input + row.output) / 2
    else:
        usd = Decimal(usage.input) * row.input + Decimal(usage.output) * row.output
    usd += Decimal(usage.cache_read) * row.cache_read
    usd += Decimal(usage.cache_write) * row.cache_write
    nanos = (usd * _NANO / _MILLION).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(nanos)


class PriceTable:
    """The built-in rows overridden and extended by ``[pricing.<id-or-family>]`` config."""

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self.rows: dict[str, PriceRow] = dict(BUILTIN_PRICES)
        for key, price in (overrides or {}).items():
            self.rows[key.strip().lower()] = PriceRow.of(
                price.input, price.output, price.cache_read, price.cache_write
            )
        self._cache: dict[str, tuple[PriceRow | None, Resolution]] = {}
        # The last few calls priced: ingestion prices a call for its execution and again for
        # its cost entry (exact Decimal arithmetic is the costly part).
        self._costs: dict[tuple[str, Usage], int] = {}
        # (model, input, output, cache read, cache write) -> (nanos, resolution): ``plain``'s
        self._plain: dict[tuple[str, int, int, int, int], tuple[int, Resolution]] = {}

    def resolve(self, model: str) -> tuple[PriceRow | None, Resolution]:
        """The row for ``model`` and how it was found: exact id, family, or unpriced."""
        hit = self._cache.get(model)
        if hit is not None:
            return hit
        raw = model.strip().lower()
        row = self.rows.get(raw) or self.rows.get(normalise_model_id(model))
        found: tuple[PriceRow | None, Resolution]
        if row is not None:
            found = (row, "exact")
        else:
            family = family_of(model)
            found = (self.rows[family], "family") if family in self.rows else (None, "unpriced")
        if len(self._cache) < 10_000:
            self._cache[model] = found
        return found

    def cost_nanos(self, model: str, usage: Usage) -> int:
        """Exact cost in nano-dollars; ValueError naming the model when it has no price."""
        key = (model, usage)
        nanos = self._costs.get(key)
        if nanos is not None:
            return nanos
        row, _ = self.resolve(model)
        if row is None:
            raise ValueError(
                f"model {model!r} has no price: add [pricing.{model}] to werkpilot.toml "
                "or pass cost="
            )
        nanos = cost_nanos(row, usage)
        if len(self._costs) >= 4096:
            self._costs.clear()
        self._costs[key] = nanos
        return nanos

    def plain(
        self, model: str, input: int, output: int, cache_read: int, cache_write: int
    ) -> tuple[int, Resolution] | None:
        """``(cost_nanos(model, Usage(...)), resolve(model)[1])`` of plain counts, or None
        for an unpriced model: what the ledger's plain lane asks on every entry, in one call
        (an ArithmeticError as ``cost_nanos`` raises it)."""
        key = (model, input, output, cache_read, cache_write)
        hit = self._plain.get(key)
        if hit is not None:
            return hit
        row, how = self.resolve(model)
        if row is None:
            return None
        found = (self.cost_nanos(model, Usage(input, output, cache_read, cache_write)), how)
        if len(self._plain) >= 4096:
            self._plain.clear()
        self._plain[key] = found
        return found


__all__ = [
    "BUILTIN_PRICES",
    "NANOS_PER_USD",
    "PriceRow",
    "PriceTable",
    "Resolution",
    "Usage",
    "cost_nanos",
    "family_of",
    "nanos_to_usd",
    "normalise_model_id",
    "split_tokens_used",
    "usd_to_nanos",
]
