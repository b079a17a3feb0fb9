"""`airflow dags test` of the whole pipeline DAG on the local standalone cluster, checking the numbers.

Three full DAG runs and two ingest-only runs:

* a dirty generated sample with the lake on S3 (a moto server), checked against the generator's
  ground truth; then the same date again on a broken source, in a run created without a logical
  date (its run date is the date it was triggered for): the silver gate stops the run and every
  table keeps the first run's rows (write–audit–publish);
* two local lakes in one Airflow home (`make demo` with another `LAKE_ROOT`), ingest only; then a
  missing source file in a third lake, which fails at ingestion.

The seed project's own files are checked, layer by layer, in the integration tier
(`test_silver_layer.py`, `test_gold_layer.py`) and by `make demo SOURCES=../shared/seed-data`.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pyarrow.compute as pc
import pymongo
import pytest

from medallion import lake, quality, tables
from medallion.config import Settings
from medallion.contract import GOLD_TABLES, SILVER_TABLES
from medallion.devtools.datagen import generate
from medallion.reporting import load_run_reports
from tests.conftest import SEED_DATA, TEST_ACCESS_KEY, TEST_SECRET_KEY
from tests.s3_server import s3_server, s3a_jars  # noqa: F401  (session fixtures)

RUN_DATE = "2026-11-29"
ALL_TASKS = {"ingest_bronze", "silver_transformation", "gold_aggregation", "publish_gold", "lake_maintenance",
             "build_data_docs", "run_summary"}


def _table(settings: Settings, layer: str, table: str):
    return tables.read_snapshot(settings, layer, table, RUN_DATE)


def _money_sum(table, column: str = "total") -> Decimal:
    return Decimal(str(pc.sum(table[column]).as_py()))


def _contents(settings: Settings, layers=("silver", "gold")) -> dict:
    """Every table's rows of the run date, sorted, per layer."""
    names = {"silver": SILVER_TABLES, "gold": GOLD_TABLES}
    contents = {}
    for layer in layers:
        for name in names[layer]:
            data = _table(settings, layer, name)
            contents[f"{layer}/{name}"] = data.sort_by([(c, "ascending") for c in data.column_names]).to_pylist()
    return contents


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
    assert {t: c["version"] for t, c in log[0]["checksums"].items()} == {
        t: tables.last_commit(run.settings, "gold", t)["version"] for t in gold_counts if t != "fact_sales"}
    assert not [name for name in db.list_collection_names() if name.startswith("_staging")]


@pytest.fixture(scope="module")
def s3_lake(pipeline, spark_cluster, s3_server, s3a_jars, tmp_path_factory):  # noqa: F811
    """A dirty sample's run on S3, the lake's contents after it, and a broken source's run of the same date."""
    root = tmp_path_factory.mktemp("s3-lake")
    settings = s3_server.settings(lake_bucket_prefix="e2e-")
    s3_server.create_layer_buckets(settings)
    env = {**s3_server.env(settings), **s3a_jars.env()}
    client = s3_server.client()

    def land(folder):
        for name in ("clients.csv", "purchases.csv"):
            client.upload_file(str(folder / name), "e2e-sources", name)

    truth = generate(root / "dirty", clients=600, purchases_per_client=5, dirty_rate=0.05, seed=7, as_of=RUN_DATE)
    land(root / "dirty")
    good = pipeline.run(settings, RUN_DATE, extra_env=env)
    if good.returncode != 0:
        return settings, truth, good, None, None, None, None
    contents = _contents(settings)
    documents = {name: lake.read_document(settings, layer, RUN_DATE, name)
                 for layer, name in (("silver", "quality_report"), ("gold", "gold_summary"),
                                     ("gold", "statistical_distributions"))}
    # Half the rows defective: the rejected share passes the 20 % threshold. Triggered without a
    # logical date for the evening of the run date: the run date must still be RUN_DATE.
    broken = generate(root / "broken", clients=300, purchases_per_client=3, dirty_rate=0.5, seed=11, as_of=RUN_DATE)
    land(root / "broken")
    bad = pipeline.run(settings, None, extra_env=env, run_after=f"{RUN_DATE}T21:30:00+00:00")
    return settings, truth, good, contents, documents, broken, bad


