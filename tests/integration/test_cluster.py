"""The local Spark standalone cluster started by scripts/cluster.sh (the `make cluster-up` path)."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import VENV_BIN, PROJECT_ROOT, SparkCluster


def test_cluster_runs_tasks_on_both_workers_and_stops_cleanly(tmp_path):
    cluster = SparkCluster(tmp_path / "run")
    try:
        up = cluster.script("up")
        assert up.returncode == 0, up.stdout + up.stderr
        status = cluster.status()
        assert status["status"] == "ALIVE"
        assert sorted(w["state"] for w in status["workers"]) == ["ALIVE", "ALIVE"]
        assert [w["cores"] for w in status["workers"]] == [1, 1]

        again = cluster.script("up")  # idempotent: nothing new is started
        assert again.returncode == 0 and again.stdout.count("already running") == 3, again.stdout

        run = subprocess.run(
            [str(VENV_BIN / "spark-submit"), "--master", cluster.master_url, "--deploy-mode", "client",
             "--executor-memory", "512m", "--driver-memory", "512m",
             str(PROJECT_ROOT / "tests" / "integration" / "apps" / "executor_report.py")],
            env=cluster.env, capture_output=True, text=True, timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if line.split(" ", 1)[0] in {"SUM", "APP_ID", "EXECUTORS"})
        assert int(lines["SUM"]) == 399_999 * 400_000 // 2
        executors = [e for e in json.loads(lines["EXECUTORS"]) if e["id"] != "driver"]
        assert len(executors) == 2, executors
        assert all(e["totalTasks"] > 0 for e in executors), executors
        assert sum(e["totalTasks"] for e in executors) >= 40
        # Each worker launched one executor of this application in its own work dir.
        app_id = lines["APP_ID"]
        for worker in ("work-1", "work-2"):
            assert (cluster.run_dir / worker / app_id).is_dir(), f"{worker} ran no executor of {app_id}"
    finally:
        pids = cluster.pids()
        down = cluster.script("down")
    assert down.returncode == 0, down.stderr
    assert pids and len(pids) == 3
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), f"process {pid} still running after cluster down"
    assert list(cluster.run_dir.glob("*.pid")) == []
