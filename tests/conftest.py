"""Shared fixtures.

Tiers (``-m unit`` / ``-m integration`` / ``-m e2e``) are set from the folder a test lives in.
Fixtures that start a server are session-scoped and stop what they started.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import tempfile

import pytest

# Airflow reads its home at import: keep tests away from ~/airflow and the demo's .airflow/.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from medallion.config import PROJECT_ROOT, Settings  # noqa: E402

SEED_DATA = PROJECT_ROOT.parent / "shared" / "seed-data"
VENV_BIN = Path(sys.executable).parent

#: Credentials of the test S3 endpoint (tests/s3_server.py; moto accepts any). Distinctive, so a test
#: can search logs and databases for them without a coincidental match.
TEST_ACCESS_KEY = "MEDALLIONTESTKEYQ7X2"
TEST_SECRET_KEY = "medallion-moto-secret-5e91c3a7d2f4b8"


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in ("unit", "integration", "e2e"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


#: Client names whose ISO-8859-1 bytes are written by :func:`write_latin1_landing`, in id order.
LATIN1_NAMES = ["José García", "Jürgen Müller", "Zoë Brontë"]


def write_latin1_landing(landing: Path) -> Path:
    """A landing folder whose ``clients.csv`` is ISO-8859-1 (:data:`LATIN1_NAMES`) and ``purchases.csv`` ASCII."""
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "clients.csv").write_bytes(
        b"id_client,name,email,subscription_date,country\n"
        b"1,Jos\xe9 Garc\xeda,jose@x.com,2024-01-01,Spain\n"      # ISO-8859-1: 0xE9 = e acute, 0xED = i acute
        b"2,J\xfcrgen M\xfcller,jurgen@x.com,2024-01-01,Germany\n"  # 0xFC = u umlaut
        b"3,Zo\xeb Bront\xeb,zoe@x.com,2024-01-01,UK\n")          # 0xEB = e umlaut
    (landing / "purchases.csv").write_bytes(
        b"id_purchase,id_client,product,price,quantity,purchase_date,total\n1,1,Mouse,5,1,2025-01-01,5\n")
    return landing


@pytest.fixture()
def settings(tmp_path) -> Settings:
    """Settings with the lake in a fresh temporary folder."""
    return Settings(lake_root=str(tmp_path / "lake"))


@pytest.fixture(scope="session")
def spark():
    """A local-mode SparkSession for unit tests of transforms (two cores)."""
    from medallion.spark.session import build_session

    session = build_session("medallion-tests", Settings(), master="local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


class SparkCluster:
    """A running local standalone cluster started with scripts/cluster.sh."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.master_port = free_port()
        self.ui_port = free_port()
        self.worker_ui_port = free_port()
        self.env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "SPARK_RUN_DIR": str(run_dir),
            "SPARK_MASTER_PORT": str(self.master_port),
            "SPARK_MASTER_WEBUI_PORT": str(self.ui_port),
            "SPARK_WORKER_WEBUI_PORT": str(self.worker_ui_port),
            "SPARK_WORKER_MEMORY": os.environ.get("TEST_SPARK_WORKER_MEMORY", "3g"),
            # Executors read S3 credentials from the environment their worker gives them.
            "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        }
        self.master_url = f"spark://127.0.0.1:{self.master_port}"

    def script(self, action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(PROJECT_ROOT / "scripts" / "cluster.sh"), action],
            env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180,
        )

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.load(response)

    def pids(self) -> list[int]:
        return [int(p.read_text()) for p in self.run_dir.glob("*.pid")]

    def submit(self, job: str, *args: str, settings: Settings | None = None, timeout: float = 900,
               extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """spark-submit ``spark_jobs/<job>`` to this cluster in client mode; returns the finished process."""
        env = {**self.env, **(extra_env or {})}
        if settings is not None:
            env["LAKE_ROOT"] = settings.lake_root
        return subprocess.run(
            spark_submit_command(self.master_url, job, *args, settings=settings),
            env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
        )


def spark_submit_command(master: str, job: str, *args: str, settings: Settings | None = None) -> list[str]:
    """The spark-submit command line of ``spark_jobs/<job>`` with the project's Spark configuration
    (what the DAG's SparkSubmitOperator runs), in client mode with 1 GiB driver and executors."""
    from medallion.spark.conf import spark_conf

    conf_args: list[str] = []
    for key, value in spark_conf(settings or Settings()).items():
        conf_args += ["--conf", f"{key}={value}"]
    return [str(VENV_BIN / "spark-submit"), "--master", master, "--deploy-mode", "client",
            "--executor-memory", "1g", "--driver-memory", "1g", *conf_args,
            str(PROJECT_ROOT / "spark_jobs" / job), *args]


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A master and two workers on free loopback ports, stopped (by pid) after the session."""
    cluster = SparkCluster(tmp_path_factory.mktemp("spark-run"))
    started = cluster.script("up")
    if started.returncode != 0:
        cluster.script("down")
        raise RuntimeError(f"cluster.sh up failed:\n{started.stdout}\n{started.stderr}")
    yield cluster
    cluster.script("down")
