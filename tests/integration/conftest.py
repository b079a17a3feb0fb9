"""Fixtures of the integration tier: real servers over loopback sockets, session-scoped.

``mongo_server``: a MongoDB-wire-protocol server (mongo-java-server, in memory; see
:mod:`medallion.mongo_server`) on a free port, stopped after the session. The first run on a
machine fetches its jars from Maven Central (~20 s).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """URI (``mongodb://127.0.0.1:<port>``) of a wire-protocol server running for the whole session."""
    from medallion.mongo_server import start_mongo_server

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

    from medallion import bronze, datagen, publish
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
