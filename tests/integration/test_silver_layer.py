"""The silver job (:func:`medallion.spark.silver.run`, what spark_jobs/silver_transformation.py runs) on
real Delta tables: generated dirty data against its ground truth, and the seed's own files, with
expected values recomputed here with the csv module and Decimal.

The job runs in the test session's Spark (``local[2]``); the end-to-end tier runs the same code
through spark-submit on the local standalone cluster.
"""

from __future__ import annotations

import csv
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pyarrow.compute as pc
import pytest

from medallion import bronze, lake, tables
from medallion.devtools import datagen
from medallion.config import Settings
from medallion.contract import REJECTS_TABLES, SILVER_TABLES
from medallion.spark import silver
from tests.conftest import SEED_DATA

RUN_DATE = "2026-11-29"
CENT = Decimal("0.01")


def run_silver(spark, settings: Settings, run_id: str) -> dict:
    report = silver.run(spark, settings, RUN_DATE, run_id)
    assert lake.read_document(settings, "silver", RUN_DATE, "quality_report") == report
    return report


def read_table(settings: Settings, table: str):
    """A silver table's rows of the run date, read with ``deltalake`` (independent of Spark)."""
    return tables.read_snapshot(settings, "silver", table, RUN_DATE)


@pytest.fixture(scope="module")
def dirty_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("silver-dirty")
    truth = datagen.generate(root / "landing", clients=1000, purchases_per_client=3, dirty_rate=0.05,
                             seed=11, as_of=RUN_DATE)
    settings = Settings(lake_root=str(root / "lake"))
    bronze.ingest(settings, RUN_DATE, "it-dirty", sources_dir=str(root / "landing"))
    report = run_silver(spark, settings, "it-dirty")
    return settings, truth, report


@pytest.mark.parametrize("table", ["clients", "purchases"])
def test_dirty_sample_matches_ground_truth(dirty_run, table):
    settings, truth, report = dirty_run
    got, expected = report[table], truth[table]
    assert got["input_rows"] == expected["input_rows"]
    assert got["output_rows"] == expected["output_rows"]
    assert got["rejected_rows"] == expected["rejected_rows"]
    assert got["rejects_by_reason"] == expected["rejects_by_reason"]
    assert got["total_recalculated"] == expected["total_recalculated"]
    assert min(expected["rejects_by_reason"].values()) > 0  # every rule has rows to catch
    assert read_table(settings, table).num_rows == expected["output_rows"]
    rejects = read_table(settings, REJECTS_TABLES[table])
    assert rejects.num_rows == expected["rejected_rows"]
    assert Counter(rejects.column("reason").to_pylist()) == +Counter(expected["rejects_by_reason"])
    assert set(rejects.column("run_id").to_pylist()) == {"it-dirty"}


def test_dirty_sample_revenue_and_rows(dirty_run):
    settings, truth, report = dirty_run
    purchases = read_table(settings, "purchases")
    assert sum(purchases.column("total").to_pylist(), Decimal(0)) == Decimal(truth["expected_revenue"])
    ids = purchases.column("id_purchase").to_pylist()
    assert len(ids) == len(set(ids))
    assert report["summary"]["total_input_rows"] == truth["clients"]["input_rows"] + truth["purchases"]["input_rows"]


def test_every_silver_table_reads_the_same_with_deltalake_and_spark(dirty_run, spark):
    from medallion.spark.delta import read_snapshot

    settings, _, _ = dirty_run
    for table in SILVER_TABLES:
        with_deltalake = read_table(settings, table)
        with_spark = read_snapshot(spark, settings, "silver", table, RUN_DATE)
        assert with_spark.columns == with_deltalake.column_names, table
        spark_rows = sorted((tuple(row) for row in with_spark.collect()), key=repr)
        assert spark_rows == sorted((tuple(row.values()) for row in with_deltalake.to_pylist()), key=repr), table
        assert len(spark_rows) > 0, table


