"""Tiny hand-made bronze, silver and gold layers for the quality-gate tests, and tests of the
functions that turn a job's staged DataFrames into the gate's inputs (:mod:`medallion.quality.inputs`).

The layers describe one small business, worked out by hand (run date 2024-06-05):

* clients 1 Alice (France), 2 Bob (UK), 3 Carol (Germany);
* purchases 101 Alice Laptop 1000.00 x 1 on 06-01 = 1000.00, 102 Alice Mouse 25.00 x 8 on 06-01
  = 200.00, 103 Bob Phone 500.00 x 1 on 06-03 = 500.00, 104 Carol Mouse 25.00 x 12 on 06-03 =
  300.00; total revenue 2000.00;
* one rejected purchase (105, orphan client 9), so purchases had 5 input rows (20 % rejected);
* gold: products Laptop 1000.00 (50 %), Mouse 500.00 (25 %), Phone 500.00 (25 %); countries
  France 1200.00 (60 %), UK 500.00 (25 %), Germany 300.00 (15 %); daily 06-01 1200.00, 06-02 0.00,
  06-03 800.00 (3 calendar days); ISO weeks 2024-W22 1200.00 (06-01 is a Saturday), 2024-W23
  800.00; month 2024-06 2000.00.

The integration tests import the builders from here.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from medallion import bronze, quality
from medallion.config import Settings
from medallion.contract import DATASETS, REJECTS_TABLES
from medallion.quality.inputs import bronze_inputs, gold_inputs, silver_inputs

RUN_DATE = "2024-06-05"
RUN_ID = "manual__2024-06-05T00:00:00+00:00"

CLIENTS_CSV = (
    "id_client,name,email,subscription_date,country,loyalty_tier\n"
    "1,Alice,alice@example.com,2024-01-05,France,gold\n"
    "2,Bob,bob@example.com,2024-02-10,UK,\n"
    "\n"
    "3,Carol,carol@example.com,2024-03-15,Germany,silver\n"
)
PURCHASES_CSV = (
    "id_purchase,id_client,product,price,quantity,purchase_date,total\n"
    "101,1,Laptop,1000.00,1,2024-06-01,1000.00\n"
    "102,1,Mouse,25.00,8,2024-06-01,200.00\n"
    "103,2,Phone,500.00,1,2024-06-03,500.00\n"
    "104,3,Mouse,25.00,12,2024-06-03,300.00\n"
    "105,9,Mouse,25.00,1,2024-06-03,25.00\n"
)

SILVER_DDL = {
    "clients": "id_client bigint, name string, email string, subscription_date date, country string",
    "purchases": "id_purchase bigint, id_client bigint, product string, price decimal(18,2), quantity int, "
                 "purchase_date date, total decimal(18,2), year_month string",
}
REJECTS_DDL = {
    "clients": "id_client string, name string, email string, subscription_date string, country string, "
               "source_row bigint, reason string, run_id string",
    "purchases": "id_purchase string, id_client string, product string, price string, quantity string, "
                 "purchase_date string, total string, source_row bigint, reason string, run_id string",
}
GOLD_DDL = {
    "fact_sales": "id_purchase bigint, id_client bigint, product string, price decimal(18,2), quantity int, "
                  "total decimal(18,2), purchase_date date, name string, email string, country string, "
                  "subscription_date date, year_month string",
    "client_kpis": "id_client bigint, name string, total_purchases bigint, total_spent decimal(18,2), "
                   "avg_order_value decimal(18,2), min_order_value decimal(18,2), max_order_value decimal(18,2), "
                   "r_score int, f_score int, m_score int, rfm_segment string",
    "product_analytics": "product string, total_revenue decimal(18,2), avg_price decimal(18,2), "
                         "min_price decimal(18,2), max_price decimal(18,2), total_orders bigint, "
                         "market_share_pct double",
    "country_analytics": "country string, total_revenue decimal(18,2), total_orders bigint, "
                         "avg_order_value decimal(18,2), avg_revenue_per_customer decimal(18,2), "
                         "market_share_pct double",
    "daily_sales": "date date, total_revenue decimal(18,2), total_orders bigint, revenue_7day_avg decimal(18,2)",
    "weekly_sales": "year_week string, total_revenue decimal(18,2), total_orders bigint, avg_order_value decimal(18,2)",
    "monthly_sales": "year_month string, total_revenue decimal(18,2), total_orders bigint, "
                     "avg_order_value decimal(18,2), avg_revenue_per_customer decimal(18,2)",
}


def silver_rows() -> dict:
    """Rows of the clean silver layer (tables, rejects and quality report)."""
    june = lambda day: date(2024, 6, day)  # noqa: E731
    return {
        "clients": [
            (1, "Alice", "alice@example.com", date(2024, 1, 5), "France"),
            (2, "Bob", "bob@example.com", date(2024, 2, 10), "UK"),
            (3, "Carol", "carol@example.com", date(2024, 3, 15), "Germany"),
        ],
        "purchases": [
            (101, 1, "Laptop", D("1000.00"), 1, june(1), D("1000.00"), "2024-06"),
            (102, 1, "Mouse", D("25.00"), 8, june(1), D("200.00"), "2024-06"),
            (103, 2, "Phone", D("500.00"), 1, june(3), D("500.00"), "2024-06"),
            (104, 3, "Mouse", D("25.00"), 12, june(3), D("300.00"), "2024-06"),
        ],
        "clients_rejects": [],
        "purchases_rejects": [
            ("105", "9", "Mouse", "25.00", "1", "2024-06-03", "25.00", 5, "orphan_client", RUN_ID),
        ],
        "quality_report": {
            "clients": {"input_rows": 3, "output_rows": 3, "rejected_rows": 0,
                        "rejects_by_reason": {"malformed_row": 0}},
            "purchases": {"input_rows": 5, "output_rows": 4, "rejected_rows": 1,
                          "rejects_by_reason": {"malformed_row": 0, "orphan_client": 1}},
            "summary": {"total_input_rows": 8, "total_output_rows": 7, "run_date": RUN_DATE, "run_id": RUN_ID},
        },
    }


def gold_rows() -> dict:
    """Rows of the clean gold layer and its documents."""
    june = lambda day: date(2024, 6, day)  # noqa: E731
    people = {1: ("Alice", "alice@example.com", "France", date(2024, 1, 5)),
              2: ("Bob", "bob@example.com", "UK", date(2024, 2, 10)),
              3: ("Carol", "carol@example.com", "Germany", date(2024, 3, 15))}
    fact = []
    for pid, cid, product, price, qty, day, total in (
        (101, 1, "Laptop", "1000.00", 1, 1, "1000.00"), (102, 1, "Mouse", "25.00", 8, 1, "200.00"),
        (103, 2, "Phone", "500.00", 1, 3, "500.00"), (104, 3, "Mouse", "25.00", 12, 3, "300.00"),
    ):
        name, email, country, since = people[cid]
        fact.append((pid, cid, product, D(price), qty, D(total), june(day), name, email, country, since, "2024-06"))
    return {
        "fact_sales": fact,
        "client_kpis": [
            (1, "Alice", 2, D("1200.00"), D("600.00"), D("200.00"), D("1000.00"), 5, 5, 5, "Champions"),
            (2, "Bob", 1, D("500.00"), D("500.00"), D("500.00"), D("500.00"), 3, 2, 4, "Loyal Customers"),
            (3, "Carol", 1, D("300.00"), D("300.00"), D("300.00"), D("300.00"), 3, 2, 1, "Need Attention"),
        ],
        "product_analytics": [
            ("Laptop", D("1000.00"), D("1000.00"), D("1000.00"), D("1000.00"), 1, 50.0),
            ("Mouse", D("500.00"), D("25.00"), D("25.00"), D("25.00"), 2, 25.0),
            ("Phone", D("500.00"), D("500.00"), D("500.00"), D("500.00"), 1, 25.0),
        ],
        "country_analytics": [
            ("France", D("1200.00"), 2, D("600.00"), D("1200.00"), 60.0),
            ("UK", D("500.00"), 1, D("500.00"), D("500.00"), 25.0),
            ("Germany", D("300.00"), 1, D("300.00"), D("300.00"), 15.0),
        ],
        "daily_sales": [
            (june(1), D("1200.00"), 2, D("1200.00")),
            (june(2), D("0.00"), 0, D("600.00")),
            (june(3), D("800.00"), 2, D("666.67")),
        ],
        "weekly_sales": [("2024-W22", D("1200.00"), 2, D("600.00")), ("2024-W23", D("800.00"), 2, D("400.00"))],
        "monthly_sales": [("2024-06", D("2000.00"), 4, D("500.00"), D("666.67"))],
        "statistical_distributions": {"overall_metrics": {"total_revenue": 2000.0, "total_orders": 4,
                                                          "total_customers": 3}},
        "gold_summary": {"run_id": RUN_ID, "as_of_date": RUN_DATE},
    }


def write_bronze(settings: Settings, tmp_path: Path, run_date: str = RUN_DATE) -> None:
    """Ingest the two source CSV files above into bronze with :func:`medallion.bronze.ingest`."""
    sources = tmp_path / "landing"
    sources.mkdir(parents=True, exist_ok=True)
    (sources / "clients.csv").write_text(CLIENTS_CSV)
    (sources / "purchases.csv").write_text(PURCHASES_CSV)
    bronze.ingest(settings, run_date, RUN_ID, sources_dir=str(sources))


def bronze_layer(spark, settings: Settings, tmp_path: Path) -> dict[str, quality.SuiteInput]:
    """The bronze suites' inputs as the silver job builds them from :func:`write_bronze`'s files."""
    from medallion.spark.bronze_read import read_bronze

    write_bronze(settings, tmp_path)
    reads = {dataset: read_bronze(spark, settings, dataset, RUN_DATE) for dataset in DATASETS}
    return bronze_inputs({d: r.raw for d, r in reads.items()}, {d: r.manifest for d, r in reads.items()})


def silver_layer(spark, rows: dict | None = None, threshold_pct: float = 20.0) -> dict[str, quality.SuiteInput]:
    """The silver suites' inputs built from staged frames (default: the clean rows of :func:`silver_rows`)."""
    rows = rows or silver_rows()
    tables = {name: spark.createDataFrame(rows[name], SILVER_DDL[name]) for name in ("clients", "purchases")}
    tables.update({REJECTS_TABLES[d]: spark.createDataFrame(rows[REJECTS_TABLES[d]], REJECTS_DDL[d]) for d in DATASETS})
    return silver_inputs(tables, rows["quality_report"], RUN_DATE, threshold_pct)


