"""`airflow dags test` of the whole pipeline DAG on the local standalone cluster, checking the numbers."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pymongo
import pytest

from medallion.config import Settings
from medallion.contract import GOLD_TABLES
from medallion.datagen import generate
from medallion.lake import filesystem, layer_path, read_json, snapshot_parts
from medallion.reporting import load_run_reports
from tests.conftest import SEED_DATA
from tests.s3_server import s3_server, s3a_jars  # noqa: F401  (session fixtures)

RUN_DATE = "2026-11-29"
ALL_TASKS = {"ingest_bronze", "gate_bronze", "silver_transformation", "gate_silver", "gold_aggregation",
             "gate_gold", "publish_gold", "build_data_docs", "run_summary"}


def _table(settings: Settings, layer: str, table: str):
    return ds.dataset(layer_path(settings, layer, *snapshot_parts(settings, layer, RUN_DATE, table)),
                      filesystem=filesystem(settings), format="parquet", partitioning="hive").to_table()


def _gold_contents(settings: Settings) -> dict:
    """Every gold table (rows sorted) and document (run id removed) of the run date."""
    contents = {}
    for table in GOLD_TABLES:
        data = _table(settings, "gold", table)
        contents[table] = data.sort_by([(data.column_names[0], "ascending")]).to_pylist()
    for name in ("statistical_distributions", "gold_summary"):
        document = read_json(filesystem(settings),
                             layer_path(settings, "gold", *snapshot_parts(settings, "gold", RUN_DATE, f"{name}.json")))
        document.pop("run_id", None)  # differs per DAG run, as does the silver attempt folder below
        document.pop("silver_attempt", None)
        contents[name] = document
    return contents


def _money_sum(table, column: str = "total") -> Decimal:
    return Decimal(str(pc.sum(table[column]).as_py()))


def _assert_succeeded(run):
    assert run.returncode == 0, run.output[-6000:]
    assert run.states == {task: "success" for task in ALL_TASKS}, run.states


def _assert_published(run, mongo_server, gold_counts: dict[str, int]):
    db = pymongo.MongoClient(mongo_server)[run.mongo_database]
    for table, rows in gold_counts.items():
        if table != "fact_sales":
            assert db[table].count_documents({}) == rows, table
    log = list(db["_publish_log"].find({"status": "success"}))
    assert len(log) == 1
    assert not [name for name in db.list_collection_names() if name.startswith("_staging")]


def test_pipeline_on_a_dirty_generated_sample(pipeline, mongo_server, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    truth = generate(tmp_path / "lake" / "sources", clients=600, purchases_per_client=5, dirty_rate=0.05,
                     seed=7, as_of=RUN_DATE)

    run = pipeline.run(settings, RUN_DATE)

    _assert_succeeded(run)
    report = load_run_reports(settings, RUN_DATE)
    quality = report["quality_report"]
    for table in ("clients", "purchases"):
        for key in ("input_rows", "output_rows", "rejected_rows", "rejects_by_reason"):
            assert quality[table][key] == truth[table][key], (table, key)
    assert quality["purchases"]["total_recalculated"] == truth["purchases"]["total_recalculated"]
    silver_revenue = _money_sum(_table(settings, "silver", "purchases"))
    assert silver_revenue == Decimal(truth["expected_revenue"])
    gold_counts = {table: _table(settings, "gold", table).num_rows for table in GOLD_TABLES}
    fact = _table(settings, "gold", "fact_sales")
    assert fact.num_rows == truth["purchases"]["output_rows"]
    assert _money_sum(fact) == silver_revenue
    assert _money_sum(_table(settings, "gold", "monthly_sales"), "total_revenue") == silver_revenue
    assert Decimal(str(report["statistical_distributions"]["overall_metrics"]["total_revenue"])) == silver_revenue
    _assert_published(run, mongo_server, gold_counts)
    assert (tmp_path / "lake" / "quality" / "data_docs" / "index.html").is_file()


@pytest.fixture(scope="module")
def seed_run(pipeline, tmp_path_factory):
    """One DAG run on the seed project's own files, lake on the local filesystem."""
    root = tmp_path_factory.mktemp("seed")
    (root / "lake" / "sources").mkdir(parents=True)
    for name in ("clients.csv", "purchases.csv"):
        shutil.copy(SEED_DATA / name, root / "lake" / "sources" / name)
    return pipeline.run(Settings(lake_root=str(root / "lake")), RUN_DATE)


