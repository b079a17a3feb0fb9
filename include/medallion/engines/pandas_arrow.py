"""Arrow schemas and exact integer arithmetic shared by the pandas engine's silver and gold.

Money is handled as exact integer cents (``int64``); half-up rounding (half away from zero, like
Java's ``RoundingMode.HALF_UP`` that Spark uses) is done on integers, and cents become
``decimal128(18, 2)`` only when a table is written.
"""

from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medallion import contract as C

#: decimal(18, 2) holds at most 10**18 - 1 cents.
MAX_CENTS = 10**18 - 1

MONEY = pa.decimal128(C.MONEY_PRECISION, C.MONEY_SCALE)

_ARROW_TYPES = {"bigint": pa.int64(), "string": pa.string(), "date": pa.date32(), "int": pa.int32(),
                "decimal(18,2)": MONEY}


def silver_arrow_schema(dataset: str) -> pa.Schema:
    """Arrow schema of a silver table from :data:`medallion.contract.SILVER_SCHEMAS`."""
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in C.SILVER_SCHEMAS[dataset]])


def reject_arrow_schema(dataset: str) -> pa.Schema:
    """Arrow schema of a rejects table: the original string columns, ``source_row``, ``reason``, ``run_id``."""
    return pa.schema([(name, pa.string()) for name in C.SOURCE_COLUMNS[dataset]]
                     + [(name, _ARROW_TYPES[kind]) for name, kind in C.REJECT_EXTRA_COLUMNS])


# --- exact integer arithmetic -------------------------------------------------------------------

def div_half_up(num: np.ndarray | int, den: np.ndarray | int) -> np.ndarray:
    """``num / den`` rounded to the nearest integer, ties away from zero (Java ``HALF_UP``).

    Works element-wise on int64 arrays (``den`` > 0 required; callers mask zero denominators).
    """
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    magnitude = (2 * np.abs(num) + den) // (2 * den)
    return np.where(num < 0, -magnitude, magnitude)


def ratio_2dp(num: np.ndarray, den: np.ndarray, scale: int = 1) -> np.ndarray:
    """``scale * num / den`` rounded half-up to 2 decimals, as float64; NaN where ``den`` is 0.

    Exact: the rounding is done on the integer ``scale * 100 * num / den``. ``scale`` is 100 for
    percentages.
    """
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    safe = np.where(den == 0, 1, den)
    hundredths = div_half_up(num * (100 * scale), safe)
    return np.where(den == 0, np.nan, hundredths / 100.0)


def round_double_2dp(values: np.ndarray) -> np.ndarray:
    """Round doubles to 2 decimals, ties away from zero (as Spark's ``round``)."""
    return pc.round(pa.array(values, type=pa.float64()), ndigits=2,
                    round_mode="half_towards_infinity").to_numpy(zero_copy_only=False)


def cents_to_decimal(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """int64 cents -> ``decimal128(18, 2)`` Arrow array (exact, no Python objects)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the 128-bit two's complement value
    validity = None
    null_count = 0
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))
        null_count = int((~valid).sum())
    return pa.Array.from_buffers(MONEY, len(cents), [validity, pa.py_buffer(words)], null_count=null_count)


def decimal_to_cents(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A ``decimal128(p, 2)`` column (no nulls) -> int64 cents."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=values.type)
    if not pa.types.is_decimal128(values.type) or values.type.scale != C.MONEY_SCALE:
        raise TypeError(f"expected a decimal128(*, 2) money column, got {values.type}")
    words = np.frombuffer(values.buffers()[1], dtype=np.int64)
    return words[2 * values.offset: 2 * (values.offset + len(values))][0::2].copy()


def to_bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Arrow boolean (nulls = False) -> NumPy bool array."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def to_days(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """date32 column -> int64 days since 1970-01-01 (nulls are not expected)."""
    return np.asarray(pc.fill_null(pc.cast(values, pa.int32()), 0).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


def to_date32(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def iso_day(day: int) -> str:
    return (np.datetime64(int(day), "D")).astype(str)
