"""Benchmark (not a test): publish a synthetic ``client_kpis`` of N clients to the local wire server.

    .venv/bin/python scripts/mongo-server/benchmark_publish.py --clients 2000000 [--heap 8g]

Commits a gold snapshot into a temporary lake through the pipeline's own API
(:func:`medallion.tables.write_snapshot`, one Delta commit per table, then
:func:`medallion.lake.write_document`): ``client_kpis`` with N rows (the gold schema of issue 4,
values generated with numpy from a fixed seed), one-row aggregate tables and the JSON reports;
starts mongo-java-server (:mod:`medallion.devtools.mongo_server`) with the given Java heap, runs
:func:`medallion.publish.publish_gold` and prints the seconds spent and the documents published.
The in-memory server needs roughly 3 GiB of heap per million client_kpis documents.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pymongo

from medallion import lake
from medallion.config import Settings
from medallion.contract import LAYER_DOCUMENTS
from medallion.devtools.mongo_server import start_mongo_server
from medallion.publish import publish_gold
from medallion.tables import write_snapshot

MONEY = pa.decimal128(18, 2)
SEGMENTS = np.array(["Champions", "Loyal Customers", "Promising", "At Risk", "Hibernating", "Need Attention"])
COUNTRIES = np.array(["Belgium", "Canada", "France", "Germany", "Italy", "Netherlands", "Spain",
                      "Switzerland", "UK", "USA"])


def client_kpis(n: int, as_of: dt.date, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    purchases = rng.integers(1, 12, n)
    cents = rng.integers(1_000, 2_000_000, n) * purchases
    first = rng.integers(30, 700, n)
    last = np.minimum(first, rng.integers(0, 400, n))
    epoch = (as_of - dt.date(1970, 1, 1)).days

    def money(cents: np.ndarray) -> pa.Array:  # integer cents -> DECIMAL(18,2), exactly
        whole = pa.array(cents, pa.int64()).cast(pa.decimal128(19, 0))
        return pc.divide(whole, pa.scalar(Decimal(100), pa.decimal128(3, 0))).cast(MONEY)

    def days(offsets: np.ndarray) -> pa.Array:  # days before the as-of date
        return pa.array((epoch - offsets).astype(np.int32), pa.date32())

    return pa.table({
        "id_client": ids,
        "name": pa.array([f"Client {i}" for i in ids]),
        "email": pa.array([f"client{i}@example.com" for i in ids]),
        "country": pa.array(COUNTRIES[rng.integers(0, len(COUNTRIES), n)]),
        "subscription_date": days(first + rng.integers(0, 900, n)),
        "total_purchases": purchases.astype(np.int64),
        "total_spent": money(cents),
        "avg_order_value": money(cents // purchases),
        "min_order_value": money(cents // purchases // 2),
        "max_order_value": money(cents // purchases * 2),
        "total_quantity": (purchases * 2).astype(np.int64),
        "first_purchase_date": days(first),
        "last_purchase_date": days(last),
        "customer_lifetime_days": first.astype(np.int32),
        "purchase_frequency_per_month": np.round(purchases / np.maximum(first / 30, 1), 2),
        "days_since_last_purchase": last.astype(np.int32),
        "is_active": last <= 90,
        "is_high_value": cents > np.median(cents),
        "r_score": rng.integers(1, 6, n).astype(np.int32),
        "f_score": rng.integers(1, 6, n).astype(np.int32),
        "m_score": rng.integers(1, 6, n).astype(np.int32),
        "rfm_segment": pa.array(SEGMENTS[rng.integers(0, len(SEGMENTS), n)]),
    })


def small_tables() -> dict[str, pa.Table]:
    day = dt.date(2026, 11, 28)
    return {
        "product_analytics": pa.table({"product": ["Laptop"], "total_revenue": pa.array([Decimal("1.00")], MONEY)}),
        "country_analytics": pa.table({"country": ["France"], "total_revenue": pa.array([Decimal("1.00")], MONEY)}),
        "daily_sales": pa.table({"date": pa.array([day], pa.date32()), "total_orders": [1]}),
        "weekly_sales": pa.table({"year_week": ["2026-W48"], "total_orders": [1]}),
        "monthly_sales": pa.table({"year_month": ["2026-11"], "total_orders": [1]}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2_000_000)
    parser.add_argument("--heap", default="8g", help="Java heap of the server (-Xmx)")
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()
    run_date = "2026-11-28"
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as tmp:
        settings = Settings(lake_root=str(Path(tmp) / "lake"))
        started = time.perf_counter()
        tables = {"client_kpis": client_kpis(args.clients, dt.date.fromisoformat(run_date)), **small_tables()}
        metadata = {"run_id": "benchmark", "run_date": run_date, "job": "benchmark_publish"}
        for table, data in tables.items():
            write_snapshot(settings, "gold", table, run_date, data, metadata)
        for layer in ("silver", "gold"):  # the reports publish_gold copies, after the tables
            for name in LAYER_DOCUMENTS[layer]:
                lake.write_document(settings, layer, run_date, name, {"kind": name})
        print(f"generated and committed client_kpis: {args.clients} rows in {time.perf_counter() - started:.1f} s")

        uri, stop = start_mongo_server(log_path=Path(tmp) / "server.log", java_opts=(f"-Xmx{args.heap}",))
        try:
            with pymongo.MongoClient(uri) as client:
                kwargs = {"batch_size": args.batch_size} if args.batch_size else {}
                started = time.perf_counter()
                result = publish_gold(client[settings.mongo_database], settings, run_date, "benchmark", run_date, **kwargs)
                seconds = time.perf_counter() - started
        finally:
            stop()
    print(f"published {result['collections']} in {seconds:.1f} s "
          f"({result['collections']['client_kpis'] / seconds:,.0f} client_kpis documents/s)")


if __name__ == "__main__":
    main()
