"""DAG integrity: every file in dags/ imports cleanly, quickly, without side effects, with the expected shape."""

from __future__ import annotations

import builtins
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from medallion.config import PROJECT_ROOT

DAGS_DIR = PROJECT_ROOT / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
PIPELINE_ORDER = ["ingest_bronze", "silver_transformation", "gold_aggregation", "publish_gold", "run_summary"]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"medallion_pipeline", "generate_sample_data"}
    assert len(DAG_FILES) == 2


def test_each_dag_file_parses_in_under_a_second(dagbag):
    stats = {Path(s.file).name: s.duration for s in dagbag.dagbag_stats}
    assert set(stats) == {p.name for p in DAG_FILES}
    for name, duration in stats.items():
        seconds = duration.total_seconds() if hasattr(duration, "total_seconds") else float(duration)
        assert seconds < 1.0, f"{name} took {seconds:.2f}s to parse"


def test_pipeline_dag_shape(dagbag):
    dag = dagbag.dags["medallion_pipeline"]
    assert dag.schedule == "@daily" if hasattr(dag, "schedule") else True
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.start_date.isoformat() == "2026-01-01T00:00:00+00:00"
    assert {"medallion", "spark"} <= set(dag.tags)
    assert set(dag.params.keys()) == {"run_date", "future_dates"}
    assert dag.params["future_dates"] == "reject"
    assert dag.doc_md and all(name in dag.doc_md for name in PIPELINE_ORDER + [
        "build_data_docs", "lake_maintenance", "gate_bronze", "gate_silver", "gate_gold", "write–audit–publish"])
    # The main chain, in order: each task is directly downstream of the previous one.
    for upstream, downstream in zip(PIPELINE_ORDER, PIPELINE_ORDER[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    docs = dag.get_task("build_data_docs")
    assert docs.trigger_rule == "all_done"
    assert docs.upstream_task_ids == {"silver_transformation", "gold_aggregation"}
    assert dag.get_task("lake_maintenance").upstream_task_ids == {"publish_gold"}
    # Where each layer's gate runs is visible in the graph.
    assert dag.get_task("silver_transformation").task_display_name == \
        "silver: gate_bronze → transform → gate_silver → commit"
    assert dag.get_task("gold_aggregation").task_display_name == "gold: transform → gate_gold → commit"
    for task in dag.tasks:
        assert task.owner == "data-platform"
    assert dag.get_task("ingest_bronze").retries == 3
    assert dag.get_task("publish_gold").retry_exponential_backoff


def test_spark_tasks_submit_the_jobs_for_the_logical_date(dagbag):
    from medallion.operators import SparkJobOperator

    dag = dagbag.dags["medallion_pipeline"]
    expected = {"silver_transformation": ("silver_transformation.py", ("bronze", "silver")),
                "gold_aggregation": ("gold_aggregation.py", ("gold",))}
    for task_id, (script, gates) in expected.items():
        task = dag.get_task(task_id)
        assert isinstance(task, SparkJobOperator)
        assert task._conn_id == "spark_default"
        assert Path(task.application) == PROJECT_ROOT / "spark_jobs" / script
        assert Path(task.application).is_file()
        assert task.application_args[:6] == ["--run-date", "{{ run_date_of(params, dag_run) }}",
                                             "--run-id", "{{ run_id }}", "--logical-date", "{{ logical_date_of(dag_run) }}"]
        assert task.gates == gates and task.run_date == "{{ run_date_of(params, dag_run) }}"
        assert task.retries == 2  # infrastructure failures are retried; gate failures fail fast
        # Every attempt of the run gets the run's start: a retry removes the files a failed attempt left.
        assert task.application_args[6:8] == ["--run-started", "{{ dag_run.start_date or '' }}"]
        assert task.conf["spark.sql.session.timeZone"] == "UTC"
        assert task.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
        assert task.conf["spark.driver.extraClassPath"].startswith(str(PROJECT_ROOT / ".cache" / "jars" / "delta"))
    assert dag.get_task("silver_transformation").application_args[-2:] == ["--future-dates", "{{ params.future_dates }}"]
    # Assets are named by their URI, so two lakes never register two URIs under one name.
    lake_root = Path(os.environ.get("LAKE_ROOT", PROJECT_ROOT / "data" / "lake")).resolve()
    outlets = {a.name for a in dag.get_task("gold_aggregation").outlets}
    assert {f"file://{lake_root}/gold/{name}" for name in ("fact_sales", "client_kpis", "daily_sales")} <= outlets
    assert {a.name: a.uri for a in dag.get_task("silver_transformation").outlets} == {
        f"file://{lake_root}/silver/{name}": f"file://{lake_root}/silver/{name}"
        for name in ("clients", "purchases", "clients_rejects", "purchases_rejects")}


@pytest.mark.parametrize(("params", "logical_date", "run_after", "run_date", "logical"), [
    ({}, "2026-11-29T00:00:00+00:00", "2026-11-30T00:00:00+00:00", "2026-11-29", "2026-11-29"),
    ({"run_date": "2026-10-01"}, "2026-11-29T00:00:00+00:00", "2026-11-30T00:00:00+00:00", "2026-10-01", "2026-11-29"),
    # A run created without a logical date: the UTC date of its run_after, whatever its offset.
    ({}, None, "2026-11-29T23:30:00-02:00", "2026-11-30", ""),
    ({"run_date": None}, None, "2026-11-29T08:15:00+00:00", "2026-11-29", ""),
])
def test_every_task_renders_the_same_run_date_with_or_without_a_logical_date(dagbag, params, logical_date,
                                                                             run_after, run_date, logical):
    from datetime import datetime
    from types import SimpleNamespace

    from medallion.operators import logical_date_of, run_date_of

    dag = dagbag.dags["medallion_pipeline"]
    dag_run = SimpleNamespace(logical_date=logical_date and datetime.fromisoformat(logical_date),
                              run_after=datetime.fromisoformat(run_after))
    assert run_date_of(params, dag_run) == run_date
    assert logical_date_of(dag_run) == logical
    context = {"params": {"future_dates": "reject", **params}, "dag_run": dag_run, "run_id": "manual__x"}
    for task_id in ("silver_transformation", "gold_aggregation"):
        task = dag.get_task(task_id)
        rendered = [task.render_template(arg, context) for arg in task.application_args[:6]]
        assert rendered == ["--run-date", run_date, "--run-id", "manual__x", "--logical-date", logical]
        assert task.render_template(task.run_date, context) == run_date


def test_sample_data_dag_shape(dagbag):
    dag = dagbag.dags["generate_sample_data"]
    assert dag.schedule is None or str(dag.timetable.summary).lower() in {"none", "null"}
    assert set(dag.params.keys()) == {"clients", "purchases_per_client", "dirty_rate", "seed"}
    assert dag.task_ids == ["generate"]


def test_parsing_does_no_io_connections_or_spark(monkeypatch):
    """Load the DagBag while counting sockets, connection lookups, subprocesses and file opens."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook

    calls: list[str] = []
    real_open = builtins.open

    def watched_open(file, *args, **kwargs):
        path = Path(str(file)).resolve() if not isinstance(file, int) else None
        if path is None or path.parent != DAGS_DIR:  # Airflow itself reads the DAG files
            calls.append(f"open {file}")
        return real_open(file, *args, **kwargs)

    def forbid(name):
        def record(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called while parsing DAGs")
        return record

    for module in [m for m in sys.modules if m.startswith(("dags.", "medallion_pipeline", "generate_sample_data"))]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "open", watched_open)
    monkeypatch.setattr(socket.socket, "connect", forbid("socket.connect"))
    monkeypatch.setattr(subprocess, "Popen", forbid("subprocess.Popen"))
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(forbid("BaseHook.get_connection")))
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert calls == []


def test_dag_files_do_not_import_pyspark():
    code = (
        "import sys, json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS_DIR)!r})\n"
        "print(json.dumps({'errors': len(bag.import_errors), 'pyspark': any(m == 'pyspark' or m.startswith('pyspark.') for m in sys.modules)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"errors": 0, "pyspark": False}


def test_what_the_pipeline_runs_never_imports_the_development_tooling():
    import ast

    package = PROJECT_ROOT / "include" / "medallion"
    # The sample-data DAG generates its sources with the data generator; `make dashboard`'s launcher
    # starts the local MongoDB wire server: both are local tooling themselves.
    allowed = {PROJECT_ROOT / "dags" / "generate_sample_data.py", package / "serving" / "launch.py"}
    offenders = []
    for path in [*package.rglob("*.py"), *DAG_FILES, *(PROJECT_ROOT / "spark_jobs").glob("*.py")]:
        if "devtools" in path.parts or path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            if any(name.startswith("medallion.devtools") for name in names):
                offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []
