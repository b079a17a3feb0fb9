"""The Metabase dashboards and questions, generated from the metrics glossary (:mod:`medallion.metrics`).

One dashboard per page of the seed's dashboard. A question is either one glossary metric of a gold
collection, drawn against the table's key (:func:`metric_card`), or one field of the newest
published report (:func:`report_card`, e.g. ``gold_summary.total_revenue``). Names, descriptions and
units come from the glossary entry; a column that is not in the glossary raises ``KeyError`` here,
so no question can name a column gold does not have.

Queries are native MongoDB aggregation pipelines over the collections :mod:`medallion.publish`
writes (money is stored rounded to cents, dates as BSON dates).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from medallion.metrics import METRICS, PRIMARY_KEYS, SUMMARY_FIELDS, Metric
from medallion.publish import REPORTS_COLLECTION


@dataclass(frozen=True)
class Question:
    """A Metabase card: ``name``, ``description``, the ``collection`` and aggregation ``pipeline`` it
    runs, and its ``display`` (``scalar``, ``bar``, ``line``, ``pie``, ``table``, ...)."""

    name: str
    description: str
    collection: str
    pipeline: tuple[dict[str, Any], ...]
    display: str

    def native_query(self) -> dict[str, str]:
        return {"collection": self.collection, "query": json.dumps(list(self.pipeline))}


def glossary(table: str, column: str) -> Metric:
    """The glossary entry of ``table.column``; ``KeyError`` when gold has no such column."""
    for metric in METRICS:
        if metric.table == table and metric.name == column:
            return metric
    raise KeyError(f"{table}.{column} is not in the metrics glossary")


def _title(name: str) -> str:
    return name.replace("_pct", " (%)").replace("_", " ").capitalize()


def _unit(metric: Metric, currency: str) -> str:
    return currency if metric.unit == "currency" else metric.unit


def metric_card(table: str, column: str, display: str, currency: str, *, last: int | None = None) -> Question:
    """``column`` of gold ``table`` per the table's key, in key order; with ``last``, only the last
    ``last`` keys (e.g. the last 30 days)."""
    metric = glossary(table, column)
    key = PRIMARY_KEYS[table]
    pipeline: list[dict[str, Any]] = [{"$project": {"_id": 0, key: 1, column: 1}}]
    if last:
        pipeline += [{"$sort": {key: -1}}, {"$limit": last}]
    pipeline.append({"$sort": {key: 1}})
    scope = f", last {last}" if last else ""
    return Question(name=f"{_title(column)} by {_title(key).lower()}{scope} ({_unit(metric, currency)})",
                    description=f"{table}.{column}: {metric.formula}", collection=table,
                    pipeline=tuple(pipeline), display=display)


def table_card(table: str, columns: tuple[str, ...], sort: str, limit: int, title: str) -> Question:
    """The top ``limit`` rows of ``table`` by ``sort`` (descending), with ``columns``."""
    for column in (*columns, sort):
        glossary(table, column)
    return Question(name=title, description=f"{table}: {', '.join(columns)}; largest {sort} first",
                    collection=table, display="table",
                    pipeline=({"$sort": {sort: -1, PRIMARY_KEYS[table]: 1}}, {"$limit": limit},
                              {"$project": {"_id": 0, **{c: 1 for c in columns}}}))


def count_card(table: str, column: str, title: str) -> Question:
    """Rows of ``table`` per value of ``column`` (e.g. clients per RFM segment)."""
    glossary(table, column)
    return Question(name=title, description=f"rows of {table} per {column}", collection=table, display="pie",
                    pipeline=({"$group": {"_id": f"${column}", "rows": {"$sum": 1}}},
                              {"$project": {"_id": 0, column: "$_id", "rows": "$rows"}}, {"$sort": {column: 1}}))


def report_card(kind: str, path: str, title: str, display: str = "scalar") -> Question:
    """Field ``path`` (dotted) of the newest published ``kind`` report (gold_summary, statistical_distributions)."""
    if kind == "gold_summary" and path.split(".")[0] not in dict(SUMMARY_FIELDS):
        raise KeyError(f"gold_summary.{path} is not a summary field")
    if kind == "statistical_distributions":
        section, _, field = path.partition(".")
        if field:
            glossary(f"statistical_distributions.{section}", field)
    return Question(name=title, description=f"{kind}.{path} of the newest published run", collection=REPORTS_COLLECTION,
                    display=display,
                    pipeline=({"$match": {"kind": kind}}, {"$sort": {"run_date": -1, "logical_date": -1}},
                              {"$limit": 1}, {"$project": {"_id": 0, "run_date": 1, "value": f"$document.{path}"}}))


def dashboards(currency: str) -> dict[str, tuple[Question, ...]]:
    """The six dashboards (the seed dashboard's pages) and their questions, in display order."""
    m = metric_card
    return {
        "Overview": (
            report_card("gold_summary", "total_revenue", f"Total revenue ({currency})"),
            report_card("gold_summary", "total_orders", "Orders"),
            report_card("gold_summary", "total_customers", "Customers"),
            report_card("statistical_distributions", "overall_metrics.avg_order_value",
                        f"Average order value ({currency})"),
            report_card("gold_summary", "top_product", "Top product", display="table"),
            report_card("gold_summary", "top_country", "Top country", display="table"),
            count_card("client_kpis", "rfm_segment", "Clients per RFM segment"),
            m("daily_sales", "total_revenue", "line", currency, last=30),
        ),
        "Temporal analysis": (
            m("daily_sales", "total_revenue", "line", currency),
            m("daily_sales", "revenue_7day_avg", "line", currency),
            m("weekly_sales", "total_revenue", "bar", currency),
            m("weekly_sales", "revenue_growth_pct", "line", currency),
            m("monthly_sales", "total_revenue", "bar", currency),
            m("monthly_sales", "revenue_growth_pct", "line", currency),
        ),
        "Clients": (
            count_card("client_kpis", "rfm_segment", "Clients per RFM segment"),
            table_card("client_kpis", ("id_client", "name", "country", "total_spent", "total_purchases",
                                       "purchase_frequency_per_month", "rfm_segment"),
                       "total_spent", 10, f"Top 10 clients by lifetime value ({currency})"),
            count_card("client_kpis", "r_score", "Clients per recency score"),
            count_card("client_kpis", "f_score", "Clients per frequency score"),
        ),
        "Products": (
            m("product_analytics", "total_revenue", "bar", currency),
            m("product_analytics", "market_share_pct", "pie", currency),
            m("product_analytics", "avg_price", "bar", currency),
            m("product_analytics", "min_price", "bar", currency),
            m("product_analytics", "max_price", "bar", currency),
            m("product_analytics", "unique_customers", "bar", currency),
        ),
        "Geography": (
            m("country_analytics", "total_revenue", "bar", currency),
            m("country_analytics", "market_share_pct", "pie", currency),
            m("country_analytics", "avg_order_value", "bar", currency),
            m("country_analytics", "unique_customers", "bar", currency),
        ),
        "Statistics": (
            report_card("statistical_distributions", "order_value_distribution",
                        f"Order value distribution ({currency})", display="table"),
            report_card("statistical_distributions", "quantity_distribution", "Quantity distribution", display="table"),
            report_card("statistical_distributions", "price_distribution", f"Unit price distribution ({currency})",
                        display="table"),
            report_card("statistical_distributions", "overall_metrics", "Overall metrics", display="table"),
        ),
    }
