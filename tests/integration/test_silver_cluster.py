"""The silver job on the local standalone cluster: generated dirty data against its ground truth,
and the seed's own files, with expected values recomputed here with the csv module and Decimal."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from medallion import bronze, datagen, lake
from medallion.config import Settings
from tests.conftest import SEED_DATA

RUN_DATE = "2026-11-29"
CENT = Decimal("0.01")


def submit_silver(cluster, settings: Settings, run_id: str, *extra: str) -> dict:
    done = cluster.submit("silver_transformation.py", "--run-date", RUN_DATE, "--run-id", run_id, *extra,
                          settings=settings)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "data_quality_score=" in done.stdout
    root = snapshot_root(settings)
    return json.loads((root / "quality_report.json").read_text())


def snapshot_root(settings: Settings) -> Path:
    return Path(lake.layer_path(settings, "silver", *lake.snapshot_parts(settings, "silver", RUN_DATE)))


def read_table(settings: Settings, table: str):
    """A silver table read with pyarrow (independent of Spark), ``year_month`` from the folder names."""
    path = snapshot_root(settings) / table
    partitioning = "hive" if table == "purchases" else None
    return pads.dataset(str(path), format="parquet", partitioning=partitioning).to_table()


@pytest.fixture(scope="module")
def dirty_run(spark_cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("silver-dirty")
    truth = datagen.generate(root / "landing", clients=1000, purchases_per_client=3, dirty_rate=0.05,
                             seed=11, as_of=RUN_DATE)
    settings = Settings(lake_root=str(root / "lake"))
    bronze.ingest(settings, RUN_DATE, "it-dirty", sources_dir=str(root / "landing"))
    report = submit_silver(spark_cluster, settings, "it-dirty")
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
    rejects = read_table(settings, f"_rejects/{table}")
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
def seed_run(spark_cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("silver-seed")
    settings = Settings(lake_root=str(root / "lake"))
    bronze.ingest(settings, RUN_DATE, "it-seed", sources_dir=str(SEED_DATA))
    report = submit_silver(spark_cluster, settings, "it-seed")
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
    first = purchases.filter(pads.field("id_purchase") == 1).to_pylist()[0]
    raw = expected["first_purchase"]
    assert (first["id_client"], first["product"], first["price"], first["quantity"], str(first["purchase_date"]),
            first["total"]) == (int(raw["id_client"]), raw["product"], Decimal(raw["price"]), int(raw["quantity"]),
                                raw["purchase_date"], Decimal(raw["total"]).quantize(CENT))

    clients = read_table(settings, "clients")
    assert Counter(clients.column("country").to_pylist()) == expected["by_country"]
    assert clients.column("id_client").to_pylist() == list(range(1, 101))  # sorted by id
    one = clients.to_pylist()[0]
    raw = expected["first_client"]
    assert (one["name"], one["email"], str(one["subscription_date"])) == (
        raw["name"], raw["email"], raw["subscription_date"])


def _parquet_fingerprint(path: Path) -> tuple:
    """sha256 of a Parquet file's bytes before its footer, plus the footer's content.

    parquet-java lists each column chunk's encodings from a HashSet whose order varies between JVM
    runs, so footers are compared parsed, with the encodings sorted; everything else is compared
    byte for byte.
    """
    data = path.read_bytes()
    assert data[-4:] == b"PAR1"
    footer_length = int.from_bytes(data[-8:-4], "little")
    pages = hashlib.sha256(data[: len(data) - 8 - footer_length]).hexdigest()
    meta = pq.ParquetFile(path).metadata
    columns = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            stats = col.statistics
            columns.append((g, col.path_in_schema, col.num_values, col.total_compressed_size,
                            col.data_page_offset, tuple(sorted(col.encodings)),
                            (stats.min, stats.max, stats.null_count) if stats is not None and stats.has_min_max else None))
    return (pages, meta.num_rows, meta.num_row_groups, str(meta.schema.to_arrow_schema()), meta.metadata,
            tuple(columns))


def _content(root: Path) -> dict[str, list[tuple]]:
    """Per table folder (relative), the sorted fingerprints of its Parquet part files."""
    found: dict[str, list[tuple]] = {}
    for part in root.rglob("*.parquet"):
        found.setdefault(str(part.parent.relative_to(root)), []).append(_parquet_fingerprint(part))
    return {folder: sorted(prints, key=repr) for folder, prints in found.items()}


def test_rerun_same_date_gives_identical_content(seed_run, spark_cluster):
    settings, _ = seed_run
    first_root = snapshot_root(settings)
    first_content = _content(first_root)
    first_report = (first_root / "quality_report.json").read_bytes()

    submit_silver(spark_cluster, settings, "it-seed")

    second_root = snapshot_root(settings)
    assert second_root != first_root and not first_root.exists()  # replaced by a new committed attempt
    assert (second_root / "quality_report.json").read_bytes() == first_report
    assert _content(second_root) == first_content
    assert {"clients", "_rejects/clients", "_rejects/purchases"} <= set(first_content)
    months = [folder for folder in first_content if folder.startswith("purchases/year_month=")]
    assert len(months) == len(seed_expectations()["by_month"])
    assert all(len(first_content[folder]) == 1 for folder in months)  # one file per month
