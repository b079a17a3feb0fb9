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
    """Runs `airflow dags test medallion_pipeline DATE` in a fresh Airflow home per run."""

    def __init__(self, base: Path, spark_master_port: int, mongo_uri: str):
        from medallion.mongo_server import airflow_conn_json

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

    def _bash(self, command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", "-c", f"source {ENV_SCRIPT} && {command}"], env={**self.env, **env},
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)
        if command.startswith("airflow db") and done.returncode != 0:
            raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
        return done

    def run(self, settings: Settings, run_date: str, extra_env: dict[str, str] | None = None,
            timeout: float = 1500) -> DagRun:
        self.runs += 1
        home = self.base / f"airflow-{self.runs}"
        home.mkdir()
        shutil.copy(self.template / "airflow.db", home / "airflow.db")  # airflow.cfg names its home: not copied
        database = f"analytics_gold_e2e_{self.runs}"
        env = {"AIRFLOW_HOME": str(home), "LAKE_ROOT": settings.lake_root, "MONGO_DATABASE": database,
               **(extra_env or {})}
        done = self._bash(f"airflow dags test medallion_pipeline {run_date}", env, timeout)
        with sqlite3.connect(home / "airflow.db") as db:
            states = dict(db.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = 'medallion_pipeline'").fetchall())
        return DagRun(done.returncode, done.stdout + done.stderr, states, settings, database)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, spark_cluster, mongo_server):  # noqa: F811
    return PipelineRunner(tmp_path_factory.mktemp("e2e"), spark_cluster.master_port, mongo_server)
