"""A local MongoDB-wire-protocol server for the tests and ``make demo`` (no ``mongod`` needed).

There is no MongoDB on the development machines and none can be downloaded, so the tests and the
demo talk to `mongo-java-server <https://github.com/bwaldvogel/mongo-java-server>`_
(``de.bwaldvogel:mongo-java-server-memory-backend``, :data:`MONGO_JAVA_SERVER_VERSION`): a real
server speaking the MongoDB wire protocol over TCP, keeping its data in memory, or, with a data file
(``start_mongo_server(data_file=...)``, used by ``make dashboard``), in an H2 MVStore file
(``mongo-java-server-h2-backend``) that is committed when the server stops (SIGTERM) and read back on
the next start.

First use on a machine (:func:`ensure_built`, ~20 s): Maven fetches the jars by their coordinates
(``scripts/mongo-server/pom.xml``) from Maven Central into ``.cache/mongo-java-server/lib`` and
``javac`` compiles the launcher ``scripts/mongo-server/MongoServerMain.java`` into
``.cache/mongo-java-server/classes``. Later starts reuse the cache (it is rebuilt when the pom or
the launcher changes). Requires ``mvn`` and a JDK 17 (``javac``, ``java``) on ``PATH``.

Python API (tests)::

    uri, stop = start_mongo_server()      # free loopback port
    ...                                   # pymongo.MongoClient(uri)
    stop()

Command line (the demo; ``scripts/mongo-server.sh`` wraps it)::

    python -m medallion.devtools.mongo_server start [--port 27017] [--run-dir data/run/mongo]
    python -m medallion.devtools.mongo_server status | uri | airflow-conn
    python -m medallion.devtools.mongo_server stop

``start`` runs the server in the background, writes ``server.pid``, ``server.uri`` and
``server.log`` into the run folder and prints where the server is; ``stop`` ends exactly that pid.
``MONGO_JAVA_OPTS`` adds JVM options to every start, e.g. ``-Xmx14g``: the JVM's default heap (a
quarter of memory, 6 GiB here) runs out near 1.8M gold ``client_kpis`` documents.

What the server does and does not do (checked with mongo-java-server 1.47.0 and PyMongo 4.20):
``insert``, ``find``, ``count``, ``update`` with upsert, ``drop``, ``listCollections``,
``createIndexes``/``listIndexes`` and ``renameCollection`` with ``dropTarget`` all work. Unique
indexes are enforced; non-unique (secondary) indexes are recorded and listed but not used to speed
up queries ("not yet implemented" in the server's log). ``listCollections`` ignores its filter
(even ``{"name": ...}``: all collections are returned), so callers filter names themselves.
The launcher announces MongoDB 4.4 (wire version 9) because PyMongo 4.14+ refuses older servers and
the newest version the server ships, 5.0, announces wire version 8.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from medallion.config import PROJECT_ROOT

MONGO_JAVA_SERVER_VERSION = "1.47.0"
LAUNCHER_DIR = PROJECT_ROOT / "scripts" / "mongo-server"
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".cache" / "mongo-java-server"
DEFAULT_RUN_DIR = PROJECT_ROOT / "data" / "run" / "mongo"
DEFAULT_PORT = 27017
MAIN_CLASS = "MongoServerMain"
_READY = re.compile(r"^READY (\S+):(\d+)$", re.MULTILINE)


class MongoServerError(RuntimeError):
    """The local server could not be built, started or stopped (the message says why)."""


def _launcher_digest() -> str:
    digest = hashlib.sha256()
    for name in ("pom.xml", f"{MAIN_CLASS}.java"):
        digest.update((LAUNCHER_DIR / name).read_bytes())
    return digest.hexdigest()


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MongoServerError(
            f"the local MongoDB test server needs {tool!r} on PATH (Maven 3 and a JDK 17); "
            "or point AIRFLOW_CONN_MONGO_DEFAULT at a MongoDB server instead"
        )
    return path


def ensure_built(cache_dir: Path | str | None = None) -> str:
    """Fetch the server jars and compile the launcher once; return the Java classpath.

    Args:
        cache_dir: Cache folder (default ``<project>/.cache/mongo-java-server``).

    Returns:
        The classpath (``<cache>/lib/*:<cache>/classes``) for ``java -cp``.

    Raises:
        MongoServerError: ``mvn``/``javac`` is missing, or Maven or javac failed (their output is
            in the message).
    """
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    lib, classes, stamp = cache / "lib", cache / "classes", cache / "build.sha256"
    classpath = f"{lib}/*{os.pathsep}{classes}"
    digest = _launcher_digest()

    def fresh() -> bool:
        return (stamp.is_file() and stamp.read_text().strip() == digest
                and (classes / f"{MAIN_CLASS}.class").is_file()
                and any(lib.glob(f"mongo-java-server-core-{MONGO_JAVA_SERVER_VERSION}.jar")))

    if fresh():
        return classpath
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time (tests and the demo may race)
        if fresh():
            return classpath
        mvn, javac = _require("mvn"), _require("javac")
        for folder in (lib, classes):
            shutil.rmtree(folder, ignore_errors=True)
        steps = (
            [mvn, "-q", "-B", "-f", str(LAUNCHER_DIR / "pom.xml"), "dependency:copy-dependencies",
             f"-DoutputDirectory={lib}"],
            [javac, "-cp", f"{lib}/*", "-d", str(classes), str(LAUNCHER_DIR / f"{MAIN_CLASS}.java")],
        )
        for command in steps:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise MongoServerError(
                    f"building the local MongoDB test server failed ({' '.join(command[:5])} ...):\n"
                    f"{done.stdout}\n{done.stderr}"
                )
        stamp.write_text(digest + "\n")
    return classpath


def _java_command(classpath: str, port: int, java_opts: tuple[str, ...], data_file: Path | None = None) -> list[str]:
    # MONGO_JAVA_OPTS (e.g. "-Xmx14g") first, so explicit java_opts win: the JVM's default heap
    # (1/4 of memory) runs out near 1.8M gold client_kpis documents.
    java_opts = (*os.environ.get("MONGO_JAVA_OPTS", "").split(), *java_opts)
    return [_require("java"), *java_opts, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", classpath, MAIN_CLASS, str(port), "127.0.0.1", *([str(data_file)] if data_file else [])]


def _wait_ready(process: subprocess.Popen, log_path: Path, timeout: float) -> str:
    """Poll the log for the launcher's ``READY host:port`` line; return the ``mongodb://`` URI."""
    deadline = time.monotonic() + timeout
    while True:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        match = _READY.search(text)
        if match:
            return f"mongodb://{match.group(1)}:{match.group(2)}"
        if process.poll() is not None:
            raise MongoServerError(
                f"the local MongoDB test server exited with code {process.returncode} before it was "
                f"ready; its log {log_path}:\n{text[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise MongoServerError(f"the local MongoDB test server was not ready after {timeout}s (log {log_path})")
        time.sleep(0.2)


def _stop_pid(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM ``pid`` (not a child of this process), SIGKILL after ``timeout``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def terminate(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM ``process`` (a no-op once it ended), SIGKILL after ``timeout`` seconds; wait for it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_mongo_server(port: int | None = None, *, log_path: Path | str | None = None,
                       cache_dir: Path | str | None = None, java_opts: tuple[str, ...] = (),
                       timeout: float = 60.0, data_file: Path | str | None = None) -> tuple[str, Callable[[], None]]:
    """Start a server on 127.0.0.1 owned by this process; return ``(uri, stop)``.

    Args:
        port: TCP port; ``None`` or 0 lets the OS choose a free one (no race with other users).
        log_path: Where the server's output goes (default ``<cache>/server-<pid>.log``).
        cache_dir: Build cache (see :func:`ensure_built`).
        java_opts: Extra JVM options, e.g. ``("-Xmx4g",)``.
        timeout: Seconds to wait for the server to accept connections.
        data_file: Keep the data in this H2 file (created if missing; parent folders too), so it
            survives a restart; ``None``: in memory only.

    Returns:
        ``("mongodb://127.0.0.1:<port>", stop)``; ``stop()`` ends the server (idempotent).

    Raises:
        MongoServerError: the build failed, the port is taken, or the server did not start in time.
    """
    classpath = ensure_built(cache_dir)
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    log = Path(log_path) if log_path is not None else cache / f"server-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if data_file is not None:
        data_file = Path(data_file).resolve()
        data_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(_java_command(classpath, port or 0, java_opts, data_file),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        uri = _wait_ready(process, log, timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise

    return uri, lambda: terminate(process)


# --- Command line: a background server for the demo ------------------------------------------

def _pid_alive(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` when it is a running launcher of ours, else None."""
    if not pid_file.is_file():
        return None
    pid = int(pid_file.read_text().strip())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return None
    return pid if MAIN_CLASS.encode() in cmdline else None


def airflow_conn_json(uri: str) -> str:
    """The ``AIRFLOW_CONN_MONGO_DEFAULT`` value (Airflow JSON connection form) for ``uri``."""
    host, _, port = uri.removeprefix("mongodb://").partition(":")
    return json.dumps({"conn_type": "mongo", "host": host, "port": int(port)})


def main(argv: list[str] | None = None) -> int:
    """``start | stop | status | uri | airflow-conn`` for a background server (see module doc)."""
    parser = argparse.ArgumentParser(prog="python -m medallion.devtools.mongo_server", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("start", "stop", "status", "uri", "airflow-conn"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MONGO_SERVER_PORT", DEFAULT_PORT)),
                        help="TCP port on 127.0.0.1 (0: any free port) [MONGO_SERVER_PORT or 27017]")
    parser.add_argument("--run-dir", default=os.environ.get("MONGO_RUN_DIR", str(DEFAULT_RUN_DIR)),
                        help="folder for server.pid, server.uri and server.log [MONGO_RUN_DIR or data/run/mongo]")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir).resolve()
    pid_file, uri_file, log_file = run_dir / "server.pid", run_dir / "server.uri", run_dir / "server.log"
    pid = _pid_alive(pid_file)

    if args.action == "start":
        if pid is not None:
            print(f"MongoDB wire server already running (pid {pid}) at {uri_file.read_text().strip()}")
            return 0
        run_dir.mkdir(parents=True, exist_ok=True)
        classpath = ensure_built()
        with open(log_file, "w") as out:
            process = subprocess.Popen(_java_command(classpath, args.port, ()), stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        try:
            uri = _wait_ready(process, log_file, 60.0)
        except MongoServerError as error:
            process.kill()
            print(f"mongo_server: {error}", file=sys.stderr)
            return 1
        pid_file.write_text(f"{process.pid}\n")
        uri_file.write_text(uri + "\n")
        print(f"MongoDB wire server (mongo-java-server {MONGO_JAVA_SERVER_VERSION}, in memory: data is "
              f"lost when it stops) at {uri} (pid {process.pid}, log {log_file})")
        print(f"  AIRFLOW_CONN_MONGO_DEFAULT='{airflow_conn_json(uri)}'")
        return 0
    if args.action == "stop":
        if pid is None:
            print("MongoDB wire server not running")
        else:
            _stop_pid(pid)
            print(f"MongoDB wire server stopped (pid {pid})")
        for path in (pid_file, uri_file):
            path.unlink(missing_ok=True)
        return 0
    if pid is None:
        print("MongoDB wire server not running", file=sys.stderr)
        return 1
    uri = uri_file.read_text().strip()
    if args.action == "status":
        print(f"MongoDB wire server running (pid {pid}) at {uri}")
    elif args.action == "uri":
        print(uri)
    else:
        print(airflow_conn_json(uri))
    return 0


if __name__ == "__main__":
    sys.exit(main())
