"""Column helpers of the Spark gold layer: exact money arithmetic, calendar labels, two-level cubes.

Decimal arithmetic notes, valid for every helper here:

* Money is ``decimal(18,2)``; sums are exact (Spark sums decimals without rounding) and cast back
  to ``decimal(18,2)`` (ANSI mode raises on overflow instead of returning wrong numbers).
* A quotient is computed with Spark's decimal division, which keeps at least 18 fractional
  digits for the operand precisions used here (``decimal(20,x) / decimal(20,y)``), then rounded
  with ``round(x, 2)``, which is HALF_UP for decimals. The exact quotient of two cent amounts is
  at least ``1 / (200 * denominator)`` away from a rounding boundary unless it is on it, far more
  than the 1e-18 truncation, so the double rounding never changes the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from medallion.contract import MONEY_PRECISION, MONEY_SCALE

MONEY = DecimalType(MONEY_PRECISION, MONEY_SCALE)
#: Operand type of exact quotients (see the module docstring).
NUM = DecimalType(20, 2)
INT = DecimalType(20, 0)

#: Trailing window of the daily moving averages, in calendar days including the day itself.
ROLLING_DAYS = 7
#: Number of countries listed in product_analytics.top_countries.
TOP_COUNTRIES = 3

PARTITION_COLUMN = "year_month"


# --- Small column helpers -------------------------------------------------------------------------

def money_sum(column: str | Column) -> Column:
    """Exact sum of a money column as ``decimal(18,2)``."""
    return F.sum(column).cast(MONEY)


def money_sum_in_cents(column: str) -> Column:
    """:func:`_money_sum` added up as integer cents (bigint), for hash aggregations.

    A hash aggregation keeps a ``decimal(18,2)`` sum in a ``decimal(28,2)`` buffer, rewritten in
    arbitrary precision at every row: per client at full size the sum took 10.7 s against 8.7 s
    in cents (7.5 s for the group-by alone). Without grouping, or in a sort aggregation, Spark's
    decimal sum was as fast or faster, so only grouped sums use this. Exact: a money value is below
    10^16 units; a sum beyond a bigint of cents raises (ANSI mode), as one beyond ``decimal(18,2)``
    does.
    """
    cents = F.sum((F.col(column) * F.lit(100)).cast("bigint"))
    return (cents.cast(INT) * F.lit(Decimal("0.01"))).cast(MONEY)


def money_avg(amount: Column, count: Column) -> Column:
    """``amount / count`` as ``decimal(18,2)``, rounded half-up to cents; null when count is 0."""
    return F.round(F.try_divide(amount.cast(NUM), count.cast(INT)), 2).cast(MONEY)


def ratio_2dp(numerator: Column, denominator: Column) -> Column:
    """``numerator / denominator`` (integers) as a double rounded half-up to 2 decimals; null on 0."""
    return F.round(F.try_divide(numerator.cast(INT), denominator.cast(INT)), 2).cast("double")


def pct(numerator: Column, denominator: Column) -> Column:
    """``100 * numerator / denominator`` as a double rounded half-up to 2 decimals.

    Both operands are money or counts; the result is null when the denominator is 0 or null.
    """
    return F.round(F.try_divide((numerator * F.lit(100)).cast(NUM), denominator.cast(NUM)), 2) \
        .cast("double")


def iso_day_of_week(day: Column) -> Column:
    """ISO weekday, Monday = 1 ... Sunday = 7 (Spark's ``dayofweek`` has Sunday = 1)."""
    return ((F.dayofweek(day) + 5) % 7 + 1).cast("int")


def padded(number: Column, digits: int) -> Column:
    """A non-negative int of at most ``digits`` digits as text, zero-padded to ``digits``.

    Used instead of ``format_string`` (a Java ``String.format`` per row: the ISO week label of 10M
    fact rows took 12.5 s with it against 4.4 s padded).
    """
    return F.lpad(number.cast("string"), digits, "0")


def year_month(day: Column) -> Column:
    """``YYYY-MM`` of a date (years 0001-9999, the dates silver can parse)."""
    return F.concat(padded(F.year(day), 4), F.lit("-"), padded(F.month(day), 2))


def iso_year_week(day: Column) -> Column:
    """``YYYY-Www``: ISO week-year (year of the week's Thursday) and ISO week number."""
    thursday = F.date_add(day, F.lit(4) - iso_day_of_week(day))
    return F.concat(padded(F.year(thursday), 4), F.lit("-W"), padded(F.weekofyear(day), 2))


def as_date(as_of: date | str) -> date:
    if isinstance(as_of, date):
        return as_of
    try:
        return date.fromisoformat(as_of)
    except ValueError as error:
        raise ValueError(f"run date must be YYYY-MM-DD, got {as_of!r}") from error




#: A grouped aggregate in two levels: (output name, partial aggregate, merge of the partials by name).
Additive = tuple[str, Column, Callable[[str], Column]]


def total(name: str, column: str) -> Additive:
    """Exact money sum of ``column`` as ``decimal(18,2)``."""
    return name, F.sum(column), money_sum


def orders(name: str) -> Additive:
    """Row count (bigint)."""
    return name, F.count(F.lit(1)), F.sum


def quantity(name: str) -> Additive:
    """Sum of ``quantity`` as bigint."""
    return name, F.sum("quantity").cast("bigint"), lambda partial: F.sum(partial).cast("bigint")


def cube(fact: DataFrame, keys: Sequence[Column], aggregates: Sequence[Additive]) -> DataFrame:
    """First level of the exact distinct-client counts: ``fact`` grouped by ``keys`` and id bucket.

    Distinct clients are counted exactly with Spark's bitmap functions: ids fall into buckets of
    32,768 consecutive values, and each (keys, bucket) group keeps one bitmap of the ids seen.
    :func:`_rollup` OR-s the bitmaps of a bucket and adds up their bit counts, so every id counts
    once at any coarser grouping. On the 10M-row fact table this is about twice as fast as
    ``countDistinct``, whose first level groups by every (key, id_client) pair, and one cube
    serves several tables. Spark aggregates the binary bitmap buffers with a sort-based
    aggregate, so most of a cube's time is sorting the fact rows by its keys, not reading them.

    Returns:
        One row per (keys, bucket): the key columns (by their names/aliases), ``_bucket``, ``_ids``
        (bitmap) and one partial column per aggregate.
    """
    bucket = F.bitmap_bucket_number("id_client").alias("_bucket")
    return fact.groupBy(*keys, bucket).agg(
        F.bitmap_construct_agg(F.bitmap_bit_position("id_client")).alias("_ids"),
        *[partial.alias(name) for name, partial, _ in aggregates])


def rollup(cube: DataFrame, keys: Sequence[Column], aggregates: Sequence[Additive]) -> DataFrame:
    """A :func:`_cube` rolled up to ``keys`` (expressions over its key columns).

    Returns:
        One row per key: the key columns, ``unique_customers`` bigint (exact distinct
        ``id_client``), then one column per aggregate, merged from the cube's partials (sums of
        sums, min of mins...).
    """
    per_bucket = cube.groupBy(*keys, "_bucket").agg(
        F.bitmap_or_agg("_ids").alias("_ids"), *[merge(name).alias(name) for name, _, merge in aggregates])
    names = per_bucket.columns[:len(keys)]
    return per_bucket.groupBy(*names).agg(
        F.sum(F.bitmap_count("_ids")).cast("bigint").alias("unique_customers"),
        *[merge(name).alias(name) for name, _, merge in aggregates])

