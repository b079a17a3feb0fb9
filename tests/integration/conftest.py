"""Fixtures of the integration tier: real servers over loopback sockets, session-scoped.

``mongo_server``: a MongoDB-wire-protocol server (mongo-java-server, in memory; see
:mod:`medallion.devtools.mongo_server`) on a free port, stopped after the session. The first run on a
machine fetches its jars from Maven Central (~20 s).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """URI (``mongodb://127.0.0.1:<port>``) of a wire-protocol server running for the whole session."""
    from medallion.devtools.mongo_server import start_mongo_server

    uri, stop = start_mongo_server(log_path=tmp_path_factory.mktemp("mongo") / "server.log")
    yield uri
    stop()


#: Run date of the served lake (the generator's as-of date too).
SERVED_RUN_DATE = "2026-11-29"


@pytest.fixture(scope="session")
def served_gold(tmp_path_factory, mongo_server):
    """A committed gold lake published into MongoDB, for the serving tests (API, dashboard).

    600 generated clients (~3,000 purchases, 5 % dirty rows), ingested into bronze and taken to gold
    by the pandas engine (no Spark: seconds), then published by :func:`medallion.publish.publish_gold`
    into database ``served_gold`` of the session's wire server. Returns ``(settings, run_date)``;
    ``settings.mongo_uri`` is the server's URI.
    """
    import pymongo

    from medallion import bronze, publish
    from medallion.devtools import datagen
    from medallion.engines import pandas_engine
    from medallion.config import Settings

    root = tmp_path_factory.mktemp("served")
    settings = Settings(lake_root=str(root / "lake"), mongo_database="served_gold", mongo_uri=mongo_server)
    sources = root / "sources"
    datagen.generate(sources, clients=600, purchases_per_client=5, dirty_rate=0.05, seed=7, as_of=SERVED_RUN_DATE)
    run_id = "manual__served"
    bronze.ingest(settings, SERVED_RUN_DATE, run_id, str(sources))
    pandas_engine.run_silver(settings, SERVED_RUN_DATE, run_id)
    pandas_engine.run_gold(settings, SERVED_RUN_DATE, run_id)
    with pymongo.MongoClient(mongo_server) as client:
        publish.publish_gold(client[settings.mongo_database], settings, SERVED_RUN_DATE, run_id, SERVED_RUN_DATE)
    return settings, SERVED_RUN_DATE


def start_server(command: list[str], env: dict[str, str], log_path, ready_path: str, timeout: float = 90):
    """Start ``command`` (a server on 127.0.0.1) with ``env`` added; wait until ``ready_path`` answers.

    Returns ``(base_url, process)``; the port is ``command``'s ``--port`` value.
    """
    import os
    import subprocess

    import httpx

    from tests.conftest import wait_until

    port = command[command.index("--port") + 1]
    with open(log_path, "w") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, open(log_path).read()
        try:
            return httpx.get(f"{url}{ready_path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout, f"{command[2]} to answer on {url}{ready_path}")
    return url, process


def start_api(env: dict[str, str], log_path):
    """The REST API (``python -m medallion.serving.api``) on a free port: ``(base_url, process)``."""
    import sys

    from tests.conftest import free_port

    return start_server([sys.executable, "-m", "medallion.serving.api", "--port", str(free_port())], env, log_path,
                        "/openapi.json")