def gold_layer(spark, rows: dict | None = None) -> dict[str, quality.SuiteInput]:
    """The gold suites' inputs built from staged frames (default: the clean rows of :func:`gold_rows`)."""
    rows = rows or gold_rows()
    tables = {name: spark.createDataFrame(rows[name], GOLD_DDL[name]) for name in GOLD_DDL}
    return gold_inputs(tables, rows["statistical_distributions"])


# --- Tests of the input builders ------------------------------------------------------------------


def test_bronze_inputs_read_the_file_header_and_the_manifest_row_count(spark, settings, tmp_path):
    inputs = bronze_layer(spark, settings, tmp_path)
    clients = inputs["bronze_clients"]
    # The extra column is kept, every column is a string, the blank line is not a row.
    assert clients.frame.columns == ["id_client", "name", "email", "subscription_date", "country", "_extra5"]
    assert {t for _, t in clients.frame.dtypes} == {"string"}
    assert clients.frame.count() == 3
    assert clients.parameters == {"manifest_data_rows": 3}
    assert inputs["bronze_purchases"].parameters == {"manifest_data_rows": 5}
    assert inputs["bronze_purchases"].frame.filter("id_purchase = '104'").first()["quantity"] == "12"


def test_silver_inputs_derive_the_checks(spark):
    inputs = silver_layer(spark)
    report = {r["table"]: r.asDict() for r in inputs["silver_quality_report"].frame.collect()}
    assert report["clients"] == {"table": "clients", "input_rows": 3, "output_rows": 3, "rejected_rows": 0,
                                 "malformed_rows": 0, "output_plus_rejected_rows": 3, "rows_in_table": 3,
                                 "rows_in_rejects": 0, "malformed_in_rejects": 0, "rejected_pct": 0.0}
    assert report["purchases"] == {"table": "purchases", "input_rows": 5, "output_rows": 4, "rejected_rows": 1,
                                   "malformed_rows": 0, "output_plus_rejected_rows": 5, "rows_in_table": 4,
                                   "rows_in_rejects": 1, "malformed_in_rejects": 0, "rejected_pct": 20.0}
    purchases = {r["id_purchase"]: r for r in inputs["silver_purchases"].frame.collect()}
    assert purchases[102]["expected_total"] == D("200.00")
    assert all(r["client_in_silver_clients"] for r in purchases.values())
    assert inputs["silver_clients"].parameters == {"run_date": RUN_DATE, "reject_threshold_pct": 20.0}


