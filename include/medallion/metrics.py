"""The glossary of gold metrics: every column of every gold table and every field of the gold
JSON documents, with its type, unit and formula, defined once as data.

The Spark gold job (:mod:`medallion.spark.gold`) produces exactly these columns in this order
(a unit test compares the output schemas with :data:`METRICS`), and ``docs/METRICS.md`` is
rendered from this module by :func:`render_markdown` (a unit test checks the file is current;
regenerate it with ``python -m medallion.metrics > docs/METRICS.md``).

Conventions shared by every metric (see :data:`CONVENTIONS`):

* "as-of" is the run date given to the job (``--run-date``), never the wall clock.
* Money is ``decimal(18,2)`` in currency units (the seed's prices have no currency code),
  summed exactly; an average of money is the exact decimal quotient rounded half-up to cents.
* Ratios and percentages are doubles, computed exactly in decimal and rounded half-up to
  2 decimals (market shares use largest-remainder rounding so that they add up to 100.00);
  a percentage whose denominator is zero or missing is null.
* Quantiles are exact with linear interpolation between the two nearest ranks (pandas'
  default, Spark's ``percentile``); standard deviations are sample ones (ddof = 1).
* Day counts are whole calendar days (``datediff``), weeks are ISO 8601 weeks.
"""

from __future__ import annotations

from dataclasses import dataclass

from medallion.contract import ACTIVE_DAYS, GOLD_TABLES, RFM_SCORE_MAX, RFM_SEGMENT_RULES

MONEY = "decimal(18,2)"


@dataclass(frozen=True)
class Metric:
    """One glossary entry.

    Attributes:
        table: Gold table (one of ``GOLD_TABLES``) or JSON document section
            (``statistical_distributions.<section>``).
        name: Column or JSON field name.
        type: Spark SQL type of a table column (``decimal(18,2)``, ``bigint``, ...) or the
            JSON type of a document field (``number``, ``integer``, ``string``).
        unit: Unit of the value (``currency``, ``days``, ``percent``, ``orders``, ...).
        formula: How the value is computed, in terms of silver columns or other metrics.
    """

    table: str
    name: str
    type: str
    unit: str
    formula: str


CONVENTIONS: tuple[str, ...] = (
    "As-of date = the run date passed to the job (`--run-date`), never the wall clock.",
    "Money: `decimal(18,2)` in currency units, summed exactly; averages of money are the exact "
    "decimal quotient rounded half-up to cents (sum / count, then round).",
    "Ratios and percentages: doubles computed exactly in decimal, then rounded half-up to 2 "
    "decimals (market shares: largest-remainder rounding, so they add up to 100.00). A growth "
    "or share whose denominator is zero or absent is null.",
    "Quantiles: exact, linear interpolation between the nearest ranks (pandas' default; Spark "
    "`percentile`, never `percentile_approx`). Standard deviation: sample (ddof = 1).",
    "Day counts: whole calendar days (`datediff`). Weeks: ISO 8601 (weeks start on Monday, "
    "week 1 holds the year's first Thursday; the week-year is the year of that week's Thursday).",
    "Distinct counts are exact (`count(DISTINCT ...)`).",
    "Every output is sorted by its key (fact_sales by `year_month, id_purchase`) so the same "
    "silver snapshot and run date give the same bytes.",
)

_KPI = "client_kpis"
_PRODUCT = "product_analytics"
_COUNTRY = "country_analytics"
_DAILY = "daily_sales"
_WEEKLY = "weekly_sales"
_MONTHLY = "monthly_sales"
_FACT = "fact_sales"
_OVD = "statistical_distributions.order_value_distribution"
_QD = "statistical_distributions.quantity_distribution"
_PD = "statistical_distributions.price_distribution"
_OM = "statistical_distributions.overall_metrics"


def _growth(what: str, previous: str) -> str:
    return (f"100 * ({what} - {what} of the {previous}) / {what} of the {previous}; null when the "
            f"{previous} has no row or its {what} is 0")


def _segment_rules() -> str:
    """``contract.RFM_SEGMENT_RULES`` in words: ``Champions (R >= 4 and FM >= 4), …, else Need Attention``."""
    words = []
    for rule in RFM_SEGMENT_RULES:
        tests = ([f"R >= {rule.r_min}"] if rule.r_min > 1 else []) + \
                ([f"R <= {rule.r_max}"] if rule.r_max < RFM_SCORE_MAX else []) + \
                ([f"FM >= {rule.fm_min}"] if rule.fm_min > 1 else [])
        words.append(f"{rule.segment} ({' and '.join(tests)})" if tests else f"else {rule.segment}")
    return ", ".join(words)


