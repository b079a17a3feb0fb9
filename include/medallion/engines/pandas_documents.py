"""The pandas engine's gold documents: ``statistical_distributions.json`` and ``gold_summary.json``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from medallion import contract as C
from medallion.engines.pandas_arrow import decimal_to_cents, div_half_up, iso_day, ratio_2dp, round_double_2dp
from medallion.engines.pandas_gold import Fact

def _money(cents: int | float) -> float:
    return round(float(cents) / 100.0, 2)


def quantile_2dp(ordered: np.ndarray, q: float, per_unit: int = 1) -> float:
    """Quantile of sorted integers with linear interpolation (pandas' default), rounded half-up to 2 decimals.

    ``ordered`` counts ``1 / per_unit`` of the result's unit (``per_unit`` = 100 for cents ->
    currency units). Exact: the level is read as the decimal it is written as (``0.95`` = 19/20)
    and the interpolation and the rounding are done on rationals, as the Spark job does in
    ``Decimal``; in floating point ``0.95 * 9999`` is ``9499.04999…`` and a quantile of exactly
    ``….845`` would round down.
    """
    position = Fraction(str(q)) * (len(ordered) - 1)
    lower = math.floor(position)
    low, high = int(ordered[lower]), int(ordered[min(lower + 1, len(ordered) - 1)])
    hundredths = (low + (high - low) * (position - lower)) * 100 / per_unit
    magnitude = math.floor(abs(hundredths) + Fraction(1, 2))
    return (magnitude if hundredths >= 0 else -magnitude) / 100


def _half_up_2dp(value: float) -> float:
    return float(round_double_2dp(np.array([value]))[0])


def statistical_distributions(fact: Fact) -> dict[str, Any]:
    """statistical_distributions.json (issue 4). Money in currency units rounded half-up to cents.

    Quantiles are exact with linear interpolation; ``std`` is the sample standard deviation
    (ddof = 1, null with fewer than 2 orders); the quantity ``mode`` is the smallest most frequent
    value. Raises ValueError when there is no purchase.
    """
    frame = fact.frame
    total = np.sort(frame["total"].to_numpy(np.int64))
    price = np.sort(frame["price"].to_numpy(np.int64))
    quantity = np.sort(frame["quantity"].to_numpy(np.int64))
    n = len(total)
    if n == 0:
        raise ValueError("statistical distributions need at least one fact_sales row")
    revenue = int(total.sum())
    counts = np.bincount(quantity - quantity.min())

    def std_units(cents):
        return _half_up_2dp(float(np.std(cents / 100.0, ddof=1))) if n > 1 else None

    def quantile_units(cents, q):
        return quantile_2dp(cents, q, per_unit=100)

    return {
        "order_value_distribution": {
            "mean": _money(div_half_up(revenue, n)), "median": quantile_units(total, 0.5),
            "std": std_units(total), "min": _money(total[0]), "max": _money(total[-1]),
            "q25": quantile_units(total, 0.25), "q75": quantile_units(total, 0.75),
            "q90": quantile_units(total, 0.90), "q95": quantile_units(total, 0.95),
        },
        "quantity_distribution": {
            "mean": float(ratio_2dp(np.array([quantity.sum()]), np.array([n]))[0]),
            "median": quantile_2dp(quantity, 0.5),
            "mode": int(np.argmax(counts) + quantity.min()),
            "min": int(quantity[0]), "max": int(quantity[-1]),
        },
        "price_distribution": {
            "mean": _money(div_half_up(int(price.sum()), n)), "median": quantile_units(price, 0.5),
            "std": std_units(price), "min": _money(price[0]), "max": _money(price[-1]),
        },
        "overall_metrics": {
            "total_revenue": _money(revenue), "total_orders": n,
            "total_customers": int(np.count_nonzero(np.bincount(frame["client_row"].to_numpy(np.int64)))),
            "total_products": int(np.count_nonzero(np.bincount(frame["product"].to_numpy(np.int64)))),
            "total_countries": int(np.count_nonzero(np.bincount(frame["country"].to_numpy(np.int64)))),
            "avg_order_value": _money(div_half_up(revenue, n)),
            "avg_items_per_order": float(ratio_2dp(np.array([quantity.sum()]), np.array([n]))[0]),
        },
    }


def _top(labels: list, revenue: np.ndarray) -> tuple[Any, int]:
    """Label with the most revenue, ties by label (labels are sorted, so the first maximum)."""
    best = int(np.argmax(revenue))
    return labels[best], int(revenue[best])


def gold_summary(fact: Fact, kpis: pd.DataFrame, tables: dict[str, pa.Table], row_counts: dict[str, int],
                 run_id: str, run_date: str, silver_versions: Mapping[str, int] | None = None) -> dict[str, Any]:
    """gold_summary.json (issue 4; fields in :data:`medallion.metrics.SUMMARY_FIELDS`).

    Top product / country by revenue (ties by name), top client by total_spent (ties by id);
    revenues in currency units. ``silver_versions``: the Delta versions of the silver tables the
    gold tables were built from (``{table: version}``).
    """
    frame = fact.frame
    products = tables["product_analytics"]
    countries = tables["country_analytics"]
    top_product, product_cents = _top(products.column("product").to_pylist(),
                                      decimal_to_cents(products.column("total_revenue")))
    top_country, country_cents = _top(countries.column("country").to_pylist(),
                                      decimal_to_cents(countries.column("total_revenue")))
    best = int(np.argmax(kpis["total_spent"].to_numpy(np.int64)))  # kpis sorted by id: first max = lowest id
    segments = kpis["rfm_segment"].value_counts()
    return {
        "run_id": run_id,
        "as_of_date": run_date,
        "silver_versions": dict(silver_versions or {}),
        "fact_sales": {"rows": len(frame), "first_purchase_date": iso_day(frame["purchase_date"].min()),
                       "last_purchase_date": iso_day(frame["purchase_date"].max())},
        "total_revenue": _money(int(decimal_to_cents(products.column("total_revenue")).sum())),
        "total_orders": len(frame),
        "total_customers": len(kpis),
        "counts": {"clients": len(kpis), "products": products.num_rows, "countries": countries.num_rows,
                   "active_clients": int(kpis["is_active"].sum()),
                   "high_value_clients": int(kpis["is_high_value"].sum())},
        "rfm_segments": {segment: int(segments.get(segment, 0)) for segment in C.RFM_SEGMENTS},
        "temporal_records": {name: row_counts[name] for name in ("daily_sales", "weekly_sales", "monthly_sales")},
        "top_product": {"product": top_product, "total_revenue": _money(product_cents)},
        "top_country": {"country": top_country, "total_revenue": _money(country_cents)},
        "top_client": {"id_client": int(kpis["id_client"].iloc[best]),
                       "name": fact.clients.column("name")[int(kpis["client_row"].iloc[best])].as_py(),
                       "total_spent": _money(int(kpis["total_spent"].iloc[best]))},
        "tables": {name: row_counts[name] for name in C.GOLD_TABLES},
    }
