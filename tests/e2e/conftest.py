"""End-to-end fixtures: `airflow dags test` of the pipeline against the local standalone cluster and a
MongoDB-wire-protocol server, each run in its own Airflow home and lake."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medallion.config import PROJECT_ROOT, Settings
from tests.conftest import VENV_BIN
from tests.integration.conftest import mongo_server  # noqa: F401  (re-exported fixture)

ENV_SCRIPT = PROJECT_ROOT / "scripts" / "airflow-env.sh"


@dataclass
class DagRun:
    returncode: int
    output: str
    states: dict[str, str | None]
    settings: Settings
    mongo_database: str
    extra: dict = field(default_factory=dict)


class PipelineRunner:
    """Runs `airflow dags test medallion_pipeline DATE`, in a fresh Airflow home per run unless told otherwise."""

    def __init__(self, base: Path, spark_master_port: int, mongo_uri: str):
        from medallion.devtools.mongo_server import airflow_conn_json

        self.base = base
        self.env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "SPARK_MASTER_PORT": str(spark_master_port),
            "AIRFLOW_CONN_MONGO_DEFAULT": airflow_conn_json(mongo_uri),
            "SPARK_DRIVER_MEMORY": "1g",
            "SPARK_EXECUTOR_MEMORY": "1g",
            "SPARK_SHUFFLE_PARTITIONS": "4",
        }
        for key in ("AIRFLOW_HOME", "AIRFLOW_CONN_SPARK_DEFAULT", "LAKE_ROOT"):
            self.env.pop(key, None)
        self.template = base / "airflow-template"
        self._bash("airflow db migrate", {"AIRFLOW_HOME": str(self.template)}, timeout=300)
        self.runs = 0
        self.dag_runs = 0

    def new_home(self) -> Path:
        """A fresh Airflow home with a migrated metadata database."""
        self.runs += 1
        home = self.base / f"airflow-{self.runs}"
        home.mkdir()
        shutil.copy(self.template / "airflow.db", home / "airflow.db")  # airflow.cfg names its home: not copied
        return home

    def _bash(self, command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", "-c", f"source {ENV_SCRIPT} && {command}"], env={**self.env, **env},
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)
        if command.startswith("airflow db") and done.returncode != 0:
            raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
        return done

    def run(self, settings: Settings, run_date: str | None, extra_env: dict[str, str] | None = None,
            timeout: float = 1500, *, run_after: str | None = None, home: Path | None = None,
            only: str | None = None) -> DagRun:
        """One DAG run: ``airflow dags test`` for ``run_date``, or, with ``run_date=None``, a run created
        without a logical date for ``run_after`` (what ``airflow dags trigger`` without a date creates).

        ``home``: reuse that Airflow home (default: a fresh one); ``only``: run just this task, marking
        every other one successful without running it.
        """
        home = home or self.new_home()
        self.dag_runs += 1
        database = f"analytics_gold_e2e_{self.dag_runs}"
        env = {"AIRFLOW_HOME": str(home), "LAKE_ROOT": settings.lake_root, "MONGO_DATABASE": database,
               **(extra_env or {})}
        skip = f"(?!{only}$).*" if only else None  # Airflow full-matches it against each task id
        if run_date is not None:
            command = f"airflow dags test medallion_pipeline {run_date}" + (f" --mark-success-pattern '{skip}'" if skip else "")
        else:
            command = f"python {PROJECT_ROOT / 'tests' / 'e2e' / 'trigger_without_logical_date.py'} {run_after}"
        before = self._run_ids(home)
        done = self._bash(command, env, timeout)
        with sqlite3.connect(home / "airflow.db") as db:
            if run_date is not None:  # a second `dags test` of a date in the same home reuses its run
                (run_id,) = db.execute("SELECT run_id FROM dag_run WHERE dag_id = 'medallion_pipeline' "
                                       "AND date(logical_date) = ?", (run_date,)).fetchone()
            else:
                (run_id,) = set(self._run_ids(home)) - set(before)
            states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'medallion_pipeline' "
                                     "AND run_id = ?", (run_id,)).fetchall())
            logical_date, run_after_at = db.execute(
                "SELECT logical_date, run_after FROM dag_run WHERE run_id = ?", (run_id,)).fetchone()
        return DagRun(done.returncode, done.stdout + done.stderr, states, settings, database,
                      extra={"run_id": run_id, "logical_date": logical_date, "run_after": run_after_at, "home": home})

    @staticmethod
    def _run_ids(home: Path) -> list[str]:
        with sqlite3.connect(home / "airflow.db") as db:
            return [row[0] for row in db.execute("SELECT run_id FROM dag_run WHERE dag_id = 'medallion_pipeline'")]


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, spark_cluster, mongo_server):  # noqa: F811
    return PipelineRunner(tmp_path_factory.mktemp("e2e"), spark_cluster.master_port, mongo_server)