def test_pipeline_on_a_dirty_generated_sample_with_the_lake_on_s3(s3_lake, mongo_server, spark_cluster,
                                                                    s3_server):  # noqa: F811
    settings, truth, run, _, _, _, _ = s3_lake
    _assert_succeeded(run)
    report = load_run_reports(settings, RUN_DATE)
    quality_report = report["quality_report"]
    for table in ("clients", "purchases"):
        for key in ("input_rows", "output_rows", "rejected_rows", "rejects_by_reason"):
            assert quality_report[table][key] == truth[table][key], (table, key)
        rejects = _table(settings, "silver", f"{table}_rejects")
        assert rejects.num_rows == truth[table]["rejected_rows"]
        counted = pc.value_counts(rejects["reason"])
        assert dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist())) == \
            {reason: n for reason, n in truth[table]["rejects_by_reason"].items() if n}
    assert quality_report["purchases"]["total_recalculated"] == truth["purchases"]["total_recalculated"]
    silver_revenue = _money_sum(_table(settings, "silver", "purchases"))
    assert silver_revenue == Decimal(truth["expected_revenue"])
    gold_counts = {table: _table(settings, "gold", table).num_rows for table in GOLD_TABLES}
    fact = _table(settings, "gold", "fact_sales")
    assert fact.num_rows == truth["purchases"]["output_rows"]
    assert _money_sum(fact) == silver_revenue
    assert _money_sum(_table(settings, "gold", "monthly_sales"), "total_revenue") == silver_revenue
    assert Decimal(str(report["statistical_distributions"]["overall_metrics"]["total_revenue"])) == silver_revenue
    _assert_published(run, mongo_server, gold_counts)
    # Delta tables in the layer buckets, documents beside them, gate summaries and data docs in the
    # quality bucket; the bronze archive holds the bytes and the manifest.
    client = s3_server.client()
    assert any(key.startswith("clients/_delta_log/") for key in s3_server.keys("e2e-silver", "clients/"))
    assert any(key.startswith("fact_sales/run_date=2026-11-29/") and key.endswith(".parquet")
               for key in s3_server.keys("e2e-gold", "fact_sales/"))
    assert "_documents/run_date=2026-11-29/gold_summary.json" in s3_server.keys("e2e-gold", "_documents/")
    # (The broken run of the fixture replaced the bronze and silver gate summaries of the date.)
    gate = json.loads(client.get_object(Bucket="e2e-quality", Key=f"gates/run_date={RUN_DATE}/gold.json")["Body"].read())
    assert gate["passed"] is True and gate["run_id"] == quality_report["summary"]["run_id"]
    assert "data_docs/index.html" in s3_server.keys("e2e-quality", "data_docs/")
    bronze_objects = [k for k in s3_server.keys("e2e-bronze", "clients/ingest_date=2026-11-29/") if not k.endswith("/")]
    assert sorted(bronze_objects) == [  # the broken run's bytes are version 2 beside the good run's
        "clients/ingest_date=2026-11-29/_manifest.json", "clients/ingest_date=2026-11-29/_manifest.v2.json",
        "clients/ingest_date=2026-11-29/clients.csv", "clients/ingest_date=2026-11-29/clients.v2.csv"]
    # The S3A and Delta jars came from the classpath: nothing was downloaded or copied into the
    # executors' work dirs.
    assert list(spark_cluster.run_dir.rglob("*.jar")) == []
    assert "spark.jars.packages" not in run.output


def test_every_commit_records_the_airflow_run_and_logical_date(s3_lake):
    settings, _, run, _, documents, _, _ = s3_lake
    _assert_succeeded(run)
    run_id = documents["quality_report"]["summary"]["run_id"]
    assert run_id.startswith("manual__")
    for layer, names, job in (("silver", SILVER_TABLES, "silver_transformation"),
                              ("gold", GOLD_TABLES, "gold_aggregation")):
        for name in names:
            commit = tables.last_commit(settings, layer, name)
            assert commit["operation"] == "WRITE"
            assert commit["metadata"] == {"run_id": run_id, "run_date": RUN_DATE, "logical_date": RUN_DATE,
                                          "job": job}, (layer, name)


def test_no_s3_credential_reaches_what_airflow_stores_or_prints(s3_lake):
    """Spark gets the S3 credentials from the environment only: neither value is in an Airflow home
    (task logs, the metadata database with the serialized DAG and rendered fields) or the output."""
    settings, _, good, _, _, _, bad = s3_lake
    _assert_succeeded(good)
    credentials = (settings.aws_access_key_id, settings.aws_secret_access_key)
    assert credentials == (TEST_ACCESS_KEY, TEST_SECRET_KEY)
    for run in (good, bad):
        home = run.extra["home"]
        stored = {path: path.read_bytes() for path in home.rglob("*") if path.is_file()}
        # The scan reads what Airflow stored: the Spark tasks' properties are there, in clear.
        database = b"".join(data for path, data in stored.items() if path.name.startswith("airflow.db"))
        assert b"software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider" in database
        found = [(str(path.relative_to(home)), value) for path, data in stored.items()
                 for value in credentials if value.encode() in data]
        assert found == []
        assert [value for value in credentials if value in run.output] == []


