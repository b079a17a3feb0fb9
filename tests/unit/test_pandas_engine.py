"""The pandas reference engine on tiny hand-built inputs; every expected value is worked out by hand
(in the comments) or recounted independently in the test, never taken from the engine's output."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from medallion import bronze, lake, tables
from medallion.contract import GOLD_TABLES, SILVER_TABLES
from medallion.engines import pandas_engine as pe
from medallion.engines import pandas_arrow as pa_arrow
from medallion.engines import pandas_documents as pd_docs
from medallion.engines import pandas_gold as pg
from medallion.engines import pandas_silver as ps
from tests.conftest import LATIN1_NAMES, write_latin1_landing

RUN_DATE = "2026-11-29"


# --- silver: parsing (the rules themselves: tests/cases.py, test_silver_cases.py) -------------------

def test_money_parsing_rounds_half_up_away_from_zero():
    ok, cents, exact = ps.parse_decimal_cents(pa.chunked_array([["-2.675", "2.675", "1.004", "007.5", "+3", "1e3",
                                                                  "12345678901234567"]]))
    assert ok.tolist() == [True, True, True, True, True, False, False]
    assert cents[:5].tolist() == [-268, 268, 100, 750, 300]
    assert exact[:5].tolist() == [False, False, False, True, True]


def test_dates_accept_the_four_formats_and_reject_impossible_ones():
    ok, days = ps.parse_date(pa.chunked_array([["2024-02-29", "2024/03/01", "31/12/2023", "2024-01-01T23:59:59",
                                                "2023-02-29", "2024-01-01T24:00:00", "2024-1-1", "31-12-2023"]]))
    assert ok.tolist() == [True, True, True, True, False, False, False, False]
    expected = [date(2024, 2, 29), date(2024, 3, 1), date(2023, 12, 31), date(2024, 1, 1)]
    assert days[:4].tolist() == [(d - date(1970, 1, 1)).days for d in expected]


def test_ids_must_be_positive_and_fit_a_bigint():
    ok, values = ps.parse_id(pa.chunked_array([["1", "0007", "0", "-3", "9223372036854775807",
                                                "9223372036854775808", "1.0"]]))
    assert ok.tolist() == [True, True, False, False, True, False, False]
    assert values[[0, 1, 4]].tolist() == [1, 7, 2**63 - 1]


# --- gold -----------------------------------------------------------------------------------------

def silver_clients() -> pa.Table:
    rows = [  # id, name, subscription date, country
        (1, "Ann", date(2024, 12, 1), "France"),
        (2, "Bob", date(2024, 12, 2), "Spain"),
        (3, "Cid", date(2025, 1, 15), "Germany"),
        (4, "Dee", date(2024, 1, 1), "Spain"),
    ]
    return pa.Table.from_pylist([
        {"id_client": i, "name": n, "email": f"{n.lower()}@x.com", "subscription_date": d, "country": c}
        for i, n, d, c in rows
    ], schema=pa_arrow.silver_arrow_schema("clients"))


def silver_purchases() -> pa.Table:
    rows = [  # id, client, product, price, quantity, date
        (1, 1, "Laptop", "10.00", 1, date(2025, 1, 1)),
        (2, 1, "Mouse", "5.00", 2, date(2025, 1, 2)),
        (3, 2, "Mouse", "5.00", 1, date(2025, 1, 2)),
        (4, 3, "Laptop", "20.00", 1, date(2025, 1, 10)),
        (5, 4, "Mouse", "0.01", 1, date(2025, 1, 10)),
        (6, 4, "Mouse", "0.04", 1, date(2025, 1, 10)),
    ]
    return pa.Table.from_pylist([
        {"id_purchase": i, "id_client": c, "product": p, "price": Decimal(price), "quantity": q,
         "purchase_date": d, "total": Decimal(price) * q, "year_month": d.strftime("%Y-%m")}
        for i, c, p, price, q, d in rows
    ], schema=pa_arrow.silver_arrow_schema("purchases"))


AS_OF = "2025-01-31"


@pytest.fixture(scope="module")
def gold():
    built, distributions, summary = pe.build_gold(silver_purchases(), silver_clients(), AS_OF, "r9",
                                                  {"clients": 3, "purchases": 5})
    return {name: table.to_pylist() for name, table in built.items()}, distributions, summary


def test_fact_sales_is_sorted_by_year_month_then_id_whatever_the_silver_order():
    purchases = silver_purchases()
    shuffled = purchases.take([5, 0, 3, 1, 4, 2])
    february = purchases.slice(0, 1).set_column(  # id 7 in 2025-02 sorts after every January row
        0, "id_purchase", pa.array([7], pa.int64())).set_column(
        5, "purchase_date", pa.array([date(2025, 2, 1)], pa.date32())).set_column(
        7, "year_month", pa.array(["2025-02"]))
    for table in (purchases, shuffled, pa.concat_tables([february, shuffled])):
        fact = pg.fact_table(pg.build_fact(table, silver_clients()))
        keys = list(zip(fact.column("year_month").to_pylist(), fact.column("id_purchase").to_pylist()))
        assert keys == sorted(keys)
        assert fact.num_rows == table.num_rows
    assert pg.fact_table(pg.build_fact(purchases, silver_clients())).equals(
        pg.fact_table(pg.build_fact(shuffled, silver_clients())))


def test_iso_calendar_at_year_boundaries():
    days = [(date(y, m, d) - date(1970, 1, 1)).days for y, m, d in ((2024, 12, 30), (2021, 1, 3), (2026, 12, 31))]
    cal = pg.iso_calendar(np.array(days))
    assert cal["iso_year"].tolist() == [2025, 2020, 2026]
    assert cal["iso_week"].tolist() == [1, 53, 53]
    assert cal["iso_weekday"].tolist() == [1, 7, 4]
    assert cal["year"].tolist() == [2024, 2021, 2026]


def test_growth_rounds_half_up_and_needs_the_previous_calendar_period():
    up = pg._growth(np.array([20000, 20001]))                   # +0.005 % -> 0.01
    down = pg._growth(np.array([20000, 19999]))                 # -0.005 % -> -0.01
    assert up[1] == 0.01 and down[1] == -0.01
    gap = pg._growth(np.array([100, 150, 300]), np.array([1, 2, 4]))
    assert math.isnan(gap[0]) and gap[1] == 50.0 and math.isnan(gap[2])


def test_quantiles_are_exact_before_rounding_half_up():
    # 10,000 order totals (cents): q95 sits at rank 0.95 x 9,999 = 9,499.05, between 4,248.66 and
    # 4,252.36: 4,248.66 + 0.05 x 3.70 = 4,248.845 exactly -> 4,248.85 half-up. (Found by the
    # benchmark's differential check: in floating point the rank is 9,499.0499... -> 4,248.84.)
    totals = np.concatenate([np.full(9_500, 424_866), np.full(500, 425_236)]).astype(np.int64)
    assert pd_docs.quantile_2dp(totals, 0.95, per_unit=100) == 4248.85
    assert pd_docs.quantile_2dp(totals, 0.5, per_unit=100) == 4248.66
    # ties away from zero below zero too; quantities (per_unit 1): median of 1, 2 is 1.5
    assert pd_docs.quantile_2dp(np.array([-3, -2], dtype=np.int64), 0.5, per_unit=100) == -0.03
    assert pd_docs.quantile_2dp(np.array([1, 2], dtype=np.int64), 0.5) == 1.5
    assert pd_docs.quantile_2dp(np.array([1, 2, 2, 7], dtype=np.int64), 0.9) == 5.5   # 2 + 0.7 x 5


# --- through the lake -----------------------------------------------------------------------------

CLIENTS_CSV = (
    "id_client,name,email,subscription_date,country,extra\n"
    "1,Ann Lee,ann@x.com,2024-01-02,France,x\n"
    "   \n"                                                     # blank line: skipped, not a row
    "2,Bob Ray,,2024-03-04,Spain,y\n"                          # missing email
    "3,Cid,cid@x.com,2024-03-05,Spain,z\n"
)
PURCHASES_CSV = (
    "id_purchase,id_client,product,price,quantity,purchase_date,total\n"
    "1,1,Mouse,20.00,2,2025-01-01,40.00\n"
    "2,2,Laptop,999.99,1,2025-02-01,999.99\n"                  # orphan: client 2 was rejected
    "3,3,Phone,300.005,1,2025-03-01,\n"                        # price 300.01, total recomputed
)


def ingest(settings, tmp_path, run_date: str, clients_csv: str = CLIENTS_CSV,
           purchases_csv: str = PURCHASES_CSV) -> None:
    landing = tmp_path / f"landing-{run_date}"
    landing.mkdir()
    (landing / "clients.csv").write_text(clients_csv)
    (landing / "purchases.csv").write_text(purchases_csv)
    bronze.ingest(settings, run_date, "ingest", str(landing))


def commits(settings, layer: str, table: str) -> list[dict]:
    """User metadata of every commit of a Delta table, oldest first."""
    history = tables.open_table(settings, layer, table).history()
    return [json.loads(entry["userMetadata"]) for entry in reversed(history)]


def test_run_silver_and_gold_through_the_lake(settings, tmp_path):
    ingest(settings, tmp_path, RUN_DATE)
    report = pe.run_silver(settings, RUN_DATE, "run-1")
    assert report["clients"]["rejects_by_reason"]["missing_value"] == 1
    assert report["purchases"]["rejects_by_reason"]["orphan_client"] == 1
    assert report["purchases"]["total_recalculated"] == 1
    # (2 + 2) kept of (3 + 3) rows -> 66.666... -> 66.67
    assert report["summary"]["data_quality_score"] == 66.67
    assert report["summary"]["future_dates_policy"] == "reject"
    # one Delta commit per silver table on a fresh lake: version 0 each; the bronze files read
    assert report["commit"] == {
        "logical_date": RUN_DATE,
        "table_versions": {"clients": 0, "purchases": 0, "clients_rejects": 0, "purchases_rejects": 0},
        "bronze": {"clients": {"file": "clients.csv", "version": 1,
                               "sha256": hashlib.sha256(CLIENTS_CSV.encode()).hexdigest()},
                   "purchases": {"file": "purchases.csv", "version": 1,
                                 "sha256": hashlib.sha256(PURCHASES_CSV.encode()).hexdigest()}},
    }
    for table in SILVER_TABLES:
        assert commits(settings, "silver", table) == [
            {"run_id": "run-1", "run_date": RUN_DATE, "logical_date": RUN_DATE, "engine": "pandas"}]
        # a Delta table partitioned by run_date only: no year_month folders any more
        folder = Path(settings.lake_root) / "silver" / table
        assert (folder / "_delta_log").is_dir()
        assert [p.name for p in folder.iterdir() if not p.name.startswith("_")] == [f"run_date={RUN_DATE}"]
    rejects = tables.read_snapshot(settings, "silver", "clients_rejects", RUN_DATE)
    assert rejects.column("source_row").to_pylist() == [2]      # the blank line is not counted
    assert rejects.column("email").to_pylist() == [None]        # empty field read as null, like Spark
    assert tables.read_snapshot(settings, "silver", "purchases_rejects", RUN_DATE).column(
        "reason").to_pylist() == ["orphan_client"]
    purchases = tables.read_snapshot(settings, "silver", "purchases", RUN_DATE)
    assert purchases.schema == pa_arrow.silver_arrow_schema("purchases")
    assert sorted(zip(purchases.column("id_purchase").to_pylist(), purchases.column("year_month").to_pylist())) == [
        (1, "2025-01"), (3, "2025-03")]
    assert lake.read_document(settings, "silver", RUN_DATE, "quality_report") == report

    summary = pe.run_gold(settings, RUN_DATE, "run-1", logical_date="2026-11-30")
    assert summary["silver_versions"] == {"clients": 0, "purchases": 0}
    assert summary["commit"] == {"logical_date": "2026-11-30", "table_versions": {t: 0 for t in GOLD_TABLES}}
    assert summary["tables"]["fact_sales"] == 2
    assert commits(settings, "gold", "client_kpis") == [
        {"run_id": "run-1", "run_date": RUN_DATE, "logical_date": "2026-11-30", "engine": "pandas"}]
    fact = tables.read_snapshot(settings, "gold", "fact_sales", RUN_DATE)
    assert sorted(zip(fact.column("id_purchase").to_pylist(), fact.column("total").to_pylist(),
                      fact.column("year_month").to_pylist())) == [
        (1, Decimal("40.00"), "2025-01"), (3, Decimal("300.01"), "2025-03")]
    assert lake.read_document(settings, "gold", RUN_DATE, "gold_summary") == summary
    distributions = lake.read_document(settings, "gold", RUN_DATE, "statistical_distributions")
    assert distributions["overall_metrics"]["total_revenue"] == 340.01     # 40.00 + 300.01

    # a re-run replaces the run date's partition in a new version; another run date is added
    # beside it without touching it
    again = pe.run_silver(settings, RUN_DATE, "run-2")
    assert again["commit"]["table_versions"] == {table: 1 for table in SILVER_TABLES}
    ingest(settings, tmp_path, "2026-11-30", purchases_csv=PURCHASES_CSV.replace("20.00,2,", "20.00,3,"))
    pe.run_silver(settings, "2026-11-30", "run-3")
    assert [c["run_id"] for c in commits(settings, "silver", "purchases")] == ["run-1", "run-2", "run-3"]
    assert tables.read_snapshot(settings, "silver", "purchases", RUN_DATE).sort_by("id_purchase").column(
        "total").to_pylist() == [Decimal("40.00"), Decimal("300.01")]
    assert tables.read_snapshot(settings, "silver", "purchases", "2026-11-30").sort_by("id_purchase").column(
        "total").to_pylist() == [Decimal("60.00"), Decimal("300.01")]
    summary = pe.run_gold(settings, RUN_DATE, "run-2")
    assert summary["silver_versions"] == {"clients": 2, "purchases": 2}
    assert summary["commit"]["table_versions"] == {t: 1 for t in GOLD_TABLES}


def test_run_gold_without_purchases_commits_nothing(settings, tmp_path):
    # every purchase is an orphan: silver commits an empty purchases partition
    ingest(settings, tmp_path, RUN_DATE, purchases_csv=PURCHASES_CSV.replace(",1,Mouse", ",9,Mouse")
           .replace(",3,Phone", ",9,Phone"))
    report = pe.run_silver(settings, RUN_DATE, "run-1")
    assert report["purchases"]["output_rows"] == 0
    assert report["purchases"]["rejects_by_reason"]["orphan_client"] == 3
    assert tables.read_snapshot(settings, "silver", "purchases", RUN_DATE).num_rows == 0
    with pytest.raises(ValueError, match="silver purchases hold no row for run date 2026-11-29"):
        pe.run_gold(settings, RUN_DATE, "run-1")
    assert not lake.exists(lake.filesystem(settings), lake.layer_path(settings, "gold"))


def test_read_source_names_the_file_on_a_missing_column_or_row_mismatch(settings, tmp_path):
    bad = tmp_path / "clients.csv"
    bad.write_text("id_client,name,email,country\n1,A,a@x.com,France\n")
    with pytest.raises(ValueError, match="clients.csv"):
        ps.read_source(settings, str(bad), "clients")
    good = tmp_path / "ok.csv"
    good.write_text("id_client,name,email,subscription_date,country\n1,A,a@x.com,2024-01-01,France\n")
    with pytest.raises(ValueError, match="ok.csv: read 1 data rows but the bronze manifest says 2"):
        ps.read_source(settings, str(good), "clients", expected_rows=2)


def test_latin1_names_reach_silver_as_the_intended_unicode(settings, tmp_path):
    landing = write_latin1_landing(tmp_path / "landing")
    bronze.ingest(settings.with_overrides(clients_encoding="latin-1"), RUN_DATE, "r1", sources_dir=str(landing))
    pe.run_silver(settings, RUN_DATE, "r1")  # default settings: the manifest's encoding decides
    clients = tables.read_snapshot(settings, "silver", "clients", RUN_DATE).sort_by("id_client")
    assert clients.column("name").to_pylist() == LATIN1_NAMES


def test_run_gold_without_silver_fails_clearly(settings):
    with pytest.raises(FileNotFoundError, match="no committed silver output"):
        pe.run_gold(settings, RUN_DATE, "r1")
    assert not lake.exists(lake.filesystem(settings), lake.layer_path(settings, "gold"))


def test_gold_tables_follow_the_metrics_glossary(gold):
    from medallion.metrics import table_metrics

    built, _, _ = pe.build_gold(silver_purchases(), silver_clients(), AS_OF, "r9")
    arrow = {"bigint": pa.int64(), "int": pa.int32(), "string": pa.string(), "date": pa.date32(),
             "double": pa.float64(), "boolean": pa.bool_(), "decimal(18,2)": pa.decimal128(18, 2)}
    for name, table in built.items():
        expected = [(m.name, arrow[m.type]) for m in table_metrics(name)]
        assert [(f.name, f.type) for f in table.schema] == expected, name


def test_malformed_lines_are_rejects_with_their_fields_as_parsed(settings, tmp_path):
    from tests.unit.test_silver_rules import (MALFORMED_CLIENT_KEPT, MALFORMED_CLIENT_REJECTS,
                                              MALFORMED_CLIENT_STATS, MALFORMED_CLIENTS_CSV)

    path = tmp_path / "clients.csv"
    path.write_text(MALFORMED_CLIENTS_CSV)
    source = ps.read_source(settings, str(path), "clients", expected_rows=8)
    clients, rejects, report = ps.clean_clients(source, RUN_DATE, "r1")
    assert report == MALFORMED_CLIENT_STATS
    assert [(r["source_row"], r["id_client"], r["name"], r["email"], r["subscription_date"], r["country"])
            for r in rejects.to_pylist() if r["reason"] == "malformed_row"] == MALFORMED_CLIENT_REJECTS
    assert list(zip(*(clients.column(c).to_pylist() for c in ("id_client", "name", "country"))))\
        == MALFORMED_CLIENT_KEPT

    # An open quote that pyarrow would close on the next line (one row of five fields instead of
    # two lines): the row count gives it away and the file is read line by line.
    path = tmp_path / "purchases.csv"
    path.write_text("id_purchase,id_client,product,price,quantity,purchase_date,total\n"
                    '1,1,"Mouse,5,1,2025-01-01,5\n'
                    '2,1,Mouse",5,1,2025-01-01,5\n')
    source = ps.read_source(settings, str(path), "purchases", expected_rows=2)
    purchases, rejects, report = ps.clean_purchases(source, np.array([1], dtype=np.int64), RUN_DATE, "r1")
    assert [(r["source_row"], r["product"], r["price"], r["reason"]) for r in rejects.to_pylist()] == [
        (1, "Mouse,5,1,2025-01-01,5", None, "malformed_row")]
    assert purchases.column("product").to_pylist() == ['Mouse"']
    assert report["unknown_values"] == {"product": 1} and report["rejects_by_reason"]["malformed_row"] == 1
