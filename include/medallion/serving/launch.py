"""``make dashboard``: start, without Docker, everything the dashboard needs, on the lake of the last run.

``python -m medallion.serving.launch`` (what ``make dashboard`` runs), in the foreground:

1. **MongoDB**: ``MONGO_URI`` when set; otherwise a local wire server (mongo-java-server, see
   :mod:`medallion.devtools.mongo_server`) on ``--mongo-port`` (27017) keeping its data in
   ``<run dir>/mongo/gold.h2``, so what it serves survives a restart.
2. **Publish when behind**: when the database (``MONGO_DATABASE``) does not already serve the newest
   committed gold run of ``LAKE_ROOT`` (default ``data/lake``, where ``make demo`` writes) -- it is
   empty, or serves an older run date, or that date was run again since -- that run is published
   (:func:`ensure_published`); an empty database and a lake without gold is an error naming both.
3. **REST API** (``python -m medallion.serving.api``) on ``--api-port`` (8000) and the **dashboard**
   (``python -m medallion.serving.dashboard``, Operational source = that API) on ``--dashboard-port``
   (8501); each is waited for on its health URL, then both URLs are printed.

Ctrl-C (SIGINT) or SIGTERM stops what it started, the wire server last. When the API or the dashboard
exits on its own, the launcher stops the rest and exits 1, showing the end of that process's log.
Logs: ``<run dir>/{api,dashboard}.log`` and ``<run dir>/mongo/server.log``; the run dir is
``--run-dir`` (default ``data/run/dashboard``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pymongo
import pymongo.errors

from medallion import lake, publish
from medallion.config import PROJECT_ROOT, Settings
from medallion.devtools.mongo_server import MongoServerError, start_mongo_server, terminate

log = logging.getLogger("medallion.serving.launch")

DEFAULT_RUN_DIR = PROJECT_ROOT / "data" / "run" / "dashboard"


class LaunchError(RuntimeError):
    """Something the dashboard needs could not be started or found."""


def ensure_published(settings: Settings, db: "pymongo.database.Database") -> str:
    """The run date ``db`` serves, after publishing the lake's newest committed gold if ``db`` lacks it.

    ``db`` is up to date when its newest successful publish is of the lake's newest committed gold
    run date at the Delta versions that run's ``gold_summary`` names; otherwise (empty, older date,
    or the date re-run since) that run is published. A lake without committed gold leaves ``db`` as it is.

    Raises:
        LaunchError: nothing is published and the lake has no committed gold run date.
    """
    newest = publish.newest_published(db)
    where = lake.display_uri(settings, "gold")
    dates = lake.document_run_dates(settings, "gold", "gold_summary")
    if not dates:
        if newest is None:
            raise LaunchError(f"database {db.name} is empty and {where} holds no committed gold run: run "
                              "`make demo` first, or set LAKE_ROOT to a lake the pipeline has run on")
        log.warning("%s holds no committed gold run; serving what database %s holds", where, db.name)
        return newest["run_date"]
    run_date = dates[0]
    committed = lake.read_document(settings, "gold", run_date, "gold_summary")["commit"]["table_versions"]
    if newest is not None and newest["run_date"] == run_date and all(
            entry["version"] == committed.get(table) for table, entry in newest["checksums"].items()):
        log.info("database %s already serves run date %s (run %s)", db.name, run_date, newest["run_id"])
        return run_date
    log.info("database %s does not hold %s's newest committed gold: publishing the newest committed gold run "
             "date %s", db.name, where, run_date)
    publish.publish_gold(db, settings, run_date, f"manual__{run_date}", run_date, force=True)
    return run_date


def wait_healthy(url: str, process: subprocess.Popen, what: str, log_path: Path, timeout: float = 90.0) -> None:
    """Wait until ``url`` answers 200, failing early when ``process`` exits.

    Raises:
        LaunchError: the process exited, or ``url`` did not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LaunchError(f"{what} exited with status {process.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise LaunchError(f"{what} did not answer at {url} within {timeout:.0f} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def _start(command: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log_path, "w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


def _interrupt(signum: int, frame: object) -> None:
    # Raised in the main loop, so its finally block stops every child.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Start MongoDB (or use ``MONGO_URI``), publish if empty, the API and the dashboard; see the module doc."""
    parser = argparse.ArgumentParser(prog="python -m medallion.serving.launch", description=__doc__.split("\n")[0])
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", 8000)))
    parser.add_argument("--dashboard-port", type=int, default=int(os.environ.get("DASHBOARD_PORT", 8501)))
    parser.add_argument("--mongo-port", type=int, default=int(os.environ.get("MONGO_SERVER_PORT", 27017)),
                        help="port of the local wire server when MONGO_URI is not set [27017]")
    parser.add_argument("--run-dir", default=str(DEFAULT_RUN_DIR), help="logs and the wire server's data file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health poll otherwise

    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    stops: list[Callable[[], None]] = []
    # Ctrl-C and SIGTERM both stop everything, also when SIGINT came in ignored (a background job).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        settings = Settings.from_env()
        if os.environ.get("MONGO_URI", "").strip():
            uri = settings.mongo_uri
            log.info("using MongoDB at MONGO_URI")
        else:
            data_file = run_dir / "mongo" / "gold.h2"
            uri, stop_mongo = start_mongo_server(args.mongo_port, log_path=run_dir / "mongo" / "server.log",
                                                 data_file=data_file)
            stops.append(stop_mongo)
            log.info("MongoDB wire server at %s, data in %s", uri, data_file)
            settings = settings.with_overrides(mongo_uri=uri)
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            run_date = ensure_published(settings, client[settings.mongo_database])

        env = {**os.environ, "MONGO_URI": uri, "MONGO_DATABASE": settings.mongo_database,
               "LAKE_ROOT": settings.lake_root, "API_URL": f"http://127.0.0.1:{args.api_port}"}
        api_url = f"http://127.0.0.1:{args.api_port}"
        dashboard_url = f"http://127.0.0.1:{args.dashboard_port}"
        services = [
            ("REST API", [sys.executable, "-m", "medallion.serving.api", "--port", str(args.api_port)],
             run_dir / "api.log", f"{api_url}/api/v1/health"),
            ("dashboard", [sys.executable, "-m", "medallion.serving.dashboard", "--port", str(args.dashboard_port)],
             run_dir / "dashboard.log", f"{dashboard_url}/_stcore/health"),
        ]
        processes = []
        for what, command, log_path, health in services:
            process = _start(command, log_path, env)
            stops.insert(0, lambda p=process: terminate(p))
            wait_healthy(health, process, what, log_path)
            processes.append((what, process, log_path))
        print(f"\nServing gold of run date {run_date} (lake {settings.lake_root}, database {settings.mongo_database}):\n"
              f"  dashboard  {dashboard_url}\n"
              f"  REST API   {api_url}/api/v1/summary   (OpenAPI docs: {api_url}/docs)\n"
              f"  logs       {run_dir}\n"
              "Press Ctrl-C to stop.", flush=True)
        while True:
            for what, process, log_path in processes:
                if process.poll() is not None:
                    raise LaunchError(f"{what} exited with status {process.returncode}:\n{_tail(log_path)}")
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("stopping the dashboard, the REST API and the wire server", flush=True)
        return 0
    except (LaunchError, MongoServerError, pymongo.errors.PyMongoError, publish.PublishError, FileNotFoundError) as error:
        print(f"make dashboard: {error}", file=sys.stderr)
        return 1
    finally:
        for stop in stops:
            stop()


if __name__ == "__main__":
    sys.exit(main())