def test_expected_total_rounds_half_up_and_orphans_are_flagged(spark):
    rows = silver_rows()
    # 0.125 x 3 = 0.375 -> 0.38 half-up (0.37 with banker's rounding); client 9 does not exist.
    rows["purchases"].append((106, 9, "Charger", D("0.13"), 3, date(2024, 6, 2), D("0.39"), "2024-06"))
    rows["purchases"].append((107, 2, "Charger", D("0.125"), 3, date(2024, 6, 2), D("0.38"), "2024-06"))
    frame = silver_layer(spark, rows)["silver_purchases"].frame
    by_id = {r["id_purchase"]: r for r in frame.collect()}
    assert by_id[106]["client_in_silver_clients"] is False
    assert by_id[106]["expected_total"] == D("0.39")
    # price 0.125 is stored as DECIMAL(18,2) = 0.13 (half-up), so 0.13 x 3 = 0.39.
    assert by_id[107]["price"] == D("0.13") and by_id[107]["expected_total"] == D("0.39")


def test_gold_inputs_parameters_come_from_fact_sales_and_overall_metrics(spark):
    rows = gold_rows()
    rows["statistical_distributions"]["overall_metrics"]["total_revenue"] = 1999.99
    inputs = gold_layer(spark, rows)
    assert set(inputs) == set(quality.LAYER_SUITES["gold"])
    params = inputs["gold_daily_sales"].parameters
    assert params["fact_total_revenue_min"] == pytest.approx(1999.995)
    assert params["fact_total_revenue_max"] == pytest.approx(2000.005)
    assert params["overall_total_revenue_min"] == pytest.approx(1999.985)
    assert params["first_purchase_date"] == "2024-06-01"
    assert params["last_purchase_date"] == "2024-06-03"
    assert params["calendar_days"] == 3


def test_report_without_counts_is_a_clear_error(spark):
    rows = copy.deepcopy(silver_rows())
    del rows["quality_report"]["purchases"]["rejected_rows"]
    with pytest.raises(quality.QualityGateError, match=r"quality_report: missing purchases"):
        silver_layer(spark, rows)
    rows = copy.deepcopy(silver_rows())
    del rows["quality_report"]["clients"]["rejects_by_reason"]["malformed_row"]
    with pytest.raises(quality.QualityGateError, match=r"missing clients.rejects_by_reason.malformed_row"):
        silver_layer(spark, rows)


def test_distributions_without_total_revenue_is_a_clear_error(spark):
    rows = copy.deepcopy(gold_rows())
    del rows["statistical_distributions"]["overall_metrics"]["total_revenue"]
    with pytest.raises(quality.QualityGateError, match=r"overall_metrics.total_revenue is missing"):
        gold_layer(spark, rows)
