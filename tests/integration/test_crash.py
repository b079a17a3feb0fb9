"""Write–audit–publish under a crash: the silver job killed while it writes its output, before the commit.

The job runs as its own spark-submit (``local[2]``: driver and executors in one process group) on a
new bronze version of a date whose silver is already committed; the test waits until the job's
first new data file appears in the table it writes first and kills the whole process group. Readers
(``deltalake`` and Spark) must still get the previous snapshot, the orphan files must be invisible
and removed by VACUUM, and a re-run must commit the new data.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from medallion import bronze, lake, tables
from medallion.devtools import datagen
from medallion.config import PROJECT_ROOT, Settings
from medallion.contract import SILVER_TABLES
from medallion.spark import silver
from medallion.spark.delta import read_snapshot
from tests.conftest import VENV_BIN, spark_submit_command, wait_until

RUN_DATE = "2026-11-29"


def _sorted(table):
    return table.sort_by([(name, "ascending") for name in table.column_names[:2]])


def test_silver_job_killed_before_its_commit_leaves_the_previous_snapshot(spark, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    datagen.generate(tmp_path / "v1", clients=200, purchases_per_client=3, dirty_rate=0.05, seed=1, as_of=RUN_DATE)
    bronze.ingest(settings, RUN_DATE, "first", sources_dir=str(tmp_path / "v1"))
    silver.run(spark, settings, RUN_DATE, "first")
    before = {table: _sorted(tables.read_snapshot(settings, "silver", table, RUN_DATE)) for table in SILVER_TABLES}
    versions = {table: tables.last_commit(settings, "silver", table)["version"] for table in SILVER_TABLES}
    report = lake.read_document(settings, "silver", RUN_DATE, "quality_report")

    # New bytes for the same date: a second bronze version, large enough that its write takes a while.
    truth = datagen.generate(tmp_path / "v2", clients=5000, purchases_per_client=5, dirty_rate=0.05, seed=2,
                             as_of=RUN_DATE)
    bronze.ingest(settings, RUN_DATE, "second", sources_dir=str(tmp_path / "v2"))
    partition = Path(lake.layer_path(settings, "silver", "purchases", lake.run_date_dir(RUN_DATE)))
    committed_files = set(partition.glob("*.parquet"))
    job = subprocess.Popen(
        spark_submit_command("local[2]", "silver_transformation.py", "--run-date", RUN_DATE, "--run-id", "killed",
                             settings=settings),
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
             "LAKE_ROOT": settings.lake_root}, cwd=PROJECT_ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        orphans = wait_until(lambda: set(partition.glob("*.parquet")) - committed_files or job.poll() is not None,
                             timeout=600, what="the killed job's first purchases file", interval=0.01)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
        _, errors = job.communicate(timeout=60)
    assert orphans is not True, f"the job ended by itself ({job.returncode}) before writing:\n{errors[-4000:]}"

    # Nothing was committed: every table is at its version, with its rows; the report is the first run's.
    for table in SILVER_TABLES:
        assert tables.last_commit(settings, "silver", table)["version"] == versions[table], table
        assert _sorted(tables.read_snapshot(settings, "silver", table, RUN_DATE)).equals(before[table]), table
    spark_rows = read_snapshot(spark, settings, "silver", "purchases", RUN_DATE).count()
    assert spark_rows == before["purchases"].num_rows
    assert lake.read_document(settings, "silver", RUN_DATE, "quality_report") == report
    assert all(path.exists() for path in orphans)  # written but never part of a version

    # The re-run commits the new bronze version.
    rerun = silver.run(spark, settings, RUN_DATE, "rerun")
    assert rerun["purchases"]["output_rows"] == truth["purchases"]["output_rows"]
    assert tables.read_snapshot(settings, "silver", "purchases", RUN_DATE).num_rows == truth["purchases"]["output_rows"]
    assert tables.last_commit(settings, "silver", "purchases")["version"] == versions["purchases"] + 1

    # VACUUM removes the killed job's files (and the replaced ones), never the current snapshot's.
    tables.apply_retention(settings.with_overrides(vacuum_retain_hours=0), RUN_DATE)
    assert not any(path.exists() for path in orphans | committed_files)
    assert tables.read_snapshot(settings, "silver", "purchases", RUN_DATE).num_rows == truth["purchases"]["output_rows"]
