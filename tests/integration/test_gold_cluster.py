"""The gold job (spark_jobs/gold_aggregation.py) on the local standalone cluster.

Silver snapshots are written here with pyarrow (the seed's CSV files, which are clean, and a
seeded random data set), so the job is tested on its own. Every expected number is recounted in
the test from the input rows with the csv module and Decimal, independently of the code under
test; the gold output is read back with pyarrow, not Spark.
"""

from __future__ import annotations

import csv
import hashlib
import json
import posixpath
import random
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medallion import lake
from medallion.config import Settings
from medallion.contract import COUNTRIES, GOLD_TABLES, PRODUCT_PRICE_RANGES
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
    """Write and commit a silver snapshot (clients, purchases partitioned by year_month)."""
    attempt = lake.new_attempt_id()
    base = lake.layer_path(settings, "silver", lake.run_date_dir(run_date), attempt)
    Path(base, "clients").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(clients, CLIENTS_SCHEMA), f"{base}/clients/part-0.parquet")
    rows = [{**p, "year_month": p["purchase_date"].strftime("%Y-%m")} for p in purchases]
    pq.write_to_dataset(pa.Table.from_pylist(rows, PURCHASES_SCHEMA), f"{base}/purchases",
                        partition_cols=["year_month"])
    lake.commit_attempt(settings, "silver", run_date, attempt, {"run_id": "test-silver"})


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


def submit_gold(cluster, settings: Settings, run_date: str, run_id: str):
    return cluster.submit("gold_aggregation.py", "--run-date", run_date, "--run-id", run_id,
                          settings=settings)


def gold_dir(settings: Settings, run_date: str) -> str:
    return lake.layer_path(settings, "gold", *lake.snapshot_parts(settings, "gold", run_date))


def read_gold(folder: str) -> tuple[dict[str, list[dict]], dict, dict]:
    tables = {name: pq.read_table(posixpath.join(folder, name)).to_pylist() for name in GOLD_TABLES}
    stats = json.loads(Path(folder, "statistical_distributions.json").read_text(encoding="utf-8"))
    summary = json.loads(Path(folder, "gold_summary.json").read_text(encoding="utf-8"))
    return tables, stats, summary


def parquet_fingerprint(data: bytes, path: Path) -> bytes:
    """The bytes of a Parquet file with its footer's encodings lists put in sorted order.

    parquet-mr keeps each column chunk's encodings in a Java HashSet whose iteration order
    depends on identity hash codes, so two JVMs may list the same encodings in another order;
    everything else (data pages, schema, statistics, key-value metadata) must be identical.
    """
    footer_length = int.from_bytes(data[-8:-4], "little")
    body = data[: len(data) - 8 - footer_length]
    footer = pq.ParquetFile(path).metadata.to_dict()
    for group in footer["row_groups"]:
        for column in group["columns"]:
            column["encodings"] = sorted(column["encodings"])
    key_values = pq.ParquetFile(path).metadata.metadata
    return body + json.dumps([footer, sorted(key_values.items())], sort_keys=True, default=str).encode()


def content_digest(folder: str) -> dict[str, list[str]]:
    """sha256 of every Parquet and JSON file, per folder (part-file names hold random ids)."""
    digests: dict[str, list[str]] = defaultdict(list)
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.suffix in {".parquet", ".json"}:
            data = path.read_bytes()
            if path.suffix == ".parquet":
                data = parquet_fingerprint(data, path)
            digests[str(path.parent.relative_to(folder))].append(hashlib.sha256(data).hexdigest())
    return {key: sorted(values) for key, values in digests.items()}


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
def seed_run(spark_cluster, tmp_path_factory):
    settings = Settings(lake_root=str(tmp_path_factory.mktemp("gold-seed") / "lake"))
    clients, purchases = seed_rows()
    write_silver(settings, SEED_RUN_DATE, clients, purchases)
    result = submit_gold(spark_cluster, settings, SEED_RUN_DATE, "seed-run")
    assert result.returncode == 0, result.stderr[-4000:]
    return settings, clients, purchases, result


def test_gold_job_on_the_seed_reconciles(seed_run):
    settings, _, purchases, result = seed_run
    tables, stats, summary = read_gold(gold_dir(settings, SEED_RUN_DATE))
    assert_reconciles(tables, stats, summary, purchases)
    assert "gold_aggregation 2026-11-29 (run seed-run)" in result.stdout


def test_gold_job_seed_values_recounted_from_the_csv(seed_run):
    settings, clients, purchases, _ = seed_run
    tables, stats, summary = read_gold(gold_dir(settings, SEED_RUN_DATE))
    revenue = sum(p["total"] for p in purchases)
    assert stats["overall_metrics"]["total_revenue"] == float(revenue)
    product_revenue: dict[str, Decimal] = defaultdict(Decimal)
    for p in purchases:
        product_revenue[p["product"]] += p["total"]
    top_product, top_revenue = sorted(product_revenue.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    assert summary["top_product"] == {"product": top_product, "total_revenue": float(top_revenue)}
    products = {row["product"]: row for row in tables["product_analytics"]}
    assert {name: row["total_revenue"] for name, row in products.items()} == dict(product_revenue)

    mine = [p for p in purchases if p["id_client"] == 1]
    kpi = next(row for row in tables["client_kpis"] if row["id_client"] == 1)
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


def test_rerun_replaces_the_gold_of_the_date_with_the_same_bytes(seed_run, spark_cluster):
    """Same silver and run date -> same files (up to parquet-mr's encodings order, see above)."""
    settings, _, _, _ = seed_run
    first_dir = gold_dir(settings, SEED_RUN_DATE)
    first_digest = content_digest(first_dir)
    result = submit_gold(spark_cluster, settings, SEED_RUN_DATE, "seed-run")
    assert result.returncode == 0, result.stderr[-4000:]
    second_dir = gold_dir(settings, SEED_RUN_DATE)
    assert second_dir != first_dir
    assert not Path(first_dir).exists(), "the superseded attempt is deleted after the commit"
    assert content_digest(second_dir) == first_digest
    assert len(first_digest["fact_sales/year_month=2025-01"]) == 1  # one file per month


def test_gold_job_on_generated_data_reconciles(spark_cluster, tmp_path_factory):
    settings = Settings(lake_root=str(tmp_path_factory.mktemp("gold-generated") / "lake"))
    clients, purchases = generated_rows()
    write_silver(settings, GENERATED_RUN_DATE, clients, purchases)
    result = submit_gold(spark_cluster, settings, GENERATED_RUN_DATE, "generated-run")
    assert result.returncode == 0, result.stderr[-4000:]
    tables, stats, summary = read_gold(gold_dir(settings, GENERATED_RUN_DATE))
    assert_reconciles(tables, stats, summary, purchases)
    assert summary["as_of_date"] == GENERATED_RUN_DATE and summary["run_id"] == "generated-run"


def test_gold_job_without_silver_fails_naming_the_missing_path(spark_cluster, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    result = submit_gold(spark_cluster, settings, "2026-11-28", "no-silver")
    assert result.returncode == 1
    # The job prints to its stderr, which spark-submit's PythonRunner merges into its own stdout.
    output = result.stdout + result.stderr
    assert "gold_aggregation failed for run date 2026-11-28: FileNotFoundError" in output
    assert f"{settings.lake_root}/silver/run_date=2026-11-28/_current.json is missing" in output