def test_a_failed_silver_gate_commits_nothing_and_readers_keep_the_good_snapshot(s3_lake):
    settings, _, good, contents, documents, broken, run = s3_lake
    _assert_succeeded(good)
    assert max(broken[t]["rejected_rows"] * 100 / broken[t]["input_rows"] for t in ("clients", "purchases")) > 20

    assert run.extra["logical_date"] is None and run.extra["run_after"].startswith(RUN_DATE)
    assert run.returncode != 0
    assert run.states["ingest_bronze"] == "success"  # the broken file is archived in bronze
    fs = lake.filesystem(settings)
    manifest = lake.read_json(fs, lake.layer_path(settings, "bronze", "clients", f"ingest_date={RUN_DATE}",
                                                  "_manifest.v2.json"))
    assert manifest["run_id"] == run.extra["run_id"]
    assert run.states["silver_transformation"] == "failed"
    assert run.states["gold_aggregation"] == "upstream_failed"
    assert run.states["publish_gold"] == "upstream_failed"
    assert run.states["build_data_docs"] == "success"
    # The task failed at once (a gate failure is not retried) with the gate's message.
    assert "gate_silver FAILED for run date 2026-11-29: nothing of the layer was committed" in run.output
    assert "silver_quality_report: expect_column_values_to_be_between (column=rejected_pct" in run.output

    # Every silver and gold table, and every document, still holds the good run's values for the date.
    assert _contents(settings) == contents
    for (layer, name) in (("silver", "quality_report"), ("gold", "gold_summary"),
                          ("gold", "statistical_distributions")):
        assert lake.read_document(settings, layer, RUN_DATE, name) == documents[name], name

    # The data docs show the failed validation.
    gate = lake.read_json(fs, quality.gate_result_path(settings, "silver", RUN_DATE))
    assert gate["passed"] is False and gate["run_id"] == run.extra["run_id"]
    index = lake.read_bytes(fs, quality.data_docs_path(settings, "index.html")).decode()
    assert gate["run_name"] in index
    stored = [info.path for info in fs.get_file_info(lake.pafs.FileSelector(
        lake.layer_path(settings, "quality", "validations", "silver_quality_report"), recursive=True))
        if info.path.endswith(".json") and gate["run_name"] in info.path]
    assert len(stored) == 1 and json.loads(lake.read_bytes(fs, stored[0]))["success"] is False


def _seed_rows(name: str) -> int:
    lines = (SEED_DATA / name).read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines[1:] if line.strip())


def test_two_lakes_in_one_airflow_home_then_a_missing_file_fails_at_ingest(pipeline, tmp_path):
    """A second `make demo` into another LAKE_ROOT (or a moved checkout) reuses the Airflow home."""
    home = pipeline.new_home()
    for name in ("first", "second"):
        sources = tmp_path / name / "sources"
        sources.mkdir(parents=True)
        for file in ("clients.csv", "purchases.csv"):
            shutil.copy(SEED_DATA / file, sources / file)
        settings = Settings(lake_root=str(tmp_path / name))
        run = pipeline.run(settings, RUN_DATE, home=home, only="ingest_bronze")
        assert run.returncode == 0, run.output[-4000:]
        assert run.states["ingest_bronze"] == "success"
        for dataset in ("clients", "purchases"):
            manifest = lake.read_json(lake.filesystem(settings), lake.layer_path(
                settings, "bronze", dataset, f"ingest_date={RUN_DATE}", "_manifest.json"))
            assert manifest["data_rows"] == _seed_rows(f"{dataset}.csv")

    settings = Settings(lake_root=str(tmp_path / "third"))
    (tmp_path / "third" / "sources").mkdir(parents=True)
    shutil.copy(SEED_DATA / "purchases.csv", tmp_path / "third" / "sources" / "purchases.csv")
    run = pipeline.run(settings, RUN_DATE, home=home)

    assert run.returncode != 0
    assert run.states["ingest_bronze"] == "failed"
    assert run.states.get("silver_transformation") in (None, "upstream_failed")
    assert run.states.get("publish_gold") in (None, "upstream_failed")
    assert f"{tmp_path / 'third' / 'sources' / 'clients.csv'}: source file not found" in run.output
