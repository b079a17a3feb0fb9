"""``make dashboard`` on a committed gold lake: an empty database is published, both URLs answer,
Ctrl-C stops everything, and a second start serves the same data from the wire server's data file.

The lake is the ``served_gold`` fixture's (what ``make demo`` leaves: committed gold of one run date);
the launcher gets its own empty MongoDB (a persistent wire server it starts itself) and free ports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading

import httpx
import pytest

from medallion import lake
from medallion.config import PROJECT_ROOT
from tests.conftest import free_port, wait_until

pytestmark = pytest.mark.integration


class Launch:
    """``make dashboard`` in its own process group (Ctrl-C reaches the group, as in a terminal)."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.process = subprocess.Popen(["make", "--no-print-directory", "dashboard"], cwd=PROJECT_ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self) -> None:
        wait_until(lambda: "Press Ctrl-C" in self.output or self.process.poll() is not None, 240,
                   "make dashboard to print its URLs")
        assert self.process.poll() is None, self.output

    def interrupt(self) -> None:
        """Ctrl-C: the launcher stops its children; make itself then ends on the signal, as in a terminal."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        assert code in (0, -signal.SIGINT), self.output
        assert "stopping the dashboard, the REST API and the wire server" in self.output


def _closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_make_dashboard_publishes_serves_and_stops(served_gold, tmp_path):
    settings, run_date = served_gold
    ports = {"API_PORT": free_port(), "DASHBOARD_PORT": free_port(), "MONGO_SERVER_PORT": free_port()}
    env = {key: value for key, value in os.environ.items() if key != "MONGO_URI"}
    env.update({name: str(port) for name, port in ports.items()}, LAKE_ROOT=settings.lake_root,
               MONGO_DATABASE="dashboard_launch")
    run_dir = tmp_path / "run"
    env["MAKEFLAGS"] = ""
    env["DASHBOARD_ARGS"] = f"--run-dir {run_dir}"
    summary = lake.read_document(settings, "gold", run_date, "gold_summary")

    first = Launch(env)
    first.wait_ready()
    assert f"publishing the newest committed gold run date {run_date}" in first.output
    api = f"http://127.0.0.1:{ports['API_PORT']}"
    served = httpx.get(f"{api}/api/v1/summary", timeout=10).json()
    assert served["run_date"] == run_date
    assert (served["total_revenue"], served["total_orders"], served["total_customers"]) == (
        summary["total_revenue"], summary["total_orders"], summary["total_customers"])
    dashboard = f"http://127.0.0.1:{ports['DASHBOARD_PORT']}"
    assert httpx.get(f"{dashboard}/_stcore/health", timeout=10).text == "ok"
    assert httpx.get(dashboard, timeout=10).status_code == 200
    assert f"dashboard  {dashboard}" in first.output
    first.interrupt()
    assert all(_closed(port) for port in ports.values()), first.output

    # The wire server's data file kept the publish: the second start serves it without publishing.
    second = Launch(env)
    second.wait_ready()
    assert f"already serves run date {run_date}" in second.output
    assert "publishing the newest" not in second.output
    assert httpx.get(f"{api}/api/v1/summary", timeout=10).json()["total_revenue"] == summary["total_revenue"]
    second.interrupt()
    assert all(_closed(port) for port in ports.values()), second.output


def test_the_launcher_publishes_when_the_database_is_behind_the_lake(served_gold, tmp_path):
    """Empty -> published; up to date -> left alone; the date run again -> published again."""
    import shutil

    import pymongo

    from medallion.engines import pandas_engine
    from medallion.serving.launch import LaunchError, ensure_published

    served, run_date = served_gold
    settings = served.with_overrides(lake_root=str(tmp_path / "lake"))
    shutil.copytree(served.lake_root, settings.lake_root)
    with pymongo.MongoClient(served.mongo_uri) as client:
        db = client["launcher_behind"]
        log = db["_publish_log"]
        assert ensure_published(settings, db) == run_date and log.count_documents({"status": "success"}) == 1
        assert ensure_published(settings, db) == run_date and log.count_documents({"status": "success"}) == 1
        # The same date run again: gold's tables get new Delta versions, so the database is behind.
        pandas_engine.run_gold(settings, run_date, "manual__again")
        assert ensure_published(settings, db) == run_date and log.count_documents({"status": "success"}) == 2
        versions = lake.read_document(settings, "gold", run_date, "gold_summary")["commit"]["table_versions"]
        newest = log.find_one({"status": "success"}, sort=[("finished_at", -1)])
        assert {t: e["version"] for t, e in newest["checksums"].items()} == {t: versions[t] for t in newest["checksums"]}
        with pytest.raises(LaunchError, match="database launcher_empty is empty and .* holds no committed gold run"):
            ensure_published(settings.with_overrides(lake_root=str(tmp_path / "none")), client["launcher_empty"])
