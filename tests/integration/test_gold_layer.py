"""The gold job (:func:`medallion.spark.gold.run`, what spark_jobs/gold_aggregation.py runs) on real Delta tables.

The job runs in the test session's Spark (``local[2]``); the end-to-end tier runs the same code
through spark-submit on the local standalone cluster.

Silver is written here without Spark (``deltalake``: the seed's CSV files, which are clean, and a
seeded random data set, as two run dates of one lake), so the job is tested on its own. Every
expected number is recounted in the test from the input rows with the csv module and Decimal,
independently of the code under test; the gold output is read back with ``deltalake``, and Spark's
own read of every table must give the same rows.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa
import pytest

from medallion import lake, tables
from medallion.config import Settings
from medallion.contract import COUNTRIES, GOLD_TABLES, PRODUCT_PRICE_RANGES
from medallion.spark import gold
from tests.conftest import SEED_DATA

SEED_RUN_DATE = "2026-11-29"
GENERATED_RUN_DATE = "2025-03-01"
CENT = Decimal("0.01")

CLIENTS_SCHEMA = pa.schema([("id_client", pa.int64()), ("name", pa.string()), ("email", pa.string()),
                            ("subscription_date", pa.date32()), ("country", pa.string())])
PURCHASES_SCHEMA = pa.schema([("id_purchase", pa.int64()), ("id_client", pa.int64()),
                              ("product", pa.string()),
                              ("price", pa.decimal128(18, 2)), ("quantity", pa.int32()),
                              ("purchase_date", pa.date32()), ("total", pa.decimal128(18, 2)),
                              ("year_month", pa.string())])


def write_silver(settings: Settings, run_date: str, clients: list[dict], purchases: list[dict]) -> None:
    """Commit silver clients and purchases for ``run_date`` and its quality report, as the silver job would."""
    rows = [{**p, "year_month": p["purchase_date"].strftime("%Y-%m")} for p in purchases]
    tables.write_snapshot(settings, "silver", "clients", run_date, pa.Table.from_pylist(clients, CLIENTS_SCHEMA),
                          {"run_id": "test-silver"})
    tables.write_snapshot(settings, "silver", "purchases", run_date, pa.Table.from_pylist(rows, PURCHASES_SCHEMA),
                          {"run_id": "test-silver"})
    lake.write_document(settings, "silver", run_date, "quality_report", {"summary": {"run_id": "test-silver"}})


def seed_rows() -> tuple[list[dict], list[dict]]:
    with open(SEED_DATA / "clients.csv", newline="", encoding="utf-8") as handle:
        clients = [{"id_client": int(r["id_client"]), "name": r["name"], "email": r["email"],
                    "subscription_date": date.fromisoformat(r["subscription_date"]), "country": r["country"]}
                   for r in csv.DictReader(handle)]
    with open(SEED_DATA / "purchases.csv", newline="", encoding="utf-8") as handle:
        purchases = [{"id_purchase": int(r["id_purchase"]), "id_client": int(r["id_client"]),
                      "product": r["product"], "price": Decimal(r["price"]).quantize(CENT),
                      "quantity": int(r["quantity"]), "purchase_date": date.fromisoformat(r["purchase_date"]),
                      "total": Decimal(r["total"]).quantize(CENT)}
                     for r in csv.DictReader(handle)]
    return clients, purchases


def generated_rows(seed: int = 20250301) -> tuple[list[dict], list[dict]]:
    """60 clients in 6 countries, 400 purchases of the contract's products over 8 months."""
    rng = random.Random(seed)
    clients = [{"id_client": i, "name": f"Client {i}", "email": f"client{i}@example.com",
                "subscription_date": date(2024, 1, 1) + timedelta(days=rng.randrange(450)),
                "country": rng.choice(COUNTRIES[:6])} for i in range(1, 61)]
    purchases = []
    for pid in range(1, 401):
        product = rng.choice(sorted(PRODUCT_PRICE_RANGES))
        low, high = PRODUCT_PRICE_RANGES[product]
        price = Decimal(rng.randrange(low * 100, high * 100 + 1)) / 100
        quantity = rng.randint(1, 5)
        purchases.append({"id_purchase": pid, "id_client": rng.randint(1, 60), "product": product,
                          "price": price, "quantity": quantity,
                          "purchase_date": date(2024, 7, 1) + timedelta(days=rng.randrange(240)),
                          "total": price * quantity})
    return clients, purchases


