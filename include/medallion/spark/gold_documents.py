"""The gold JSON documents on Spark: ``statistical_distributions.json`` and ``gold_summary.json``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from medallion.contract import GOLD_TABLES, RFM_SEGMENTS
from medallion.spark import gold_columns as gc
from medallion.spark import gold_tables
from medallion.spark import order_statistics as stats


# --- JSON documents -------------------------------------------------------------------------------

def _round2(value: Any) -> float | None:
    """A Decimal or double rounded half-up to 2 decimals, as a JSON number (None stays None)."""
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _mean2(total: Any, count: int) -> float | None:
    """``total / count`` exactly, rounded half-up to 2 decimals (None when count is 0)."""
    if not count or total is None:
        return None
    with localcontext() as context:
        context.prec = 60
        return _round2(Decimal(total) / Decimal(count))


def statistical_distributions(fact: DataFrame, *,
                              by_product_country: DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """Distributions of order value, quantity and price, and overall metrics.

    Args:
        fact: ``fact_sales``.
        by_product_country: the :func:`product_country_cube` of ``fact`` when the caller has it
            (default: computed here and persisted, one more action): the distinct
            customers, products and countries are counted from its few thousand rows.

    Returns:
        ``{"order_value_distribution": {mean, median, std, min, max, q25, q75, q90, q95},
        "quantity_distribution": {mean, median, mode, min, max}, "price_distribution": {mean,
        median, std, min, max}, "overall_metrics": {total_revenue, total_orders,
        total_customers, total_products, total_countries, avg_order_value,
        avg_items_per_order}}``. Money values are currency units rounded half-up to 2 decimals;
        means are exact quotients rounded half-up; quantiles are exact with linear
        interpolation (:func:`exact_quantiles`, in ``Decimal``); ``std`` is the sample standard
        deviation (null with fewer than 2 orders); ``mode`` is the most frequent quantity, the
        smallest on ties. Seven Spark actions (eight without ``by_product_country``): the plain
        aggregates, two for the distinct counts on the cube, three quantile look-ups and the
        group-by of quantity.
    """
    levels = [0.5, 0.25, 0.75, 0.9, 0.95]
    # Separate actions on purpose: distinct counts in the same aggregation make Spark expand every
    # row once per distinct column (4x the rows through the whole aggregation).
    row = fact.agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum("total").alias("revenue"),
        F.stddev_samp("total").alias("total_std"),
        F.min("total").alias("total_min"),
        F.max("total").alias("total_max"),
        F.sum("quantity").alias("quantity_sum"),
        F.min("quantity").alias("quantity_min"),
        F.max("quantity").alias("quantity_max"),
        F.sum("price").alias("price_sum"),
        F.stddev_samp("price").alias("price_std"),
        F.min("price").alias("price_min"),
        F.max("price").alias("price_max"),
    ).first()
    cube = by_product_country
    if cube is None:
        cube = gold_tables.product_country_cube(fact).persist()
    distinct = cube.agg(F.countDistinct("product").alias("products"),
                        F.countDistinct("country").alias("countries")).first()
    customers = gc.rollup(cube, [], []).first()["unique_customers"] or 0
    quantiles = dict(zip(levels, stats.exact_quantiles(fact, "total", levels)))
    quantity_median, = stats.exact_quantiles(fact, "quantity", [0.5])
    price_median, = stats.exact_quantiles(fact, "price", [0.5])
    mode_row = (fact.groupBy("quantity").agg(F.count(F.lit(1)).alias("n"))
                .orderBy(F.col("n").desc(), F.col("quantity").asc()).first())
    orders = int(row["orders"])
    return {
        "order_value_distribution": {
            "mean": _mean2(row["revenue"], orders),
            "median": _round2(quantiles[0.5]),
            "std": _round2(row["total_std"]),
            "min": _round2(row["total_min"]),
            "max": _round2(row["total_max"]),
            "q25": _round2(quantiles[0.25]),
            "q75": _round2(quantiles[0.75]),
            "q90": _round2(quantiles[0.9]),
            "q95": _round2(quantiles[0.95]),
        },
        "quantity_distribution": {
            "mean": _mean2(row["quantity_sum"], orders),
            "median": _round2(quantity_median),
            "mode": None if mode_row is None else int(mode_row["quantity"]),
            "min": row["quantity_min"],
            "max": row["quantity_max"],
        },
        "price_distribution": {
            "mean": _mean2(row["price_sum"], orders),
            "median": _round2(price_median),
            "std": _round2(row["price_std"]),
            "min": _round2(row["price_min"]),
            "max": _round2(row["price_max"]),
        },
        "overall_metrics": {
            "total_revenue": _round2(row["revenue"] if row["revenue"] is not None else Decimal(0)),
            "total_orders": orders,
            "total_customers": int(customers),
            "total_products": int(distinct["products"]),
            "total_countries": int(distinct["countries"]),
            "avg_order_value": _mean2(row["revenue"], orders),
            "avg_items_per_order": _mean2(row["quantity_sum"], orders),
        },
    }


def gold_summary(tables: Mapping[str, DataFrame], *, run_id: str, as_of: date | str,
                 silver_versions: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The run's summary, computed from the gold tables (in :func:`run`, the staged ones).

    Args:
        tables: every table of ``GOLD_TABLES`` by name.
        run_id: the pipeline run id.
        as_of: the run date.
        silver_versions: the Delta versions of the silver tables the gold tables were built from.

    Returns:
        A JSON-ready dict with the fields listed in :data:`medallion.metrics.SUMMARY_FIELDS`
        (counts are integers, revenues currency units with 2 decimals, dates ``YYYY-MM-DD``).

    Raises:
        KeyError: a table of ``GOLD_TABLES`` is missing from ``tables``.
    """
    missing = [name for name in GOLD_TABLES if name not in tables]
    if missing:
        raise KeyError(f"gold_summary needs every gold table; missing: {', '.join(missing)}")
    rows = {name: int(tables[name].count()) for name in GOLD_TABLES}
    span = tables["fact_sales"].agg(F.min("purchase_date").alias("first"),
                                    F.max("purchase_date").alias("last")).first()
    revenue = tables["product_analytics"].agg(F.sum("total_revenue")).first()[0]
    kpis = tables["client_kpis"]
    flags = kpis.agg(F.count(F.when(F.col("is_active"), 1)).alias("active"),
                     F.count(F.when(F.col("is_high_value"), 1)).alias("high_value")).first()
    segments = {segment: 0 for segment in RFM_SEGMENTS}
    for segment_row in kpis.groupBy("rfm_segment").count().collect():
        segments[segment_row["rfm_segment"]] = int(segment_row["count"])

    def top(table: str, amount: str, key: str, *extra: str) -> dict[str, Any] | None:
        best = tables[table].orderBy(F.col(amount).desc(), F.col(key).asc()) \
            .select(key, *extra, amount).first()
        if best is None:
            return None
        return {**{column: best[column] for column in (key, *extra)}, amount: _round2(best[amount])}

    def iso(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "run_id": run_id,
        "as_of_date": gc.as_date(as_of).isoformat(),
        "silver_versions": dict(silver_versions or {}),
        "fact_sales": {"rows": rows["fact_sales"], "first_purchase_date": iso(span["first"]),
                       "last_purchase_date": iso(span["last"])},
        "total_revenue": _round2(revenue if revenue is not None else Decimal(0)),
        "total_orders": rows["fact_sales"],
        "total_customers": rows["client_kpis"],
        "counts": {"clients": rows["client_kpis"], "products": rows["product_analytics"],
                   "countries": rows["country_analytics"], "active_clients": int(flags["active"]),
                   "high_value_clients": int(flags["high_value"])},
        "rfm_segments": segments,
        "temporal_records": {name: rows[name] for name in ("daily_sales", "weekly_sales", "monthly_sales")},
        "top_product": top("product_analytics", "total_revenue", "product"),
        "top_country": top("country_analytics", "total_revenue", "country"),
        "top_client": top("client_kpis", "total_spent", "id_client", "name"),
        "tables": rows,
    }