def test_pipeline_on_the_seed_projects_own_files(seed_run, mongo_server):
    with open(SEED_DATA / "purchases.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected_revenue = sum(Decimal(r["price"]) * int(r["quantity"]) for r in rows)
    settings = seed_run.settings

    _assert_succeeded(seed_run)
    quality = load_run_reports(settings, RUN_DATE)["quality_report"]
    assert (quality["clients"]["output_rows"], quality["clients"]["rejected_rows"]) == (100, 0)
    assert (quality["purchases"]["output_rows"], quality["purchases"]["rejected_rows"]) == (468, 0)
    assert _money_sum(_table(settings, "gold", "fact_sales")) == expected_revenue
    assert _money_sum(_table(settings, "gold", "country_analytics"), "total_revenue") == expected_revenue
    gold_counts = {table: _table(settings, "gold", table).num_rows for table in GOLD_TABLES}
    _assert_published(seed_run, mongo_server, gold_counts)


def test_pipeline_with_the_lake_on_s3_gives_the_filesystem_numbers(pipeline, seed_run, s3_server, s3a_jars):  # noqa: F811
    settings = s3_server.settings(lake_bucket_prefix="e2e-")
    s3_server.create_layer_buckets(settings)
    client = s3_server.client()
    for name in ("clients.csv", "purchases.csv"):
        client.upload_file(str(SEED_DATA / name), "e2e-sources", name)

    run = pipeline.run(settings, RUN_DATE, extra_env={**s3_server.env(settings), **s3a_jars.env()})

    _assert_succeeded(run)
    bronze_objects = [k for k in s3_server.keys("e2e-bronze", "clients/ingest_date=2026-11-29/") if not k.endswith("/")]
    assert bronze_objects == [
        "clients/ingest_date=2026-11-29/_manifest.json", "clients/ingest_date=2026-11-29/clients.csv"]
    assert any(key.endswith(".parquet") for key in s3_server.keys("e2e-silver", "run_date=2026-11-29/"))
    assert any(key.endswith(".parquet") for key in s3_server.keys("e2e-gold", "run_date=2026-11-29/"))
    assert "data_docs/index.html" in s3_server.keys("e2e-quality", "data_docs/")
    assert _gold_contents(settings) == _gold_contents(seed_run.settings)


def test_missing_input_fails_at_ingest_naming_the_file(pipeline, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    (tmp_path / "lake" / "sources").mkdir(parents=True)
    shutil.copy(SEED_DATA / "purchases.csv", tmp_path / "lake" / "sources" / "purchases.csv")

    run = pipeline.run(settings, RUN_DATE)

    assert run.returncode != 0
    assert run.states["ingest_bronze"] == "failed"
    assert run.states.get("silver_transformation") in (None, "upstream_failed")
    assert run.states.get("publish_gold") in (None, "upstream_failed")
    assert "clients.csv" in run.output and "not found" in run.output


def test_a_broken_source_fails_gate_silver_and_stops_before_gold(pipeline, tmp_path):
    """Half the rows defective: the rejected share passes the 20 % threshold, so the silver gate stops the run."""
    settings = Settings(lake_root=str(tmp_path / "lake"))
    truth = generate(tmp_path / "lake" / "sources", clients=300, purchases_per_client=3, dirty_rate=0.5,
                     seed=11, as_of=RUN_DATE)
    rejected_share = truth["clients"]["rejected_rows"] / truth["clients"]["input_rows"]
    assert rejected_share > 0.20

    run = pipeline.run(settings, RUN_DATE)

    assert run.returncode != 0
    assert run.states["silver_transformation"] == "success"
    assert run.states["gate_silver"] == "failed"
    assert run.states.get("gold_aggregation") == "upstream_failed"
    assert run.states.get("publish_gold") == "upstream_failed"
    assert run.states["build_data_docs"] == "success"
    assert (tmp_path / "lake" / "quality" / "data_docs" / "index.html").is_file()
