"""Publishing gold into a real MongoDB-wire-protocol server over a socket (the ``mongo_server`` fixture).

Each test builds a small committed gold lake in a temporary folder: hand-written rows with the gold
schemas of issue 4, committed as each run date's partition of the gold Delta tables with
:func:`medallion.tables.write_snapshot` (no Spark), then the gold documents and the silver
``quality_report`` of the same date with :func:`medallion.lake.write_document`, in the order the
jobs write them. Expected documents are derived in the test from the hand-written rows with the
standard library (``float(Decimal)``, midnight ``datetime``), and expected checksums from the files
that the tables' ``_delta_log`` commits name, read here without ``deltalake``: both independently
of the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import bson
from bson.raw_bson import RawBSONDocument
import pyarrow as pa
import pymongo
import pytest
from pymongo.errors import BulkWriteError

from medallion import lake, publish, tables
from medallion.config import PROJECT_ROOT, Settings
from medallion.publish import PublishRefused, PublishVerificationError, publish_gold

D = Decimal
MONEY = pa.decimal128(18, 2)

GOLD_SCHEMAS: dict[str, pa.Schema] = {
    "fact_sales": pa.schema([
        ("id_purchase", pa.int64()), ("id_client", pa.int64()), ("product", pa.string()),
        ("price", MONEY), ("quantity", pa.int32()), ("total", MONEY), ("purchase_date", pa.date32()),
        ("name", pa.string()), ("email", pa.string()), ("country", pa.string()),
        ("subscription_date", pa.date32()), ("purchase_year", pa.int32()), ("purchase_month", pa.int32()),
        ("purchase_quarter", pa.int32()), ("purchase_week", pa.int32()), ("purchase_day_of_week", pa.int32()),
        ("purchase_day_name", pa.string()), ("year_month", pa.string()), ("year_week", pa.string()),
        ("customer_tenure_days", pa.int32()),
    ]),
    "client_kpis": pa.schema([
        ("id_client", pa.int64()), ("name", pa.string()), ("email", pa.string()), ("country", pa.string()),
        ("subscription_date", pa.date32()), ("total_purchases", pa.int64()), ("total_spent", MONEY),
        ("avg_order_value", MONEY), ("min_order_value", MONEY), ("max_order_value", MONEY),
        ("total_quantity", pa.int64()), ("first_purchase_date", pa.date32()), ("last_purchase_date", pa.date32()),
        ("customer_lifetime_days", pa.int32()), ("purchase_frequency_per_month", pa.float64()),
        ("days_since_last_purchase", pa.int32()), ("is_active", pa.bool_()), ("is_high_value", pa.bool_()),
        ("r_score", pa.int32()), ("f_score", pa.int32()), ("m_score", pa.int32()), ("rfm_segment", pa.string()),
    ]),
    "product_analytics": pa.schema([
        ("product", pa.string()), ("total_quantity_sold", pa.int64()), ("total_revenue", MONEY),
        ("avg_price", MONEY), ("min_price", MONEY), ("max_price", MONEY), ("total_orders", pa.int64()),
        ("unique_customers", pa.int64()), ("avg_quantity_per_order", pa.float64()),
        ("market_share_pct", pa.float64()), ("top_countries", pa.string()),
    ]),
    "country_analytics": pa.schema([
        ("country", pa.string()), ("total_revenue", MONEY), ("unique_customers", pa.int64()),
        ("total_orders", pa.int64()), ("total_quantity", pa.int64()), ("avg_order_value", MONEY),
        ("avg_revenue_per_customer", MONEY), ("market_share_pct", pa.float64()),
    ]),
    "daily_sales": pa.schema([
        ("date", pa.date32()), ("total_revenue", MONEY), ("total_orders", pa.int64()),
        ("unique_customers", pa.int64()), ("total_quantity", pa.int64()), ("revenue_7day_avg", MONEY),
        ("orders_7day_avg", pa.float64()), ("revenue_growth_pct", pa.float64()),
    ]),
    "weekly_sales": pa.schema([
        ("year_week", pa.string()), ("total_revenue", MONEY), ("total_orders", pa.int64()),
        ("unique_customers", pa.int64()), ("total_quantity", pa.int64()), ("avg_order_value", MONEY),
        ("revenue_growth_pct", pa.float64()),
    ]),
    "monthly_sales": pa.schema([
        ("year_month", pa.string()), ("total_revenue", MONEY), ("total_orders", pa.int64()),
        ("unique_customers", pa.int64()), ("total_quantity", pa.int64()), ("avg_order_value", MONEY),
        ("avg_revenue_per_customer", MONEY), ("revenue_growth_pct", pa.float64()),
        ("orders_growth_pct", pa.float64()), ("customers_growth_pct", pa.float64()),
    ]),
}
KEYS = {"fact_sales": "id_purchase", "client_kpis": "id_client", "product_analytics": "product",
        "country_analytics": "country", "daily_sales": "date", "weekly_sales": "year_week",
        "monthly_sales": "year_month"}
AGGREGATES = ("client_kpis", "product_analytics", "country_analytics", "daily_sales", "weekly_sales", "monthly_sales")


def _purchase(id_purchase, id_client, product, price, quantity, day, name, country, sub, week, dow, day_name):
    return {"id_purchase": id_purchase, "id_client": id_client, "product": product, "price": D(price),
            "quantity": quantity, "total": D(price) * quantity, "purchase_date": day, "name": name,
            "email": f"{name.split()[0].lower()}@example.com", "country": country, "subscription_date": sub,
            "purchase_year": day.year, "purchase_month": day.month, "purchase_quarter": (day.month - 1) // 3 + 1,
            "purchase_week": week, "purchase_day_of_week": dow, "purchase_day_name": day_name,
            "year_month": f"{day:%Y-%m}", "year_week": f"{day.year}-W{week:02d}",
            "customer_tenure_days": (day - sub).days}


def run_a_rows() -> dict[str, list[dict]]:
    """The gold rows of the first run (as-of 2026-11-28)."""
    ada_sub, ben_sub, chloe_sub = dt.date(2023, 2, 28), dt.date(2024, 1, 15), dt.date(2026, 11, 2)
    return {
        "fact_sales": [
            _purchase(101, 1, "Laptop", "1234.56", 1, dt.date(2026, 10, 30), "Ada Martin", "France", ada_sub, 44, 5, "Friday"),
            _purchase(102, 2, "Mouse", "19.99", 3, dt.date(2026, 11, 2), "Ben Okafor", "UK", ben_sub, 45, 1, "Monday"),
            _purchase(103, 1, "Mouse", "20.01", 1, dt.date(2026, 11, 2), "Ada Martin", "France", ada_sub, 45, 1, "Monday"),
            _purchase(104, 3, "Laptop", "999.99", 2, dt.date(2026, 11, 3), "Chloé Durand", "France", chloe_sub, 45, 2, "Tuesday"),
        ],
        "client_kpis": [
            {"id_client": 1, "name": "Ada Martin", "email": "ada@example.com", "country": "France",
             "subscription_date": ada_sub, "total_purchases": 2, "total_spent": D("1254.57"),
             "avg_order_value": D("627.29"), "min_order_value": D("20.01"), "max_order_value": D("1234.56"),
             "total_quantity": 2, "first_purchase_date": dt.date(2026, 10, 30),
             "last_purchase_date": dt.date(2026, 11, 2), "customer_lifetime_days": 29,
             "purchase_frequency_per_month": 2.0, "days_since_last_purchase": 26, "is_active": True,
             "is_high_value": True, "r_score": 4, "f_score": 5, "m_score": 5, "rfm_segment": "Champions"},
            {"id_client": 2, "name": "Ben Okafor", "email": "ben@example.com", "country": "UK",
             "subscription_date": ben_sub, "total_purchases": 1, "total_spent": D("59.97"),
             "avg_order_value": D("59.97"), "min_order_value": D("59.97"), "max_order_value": D("59.97"),
             "total_quantity": 3, "first_purchase_date": dt.date(2026, 11, 2),
             "last_purchase_date": dt.date(2026, 11, 2), "customer_lifetime_days": 26,
             "purchase_frequency_per_month": 1.0, "days_since_last_purchase": 26, "is_active": True,
             "is_high_value": False, "r_score": 4, "f_score": 2, "m_score": 2, "rfm_segment": "Promising"},
            {"id_client": 3, "name": "Chloé Durand", "email": "chloe@example.com", "country": "France",
             "subscription_date": chloe_sub, "total_purchases": 1, "total_spent": D("1999.98"),
             "avg_order_value": D("1999.98"), "min_order_value": D("1999.98"), "max_order_value": D("1999.98"),
             "total_quantity": 2, "first_purchase_date": dt.date(2026, 11, 3),
             "last_purchase_date": dt.date(2026, 11, 3), "customer_lifetime_days": 25,
             "purchase_frequency_per_month": 1.0, "days_since_last_purchase": 25, "is_active": True,
             "is_high_value": True, "r_score": 5, "f_score": 2, "m_score": 5, "rfm_segment": "Champions"},
        ],
        "product_analytics": [
            {"product": "Laptop", "total_quantity_sold": 3, "total_revenue": D("3234.54"), "avg_price": D("1117.28"),
             "min_price": D("999.99"), "max_price": D("1234.56"), "total_orders": 2, "unique_customers": 2,
             "avg_quantity_per_order": 1.5, "market_share_pct": 97.59, "top_countries": "France"},
            {"product": "Mouse", "total_quantity_sold": 4, "total_revenue": D("79.98"), "avg_price": D("20.00"),
             "min_price": D("19.99"), "max_price": D("20.01"), "total_orders": 2, "unique_customers": 2,
             "avg_quantity_per_order": 2.0, "market_share_pct": 2.41, "top_countries": "UK, France"},
        ],
        "country_analytics": [
            {"country": "France", "total_revenue": D("3254.55"), "unique_customers": 2, "total_orders": 3,
             "total_quantity": 4, "avg_order_value": D("1084.85"), "avg_revenue_per_customer": D("1627.28"),
             "market_share_pct": 98.19},
            {"country": "UK", "total_revenue": D("59.97"), "unique_customers": 1, "total_orders": 1,
             "total_quantity": 3, "avg_order_value": D("59.97"), "avg_revenue_per_customer": D("59.97"),
             "market_share_pct": 1.81},
        ],
        "daily_sales": [
            {"date": dt.date(2026, 10, 30), "total_revenue": D("1234.56"), "total_orders": 1, "unique_customers": 1,
             "total_quantity": 1, "revenue_7day_avg": D("1234.56"), "orders_7day_avg": 1.0, "revenue_growth_pct": None},
            {"date": dt.date(2026, 10, 31), "total_revenue": D("0.00"), "total_orders": 0, "unique_customers": 0,
             "total_quantity": 0, "revenue_7day_avg": D("617.28"), "orders_7day_avg": 0.5, "revenue_growth_pct": -100.0},
            # growth after a zero day: NaN as an engine may write it; published as null
            {"date": dt.date(2026, 11, 1), "total_revenue": D("0.00"), "total_orders": 0, "unique_customers": 0,
             "total_quantity": 0, "revenue_7day_avg": D("411.52"), "orders_7day_avg": 0.33, "revenue_growth_pct": float("nan")},
        ],
        "weekly_sales": [
            {"year_week": "2026-W44", "total_revenue": D("1234.56"), "total_orders": 1, "unique_customers": 1,
             "total_quantity": 1, "avg_order_value": D("1234.56"), "revenue_growth_pct": None},
            {"year_week": "2026-W45", "total_revenue": D("2079.96"), "total_orders": 3, "unique_customers": 3,
             "total_quantity": 6, "avg_order_value": D("693.32"), "revenue_growth_pct": 68.48},
        ],
        "monthly_sales": [
            {"year_month": "2026-10", "total_revenue": D("1234.56"), "total_orders": 1, "unique_customers": 1,
             "total_quantity": 1, "avg_order_value": D("1234.56"), "avg_revenue_per_customer": D("1234.56"),
             "revenue_growth_pct": None, "orders_growth_pct": None, "customers_growth_pct": None},
            {"year_month": "2026-11", "total_revenue": D("2079.96"), "total_orders": 3, "unique_customers": 3,
             "total_quantity": 6, "avg_order_value": D("693.32"), "avg_revenue_per_customer": D("693.32"),
             "revenue_growth_pct": 68.48, "orders_growth_pct": 200.0, "customers_growth_pct": 200.0},
        ],
    }


def run_b_rows() -> dict[str, list[dict]]:
    """The second run (as-of 2026-11-29): run A with one more row per table and a changed value."""
    rows = run_a_rows()
    rows["client_kpis"][0] = {**rows["client_kpis"][0], "days_since_last_purchase": 27}
    extra = {
        "fact_sales": _purchase(105, 4, "Phone", "450.00", 1, dt.date(2026, 11, 4), "Dan Ruiz", "Spain",
                                dt.date(2025, 5, 5), 45, 3, "Wednesday"),
        "client_kpis": {**rows["client_kpis"][1], "id_client": 4, "name": "Dan Ruiz", "email": "dan@example.com",
                        "country": "Spain", "rfm_segment": "Need Attention"},
        "product_analytics": {**rows["product_analytics"][1], "product": "Phone"},
        "country_analytics": {**rows["country_analytics"][1], "country": "Spain"},
        "daily_sales": {**rows["daily_sales"][0], "date": dt.date(2026, 11, 2)},
        "weekly_sales": {**rows["weekly_sales"][0], "year_week": "2026-W46"},
        "monthly_sales": {**rows["monthly_sales"][0], "year_month": "2026-12"},
    }
    return {table: [*table_rows, extra[table]] for table, table_rows in rows.items()}


REPORTS = {
    "statistical_distributions": {"order_value_distribution": {"mean": 828.6, "median": 530.0},
                                  "overall_metrics": {"total_revenue": 3314.52, "total_orders": 4}},
    "gold_summary": {"fact_rows": 4, "rfm_segments": {"Champions": 2, "Promising": 1}},
    "quality_report": {"clients": {"input_rows": 3, "rejected": {"invalid_email": 0}}},
}


def commit_run(settings: Settings, run_date: str, rows: dict[str, list[dict]], run_id: str = "gold-job") -> None:
    """Commit ``run_date``'s partition of every gold table, then the gold documents and the silver
    quality report of the date (documents after the tables, as the jobs write them)."""
    metadata = {"run_id": run_id, "run_date": run_date, "logical_date": run_date, "job": "test"}
    for table, table_rows in rows.items():
        tables.write_snapshot(settings, "gold", table, run_date,
                              pa.Table.from_pylist(table_rows, schema=GOLD_SCHEMAS[table]), metadata)
    for kind in ("statistical_distributions", "gold_summary"):
        lake.write_document(settings, "gold", run_date, kind, {**REPORTS[kind], "as_of": run_date})
    lake.write_document(settings, "silver", run_date, "quality_report", {**REPORTS["quality_report"], "as_of": run_date})


def delta_log_files(settings: Settings, table: str, run_date: str) -> tuple[int, list[Path]]:
    """(latest version, the Parquet files holding ``run_date``'s rows) of a gold table, replayed from
    the JSON commits of its ``_delta_log`` (the Delta protocol's add/remove actions), without deltalake."""
    root = Path(lake.layer_path(settings, "gold", table))
    log_dir = root / "_delta_log"
    assert not list(log_dir.glob("*.checkpoint*")), "a checkpoint: replaying the JSON commits is not enough"
    commits = sorted(log_dir.glob("*.json"))
    live: set[str] = set()
    for commit in commits:
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action and action["add"]["partitionValues"].get("run_date") == run_date:
                live.add(unquote(action["add"]["path"]))
            elif "remove" in action:
                live.discard(unquote(action["remove"]["path"]))
    return int(commits[-1].stem), sorted(root / path for path in live)


def expected_document(row: dict, key: str) -> dict:
    """What pymongo (tz_aware=False) reads back for a gold row: floats, naive UTC midnights, nulls."""
    def value(v):
        if isinstance(v, Decimal):
            return float(v)
        if isinstance(v, dt.date):
            return dt.datetime(v.year, v.month, v.day)
        if isinstance(v, float) and math.isnan(v):
            return None
        return v
    return {"_id": value(row[key]), **{name: value(v) for name, v in row.items()}}


def collection_bytes(db, name: str) -> list[bytes]:
    """The raw BSON of every document of a collection, in _id order (field order included)."""
    raw = db.get_collection(name, codec_options=bson.CodecOptions(document_class=RawBSONDocument))
    return [doc.raw for doc in raw.find().sort("_id", 1)]


def staging_collections(db) -> list[str]:
    return [name for name in db.list_collection_names() if name.startswith("_staging__")]


@pytest.fixture(scope="module")
def client(mongo_server):
    with pymongo.MongoClient(mongo_server, serverSelectionTimeoutMS=10_000) as mongo:
        yield mongo


@pytest.fixture()
def db(client):
    name = f"gold_{uuid.uuid4().hex[:10]}"
    yield client[name]
    client.drop_database(name)


@pytest.fixture()
def two_runs(settings):
    """Run dates 2026-11-28 (run A) and 2026-11-29 (run B) committed in the temporary lake: each gold
    table holds both partitions, at Delta version 1 (version 0 committed run A)."""
    commit_run(settings, "2026-11-28", run_a_rows(), run_id="run-a-gold")
    commit_run(settings, "2026-11-29", run_b_rows(), run_id="run-b-gold")
    return settings


def test_publish_loads_every_table_with_indexes_reports_and_log(two_runs, db):
    settings = two_runs
    result = publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")

    hand_counts = {"client_kpis": 3, "product_analytics": 2, "country_analytics": 2, "daily_sales": 3,
                   "weekly_sales": 2, "monthly_sales": 2}
    assert result["status"] == "success"
    assert result["collections"] == hand_counts
    assert set(db.list_collection_names()) == {*AGGREGATES, "reports", "_publish_log"}
    for table in AGGREGATES:
        rows = run_a_rows()[table]
        assert len(rows) == hand_counts[table] == db[table].count_documents({})
        # every document equals its committed row (converted independently above): only run A's
        # partition was read, although every table holds run B's rows too
        expected = sorted((expected_document(r, KEYS[table]) for r in rows), key=lambda d: d["_id"])
        assert list(db[table].find().sort("_id", 1)) == expected
    # field order: _id, then the table's columns in order
    assert list(db.client_kpis.find_one({"_id": 1})) == ["_id", *GOLD_SCHEMAS["client_kpis"].names]

    indexes = {ix["name"]: ix for ix in db.client_kpis.list_indexes()}
    assert set(indexes) == {"_id_", "id_client_unique", "country_1", "rfm_segment_1",
                            "first_purchase_date_1", "last_purchase_date_1"}
    assert indexes["id_client_unique"]["unique"] is True
    for table in ("product_analytics", "country_analytics", "daily_sales", "weekly_sales", "monthly_sales"):
        assert {ix["name"] for ix in db[table].list_indexes()} == {"_id_", f"{KEYS[table]}_unique"}

    reports = {doc["kind"]: doc for doc in db.reports.find()}
    assert set(reports) == {"statistical_distributions", "gold_summary", "quality_report"}
    for kind, doc in reports.items():
        assert doc["_id"] == f"run-a|{kind}" and doc["run_id"] == "run-a" and doc["run_date"] == "2026-11-28"
        assert doc["document"] == {**REPORTS[kind], "as_of": "2026-11-28"}

    (entry,) = db["_publish_log"].find()
    assert entry["status"] == "success" and entry["run_id"] == "run-a" and entry["run_date"] == "2026-11-28"
    assert entry["logical_date"] == dt.datetime(2026, 11, 28)
    assert entry["collections"] == hand_counts
    assert entry["started_at"] <= entry["finished_at"]
    assert "gold_snapshot" not in entry
    assert set(entry["checksums"]) == set(AGGREGATES)
    for table in AGGREGATES:
        version, files = delta_log_files(settings, table, "2026-11-28")
        blob = b"".join(f.read_bytes() for f in files)
        # the Delta version read is the table's latest (run B's commit, which left run A's rows as they were)
        assert version == tables.last_commit(settings, "gold", table)["version"] == 1
        assert entry["checksums"][table] == {"version": 1, "sha256": hashlib.sha256(blob).hexdigest(), "files": 1,
                                             "bytes": len(blob)}


def test_published_document_types(two_runs, mongo_server):
    with pymongo.MongoClient(mongo_server, tz_aware=True) as aware:
        db = aware[f"gold_{uuid.uuid4().hex[:10]}"]
        try:
            publish_gold(db, two_runs, "2026-11-28", "run-a", "2026-11-28")
            kpi = db.client_kpis.find_one({"_id": 2})
            daily = db.daily_sales.find_one({"date": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)})
        finally:
            aware.drop_database(db.name)
    assert type(kpi["total_spent"]) is float and kpi["total_spent"] == 59.97
    assert type(kpi["subscription_date"]) is dt.datetime
    assert kpi["subscription_date"] == dt.datetime(2024, 1, 15, tzinfo=dt.timezone.utc)
    assert (kpi["subscription_date"].hour, kpi["subscription_date"].minute) == (0, 0)
    assert type(kpi["total_purchases"]) is int and type(kpi["is_active"]) is bool
    assert daily["revenue_growth_pct"] is None  # NaN in the table
    assert type(daily["orders_7day_avg"]) is float and daily["orders_7day_avg"] == 0.33


def test_fact_sales_is_published_when_enabled(two_runs, db):
    settings = two_runs.with_overrides(publish_fact_sales=True)
    result = publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    assert result["collections"]["fact_sales"] == 4
    # year_month is a plain column now (no year_month=YYYY-MM folders): one file for the run date
    version, files = delta_log_files(settings, "fact_sales", "2026-11-28")
    assert [f.parent.name for f in files] == ["run_date=2026-11-28"]
    assert result["checksums"]["fact_sales"]["files"] == 1
    assert result["checksums"]["fact_sales"]["version"] == version == 1
    rows = run_a_rows()["fact_sales"]
    assert len(rows) == 4 == db.fact_sales.count_documents({})
    assert list(db.fact_sales.find().sort("_id", 1)) == sorted(
        (expected_document(r, "id_purchase") for r in rows), key=lambda d: d["_id"])
    sample = db.fact_sales.find_one({"_id": 104})
    assert sample["total"] == 1999.98 and sample["year_month"] == "2026-11"
    assert sample["purchase_date"] == dt.datetime(2026, 11, 3) and sample["customer_tenure_days"] == 1
    assert {ix["name"] for ix in db.fact_sales.list_indexes()} == {
        "_id_", "id_purchase_unique", "id_client_1", "purchase_date_1", "year_month_1", "country_1", "product_1"}


def assert_live_is_run_a(settings, db) -> None:
    for table in AGGREGATES:
        expected = sorted((expected_document(r, KEYS[table]) for r in run_a_rows()[table]), key=lambda d: d["_id"])
        assert list(db[table].find().sort("_id", 1)) == expected, table


def test_crash_after_first_batch_leaves_live_collections_untouched(two_runs, db, monkeypatch):
    settings = two_runs
    publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28", batch_size=2)

    real_insert, calls = publish._insert_batch, []

    def crash_on_second_batch(collection, documents):
        calls.append((collection.name, len(documents)))
        if len(calls) == 2:
            raise RuntimeError("simulated crash after the first batch")
        real_insert(collection, documents)

    monkeypatch.setattr(publish, "_insert_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        publish_gold(db, settings, "2026-11-29", "run-b", "2026-11-29", batch_size=2)

    staging = publish.staging_name("client_kpis", "run-b")
    assert calls == [(staging, 2), (staging, 2)]  # client_kpis of run B: 4 rows in batches of 2
    assert staging_collections(db) == []
    assert_live_is_run_a(settings, db)
    failed = db["_publish_log"].find_one({"run_id": "run-b"})
    assert failed["status"] == "failed"
    assert failed["error"] == "RuntimeError: simulated crash after the first batch"
    assert failed["swapped"] == [] and failed["finished_at"] >= failed["started_at"]
    assert db.reports.count_documents({"run_id": "run-b"}) == 0


def test_server_refusing_a_batch_midway_leaves_live_collections_untouched(two_runs, db):
    settings = two_runs
    publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28", batch_size=2)
    rows = run_b_rows()
    rows["client_kpis"][3] = {**rows["client_kpis"][3], "id_client": 2}  # duplicate key in the 2nd batch
    commit_run(settings, "2026-11-30", rows)

    with pytest.raises(BulkWriteError) as refused:
        publish_gold(db, settings, "2026-11-30", "run-dup", "2026-11-30", batch_size=2)
    assert refused.value.details["writeErrors"][0]["code"] == 11000  # DuplicateKey
    assert staging_collections(db) == []
    assert_live_is_run_a(settings, db)
    assert db["_publish_log"].find_one({"run_id": "run-dup"})["status"] == "failed"


def test_staged_count_must_equal_the_tables_rows(two_runs, db, monkeypatch):
    settings = two_runs
    publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    real_insert, calls = publish._insert_batch, []

    def lose_second_batch(collection, documents):
        calls.append(len(documents))
        if len(calls) != 2:
            real_insert(collection, documents)

    monkeypatch.setattr(publish, "_insert_batch", lose_second_batch)
    with pytest.raises(PublishVerificationError,
                       match="holds 2 documents but gold table client_kpis has 4 rows for run date 2026-11-29$"):
        publish_gold(db, settings, "2026-11-29", "run-b", "2026-11-29", batch_size=2)
    assert calls == [2, 2]  # client_kpis of run B: 4 rows in batches of 2, the second one lost
    assert staging_collections(db) == []
    assert_live_is_run_a(settings, db)
    failed = db["_publish_log"].find_one({"run_id": "run-b"})
    assert failed["status"] == "failed" and failed["error"].startswith("PublishVerificationError: ")


def test_rerun_of_the_same_date_gives_identical_collections(two_runs, db):
    settings = two_runs
    publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28", batch_size=2)
    first = {name: collection_bytes(db, name) for name in (*AGGREGATES, "reports")}
    publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    assert {name: collection_bytes(db, name) for name in (*AGGREGATES, "reports")} == first
    assert [e["status"] for e in db["_publish_log"].find().sort("started_at", 1)] == ["success", "success"]
    # a new run id for the same date: the same table documents, and its own reports
    publish_gold(db, settings, "2026-11-28", "run-a-again", "2026-11-28")
    assert {name: collection_bytes(db, name) for name in AGGREGATES} == {name: first[name] for name in AGGREGATES}
    assert db.reports.count_documents({}) == 6

    # the gold job re-run for the date: the same rows in a new Delta version of every table
    commit_run(settings, "2026-11-28", run_a_rows(), run_id="run-a-gold-rerun")
    rerun = publish_gold(db, settings, "2026-11-28", "run-a-rerun", "2026-11-28")
    assert {name: collection_bytes(db, name) for name in AGGREGATES} == {name: first[name] for name in AGGREGATES}
    for table in AGGREGATES:
        version, files = delta_log_files(settings, table, "2026-11-28")
        assert rerun["checksums"][table]["version"] == version == 2
        assert tables.last_commit(settings, "gold", table)["metadata"]["run_id"] == "run-a-gold-rerun"
        # the files of the replaced partition are not checksummed: only the re-run's one
        assert rerun["checksums"][table]["files"] == len(files) == 1
        assert rerun["checksums"][table]["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()


def test_older_run_date_is_refused_unless_forced(two_runs, db, caplog):
    settings = two_runs
    publish_gold(db, settings, "2026-11-29", "run-b", "2026-11-29")
    b_counts = {t: db[t].count_documents({}) for t in AGGREGATES}
    assert b_counts == {"client_kpis": 4, "product_analytics": 3, "country_analytics": 3, "daily_sales": 4,
                        "weekly_sales": 3, "monthly_sales": 3}

    with caplog.at_level(logging.ERROR, logger="medallion.publish"), \
            pytest.raises(PublishRefused, match="newer run date 2026-11-29 .* is already published"):
        publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    assert "refusing to publish gold of run date 2026-11-28" in caplog.text
    assert {t: db[t].count_documents({}) for t in AGGREGATES} == b_counts
    refused = db["_publish_log"].find_one({"run_id": "run-a"})
    assert refused["status"] == "refused" and "PUBLISH_FORCE" in refused["error"]

    publish_gold(db, settings, "2026-11-28", "run-a-forced", "2026-11-28", force=True)
    assert_live_is_run_a(settings, db)
    assert db["_publish_log"].find_one({"run_id": "run-a-forced"})["forced"] is True
    # the configuration flag does the same
    publish_gold(db, settings, "2026-11-29", "run-b2", "2026-11-29")
    publish_gold(db, settings.with_overrides(publish_force=True), "2026-11-28", "run-a-flag", "2026-11-28")
    assert_live_is_run_a(settings, db)


def test_leftover_staging_of_a_killed_publish_is_dropped(two_runs, db):
    db["_staging__client_kpis__killed-run_0123abcd"].insert_one({"_id": 99})
    db["_staging__other_table__x"].insert_one({"_id": 1})  # not ours: left alone
    publish_gold(db, two_runs, "2026-11-28", "run-a", "2026-11-28")
    assert staging_collections(db) == ["_staging__other_table__x"]
    assert_live_is_run_a(two_runs, db)


def test_empty_table_publishes_an_empty_collection(settings, db):
    rows = run_a_rows()
    rows["weekly_sales"] = []
    commit_run(settings, "2026-11-28", rows)
    # a committed empty partition has no Parquet file at all: only the gold documents of the date
    # say that it was committed
    assert delta_log_files(settings, "weekly_sales", "2026-11-28") == (0, [])
    result = publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    assert result["collections"]["weekly_sales"] == 0
    assert result["collections"]["daily_sales"] == 3
    assert result["checksums"]["weekly_sales"] == {"version": 0, "sha256": hashlib.sha256(b"").hexdigest(),
                                                   "files": 0, "bytes": 0}
    assert "weekly_sales" in db.list_collection_names() and db.weekly_sales.count_documents({}) == 0


@pytest.mark.parametrize("layer, name", [("gold", "gold_summary"), ("gold", "statistical_distributions"),
                                         ("silver", "quality_report")])
def test_missing_report_fails_before_touching_mongo(settings, db, layer, name):
    commit_run(settings, "2026-11-28", run_a_rows())
    Path(lake.document_path(settings, layer, "2026-11-28", name)).unlink()
    where = f"{settings.lake_root}/{layer}/_documents/run_date=2026-11-28/{name}.json"
    with pytest.raises(FileNotFoundError) as missing:
        publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    assert str(missing.value) == f"no committed {layer} output for run date 2026-11-28: {where} is missing"
    assert set(db.list_collection_names()) == {"_publish_log"}
    (entry,) = db["_publish_log"].find()
    assert entry["status"] == "failed" and entry["error"] == f"FileNotFoundError: {missing.value}"


def test_uncommitted_run_date_fails_before_touching_mongo(two_runs, settings, db):
    """2026-11-30 was never committed: the gold tables exist but hold no rows of that date."""
    with pytest.raises(FileNotFoundError, match=re.escape("gold table client_kpis has no rows for run date 2026-11-30 at "
                                                          f"{settings.lake_root}/gold/client_kpis (version 1)")):
        publish_gold(db, two_runs, "2026-11-30", "run-c", "2026-11-30")
    assert set(db.list_collection_names()) == {"_publish_log"}
    assert db["_publish_log"].find_one()["status"] == "failed"


def test_publish_from_a_lake_without_gold_tables_fails_before_touching_mongo(settings, db):
    with pytest.raises(FileNotFoundError, match=re.escape("gold table client_kpis does not exist yet: no Delta table at "
                                                          f"{settings.lake_root}/gold/client_kpis")):
        publish_gold(db, settings, "2026-11-28", "run-a", "2026-11-28")
    assert set(db.list_collection_names()) == {"_publish_log"}
    assert db["_publish_log"].find_one()["status"] == "failed"


def test_airflow_mongo_hook_publishes_into_the_configured_database(two_runs, client, mongo_server, monkeypatch):
    from medallion.devtools.mongo_server import airflow_conn_json

    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", airflow_conn_json(mongo_server))
    settings = two_runs.with_overrides(mongo_database=f"hooked_{uuid.uuid4().hex[:8]}")
    try:
        result = publish.publish_gold_with_airflow_hook(settings, "2026-11-28", "run-a", "2026-11-28")
        assert result["status"] == "success"
        assert client[settings.mongo_database].client_kpis.count_documents({}) == 3
    finally:
        client.drop_database(settings.mongo_database)


def test_demo_server_script_starts_answers_and_stops(tmp_path):
    """``scripts/mongo-server.sh start|status|uri|stop`` (what ``make demo`` uses), on a free port."""
    env = {**os.environ, "MONGO_RUN_DIR": str(tmp_path / "run")}

    def script(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "mongo-server.sh"), *args],
                              env=env, capture_output=True, text=True, timeout=120)

    started = script("start", "--port", "0")
    assert started.returncode == 0, started.stderr
    try:
        uri = script("uri").stdout.strip()
        assert uri.startswith("mongodb://127.0.0.1:") and uri in started.stdout
        assert "AIRFLOW_CONN_MONGO_DEFAULT=" in started.stdout
        pid = int((tmp_path / "run" / "server.pid").read_text())
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as mongo:
            assert mongo.admin.command("ping")["ok"] == 1.0
        again = script("start")  # idempotent: reports the running server
        assert again.returncode == 0 and f"already running (pid {pid})" in again.stdout
    finally:
        stopped = script("stop")
    assert stopped.returncode == 0 and f"stopped (pid {pid})" in stopped.stdout
    assert not Path(f"/proc/{pid}").exists()
    assert script("status").returncode == 1


def test_command_line_publishes_a_run_date_and_refuses_an_older_one(two_runs, client, monkeypatch, capsys):
    """``python -m medallion.publish`` (publish by hand): settings from the environment, exit status."""
    settings = two_runs
    database = f"gold_cli_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LAKE_ROOT", settings.lake_root)
    monkeypatch.setenv("MONGO_DATABASE", database)
    uri = "mongodb://{}:{}".format(*client.address)
    try:
        assert publish.main(["--run-date", "2026-11-29", "--uri", uri]) == 0
        assert "published 20 documents of run date 2026-11-29 into " + database in capsys.readouterr().out
        db = client[database]
        assert {t: db[t].count_documents({}) for t in AGGREGATES} == {
            "client_kpis": 4, "product_analytics": 3, "country_analytics": 3, "daily_sales": 4,
            "weekly_sales": 3, "monthly_sales": 3}
        assert db["_publish_log"].find_one({"status": "success"})["run_id"] == "manual__2026-11-29"

        assert publish.main(["--run-date", "2026-11-28", "--uri", uri]) == 1
        assert "refusing to publish gold of run date 2026-11-28" in capsys.readouterr().err
        assert db.client_kpis.count_documents({}) == 4
        assert publish.main(["--run-date", "2026-11-28", "--uri", uri, "--force"]) == 0
        assert db.client_kpis.count_documents({}) == 3
    finally:
        client.drop_database(database)
