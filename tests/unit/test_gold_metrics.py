"""Spark gold internals (calendar labels, order statistics, segments, quantiles), the glossary and
reading silver; the gold values themselves are the shared case table of test_gold_cases.py.

Every expected value is worked out by hand in the comments next to it (or recounted with the
standard library), never taken from the code under test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from medallion.config import PROJECT_ROOT
from medallion.contract import GOLD_TABLES, RFM_SEGMENTS
from medallion.metrics import METRICS, render_markdown, table_metrics
from medallion.spark import gold
from medallion.spark import gold_columns as gc
from medallion.spark import gold_documents as gd
from medallion.spark import gold_tables as gt
from medallion.spark import order_statistics as stats

CLIENTS_DDL = "id_client bigint, name string, email string, subscription_date date, country string"
PURCHASES_DDL = ("id_purchase bigint, id_client bigint, product string, price decimal(18,2), "
                 "quantity int, purchase_date date, total decimal(18,2), year_month string")


def d(text: str) -> date:
    return date.fromisoformat(text)


def m(text: str) -> Decimal:
    return Decimal(text)


def make_clients(spark, rows):
    """rows: (id_client, country, subscription_date) -> silver clients."""
    data = [(cid, f"Client {cid}", f"c{cid}@example.com", d(sub), country) for cid, country, sub in rows]
    return spark.createDataFrame(data, StructType.fromDDL(CLIENTS_DDL))


def make_purchases(spark, rows):
    """rows: (id_purchase, id_client, product, price, quantity, purchase_date) -> silver purchases
    (total = price * quantity, as silver guarantees)."""
    data = [(pid, cid, product, m(price), qty, d(day), m(price) * qty, day[:7])
            for pid, cid, product, price, qty, day in rows]
    return spark.createDataFrame(data, StructType.fromDDL(PURCHASES_DDL))


def fact_of(spark, clients, purchases):
    return gt.build_fact_sales(make_clients(spark, clients), make_purchases(spark, purchases))


def tables_of(spark, clients, purchases, as_of):
    return gt.gold_tables(fact_of(spark, clients, purchases), make_clients(spark, clients), as_of)


# --- fact_sales ---------------------------------------------------------------------------------

def test_fact_sales_calendar_columns_and_tenure(spark):
    clients = [(1, "France", "2025-01-10"), (2, "Spain", "2020-01-01")]
    purchases = [
        (10, 1, "Mouse", "20.00", 2, "2024-12-30"),  # a Monday of ISO week 2025-W01
        (11, 2, "Laptop", "900.00", 1, "2021-01-03"),  # a Sunday of ISO week 2020-W53
        (12, 2, "Phone", "300.50", 1, "2024-06-15"),  # a Saturday of ISO week 2024-W24
    ]
    fact = fact_of(spark, clients, purchases)
    assert fact.columns == [metric.name for metric in table_metrics("fact_sales")]
    got = fact.select("id_purchase", "total", "country", "purchase_year", "purchase_month",
                      "purchase_quarter", "purchase_week", "purchase_day_of_week",
                      "purchase_day_name", "year_month", "year_week", "customer_tenure_days")
    expected = spark.createDataFrame(
        [
            # 2024-12-30 - 2025-01-10 = -11 days (bought before subscribing).
            (10, m("40.00"), "France", 2024, 12, 4, 1, 1, "Monday", "2024-12", "2025-W01", -11),
            # 2020-01-01 -> 2021-01-03: 366 (leap 2020) + 2 = 368 days.
            (11, m("900.00"), "Spain", 2021, 1, 1, 53, 7, "Sunday", "2021-01", "2020-W53", 368),
            # 2020-01-01 -> 2024-06-15: 366+365+365+365 = 1461 to 2024-01-01, + 166 = 1627 days.
            (12, m("300.50"), "Spain", 2024, 6, 2, 24, 6, "Saturday", "2024-06", "2024-W24", 1627),
        ],
        "id_purchase bigint, total decimal(18,2), country string, purchase_year int, "
        "purchase_month int, purchase_quarter int, purchase_week int, purchase_day_of_week int, "
        "purchase_day_name string, year_month string, year_week string, customer_tenure_days int",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_calendar_labels_match_python_isocalendar(spark):
    # Zero padding of short years and week numbers, ISO week-years at both year ends, checked
    # against Python's date.isocalendar() for every day around each boundary.
    days = [date(999, 1, 1), date(999, 12, 31)]
    for year in (2015, 2020, 2021, 2024, 2026):
        days += [date.fromordinal(date(year, 1, 1).toordinal() + delta) for delta in range(-7, 8)]
    frame = spark.createDataFrame([(day,) for day in days], "day date")
    got = {row["day"]: (row["ym"], row["yw"]) for row in frame.select(
        "day", gc.year_month(F.col("day")).alias("ym"), gc.iso_year_week(F.col("day")).alias("yw")).collect()}
    expected = {day: (f"{day.year:04d}-{day.month:02d}",
                      f"{day.isocalendar()[0]:04d}-W{day.isocalendar()[1]:02d}") for day in days}
    assert got == expected
    assert got[date(2021, 1, 3)] == ("2021-01", "2020-W53")


@pytest.mark.parametrize("n", [1, 2, 3, 7, 23])
def test_rfm_score_is_ceil_5_cume_dist_with_ties(spark, n):
    # Many ties and every n mod 5: the score read from four cut-off values must equal
    # ceil(5 * c / n), c = values ordered at or before v (peers included), in integer arithmetic.
    values = [(i * 7) % 4 + (i % 3) for i in range(n)]  # 0..5, repeated
    frame = spark.createDataFrame([(v,) for v in values], "v int")
    for descending in (False, True):
        cutoffs = stats.order_statistics(frame, "v", gt._score_ranks(descending=descending))
        scored = frame.select("v", gt._score("v", *cutoffs, descending=descending).alias("s")).collect()
        for row in scored:
            c = sum(1 for w in values if (w >= row["v"] if descending else w <= row["v"]))
            assert row["s"] == -(-5 * c // n), (descending, row["v"], values)


def test_rfm_segment_rules_in_order(spark):
    cases = [  # (r, f, m, expected) with FM = half-up((f + m) / 2)
        (4, 4, 4, "Champions"),          # R>=4, FM 4
        (5, 3, 4, "Champions"),          # FM 3.5 -> 4
        (3, 5, 5, "Loyal Customers"),    # R 3 is not >= 4
        (4, 3, 3, "Loyal Customers"),    # FM 3 < 4, R >= 3 and FM >= 3
        (4, 2, 3, "Loyal Customers"),    # FM 2.5 -> 3
        (5, 1, 2, "Promising"),          # FM 1.5 -> 2
        (2, 5, 5, "At Risk"),
        (1, 2, 3, "At Risk"),            # FM 2.5 -> 3
        (2, 2, 2, "Hibernating"),
        (1, 1, 2, "Hibernating"),        # FM 1.5 -> 2
        (3, 2, 2, "Need Attention"),     # R 3, FM 2
        (3, 1, 3, "Need Attention"),
    ]
    df = spark.createDataFrame([c[:3] for c in cases], "r int, f int, m int")
    got = df.select("r", "f", "m", gt.rfm_segment(F.col("r"), F.col("f"), F.col("m")).alias("s")).collect()
    assert {(r["r"], r["f"], r["m"]): r["s"] for r in got} == {c[:3]: c[3] for c in cases}
    assert {c[3] for c in cases} == set(RFM_SEGMENTS)


# --- JSON documents -----------------------------------------------------------------------------

def test_exact_quantiles(spark):
    frame = spark.createDataFrame([(m(v),) for v in ("10.00", "10.00", "20.00", "40.00", "70.00")] + [(None,)],
                                  "v decimal(18,2)")
    # Sorted values 10, 10, 20, 40, 70 (the null is ignored), n = 5, h = 4q:
    # q=0.5 -> h=2 -> 20; q=0.25 -> h=1 -> 10 (both neighbours are the repeated 10);
    # q=0.9 -> h=3.6 -> 40 + 0.6 * 30 = 58; q=0.95 -> h=3.8 -> 40 + 0.8 * 30 = 64; q=0 -> 10; q=1 -> 70.
    got = stats.exact_quantiles(frame, "v", [0.5, 0.25, 0.9, 0.95, 0.0, 1.0])
    assert got == [m("20"), m("10"), m("58"), m("64"), m("10"), m("70")]
    # Two values: the median is their exact mean, 0.005 kept (no double rounding).
    pair = spark.createDataFrame([(m("0.01"),), (m("0.02"),)], "v decimal(18,2)")
    assert stats.exact_quantiles(pair, "v", [0.5]) == [m("0.015")]
    assert stats.exact_quantiles(frame.where("v IS NULL"), "v", [0.5, 0.9]) == [None, None]


# --- glossary consistency -----------------------------------------------------------------------

SALES_CLIENTS = [(1, "Belgium", "2023-01-01"), (2, "France", "2023-01-01"), (3, "Italy", "2023-01-01")]
SALES_PURCHASES = [(1, 1, "Laptop", "200.00", 1, "2024-05-01"), (2, 2, "Mouse", "0.26", 2, "2024-05-03"),
                   (3, 3, "Laptop", "99.00", 1, "2024-05-03")]

def test_every_gold_column_is_in_the_glossary_with_its_type(spark):
    tables = tables_of(spark, SALES_CLIENTS, SALES_PURCHASES, "2024-05-31")
    assert list(tables) == list(GOLD_TABLES)
    for name, table in tables.items():
        documented = [(metric.name, metric.type) for metric in table_metrics(name)]
        produced = [(field.name, field.dataType.simpleString()) for field in table.schema.fields]
        assert produced == documented, name


def test_glossary_documents_the_json_fields(spark):
    document = gd.statistical_distributions(fact_of(spark, SALES_CLIENTS, SALES_PURCHASES))
    for section, fields in document.items():
        documented = {metric.name for metric in table_metrics(f"statistical_distributions.{section}")}
        assert set(fields) == documented, section
    assert len({(metric.table, metric.name) for metric in METRICS}) == len(METRICS)


def test_docs_metrics_md_is_rendered_from_the_glossary():
    text = (PROJECT_ROOT / "docs" / "METRICS.md").read_text(encoding="utf-8")
    assert text == render_markdown(), "regenerate with: python -m medallion.metrics > docs/METRICS.md"


# --- reading silver -----------------------------------------------------------------------------

def test_run_without_silver_names_the_missing_document(spark, settings):
    with pytest.raises(FileNotFoundError) as error:
        gold.run(spark, settings, "2024-05-31", "r-1")
    assert "no committed silver output for run date 2024-05-31" in str(error.value)
    assert "silver/_documents/run_date=2024-05-31/quality_report.json is missing" in str(error.value)


def test_read_silver_rejects_a_retyped_column(spark, settings):
    from medallion.spark import delta

    clients = make_clients(spark, [(1, "France", "2023-01-01")]) \
        .withColumn("subscription_date", F.col("subscription_date").cast("string"))
    delta.commit_partition(clients, settings, "silver", "clients", "2024-05-31", {"run_id": "test"})
    with pytest.raises(ValueError, match=r"silver table clients: column 'subscription_date' "
                                         r"has type string, expected date"):
        gold.read_silver(spark, settings, "2024-05-31", "clients")