def read_gold(settings: Settings, run_date: str) -> tuple[dict[str, list[dict]], dict, dict]:
    rows = {name: tables.read_snapshot(settings, "gold", name, run_date).to_pylist() for name in GOLD_TABLES}
    stats = lake.read_document(settings, "gold", run_date, "statistical_distributions")
    summary = lake.read_document(settings, "gold", run_date, "gold_summary")
    return rows, stats, summary


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: [str(value) for value in row.values()])


def assert_reconciles(tables: dict[str, list[dict]], stats: dict, summary: dict,
                      purchases: list[dict]) -> None:
    """Revenue to the cent and order counts agree across every table; shares add up to 100."""
    revenue = sum(p["total"] for p in purchases)
    orders = len(purchases)
    money = {"fact_sales": "total", "client_kpis": "total_spent", "product_analytics": "total_revenue",
             "country_analytics": "total_revenue", "daily_sales": "total_revenue",
             "weekly_sales": "total_revenue", "monthly_sales": "total_revenue"}
    for name, column in money.items():
        assert sum(row[column] for row in tables[name]) == revenue, name
    assert Decimal(str(stats["overall_metrics"]["total_revenue"])) == revenue
    counts = {"client_kpis": "total_purchases", "product_analytics": "total_orders",
              "country_analytics": "total_orders", "daily_sales": "total_orders",
              "weekly_sales": "total_orders", "monthly_sales": "total_orders"}
    assert len(tables["fact_sales"]) == orders
    for name, column in counts.items():
        assert sum(row[column] for row in tables[name]) == orders, name
    assert stats["overall_metrics"]["total_orders"] == orders
    for name, key in (("product_analytics", "product"), ("country_analytics", "country")):
        shares = [row["market_share_pct"] for row in tables[name]]
        assert abs(sum(shares) - 100) <= 0.01, name
        for row in tables[name]:
            exact = Decimal(100) * row["total_revenue"] / revenue
            assert abs(Decimal(str(row["market_share_pct"])) - exact) < CENT, (name, row[key])
    # daily_sales covers every calendar day from the first to the last purchase.
    first = min(p["purchase_date"] for p in purchases)
    last = max(p["purchase_date"] for p in purchases)
    days = [row["date"] for row in tables["daily_sales"]]
    assert days == [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert len(tables["client_kpis"]) == len({p["id_client"] for p in purchases})
    assert summary["tables"] == {name: len(rows) for name, rows in tables.items()}


@pytest.fixture(scope="module")
def gold_lake(spark, tmp_path_factory):
    """One lake, two run dates: the seed's silver (run date SEED_RUN_DATE) and a generated one."""
    settings = Settings(lake_root=str(tmp_path_factory.mktemp("gold") / "lake"))
    seed = seed_rows()
    generated = generated_rows()
    write_silver(settings, SEED_RUN_DATE, *seed)
    write_silver(settings, GENERATED_RUN_DATE, *generated)
    summaries = {run_date: gold.run(spark, settings, run_date, run_id, logical_date="2026-12-01")
                 for run_date, run_id in ((SEED_RUN_DATE, "seed-run"), (GENERATED_RUN_DATE, "generated-run"))}
    return settings, {SEED_RUN_DATE: seed, GENERATED_RUN_DATE: generated}, summaries


def test_gold_job_on_the_seed_reconciles(gold_lake):
    settings, inputs, summaries = gold_lake
    tables_, stats, summary = read_gold(settings, SEED_RUN_DATE)
    assert_reconciles(tables_, stats, summary, inputs[SEED_RUN_DATE][1])
    assert summary == summaries[SEED_RUN_DATE]  # the document is what the job returned


def test_gold_job_seed_values_recounted_from_the_csv(gold_lake):
    settings, inputs, _ = gold_lake
    clients, purchases = inputs[SEED_RUN_DATE]
    tables_, stats, summary = read_gold(settings, SEED_RUN_DATE)
    revenue = sum(p["total"] for p in purchases)
    assert stats["overall_metrics"]["total_revenue"] == float(revenue)
    product_revenue: dict[str, Decimal] = defaultdict(Decimal)
    for p in purchases:
        product_revenue[p["product"]] += p["total"]
    top_product, top_revenue = sorted(product_revenue.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    assert summary["top_product"] == {"product": top_product, "total_revenue": float(top_revenue)}
    products = {row["product"]: row for row in tables_["product_analytics"]}
    assert {name: row["total_revenue"] for name, row in products.items()} == dict(product_revenue)

    mine = [p for p in purchases if p["id_client"] == 1]
    kpi = next(row for row in tables_["client_kpis"] if row["id_client"] == 1)
    spent = sum(p["total"] for p in mine)
    assert kpi["total_spent"] == spent
    assert kpi["total_purchases"] == len(mine)
    assert kpi["avg_order_value"] == (spent / len(mine)).quantize(CENT, rounding=ROUND_HALF_UP)
    last = max(p["purchase_date"] for p in mine)
    assert kpi["days_since_last_purchase"] == (date.fromisoformat(SEED_RUN_DATE) - last).days
    assert kpi["name"] == next(c["name"] for c in clients if c["id_client"] == 1)

    assert summary["counts"]["clients"] == len({p["id_client"] for p in purchases})
    assert summary["counts"]["products"] == len(product_revenue)
    assert sum(summary["rfm_segments"].values()) == summary["counts"]["clients"]
    quantities = Counter(p["quantity"] for p in purchases)
    top_count = max(quantities.values())
    assert stats["quantity_distribution"]["mode"] == min(q for q, n in quantities.items() if n == top_count)


def test_gold_job_on_generated_data_reconciles(gold_lake):
    settings, inputs, _ = gold_lake
    tables_, stats, summary = read_gold(settings, GENERATED_RUN_DATE)
    assert_reconciles(tables_, stats, summary, inputs[GENERATED_RUN_DATE][1])
    assert summary["as_of_date"] == GENERATED_RUN_DATE and summary["run_id"] == "generated-run"


def test_each_run_date_is_a_partition_committed_with_the_run_in_its_metadata(gold_lake):
    settings, _, _ = gold_lake
    for table in GOLD_TABLES:
        history = tables.open_table(settings, "gold", table).history()
        writes = [(commit["operationParameters"]["predicate"], commit["userMetadata"]) for commit in reversed(history)]
        assert [predicate for predicate, _ in writes] == [
            f"run_date = DATE'{SEED_RUN_DATE}'", f"run_date = DATE'{GENERATED_RUN_DATE}'"], table
        assert '"logical_date": "2026-12-01"' in writes[0][1] and '"run_id": "seed-run"' in writes[0][1]
        assert '"job": "gold_aggregation"' in writes[1][1] and '"run_id": "generated-run"' in writes[1][1]
    summary = lake.read_document(settings, "gold", SEED_RUN_DATE, "gold_summary")
    assert summary["commit"] == {"logical_date": "2026-12-01", "table_versions": {t: 0 for t in GOLD_TABLES}}
    assert summary["silver_versions"] == {"clients": 1, "purchases": 1}  # silver of both dates was committed first


def test_every_gold_table_reads_the_same_with_deltalake_and_spark(gold_lake, spark):
    settings, _, _ = gold_lake
    from medallion.spark.delta import read_snapshot

    for run_date in (SEED_RUN_DATE, GENERATED_RUN_DATE):
        for table in GOLD_TABLES:
            with_deltalake = tables.read_snapshot(settings, "gold", table, run_date)
            with_spark = read_snapshot(spark, settings, "gold", table, run_date)
            assert with_spark.columns == with_deltalake.column_names, table
            assert sorted_rows([row.asDict() for row in with_spark.collect()]) == \
                sorted_rows(with_deltalake.to_pylist()), (table, run_date)


def test_rerun_of_a_date_replaces_only_its_partition_with_the_same_rows(gold_lake, spark):
    settings, _, _ = gold_lake
    before = {d: read_gold(settings, d) for d in (SEED_RUN_DATE, GENERATED_RUN_DATE)}
    gold.run(spark, settings, SEED_RUN_DATE, "seed-rerun")
    for run_date in (SEED_RUN_DATE, GENERATED_RUN_DATE):
        tables_, stats, summary = read_gold(settings, run_date)
        assert {n: sorted_rows(r) for n, r in tables_.items()} == \
            {n: sorted_rows(r) for n, r in before[run_date][0].items()}, run_date
        assert stats == before[run_date][1]
    rerun = lake.read_document(settings, "gold", SEED_RUN_DATE, "gold_summary")
    assert rerun["run_id"] == "seed-rerun" and rerun["commit"]["table_versions"] == {t: 2 for t in GOLD_TABLES}
    assert {k: v for k, v in rerun.items() if k not in ("run_id", "commit")} == \
        {k: v for k, v in before[SEED_RUN_DATE][2].items() if k not in ("run_id", "commit")}
