"""The gold tables on Spark: pure transforms (DataFrames in, DataFrames out, no I/O) from silver.

Every output column, its type, unit and formula is documented once in :mod:`medallion.metrics`
(rendered to ``docs/METRICS.md``); the arithmetic helpers are :mod:`medallion.spark.gold_columns`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from medallion import contract
from medallion.contract import (
    ACTIVE_DAYS,
    DAY_NAMES,
    GOLD_TABLES,
    RFM_SCORE_MAX,
    RFM_SEGMENT_RULES,
)
from medallion.spark import gold_columns as gc
from medallion.spark import order_statistics as stats


# --- Transforms -----------------------------------------------------------------------------------

def build_fact_sales(clients: DataFrame, purchases: DataFrame) -> DataFrame:
    """Silver purchases joined to their clients, with calendar attributes.

    Args:
        clients: silver ``clients`` (``id_client`` bigint, ``name``/``email``/``country`` string,
            ``subscription_date`` date).
        purchases: silver ``purchases`` (``id_purchase``/``id_client`` bigint, ``product`` string,
            ``price``/``total`` decimal(18,2) currency units, ``quantity`` int, ``purchase_date``
            date; a ``year_month`` column, if present, is recomputed).

    Returns:
        One row per purchase (inner join: silver guarantees every purchase's client exists) with
        the columns of ``fact_sales`` in :mod:`medallion.metrics` order: the purchase and client
        columns, ``purchase_year/month/quarter/week`` int (week = ISO week),
        ``purchase_day_of_week`` int (ISO, Monday = 1), ``purchase_day_name`` string (English),
        ``year_month`` string ``YYYY-MM``, ``year_week`` string ``YYYY-Www`` (ISO week-year) and
        ``customer_tenure_days`` int (purchase_date - subscription_date in days, may be negative).
    """
    client_columns = clients.select("id_client", "name", "email", "country", "subscription_date")
    joined = purchases.drop(gc.PARTITION_COLUMN).join(client_columns, "id_client", "inner")
    day = F.col("purchase_date")
    day_names = F.array(*[F.lit(name) for name in DAY_NAMES])
    return joined.select(
        "id_purchase", "id_client", "product", "price", "quantity", "total", "purchase_date",
        "name", "email", "country", "subscription_date",
        F.year(day).alias("purchase_year"),
        F.month(day).alias("purchase_month"),
        F.quarter(day).alias("purchase_quarter"),
        F.weekofyear(day).alias("purchase_week"),
        gc.iso_day_of_week(day).alias("purchase_day_of_week"),
        F.element_at(day_names, gc.iso_day_of_week(day)).alias("purchase_day_name"),
        gc.year_month(day).alias("year_month"),
        gc.iso_year_week(day).alias("year_week"),
        F.datediff(day, F.col("subscription_date")).alias("customer_tenure_days"),
    )


def _score_ranks(*, descending: bool = False) -> Callable[[Column], list[Column]]:
    """The ranks :func:`_score` reads: ``floor(k n / S)`` for k = 1..S-1 in the score's order (S: ``RFM_SCORE_MAX``)."""
    def ranks(total: Column) -> list[Column]:
        cuts = [F.floor((total * k).cast(gc.INT) / RFM_SCORE_MAX) for k in range(1, RFM_SCORE_MAX)]
        return [total - 1 - cut for cut in cuts] if descending else cuts
    return ranks


def _score(column: str, total: int, at: Callable[[int], Any], *, descending: bool = False) -> Column:
    """``ceil(5 * cume_dist())`` of ``column`` ordered ascending (or descending), as an int Column.

    ``total`` and ``at`` are the order statistics of ``column`` read with :func:`_score_ranks`.
    With ``n`` values and ``c(v)`` the number of values ordered at or before ``v`` (its peers
    included, so ties share a score), ``ceil(5 c / n) = 1 + #{k in 1..4 : c > k n / 5}``, and
    ``c > k n / 5`` holds exactly for the values ordered at or after the one at 0-based rank
    ``floor(k n / 5)``. So four values read in one action give the score as four comparisons
    per row: no window, which meant a sort of every client in a single task per score. Integer
    arithmetic only (doubles could turn 5 x 2/5 into 2.0000000000000004 and ceil it to 3).
    The Column is ``1`` when there is no value.
    """
    if total == 0:
        return F.lit(1)
    cuts = [k * total // RFM_SCORE_MAX for k in range(1, RFM_SCORE_MAX)]
    passed = [F.col(column) <= F.lit(at(total - 1 - cut)) if descending else F.col(column) >= F.lit(at(cut))
              for cut in cuts]
    return reduce(lambda score, test: score + test.cast("int"), passed, F.lit(1))


def rfm_segment(r_score: Column, f_score: Column, m_score: Column) -> Column:
    """RFM segment name (string) from the three integer scores: the first of
    ``contract.RFM_SEGMENT_RULES`` that matches, with ``FM = round_half_up((f_score + m_score) / 2)``."""
    r = r_score
    fm = F.floor((f_score + m_score + 1) / 2)  # round_half_up of a non-negative half-integer
    segment = None
    for rule in RFM_SEGMENT_RULES:
        matches = r.between(rule.r_min, rule.r_max) & (fm >= rule.fm_min)
        segment = F.when(matches, rule.segment) if segment is None else segment.when(matches, rule.segment)
    return segment


def client_kpis(fact: DataFrame, clients: DataFrame, as_of: date | str) -> DataFrame:
    """Per-client KPIs, recency flags and RFM scores as of the run date.

    Args:
        fact: ``fact_sales`` (see :func:`build_fact_sales`); only its numeric columns are read.
        clients: silver ``clients`` the fact table was built from: ``name``, ``email``,
            ``country`` and ``subscription_date`` are joined from it by ``id_client`` (grouping
            the fact table by those strings too made it ~2.7x slower: 51 s vs 19 s at full size).
        as_of: the run date (``date`` or ``YYYY-MM-DD``), "today" for every day count.

    Returns:
        One row per client with at least one purchase, columns of ``client_kpis`` in glossary
        order: counts bigint, money decimal(18,2) currency units (averages half-up to cents),
        dates, day counts int (``customer_lifetime_days`` = as-of - first purchase,
        ``days_since_last_purchase`` = as-of - last purchase), ``purchase_frequency_per_month``
        double (total_purchases / max(lifetime_days / 30, 1), 2 decimals), ``is_active`` boolean
        (recency <= 90 days), ``is_high_value`` boolean (total_spent > median, the mean of the
        two middle values for an even count), ``r/f/m_score`` int 1-5 (ceil(5 * cume_dist), ties
        share a score) and ``rfm_segment`` string (rules in :mod:`medallion.metrics`).

        Runs four Spark actions when called: the per-client aggregates are computed once into a
        local checkpoint, then the order statistics of ``total_spent`` (its exact median and the
        m_score cut-offs, :func:`_score`), of recency and of ``total_purchases`` are read from
        it. The client attributes are joined last.

    Raises:
        ValueError: ``as_of`` is not a valid date.
    """
    today = F.lit(gc.as_date(as_of))
    per_client = fact.groupBy("id_client").agg(
        F.count(F.lit(1)).alias("total_purchases"),
        gc.money_sum_in_cents("total").alias("total_spent"),
        F.min("total").alias("min_order_value"),
        F.max("total").alias("max_order_value"),
        F.sum("quantity").cast("bigint").alias("total_quantity"),
        F.min("purchase_date").alias("first_purchase_date"),
        F.max("purchase_date").alias("last_purchase_date"),
    )
    lifetime = F.datediff(today, F.col("first_purchase_date"))
    recency = F.datediff(today, F.col("last_purchase_date"))
    kpis = per_client.select(
        "*",
        gc.money_avg(F.col("total_spent"), F.col("total_purchases")).alias("avg_order_value"),
        lifetime.alias("customer_lifetime_days"),
        recency.alias("days_since_last_purchase"),
    ).withColumn(
        # n / max(d / 30, 1) = n * 30 / d when d > 30, else n.
        "purchase_frequency_per_month",
        F.when(F.col("customer_lifetime_days") > 30,
               gc.ratio_2dp(F.col("total_purchases") * 30, F.col("customer_lifetime_days")))
        .otherwise(F.col("total_purchases").cast("double")),
    )
    # Computed once: the median and score cut-offs (actions) and the output all read these
    # 1-per-client rows instead of aggregating the fact table again.
    kpis = kpis.persist()
    median_ranks, score_ranks = stats.quantile_ranks([0.5]), _score_ranks()
    spent = stats.order_statistics(kpis, "total_spent", lambda n: [*median_ranks(n), *score_ranks(n)])
    median = stats.interpolated(*spent, [0.5])[0]
    high_value = F.lit(False) if median is None else F.col("total_spent") > F.lit(median)
    days = "days_since_last_purchase"
    r_score = _score(days, *stats.order_statistics(kpis, days, _score_ranks(descending=True)), descending=True)
    f_score = _score("total_purchases", *stats.order_statistics(kpis, "total_purchases", _score_ranks()))
    m_score = _score("total_spent", *spent)
    scored = kpis.select(
        "*",
        (F.col("days_since_last_purchase") <= ACTIVE_DAYS).alias("is_active"),
        high_value.alias("is_high_value"),
        r_score.alias("r_score"), f_score.alias("f_score"), m_score.alias("m_score"),
    )
    segment = rfm_segment(F.col("r_score"), F.col("f_score"), F.col("m_score"))
    attributes = clients.select("id_client", "name", "email", "country", "subscription_date")
    return scored.join(attributes, "id_client", "inner").select(
        "id_client", "name", "email", "country", "subscription_date", "total_purchases",
        "total_spent", "avg_order_value", "min_order_value", "max_order_value", "total_quantity",
        "first_purchase_date", "last_purchase_date", "customer_lifetime_days",
        "purchase_frequency_per_month", "days_since_last_purchase", "is_active", "is_high_value",
        "r_score", "f_score", "m_score", segment.alias("rfm_segment"),
    )




def _with_market_share(table: DataFrame, key: str, rounding: str = contract.MARKET_SHARE_ROUNDING) -> DataFrame:
    """``table`` (one row per ``key``, small) with ``market_share_pct`` of its ``total_revenue``.

    The exact share ``100 * total_revenue / total`` is rounded to 0.01 by ``rounding``
    (``contract.ROUNDING_POLICIES``): ``largest_remainder`` (Hamilton) makes the shares of the
    table add up to exactly 100.00, as the reconciliation requires (independent half-up rounding
    of the seed's 10 product shares adds up to 100.02): every share gets its exact value rounded
    down to 0.01, then the rows with the largest remainders (ties by ``key`` ascending) get 0.01
    more until the total is 100.00; ``half_up`` rounds each share on its own. A double; exact
    while the total stays below 10^12 currency units; null when the total revenue is 0.
    """
    whole = Window.partitionBy()
    # The exact share in units of 0.01 percent: 10000 * revenue / total (14 decimals kept).
    units = F.try_divide((F.col("total_revenue") * F.lit(10000)).cast(DecimalType(24, 2)),
                         F.sum("total_revenue").over(whole).cast(gc.NUM))
    staged = table.withColumn("_units", units)
    if rounding == "half_up":
        share_units = F.round("_units", 0)
    elif rounding == "largest_remainder":
        staged = staged.withColumn("_floor", F.floor("_units"))
        staged = staged.withColumn("_missing", F.lit(10000) - F.sum("_floor").over(whole)) \
            .withColumn("_rank", F.row_number().over(
                Window.orderBy((F.col("_units") - F.col("_floor")).desc(), F.col(key).asc())))
        share_units = F.col("_floor") + F.when(F.col("_rank") <= F.col("_missing"), 1).otherwise(0)
    else:
        raise ValueError(f"unknown rounding {rounding!r}; one of {', '.join(contract.ROUNDING_POLICIES)}")
    return staged.withColumn("market_share_pct",
                             F.round(share_units.cast(gc.INT) / F.lit(100), 2).cast("double")) \
        .drop("_units", "_floor", "_missing", "_rank")


def _product_aggregates() -> list[gc.Additive]:
    return [
        gc.quantity("total_quantity"),
        gc.total("total_revenue", "total"),
        gc.total("_price_sum", "price"),
        ("min_price", F.min("price"), F.min),
        ("max_price", F.max("price"), F.max),
        gc.orders("total_orders"),
    ]


def _period_aggregates() -> list[gc.Additive]:
    return [gc.total("total_revenue", "total"), gc.orders("total_orders"), gc.quantity("total_quantity")]


def product_country_cube(fact: DataFrame) -> DataFrame:
    """``fact_sales`` grouped by product, country and id bucket: the input of
    :func:`product_analytics` and :func:`country_analytics` (one scan of the fact table for both).

    Returns:
        ``product``, ``country``, ``_bucket``, ``_ids`` (bitmap of ``id_client``), partial
        ``total_quantity``, ``total_revenue``, ``_price_sum``, ``min_price``, ``max_price``,
        ``total_orders`` (see :func:`gc.cube`).
    """
    return gc.cube(fact, [F.col("product"), F.col("country")], _product_aggregates())


def day_cube(fact: DataFrame) -> DataFrame:
    """``fact_sales`` grouped by purchase date and id bucket: the input of :func:`daily_sales`,
    :func:`weekly_sales` and :func:`monthly_sales` (one scan of the fact table for the three).

    Returns:
        ``purchase_date``, ``_bucket``, ``_ids`` (bitmap of ``id_client``), partial
        ``total_revenue``, ``total_orders``, ``total_quantity`` (see :func:`gc.cube`).
    """
    return gc.cube(fact, [F.col("purchase_date")], _period_aggregates())


def product_analytics(cube: DataFrame) -> DataFrame:
    """Per-product sales.

    Args:
        cube: :func:`product_country_cube` of ``fact_sales``.

    Returns:
        One row per product: ``total_quantity_sold`` bigint, ``total_revenue`` decimal(18,2),
        ``avg_price`` decimal(18,2) (mean unit price over orders, half-up), ``min_price``,
        ``max_price`` decimal(18,2), ``total_orders`` and ``unique_customers`` bigint (exact
        distinct), ``avg_quantity_per_order`` double (2 decimals), ``market_share_pct`` double
        (100 * revenue / all revenue, 2 decimals, largest-remainder rounding: adds up to 100)
        and ``top_countries`` string (the 3 countries with the most revenue for the product,
        ties by name, joined with ", ").
    """
    by_country = cube.groupBy("product", "country").agg(gc.money_sum("total_revenue").alias("revenue"))
    rank = F.row_number().over(
        Window.partitionBy("product").orderBy(F.col("revenue").desc(), F.col("country").asc()))
    top = (by_country.withColumn("rank", rank).where(F.col("rank") <= gc.TOP_COUNTRIES)
           .groupBy("product")
           .agg(F.sort_array(F.collect_list(F.struct("rank", "country"))).alias("ranked"))
           .select("product",
                   F.array_join(F.transform("ranked", lambda item: item["country"]), ", ")
                   .alias("top_countries")))
    per_product = gc.rollup(cube, [F.col("product")], _product_aggregates())
    return _with_market_share(per_product, "product").join(top, "product", "left").select(
        F.col("product"), F.col("total_quantity").alias("total_quantity_sold"), "total_revenue",
        gc.money_avg(F.col("_price_sum"), F.col("total_orders")).alias("avg_price"),
        "min_price", "max_price", "total_orders", "unique_customers",
        gc.ratio_2dp(F.col("total_quantity"), F.col("total_orders")).alias("avg_quantity_per_order"),
        "market_share_pct", "top_countries",
    )


def country_analytics(cube: DataFrame) -> DataFrame:
    """Per-country sales (country of the client).

    Args:
        cube: :func:`product_country_cube` of ``fact_sales``.

    Returns:
        One row per country: ``total_revenue`` decimal(18,2), ``unique_customers``,
        ``total_orders``, ``total_quantity`` bigint, ``avg_order_value`` and
        ``avg_revenue_per_customer`` decimal(18,2) half-up to cents, ``market_share_pct`` double
        (100 * revenue / all revenue, 2 decimals, largest-remainder rounding: adds up to 100).
    """
    per_country = gc.rollup(cube, [F.col("country")], _period_aggregates())
    return _with_market_share(per_country, "country").select(
        "country", "total_revenue", "unique_customers", "total_orders", "total_quantity",
        gc.money_avg(F.col("total_revenue"), F.col("total_orders")).alias("avg_order_value"),
        gc.money_avg(F.col("total_revenue"), F.col("unique_customers")).alias("avg_revenue_per_customer"),
        "market_share_pct",
    )


def _period_totals(cube: DataFrame, *keys: Column) -> DataFrame:
    return gc.rollup(cube, keys, _period_aggregates())


def daily_sales(cube: DataFrame) -> DataFrame:
    """Daily sales over every calendar day from the first to the last purchase date.

    Args:
        cube: :func:`day_cube` of ``fact_sales``.

    Returns:
        ``date`` date, ``total_revenue`` decimal(18,2), ``total_orders``, ``unique_customers``,
        ``total_quantity`` bigint (zeros on days without sales), ``revenue_7day_avg``
        decimal(18,2) and ``orders_7day_avg`` double (mean over the trailing 7 calendar days
        including the day that lie in the table, i.e. pandas ``rolling(7, min_periods=1)`` on
        the gap-filled series; half-up to cents / 2 decimals), ``revenue_growth_pct`` double
        (100 * (revenue - previous day's) / previous day's, 2 decimals; null on the first day
        and after a zero day). No rows when the fact table is empty.
    """
    totals = _period_totals(cube, F.col("purchase_date").alias("date"))
    calendar = cube.agg(F.min("purchase_date").alias("first"), F.max("purchase_date").alias("last")) \
        .select(F.explode(F.sequence("first", "last", F.expr("INTERVAL 1 DAY"))).alias("date"))
    filled = calendar.join(totals, "date", "left").select(
        "date",
        F.coalesce("total_revenue", F.lit(0).cast(gc.MONEY)).alias("total_revenue"),
        F.coalesce("total_orders", F.lit(0).cast("bigint")).alias("total_orders"),
        F.coalesce("unique_customers", F.lit(0).cast("bigint")).alias("unique_customers"),
        F.coalesce("total_quantity", F.lit(0).cast("bigint")).alias("total_quantity"),
    )
    # The table is gap-filled, so the RANGE frame of 7 day numbers holds exactly the days of the
    # trailing window that exist (fewer than 7 at the start).
    trailing = Window.orderBy(F.unix_date("date")).rangeBetween(-(gc.ROLLING_DAYS - 1), 0)
    days_in_window = F.count(F.lit(1)).over(trailing)
    previous = F.lag("total_revenue").over(Window.orderBy("date"))
    return filled.select(
        "date", "total_revenue", "total_orders", "unique_customers", "total_quantity",
        gc.money_avg(F.sum("total_revenue").over(trailing).cast(gc.MONEY), days_in_window)
        .alias("revenue_7day_avg"),
        gc.ratio_2dp(F.sum("total_orders").over(trailing), days_in_window).alias("orders_7day_avg"),
        gc.pct(F.col("total_revenue") - previous, previous).alias("revenue_growth_pct"),
    )


def _previous_period(column: str, start: str, previous_start: Column) -> Column:
    """``column`` of the previous row when that row is the previous calendar period, else null."""
    ordered = Window.orderBy(start)
    return F.when(F.lag(start).over(ordered) == previous_start, F.lag(column).over(ordered))


def weekly_sales(cube: DataFrame) -> DataFrame:
    """Sales per ISO week that has sales.

    Args:
        cube: :func:`day_cube` of ``fact_sales``.

    Returns:
        ``year_week`` string ``YYYY-Www``, ``total_revenue`` decimal(18,2), ``total_orders``,
        ``unique_customers``, ``total_quantity`` bigint, ``avg_order_value`` decimal(18,2)
        (half-up), ``revenue_growth_pct`` double (vs the previous calendar ISO week, 2 decimals;
        null when that week has no sales or zero revenue).
    """
    day = F.col("purchase_date")
    week_start = F.date_sub(day, gc.iso_day_of_week(day) - 1)
    totals = _period_totals(cube, gc.iso_year_week(day).alias("year_week"), week_start.alias("_start"))
    previous = _previous_period("total_revenue", "_start", F.date_sub(F.col("_start"), 7))
    return totals.select(
        "year_week", "total_revenue", "total_orders", "unique_customers", "total_quantity",
        gc.money_avg(F.col("total_revenue"), F.col("total_orders")).alias("avg_order_value"),
        gc.pct(F.col("total_revenue") - previous, previous).alias("revenue_growth_pct"),
    )


def monthly_sales(cube: DataFrame) -> DataFrame:
    """Sales per calendar month that has sales.

    Args:
        cube: :func:`day_cube` of ``fact_sales``.

    Returns:
        ``year_month`` string ``YYYY-MM``, ``total_revenue`` decimal(18,2), ``total_orders``,
        ``unique_customers``, ``total_quantity`` bigint, ``avg_order_value`` and
        ``avg_revenue_per_customer`` decimal(18,2) (half-up), and ``revenue_growth_pct``,
        ``orders_growth_pct``, ``customers_growth_pct`` doubles (vs the previous calendar month,
        2 decimals; null when that month has no sales or a zero value).
    """
    day = F.col("purchase_date")
    totals = _period_totals(cube, gc.year_month(day).alias("year_month"),
                            F.trunc(day, "month").alias("_start"))
    before = F.add_months(F.col("_start"), -1)

    def growth(column: str) -> Column:
        previous = _previous_period(column, "_start", before)
        return gc.pct(F.col(column) - previous, previous)

    return totals.select(
        "year_month", "total_revenue", "total_orders", "unique_customers", "total_quantity",
        gc.money_avg(F.col("total_revenue"), F.col("total_orders")).alias("avg_order_value"),
        gc.money_avg(F.col("total_revenue"), F.col("unique_customers")).alias("avg_revenue_per_customer"),
        growth("total_revenue").alias("revenue_growth_pct"),
        growth("total_orders").alias("orders_growth_pct"),
        growth("unique_customers").alias("customers_growth_pct"),
    )


def gold_tables(fact: DataFrame, clients: DataFrame, as_of: date | str, *,
                by_product_country: DataFrame | None = None) -> dict[str, DataFrame]:
    """Every gold table (``GOLD_TABLES`` order) derived from one ``fact_sales`` DataFrame.

    ``clients`` is the silver ``clients`` table ``fact`` was built from (see :func:`client_kpis`);
    ``by_product_country`` the :func:`product_country_cube` of ``fact`` when the caller has it
    (:func:`run` shares it with :func:`statistical_distributions`).

    Runs Spark actions when called (:func:`client_kpis`); the two cubes (small: one row per
    group and id bucket) are persisted, each computed once from one scan of ``fact``.

    Raises:
        ValueError: ``as_of`` is not a valid date.
    """
    if by_product_country is None:
        by_product_country = product_country_cube(fact).persist()
    by_day = day_cube(fact).persist()
    tables = {
        "fact_sales": fact,
        "client_kpis": client_kpis(fact, clients, as_of),
        "product_analytics": product_analytics(by_product_country),
        "country_analytics": country_analytics(by_product_country),
        "daily_sales": daily_sales(by_day),
        "weekly_sales": weekly_sales(by_day),
        "monthly_sales": monthly_sales(by_day),
    }
    return {name: tables[name] for name in GOLD_TABLES}


