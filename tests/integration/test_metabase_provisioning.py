"""Metabase provisioning against a local server answering like Metabase's API (``tests/metabase_fake.py``).

First run: the admin user, the MongoDB database with the read-only user, the "Medallion" collection,
every question and the six dashboards. Second run: nothing created or changed. Every question's
native query names a collection the publisher writes and only columns the glossary lists.
"""

from __future__ import annotations

import json

import pytest

from medallion.metrics import METRICS, table_metrics
from medallion.serving.metabase import ProvisioningError, Target, provision
from tests.metabase_fake import FakeMetabase

pytestmark = pytest.mark.integration

PAGES = {"Overview": 8, "Temporal analysis": 6, "Clients": 4, "Products": 6, "Geography": 4, "Statistics": 4}
GOLD_COLLECTIONS = {"client_kpis", "product_analytics", "country_analytics", "daily_sales", "weekly_sales",
                    "monthly_sales"}


def target(url: str, password: str = "admin-pw") -> Target:
    return Target(url=url, admin_email="admin@example.com", admin_password=password, mongo_host="mongodb",
                  mongo_port=27017, mongo_database="analytics_gold", mongo_user="medallion-reader",
                  mongo_password="reader-pw", currency="EUR")


def _fields(pipeline: list[dict]) -> set[str]:
    """Document fields a pipeline reads: $project inclusions, $sort keys, $group/$match references."""
    names: set[str] = set()
    for stage in pipeline:
        for op, spec in stage.items():
            if op in ("$project", "$sort"):
                names |= {k for k, v in spec.items() if k != "_id" and (v in (1, -1) or op == "$sort")}
            if op == "$group":
                names |= {v[1:] for v in spec.values() if isinstance(v, str) and v.startswith("$")}
    return names


def test_first_run_creates_everything_and_the_second_changes_nothing():
    with FakeMetabase() as fake:
        first = provision(target(fake.url), health_timeout=10)
        state = fake.state()
        assert state["users"] == {"admin@example.com": "admin-pw"}
        [database] = state["objects"]["database"].values()
        assert database["engine"] == "mongo" and database["name"] == "Medallion gold"
        assert {k: database["details"][k] for k in ("host", "port", "dbname", "user", "pass", "authdb")} == {
            "host": "mongodb", "port": 27017, "dbname": "analytics_gold", "user": "medallion-reader",
            "pass": "reader-pw", "authdb": "admin"}
        [collection] = state["objects"]["collection"].values()
        cards = state["objects"]["card"]
        dashboards = {d["name"]: d for d in state["objects"]["dashboard"].values()}
        assert {name: len(d["dashcards"]) for name, d in dashboards.items()} == PAGES
        # One question is on two dashboards (clients per RFM segment): 32 dashcards, 31 questions.
        assert len(cards) == sum(PAGES.values()) - 1
        assert all(c["collection_id"] == collection["id"] for c in (*cards.values(), *dashboards.values()))
        assert {c["card_id"] for d in dashboards.values() for c in d["dashcards"]} == set(cards)
        assert "user admin@example.com" in first.created and len(first.created) == 1 + 1 + 1 + 31 + 6

        for card in cards.values():
            query = card["dataset_query"]
            assert query["type"] == "native" and query["database"] == database["id"]
            collection_name, pipeline = query["native"]["collection"], json.loads(query["native"]["query"])
            if collection_name == "reports":
                assert pipeline[0]["$match"]["kind"] in ("gold_summary", "statistical_distributions")
                continue
            assert collection_name in GOLD_COLLECTIONS, card["name"]
            columns = {m.name for m in table_metrics(collection_name)}
            assert _fields(pipeline) <= columns, (card["name"], _fields(pipeline) - columns)
        # A metric question shows the currency exactly when the glossary's unit is money.
        metric_cards = [c for c in cards.values() if c["display"] != "table" and "." in c["description"].split(":")[0]
                        and c["dataset_query"]["native"]["collection"] != "reports"]
        assert len(metric_cards) == 17
        for card in metric_cards:
            table, column = card["description"].split(":")[0].split(".")
            unit = next(m.unit for m in METRICS if m.table == table and m.name == column)
            assert ("(EUR)" in card["name"]) == (unit == "currency"), card["name"]

        calls_before = len(fake.calls)
        second = provision(target(fake.url), health_timeout=10)
        writes = [(m, p) for m, p, _ in fake.calls[calls_before:] if m in ("POST", "PUT")]
        assert writes == [("POST", "/api/session"), ("POST", f"/api/database/{database['id']}/sync_schema")]
        assert fake.state() == state
        assert second.created == [] and second.updated == []


def test_a_changed_definition_is_updated_in_place():
    with FakeMetabase() as fake:
        provision(target(fake.url), health_timeout=10)
        card = next(c for c in fake.objects["card"].values() if c["name"] == "Orders")
        card["display"] = "table"                                       # edited by hand in the UI
        report = provision(target(fake.url), health_timeout=10)
        assert report.updated == ["question Orders"] and report.created == []
        assert card["display"] == "scalar" and len(fake.objects["card"]) == 31


def test_an_unhealthy_metabase_and_a_wrong_password_are_clear_errors():
    with FakeMetabase(healthy=False) as fake:
        with pytest.raises(ProvisioningError, match=r"was not healthy within 2 s \(last: 503"):
            provision(target(fake.url), health_timeout=2)
    with FakeMetabase() as fake:
        provision(target(fake.url), health_timeout=10)
        with pytest.raises(ProvisioningError, match="logging in to Metabase as admin@example.com failed") as error:
            provision(target(fake.url, password="wrong"), health_timeout=10)
        assert "wrong" not in str(error.value)
