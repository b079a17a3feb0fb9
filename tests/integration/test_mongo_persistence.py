"""The wire server's H2 data file (``make dashboard``): a publish survives a stop and a restart.

The publisher swaps collections by renameCollection, which mongo-java-server 1.47.0's H2 backend
loses on restart; the launcher's own H2 database class moves the renamed maps (MongoServerMain.java).
"""

from __future__ import annotations

import pymongo
import pytest

from medallion import publish
from medallion.devtools.mongo_server import start_mongo_server

pytestmark = pytest.mark.integration


def test_a_publish_survives_a_restart_on_the_same_data_file(served_gold, tmp_path):
    settings, run_date = served_gold
    data_file = tmp_path / "mongo" / "gold.h2"
    uri, stop = start_mongo_server(log_path=tmp_path / "first.log", data_file=data_file)
    try:
        with pymongo.MongoClient(uri) as client:
            # The publisher's staging + renameCollection(dropTarget) swap works on this backend too.
            entry = publish.publish_gold(client["kept"], settings, run_date, "manual__kept", run_date)
            kpis = list(client["kept"]["client_kpis"].find(sort=[("_id", 1)]))
    finally:
        stop()
    assert data_file.is_file() and len(kpis) == entry["collections"]["client_kpis"] > 0

    uri, stop = start_mongo_server(log_path=tmp_path / "second.log", data_file=data_file)
    try:
        with pymongo.MongoClient(uri) as client:
            db = client["kept"]
            assert list(db["client_kpis"].find(sort=[("_id", 1)])) == kpis
            assert db["client_kpis"].find_one({"_id": kpis[5]["_id"]}) == kpis[5]
            assert publish.newest_published(db)["run_id"] == "manual__kept"
            assert not [name for name in db.list_collection_names() if name.startswith("_staging__")]
    finally:
        stop()
