"""The differential check finds real differences (every value exact, money and 2-decimal doubles) and only those."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from medallion import bronze, lake, tables
from medallion.config import Settings
from medallion.devtools.diffcheck import compare_documents, compare_lakes, compare_tables, _Collector
from medallion.engines import pandas_engine as pe

RUN_DATE = "2026-11-29"
CLIENTS_CSV = (
    "id_client,name,email,subscription_date,country\n"
    "1,Ann Lee,ann@x.com,2024-01-02,France\n"
    "2,Bob Ray,bob@x.com,2024-03-04,Spain\n"
    "3,Bad,not-an-email,2024-03-04,Spain\n"
)
PURCHASES_CSV = (
    "id_purchase,id_client,product,price,quantity,purchase_date,total\n"
    "1,1,Mouse,20.00,2,2025-01-01,40.00\n"
    "2,2,Laptop,999.99,1,2025-02-01,999.99\n"
    "3,1,Phone,300.00,1,2025-03-01,300.00\n"
)


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    landing = root / "landing"
    landing.mkdir()
    (landing / "clients.csv").write_text(CLIENTS_CSV)
    (landing / "purchases.csv").write_text(PURCHASES_CSV)
    left = Settings(lake_root=str(root / "left"))
    bronze.ingest(left, RUN_DATE, "r1", str(landing))
    pe.run_silver(left, RUN_DATE, "r1")
    pe.run_gold(left, RUN_DATE, "r1")
    return root, left


def copy_lake(root: Path, left: Settings, name: str) -> Settings:
    target = root / name
    shutil.copytree(left.lake_root, target)
    return Settings(lake_root=str(target))


def test_identical_copies_compare_equal(lakes):
    root, left = lakes
    right = copy_lake(root, left, "same")
    # other run dates and older versions of a table are not part of the run date's snapshot
    products = tables.read_snapshot(right, "gold", "product_analytics", RUN_DATE)
    doubled = products.set_column(products.schema.get_field_index("total_orders"), "total_orders",
                                  pc.multiply(products.column("total_orders"), 2))
    tables.write_snapshot(right, "gold", "product_analytics", "2026-11-30", doubled, {"run_id": "other-date"})
    tables.write_snapshot(right, "gold", "product_analytics", RUN_DATE, doubled, {"run_id": "r2"})
    tables.write_snapshot(right, "gold", "product_analytics", RUN_DATE, products, {"run_id": "r3"})
    result = compare_lakes(left, right, RUN_DATE)
    assert result.identical, result.differences
    assert result.compared == [
        "silver/clients", "silver/purchases", "silver/clients_rejects", "silver/purchases_rejects",
        "silver/quality_report.json", "gold/fact_sales", "gold/client_kpis", "gold/product_analytics",
        "gold/country_analytics", "gold/daily_sales", "gold/weekly_sales", "gold/monthly_sales",
        "gold/statistical_distributions.json", "gold/gold_summary.json",
    ]


def test_one_cent_and_one_hundredth_of_a_percent_are_differences(lakes):
    root, left = lakes
    right = copy_lake(root, left, "changed")
    table = tables.read_snapshot(right, "gold", "product_analytics", RUN_DATE)
    revenue = [v + Decimal("0.01") if p == "Phone" else v
               for p, v in zip(table.column("product").to_pylist(), table.column("total_revenue").to_pylist())]
    # Laptop's share 0.01 higher (the pandas/Spark rounding disagreement this check must catch).
    share = pa.array([round(v + 0.01, 2) if p == "Laptop" else v
                      for p, v in zip(table.column("product").to_pylist(), table.column("market_share_pct").to_pylist())])
    table = table.set_column(table.schema.get_field_index("total_revenue"), "total_revenue",
                             pa.array(revenue, table.schema.field("total_revenue").type))
    table = table.set_column(table.schema.get_field_index("market_share_pct"), "market_share_pct", share)
    tables.write_snapshot(right, "gold", "product_analytics", RUN_DATE, table, {"run_id": "changed"})
    summary = lake.read_document(right, "gold", RUN_DATE, "gold_summary")
    summary["silver_versions"] = {"clients": 7, "purchases": 9}          # ignored by design
    summary["commit"]["table_versions"]["product_analytics"] = 1        # ignored by design
    summary["commit"]["logical_date"] = "2026-12-01"                    # ignored by design
    summary["counts"]["clients"] += 1
    lake.write_document(right, "gold", RUN_DATE, "gold_summary", summary)
    report = lake.read_document(right, "silver", RUN_DATE, "quality_report")
    report["commit"]["bronze"]["clients"]["version"] = 2               # ignored by design
    lake.write_document(right, "silver", RUN_DATE, "quality_report", report)
    result = compare_lakes(left, right, RUN_DATE)
    assert not result.identical
    assert len(result.differences) == 3, result.differences
    assert result.differences[0].startswith("gold/product_analytics.total_revenue: 1 row(s) differ")
    assert "'Phone'" in result.differences[0] and "300.00" in result.differences[0]
    assert result.differences[1].startswith("gold/product_analytics.market_share_pct: 1 row(s) differ")
    assert "'Laptop'" in result.differences[1]
    assert result.differences[2] == "gold/gold_summary.json:counts.clients: pandas=2 spark=3"


def test_a_missing_table_or_document_is_a_difference(lakes):
    root, left = lakes
    right = copy_lake(root, left, "missing")
    shutil.rmtree(Path(right.lake_root) / "silver" / "purchases_rejects")
    Path(lake.document_path(right, "gold", RUN_DATE, "statistical_distributions")).unlink()
    result = compare_lakes(left, right, RUN_DATE)
    assert [line.split(":")[0] for line in result.differences] == [
        "silver/purchases_rejects", "gold/statistical_distributions.json"]
    assert "no Delta table at" in result.differences[0]
    assert "no committed gold output for run date 2026-11-29" in result.differences[1]


def test_table_shape_and_type_differences():
    out = _Collector(10)
    left = pa.table({"k": [1, 2], "v": pa.array([1.0, 2.0]), "d": pa.array([Decimal("1.00"), None],
                                                                            pa.decimal128(18, 2))})
    right = pa.table({"k": [2, 1], "v": pa.array([2.0, 1.03]), "d": pa.array([None, Decimal("1.00")],
                                                                             pa.decimal128(28, 2))})
    compare_tables("t", left, right, ("k",), ("a", "b"), out)
    # rows are matched by key; decimal precisions may differ; 1.0 vs 1.03 differ
    assert out.items == ["t.v: 1 row(s) differ, e.g. {'k': 1}: a=1.0 b=1.03"]
    out = _Collector(10)
    compare_tables("t", left, right.cast(pa.schema([("k", pa.int64()), ("v", pa.float64()), ("d", pa.float64())])),
                   ("k",), ("a", "b"), out)
    assert out.items[0] == "t.d: type decimal128(18, 2) in a vs double in b"
    out = _Collector(10)
    compare_tables("t", left, left.slice(0, 1), ("k",), ("a", "b"), out)
    assert out.items == ["t: 2 rows in a vs 1 rows in b"]


def test_documents_numbers_exact():
    out = _Collector(10)
    compare_documents("doc", {"overall_metrics": {"total_revenue": 10.0, "avg_items_per_order": 1.5, "n": 3},
                              "order_value_distribution": {"std": 1.0, "median": 2.0, "q": float("nan")}, "x": "a"},
                      {"overall_metrics": {"total_revenue": 10.01, "avg_items_per_order": 1.51, "n": 3.0},
                       "order_value_distribution": {"std": 1.0, "median": 2.0, "q": float("nan")}, "y": "b"},
                      ("a", "b"), out)
    assert out.items == [
        "doc:overall_metrics.avg_items_per_order: a=1.5 b=1.51",
        "doc:overall_metrics.total_revenue: a=10.0 b=10.01",
        "doc:<root>: key 'x' only in a",
        "doc:<root>: key 'y' only in b",
    ]
