"""A worker and its executor SIGKILLed while the silver job writes, on the shared standalone cluster.

The job is spark-submitted to the session's cluster (``spark_cluster``: a master and two one-core
workers); once its first purchases file appears in the run date's partition, worker 1's JVM and
its executor JVM are killed. Spark runs the lost tasks again on the other executor (recomputing
lost persisted blocks from their lineage), so the job commits; had it failed, its exit code must
be the retryable one and a second submission (Airflow's retry) must commit. Either way silver
equals the generator's ground truth and no Parquet file under a silver table is left that no
table version names (read from the ``_delta_log`` JSON commits here, independently of the job).
The killed worker is started again for the tests that share the cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

from medallion import bronze, lake, tables
from medallion.devtools import datagen
from medallion.config import PROJECT_ROOT, Settings
from medallion.contract import REJECTS_TABLES, SILVER_TABLES
from medallion.spark.job import EXIT_FAILED
from tests.conftest import spark_submit_command, wait_until

RUN_DATE = "2026-11-29"


def _committed_files(table_dir: Path) -> set[Path]:
    """Data files named by an ``add`` action of any commit of the table's Delta log."""
    added = set()
    for commit in sorted((table_dir / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.add(table_dir / unquote(action["add"]["path"]))
    return added


def _alive_workers(cluster) -> list[dict]:
    return [worker for worker in cluster.status()["workers"] if worker["state"] == "ALIVE"]


def test_silver_job_survives_a_lost_worker_and_leaves_no_orphan_files(spark_cluster, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    truth = datagen.generate(tmp_path / "landing", clients=5000, purchases_per_client=5, dirty_rate=0.05, seed=3,
                             as_of=RUN_DATE)
    bronze.ingest(settings, RUN_DATE, "lost-executor", sources_dir=str(tmp_path / "landing"))
    partition = Path(lake.layer_path(settings, "silver", "purchases", lake.run_date_dir(RUN_DATE)))
    run_started = datetime.now(timezone.utc).isoformat()  # what the DAG passes: dag_run.start_date
    command = spark_submit_command(spark_cluster.master_url, "silver_transformation.py", "--run-date", RUN_DATE,
                                   "--run-id", "lost-executor", "--run-started", run_started, settings=settings)
    env = {**spark_cluster.env, "LAKE_ROOT": settings.lake_root}
    worker_pid = int((spark_cluster.run_dir / "worker-1.pid").read_text())
    worker_ids = {w["id"] for w in _alive_workers(spark_cluster)}

    def submit(attempt: int) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"attempt-{attempt}.log"
        with log.open("w") as out:
            return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True), log

    job, log = submit(1)
    try:
        wait_until(lambda: any(partition.glob("*.parquet")) or job.poll() is not None,
                   timeout=900, what="the job's first purchases file", interval=0.01)
        assert job.poll() is None, f"the job ended ({job.returncode}) before it wrote:\n{log.read_text()[-4000:]}"
        executors = subprocess.run(["pgrep", "-P", str(worker_pid)], capture_output=True, text=True).stdout.split()
        assert executors, "worker 1 runs no executor of the job"
        for pid in [*map(int, executors), worker_pid]:
            os.kill(pid, signal.SIGKILL)
        code = job.wait(timeout=900)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait(timeout=60)
        restarted = spark_cluster.script("up")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    wait_until(lambda: len(_alive_workers(spark_cluster)) == 2
               and worker_ids != {w["id"] for w in _alive_workers(spark_cluster)},
               timeout=120, what="two ALIVE workers, worker 1 started again")

    outcome = f"the first submission exited {code}"
    if code != 0:
        assert code == EXIT_FAILED, f"{outcome}, not the retryable code:\n{log.read_text()[-4000:]}"
        job, log = submit(2)
        code = job.wait(timeout=900)
        outcome += f", the re-submission {code}"
    assert code == 0, f"{outcome}:\n{log.read_text()[-4000:]}"

    report = lake.read_document(settings, "silver", RUN_DATE, "quality_report")
    for table in ("clients", "purchases"):
        for key in ("input_rows", "output_rows", "rejected_rows", "rejects_by_reason", "total_recalculated"):
            assert report[table][key] == truth[table][key], (outcome, table, key)
        assert tables.read_snapshot(settings, "silver", table, RUN_DATE).num_rows == truth[table]["output_rows"]
        assert tables.read_snapshot(settings, "silver", REJECTS_TABLES[table], RUN_DATE).num_rows == \
            truth[table]["rejected_rows"], (outcome, table)
    purchases = tables.read_snapshot(settings, "silver", "purchases", RUN_DATE)
    assert sum(purchases.column("total").to_pylist(), Decimal(0)) == Decimal(truth["expected_revenue"]), outcome

    for table in SILVER_TABLES:
        table_dir = Path(lake.layer_path(settings, "silver", table))
        on_disk = {path for path in table_dir.rglob("*.parquet") if "_delta_log" not in path.parts}
        assert on_disk and on_disk <= _committed_files(table_dir), (outcome, table, on_disk - _committed_files(table_dir))