METRICS: tuple[Metric, ...] = (
    # --- fact_sales: one row per silver purchase, joined to its client --------------------------
    Metric(_FACT, "id_purchase", "bigint", "id", "silver purchases.id_purchase (unique)"),
    Metric(_FACT, "id_client", "bigint", "id", "silver purchases.id_client"),
    Metric(_FACT, "product", "string", "name", "silver purchases.product"),
    Metric(_FACT, "price", MONEY, "currency", "silver purchases.price (unit price)"),
    Metric(_FACT, "quantity", "int", "items", "silver purchases.quantity"),
    Metric(_FACT, "total", MONEY, "currency", "silver purchases.total = price * quantity"),
    Metric(_FACT, "purchase_date", "date", "date", "silver purchases.purchase_date"),
    Metric(_FACT, "name", "string", "name", "silver clients.name of id_client"),
    Metric(_FACT, "email", "string", "email", "silver clients.email of id_client"),
    Metric(_FACT, "country", "string", "name", "silver clients.country of id_client"),
    Metric(_FACT, "subscription_date", "date", "date", "silver clients.subscription_date of id_client"),
    Metric(_FACT, "purchase_year", "int", "year", "calendar year of purchase_date"),
    Metric(_FACT, "purchase_month", "int", "month (1-12)", "calendar month of purchase_date"),
    Metric(_FACT, "purchase_quarter", "int", "quarter (1-4)", "calendar quarter of purchase_date"),
    Metric(_FACT, "purchase_week", "int", "ISO week (1-53)", "ISO 8601 week number of purchase_date"),
    Metric(_FACT, "purchase_day_of_week", "int", "ISO weekday (1-7)",
           "ISO weekday of purchase_date, Monday = 1 ... Sunday = 7"),
    Metric(_FACT, "purchase_day_name", "string", "English day name", "Monday ... Sunday"),
    Metric(_FACT, "year_month", "string", "YYYY-MM", "year and month of purchase_date (partition column: a folder level of the files, so "
           "readers see it as the last column)"),
    Metric(_FACT, "year_week", "string", "YYYY-Www",
           "ISO week-year (year of the Thursday of the week) and ISO week, e.g. 2024-12-30 -> 2025-W01"),
    Metric(_FACT, "customer_tenure_days", "int", "days",
           "purchase_date - subscription_date (negative when bought before subscribing)"),
    # --- client_kpis: one row per client with at least one purchase -----------------------------
    Metric(_KPI, "id_client", "bigint", "id", "client id (key)"),
    Metric(_KPI, "name", "string", "name", "silver clients.name"),
    Metric(_KPI, "email", "string", "email", "silver clients.email"),
    Metric(_KPI, "country", "string", "name", "silver clients.country"),
    Metric(_KPI, "subscription_date", "date", "date", "silver clients.subscription_date"),
    Metric(_KPI, "total_purchases", "bigint", "orders", "count of the client's purchases"),
    Metric(_KPI, "total_spent", MONEY, "currency", "sum of total over the client's purchases"),
    Metric(_KPI, "avg_order_value", MONEY, "currency", "total_spent / total_purchases, half-up to cents"),
    Metric(_KPI, "min_order_value", MONEY, "currency", "smallest total of the client's purchases"),
    Metric(_KPI, "max_order_value", MONEY, "currency", "largest total of the client's purchases"),
    Metric(_KPI, "total_quantity", "bigint", "items", "sum of quantity"),
    Metric(_KPI, "first_purchase_date", "date", "date", "earliest purchase_date"),
    Metric(_KPI, "last_purchase_date", "date", "date", "latest purchase_date"),
    Metric(_KPI, "customer_lifetime_days", "int", "days", "as-of date - first_purchase_date"),
    Metric(_KPI, "purchase_frequency_per_month", "double", "orders per 30 days",
           "total_purchases / max(customer_lifetime_days / 30, 1), 2 decimals"),
    Metric(_KPI, "days_since_last_purchase", "int", "days", "recency: as-of date - last_purchase_date"),
    Metric(_KPI, "is_active", "boolean", "flag", f"days_since_last_purchase <= {ACTIVE_DAYS}"),
    Metric(_KPI, "is_high_value", "boolean", "flag",
           "total_spent > median of total_spent over all rows of client_kpis (median of an even "
           "count = mean of the two middle values)"),
    Metric(_KPI, "r_score", "int", f"score 1-{RFM_SCORE_MAX}",
           f"ceil({RFM_SCORE_MAX} * cume_dist) ordering by days_since_last_purchase descending (most recent = "
           f"{RFM_SCORE_MAX}); cume_dist = share of clients whose recency is the same or worse; ties share a score"),
    Metric(_KPI, "f_score", "int", f"score 1-{RFM_SCORE_MAX}",
           f"ceil({RFM_SCORE_MAX} * cume_dist) ordering by total_purchases ascending"),
    Metric(_KPI, "m_score", "int", f"score 1-{RFM_SCORE_MAX}",
           f"ceil({RFM_SCORE_MAX} * cume_dist) ordering by total_spent ascending"),
    Metric(_KPI, "rfm_segment", "string", "segment",
           "with FM = round_half_up((f_score + m_score) / 2), the first that matches: " + _segment_rules()),
    # --- product_analytics: one row per product -------------------------------------------------
    Metric(_PRODUCT, "product", "string", "name", "product (key)"),
    Metric(_PRODUCT, "total_quantity_sold", "bigint", "items", "sum of quantity"),
    Metric(_PRODUCT, "total_revenue", MONEY, "currency", "sum of total"),
    Metric(_PRODUCT, "avg_price", MONEY, "currency",
           "mean unit price over the product's orders (unweighted), half-up to cents"),
    Metric(_PRODUCT, "min_price", MONEY, "currency", "lowest unit price"),
    Metric(_PRODUCT, "max_price", MONEY, "currency", "highest unit price"),
    Metric(_PRODUCT, "total_orders", "bigint", "orders", "count of purchases"),
    Metric(_PRODUCT, "unique_customers", "bigint", "clients", "count of distinct id_client"),
    Metric(_PRODUCT, "avg_quantity_per_order", "double", "items per order",
           "total_quantity_sold / total_orders, 2 decimals"),
    Metric(_PRODUCT, "market_share_pct", "double", "percent",
           "100 * total_revenue / revenue of all products, rounded to 0.01 by the largest-remainder "
           "method so the shares add up to exactly 100.00 (each share is its exact value rounded "
           "down or up; the largest remainders, ties by product, are rounded up)"),
    Metric(_PRODUCT, "top_countries", "string", "list",
           "the 3 countries with the most revenue for the product (ties by country name), joined "
           "with \", \""),
    # --- country_analytics: one row per country -------------------------------------------------
    Metric(_COUNTRY, "country", "string", "name", "client country (key)"),
    Metric(_COUNTRY, "total_revenue", MONEY, "currency", "sum of total"),
    Metric(_COUNTRY, "unique_customers", "bigint", "clients", "count of distinct id_client with a purchase"),
    Metric(_COUNTRY, "total_orders", "bigint", "orders", "count of purchases"),
    Metric(_COUNTRY, "total_quantity", "bigint", "items", "sum of quantity"),
    Metric(_COUNTRY, "avg_order_value", MONEY, "currency", "total_revenue / total_orders, half-up to cents"),
    Metric(_COUNTRY, "avg_revenue_per_customer", MONEY, "currency",
           "total_revenue / unique_customers, half-up to cents"),
    Metric(_COUNTRY, "market_share_pct", "double", "percent",
           "100 * total_revenue / revenue of all countries, rounded to 0.01 by the largest-remainder "
           "method so the shares add up to exactly 100.00 (each share is its exact value rounded "
           "down or up; the largest remainders, ties by country, are rounded up)"),
    # --- daily_sales: one row per calendar day from the first to the last purchase date ---------
    Metric(_DAILY, "date", "date", "date",
           "every calendar day from the first to the last purchase_date (key)"),
    Metric(_DAILY, "total_revenue", MONEY, "currency", "sum of total on the day (0 without sales)"),
    Metric(_DAILY, "total_orders", "bigint", "orders", "count of purchases on the day (0 without sales)"),
    Metric(_DAILY, "unique_customers", "bigint", "clients", "distinct id_client buying on the day"),
    Metric(_DAILY, "total_quantity", "bigint", "items", "sum of quantity on the day"),
    Metric(_DAILY, "revenue_7day_avg", MONEY, "currency",
           "mean of total_revenue over the trailing 7 calendar days including the day, over the "
           "days of the table (fewer at the start: pandas rolling(7, min_periods=1) on the "
           "gap-filled series), half-up to cents"),
    Metric(_DAILY, "orders_7day_avg", "double", "orders per day",
           "mean of total_orders over the same trailing window, 2 decimals"),
    Metric(_DAILY, "revenue_growth_pct", "double", "percent", _growth("total_revenue", "previous day")),
    # --- weekly_sales: one row per ISO week with sales ------------------------------------------
    Metric(_WEEKLY, "year_week", "string", "YYYY-Www",
           "ISO week-year and week (key), as fact_sales.year_week"),
    Metric(_WEEKLY, "total_revenue", MONEY, "currency", "sum of total in the week"),
    Metric(_WEEKLY, "total_orders", "bigint", "orders", "count of purchases in the week"),
    Metric(_WEEKLY, "unique_customers", "bigint", "clients", "distinct id_client buying in the week"),
    Metric(_WEEKLY, "total_quantity", "bigint", "items", "sum of quantity in the week"),
    Metric(_WEEKLY, "avg_order_value", MONEY, "currency", "total_revenue / total_orders, half-up to cents"),
    Metric(_WEEKLY, "revenue_growth_pct", "double", "percent",
           _growth("total_revenue", "previous calendar ISO week")),
    # --- monthly_sales: one row per calendar month with sales -----------------------------------
    Metric(_MONTHLY, "year_month", "string", "YYYY-MM", "calendar month (key)"),
    Metric(_MONTHLY, "total_revenue", MONEY, "currency", "sum of total in the month"),
    Metric(_MONTHLY, "total_orders", "bigint", "orders", "count of purchases in the month"),
    Metric(_MONTHLY, "unique_customers", "bigint", "clients", "distinct id_client buying in the month"),
    Metric(_MONTHLY, "total_quantity", "bigint", "items", "sum of quantity in the month"),
    Metric(_MONTHLY, "avg_order_value", MONEY, "currency", "total_revenue / total_orders, half-up to cents"),
    Metric(_MONTHLY, "avg_revenue_per_customer", MONEY, "currency",
           "total_revenue / unique_customers, half-up to cents"),
    Metric(_MONTHLY, "revenue_growth_pct", "double", "percent",
           _growth("total_revenue", "previous calendar month")),
    Metric(_MONTHLY, "orders_growth_pct", "double", "percent",
           _growth("total_orders", "previous calendar month")),
    Metric(_MONTHLY, "customers_growth_pct", "double", "percent",
           _growth("unique_customers", "previous calendar month")),
    # --- statistical_distributions.json ---------------------------------------------------------
    Metric(_OVD, "mean", "number", "currency", "sum of total / number of purchases, half-up to cents"),
    Metric(_OVD, "median", "number", "currency", "50th percentile of total (interpolated), half-up to cents"),
    Metric(_OVD, "std", "number", "currency", "sample standard deviation of total, 2 decimals"),
    Metric(_OVD, "min", "number", "currency", "smallest total"),
    Metric(_OVD, "max", "number", "currency", "largest total"),
    Metric(_OVD, "q25", "number", "currency", "25th percentile of total (interpolated), half-up to cents"),
    Metric(_OVD, "q75", "number", "currency", "75th percentile of total (interpolated), half-up to cents"),
    Metric(_OVD, "q90", "number", "currency", "90th percentile of total (interpolated), half-up to cents"),
    Metric(_OVD, "q95", "number", "currency", "95th percentile of total (interpolated), half-up to cents"),
    Metric(_QD, "mean", "number", "items", "sum of quantity / number of purchases, 2 decimals"),
    Metric(_QD, "median", "number", "items", "50th percentile of quantity (interpolated)"),
    Metric(_QD, "mode", "integer", "items", "most frequent quantity; the smallest one on ties"),
    Metric(_QD, "min", "integer", "items", "smallest quantity"),
    Metric(_QD, "max", "integer", "items", "largest quantity"),
    Metric(_PD, "mean", "number", "currency", "mean unit price over purchases, half-up to cents"),
    Metric(_PD, "median", "number", "currency", "50th percentile of price (interpolated), half-up to cents"),
    Metric(_PD, "std", "number", "currency", "sample standard deviation of price, 2 decimals"),
    Metric(_PD, "min", "number", "currency", "lowest unit price"),
    Metric(_PD, "max", "number", "currency", "highest unit price"),
    Metric(_OM, "total_revenue", "number", "currency", "sum of total over fact_sales"),
    Metric(_OM, "total_orders", "integer", "orders", "rows of fact_sales"),
    Metric(_OM, "total_customers", "integer", "clients", "distinct id_client in fact_sales"),
    Metric(_OM, "total_products", "integer", "products", "distinct product in fact_sales"),
    Metric(_OM, "total_countries", "integer", "countries", "distinct country in fact_sales"),
    Metric(_OM, "avg_order_value", "number", "currency", "total_revenue / total_orders, half-up to cents"),
    Metric(_OM, "avg_items_per_order", "number", "items per order",
           "sum of quantity / total_orders, 2 decimals"),
)

#: Sort key of each gold table (the written files are ordered by it).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "fact_sales": ("year_month", "id_purchase"),
    "client_kpis": ("id_client",),
    "product_analytics": ("product",),
    "country_analytics": ("country",),
    "daily_sales": ("date",),
    "weekly_sales": ("year_week",),
    "monthly_sales": ("year_month",),
}

#: The unique key column of each gold table (one row per value): the last column of its sort key.
#: MongoDB's ``_id`` when publishing, and the join key of the engines' differential check.
PRIMARY_KEYS: dict[str, str] = {table: keys[-1] for table, keys in TABLE_KEYS.items()}

#: Fields of gold_summary.json (documented here; the values come from the staged tables, which the
#: gold gate validated and the job then committed).
SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("run_id", "the run id given to the job"),
    ("as_of_date", "the run date (YYYY-MM-DD) used as today"),
    ("silver_versions", "Delta versions of the silver clients and purchases tables the gold output was built from"),
    ("fact_sales", "rows, first_purchase_date and last_purchase_date of fact_sales"),
    ("total_revenue", "sum of total over fact_sales, in currency units (= statistical_distributions."
                      "overall_metrics.total_revenue)"),
    ("total_orders", "rows of fact_sales"),
    ("total_customers", "clients with at least one purchase (rows of client_kpis)"),
    ("counts", "clients (rows of client_kpis), products, countries, active_clients, "
               "high_value_clients"),
    ("rfm_segments", "number of clients per RFM segment (every segment listed, 0 when empty)"),
    ("temporal_records", "rows of daily_sales, weekly_sales and monthly_sales"),
    ("top_product", "product and total_revenue of the product with the most revenue (ties by name)"),
    ("top_country", "country and total_revenue of the country with the most revenue (ties by name)"),
    ("top_client", "id_client, name and total_spent of the client with the most revenue (ties by id)"),
    ("tables", "row count of every gold table written"),
    ("commit", "logical_date of the Airflow run and table_versions: the Delta version of each gold table "
               "after this run's commit"),
)