def seed_expectations() -> dict:
    """Values computed from the seed CSVs with the csv module and Decimal only."""
    with open(SEED_DATA / "clients.csv", newline="", encoding="utf-8") as f:
        clients = list(csv.DictReader(f))
    with open(SEED_DATA / "purchases.csv", newline="", encoding="utf-8") as f:
        purchases = list(csv.DictReader(f))
    totals = {int(p["id_purchase"]): (Decimal(p["price"]) * int(p["quantity"])).quantize(CENT, ROUND_HALF_UP)
              for p in purchases}
    return {
        "clients": len(clients),
        "purchases": len(purchases),
        "revenue": sum(totals.values(), Decimal(0)),
        "quantity": sum(int(p["quantity"]) for p in purchases),
        "by_month": Counter(p["purchase_date"][:7] for p in purchases),
        "by_country": Counter(c["country"] for c in clients),
        "first_purchase": purchases[0],
        "first_client": clients[0],
    }


@pytest.fixture(scope="module")
def seed_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("silver-seed")
    settings = Settings(lake_root=str(root / "lake"))
    bronze.ingest(settings, RUN_DATE, "it-seed", sources_dir=str(SEED_DATA))
    report = run_silver(spark, settings, "it-seed")
    return settings, report


def test_seed_data_passes_whole(seed_run):
    settings, report = seed_run
    expected = seed_expectations()
    assert (expected["clients"], expected["purchases"]) == (100, 468)
    for table, rows in (("clients", 100), ("purchases", 468)):
        assert report[table]["input_rows"] == rows
        assert report[table]["output_rows"] == rows
        assert report[table]["rejected_rows"] == 0
        assert set(report[table]["rejects_by_reason"].values()) == {0}
        assert set(report[table]["null_values"].values()) == {0}
    assert report["purchases"]["total_recalculated"] == 0  # the seed's totals are exact
    assert report["summary"]["data_quality_score"] == 100.0

    purchases = read_table(settings, "purchases")
    assert sum(purchases.column("total").to_pylist(), Decimal(0)) == expected["revenue"]
    assert sum(purchases.column("quantity").to_pylist()) == expected["quantity"]
    assert Counter(purchases.column("year_month").to_pylist()) == expected["by_month"]
    first = purchases.filter(pc.field("id_purchase") == 1).to_pylist()[0]
    raw = expected["first_purchase"]
    assert (first["id_client"], first["product"], first["price"], first["quantity"], str(first["purchase_date"]),
            first["total"]) == (int(raw["id_client"]), raw["product"], Decimal(raw["price"]), int(raw["quantity"]),
                                raw["purchase_date"], Decimal(raw["total"]).quantize(CENT))

    clients = read_table(settings, "clients")
    assert Counter(clients.column("country").to_pylist()) == expected["by_country"]
    assert sorted(clients.column("id_client").to_pylist()) == list(range(1, 101))
    one = clients.filter(pc.field("id_client") == 1).to_pylist()[0]
    raw = expected["first_client"]
    assert (one["name"], one["email"], str(one["subscription_date"])) == (
        raw["name"], raw["email"], raw["subscription_date"])


def test_rerun_same_date_gives_the_same_rows_as_new_table_versions(seed_run, spark):
    settings, first_report = seed_run
    before = {table: read_table(settings, table) for table in SILVER_TABLES}

    report = run_silver(spark, settings, "it-seed-again")

    assert {k: v for k, v in report.items() if k not in ("summary", "commit")} == \
        {k: v for k, v in first_report.items() if k not in ("summary", "commit")}
    assert first_report["commit"]["table_versions"] == {table: 0 for table in SILVER_TABLES}
    # The seed has no rejects: replacing an empty partition with no rows changes nothing, so Delta
    # records no commit for the rejects tables.
    assert report["commit"]["table_versions"] == {"purchases": 1, "clients": 1, "purchases_rejects": 0,
                                                  "clients_rejects": 0}
    for table in SILVER_TABLES:
        after = read_table(settings, table)
        key = after.column_names[0]
        assert after.sort_by(key).equals(before[table].sort_by(key)), table
    for table in ("clients", "purchases"):
        assert tables.last_commit(settings, "silver", table)["metadata"]["run_id"] == "it-seed-again"
