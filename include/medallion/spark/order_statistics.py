"""Exact order statistics and quantiles of a numeric Spark column (the median, RFM score cut-offs, percentiles).

Money quantiles must round half-up to the cent from their exact value: Spark's ``percentile``
returns a double (20.005 arrives as 20.004999…), so the values at the wanted ranks are read and
interpolated in ``Decimal`` here instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def order_statistics(values: DataFrame, column: str,
                     ranks: Callable[[Column], Sequence[Column]]) -> tuple[int, Callable[[int], Any]]:
    """Values of a numeric column at chosen 0-based ranks of its ascending order, in one Spark action.

    A group-by counts each distinct value, a running sum over the values in order gives each
    value's rank range ``[end - count, end)``, and only the rows holding a wanted rank reach the
    driver (Spark's ``percentile`` keeps every distinct value in a per-task hash map and was 2-3x
    slower on 10M money values). Nulls in ``column`` are ignored.

    Args:
        values: any DataFrame.
        column: an integer or decimal column.
        ranks: given the count ``n`` of non-null values (a bigint Column), the wanted ranks as
            integer Columns in ``[0, n)``.

    Returns:
        ``(n, at)``: ``at(rank)`` is the value at that rank, for the wanted ranks only (a
        ``Decimal`` for a decimal column, an ``int`` for an integer one); ``n`` is 0 when there
        is no value.
    """
    counts = values.where(F.col(column).isNotNull()).groupBy(column).agg(F.count(F.lit(1)).alias("_n"))
    running = Window.orderBy(column).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    ranked = counts.select(column, "_n", F.sum("_n").over(running).alias("_end"),
                           F.sum("_n").over(Window.partitionBy()).alias("_total"))
    holds = [(F.col("_end") - F.col("_n") <= rank) & (rank < F.col("_end")) for rank in ranks(F.col("_total"))]
    rows = ranked.where(reduce(lambda a, b: a | b, holds, F.lit(False))).select(column, "_end", "_total").collect()
    if not rows:
        return 0, lambda rank: None
    ends = sorted((int(row["_end"]), row[column]) for row in rows)

    def at(rank: int) -> Any:
        return next(value for end, value in ends if rank < end)

    return int(rows[0]["_total"]), at


def quantile_ranks(levels: Sequence[float]) -> Callable[[Column], list[Column]]:
    """The ranks :func:`interpolated` reads for ``levels`` (``floor(h)`` and the next one)."""
    def ranks(total: Column) -> list[Column]:
        wanted = []
        for level in levels:
            low = F.floor((total - 1) * F.lit(Decimal(str(level))))
            wanted += [low, F.least(low + 1, total - 1)]
        return wanted
    return ranks


def interpolated(total: int, at: Callable[[int], Any], levels: Sequence[float]) -> list[Decimal | None]:
    """Quantiles at ``levels`` from the order statistics read with :func:`quantile_ranks`."""
    if total == 0:
        return [None] * len(levels)
    result = []
    for level in levels:
        position = (total - 1) * Decimal(str(level))
        low = int(position)  # floor: position >= 0
        lower, upper = Decimal(at(low)), Decimal(at(min(low + 1, total - 1)))
        result.append(lower + (position - low) * (upper - lower))
    return result


def exact_quantiles(values: DataFrame, column: str, levels: Sequence[float]) -> list[Decimal | None]:
    """Exact quantiles of a numeric column with linear interpolation (numpy/pandas ``linear``).

    For ``n`` non-null values sorted ascending (0-based ranks), the quantile at level ``q`` is
    ``v[lo] + (h - lo) * (v[lo + 1] - v[lo])`` with ``h = (n - 1) * q`` and ``lo = floor(h)``
    (Hyndman & Fan type 7), computed in ``Decimal``, so it is exact for decimal and integer
    columns. One Spark action (:func:`order_statistics`).

    Args:
        values: any DataFrame; nulls in ``column`` are ignored.
        column: an integer or decimal column.
        levels: quantile levels in [0, 1].

    Returns:
        One ``Decimal`` per level (same order), or ``None`` for every level when there is no value.
    """
    return interpolated(*order_statistics(values, column, quantile_ranks(levels)), levels)

