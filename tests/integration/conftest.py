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