def table_metrics(table: str) -> tuple[Metric, ...]:
    """Glossary entries of one table or document section, in output column order.

    Raises:
        KeyError: no entry has that table name.
    """
    found = tuple(m for m in METRICS if m.table == table)
    if not found:
        raise KeyError(f"no metric documented for {table!r}")
    return found


def sections() -> tuple[str, ...]:
    """Tables and document sections in glossary order."""
    seen: dict[str, None] = {}
    for metric in METRICS:
        seen.setdefault(metric.table, None)
    return tuple(seen)


def render_markdown() -> str:
    """The glossary as Markdown (the content of ``docs/METRICS.md``)."""
    lines = [
        "# Gold metrics glossary",
        "",
        "<!-- Generated from include/medallion/metrics.py by `python -m medallion.metrics`; "
        "edit the module, not this file. -->",
        "",
        "Every column of the gold tables and every field of the gold JSON documents, with its type, "
        "unit and formula. The Spark gold job (`spark_jobs/gold_aggregation.py`, library "
        "`medallion.spark.gold`) produces exactly these columns in this order.",
        "",
        "## Conventions",
        "",
        *[f"- {rule}" for rule in CONVENTIONS],
        "",
    ]
    for section in sections():
        kind = "Table" if section in GOLD_TABLES else "Document section"
        lines += [f"## {kind} `{section}`", ""]
        if section in TABLE_KEYS:
            lines += [f"Sorted by `{', '.join(TABLE_KEYS[section])}`.", ""]
        lines += ["| column | type | unit | formula |", "| --- | --- | --- | --- |"]
        for metric in table_metrics(section):
            formula = metric.formula.replace("|", "\\|")
            lines.append(f"| `{metric.name}` | {metric.type} | {metric.unit} | {formula} |")
        lines.append("")
    lines += ["## Document `gold_summary.json`", "", "| field | content |", "| --- | --- |"]
    lines += [f"| `{name}` | {text} |" for name, text in SUMMARY_FIELDS]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - documentation generator
    print(render_markdown(), end="")
