"""Document shaping for the MongoDB publish: pure functions, no server; and the lake side of the
publish (a gold table's rows of a run date, its checksum, the re-batched stream, the reports) on a
small Delta lake in a temporary folder, built with :func:`medallion.tables.write_snapshot`.

Expected values are written out by hand; where many values are checked, the expectation is
recomputed independently with ``decimal``/``datetime`` from the standard library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import bson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medallion import lake, publish, tables
from medallion.config import Settings
from medallion.publish import (
    bson_safe_json,
    bson_safe_table,
    encoded_documents,
    load_reports,
    parquet_checksum,
    published_tables,
    run_token,
    staging_name,
    table_source,
    to_documents,
    utc_datetime,
)

UTC = dt.timezone.utc

# Two client_kpis rows (a subset of the columns, with the gold types).
CLIENT_KPIS_SCHEMA = pa.schema([
    ("id_client", pa.int64()),
    ("name", pa.string()),
    ("country", pa.string()),
    ("subscription_date", pa.date32()),
    ("total_purchases", pa.int64()),
    ("total_spent", pa.decimal128(18, 2)),
    ("avg_order_value", pa.decimal128(18, 2)),
    ("first_purchase_date", pa.date32()),
    ("purchase_frequency_per_month", pa.float64()),
    ("days_since_last_purchase", pa.int32()),
    ("is_active", pa.bool_()),
    ("r_score", pa.int32()),
    ("rfm_segment", pa.string()),
])


def client_kpis_batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([
        {"id_client": 7, "name": "Ada Martin", "country": "France",
         "subscription_date": dt.date(2023, 2, 28), "total_purchases": 3,
         "total_spent": Decimal("1234.56"), "avg_order_value": Decimal("411.52"),
         "first_purchase_date": dt.date(2024, 12, 30), "purchase_frequency_per_month": 1.5,
         "days_since_last_purchase": 12, "is_active": True, "r_score": 5, "rfm_segment": "Champions"},
        {"id_client": 9, "name": None, "country": "UK",
         "subscription_date": None, "total_purchases": 1,
         "total_spent": Decimal("0.10"), "avg_order_value": None,
         "first_purchase_date": dt.date(2024, 2, 29), "purchase_frequency_per_month": float("nan"),
         "days_since_last_purchase": 300, "is_active": False, "r_score": 1, "rfm_segment": "Hibernating"},
    ], schema=CLIENT_KPIS_SCHEMA)


def test_converted_document_has_bson_safe_python_types():
    first, second = to_documents(client_kpis_batch(), key="id_client")

    assert list(first) == ["_id", *CLIENT_KPIS_SCHEMA.names]
    assert first["_id"] == 7 and type(first["_id"]) is int
    # money: a Python float (not Decimal), the cents value
    assert type(first["total_spent"]) is float and first["total_spent"] == 1234.56
    assert type(first["avg_order_value"]) is float and first["avg_order_value"] == 411.52
    assert second["total_spent"] == 0.1
    assert second["avg_order_value"] is None
    # dates: datetime at midnight UTC of the same day
    for value, day in ((first["subscription_date"], dt.date(2023, 2, 28)),
                       (first["first_purchase_date"], dt.date(2024, 12, 30)),
                       (second["first_purchase_date"], dt.date(2024, 2, 29))):
        assert type(value) is dt.datetime
        assert value.utcoffset() == dt.timedelta(0)
        assert (value.year, value.month, value.day) == (day.year, day.month, day.day)
        assert (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
    assert second["subscription_date"] is None
    # NaN -> None; other doubles unchanged
    assert second["purchase_frequency_per_month"] is None
    assert type(first["purchase_frequency_per_month"]) is float and first["purchase_frequency_per_month"] == 1.5
    # plain Python int / bool / str, never numpy scalars
    for name in ("total_purchases", "days_since_last_purchase", "r_score"):
        assert type(first[name]) is int
    assert first["days_since_last_purchase"] == 12 and second["days_since_last_purchase"] == 300
    assert type(first["is_active"]) is bool and first["is_active"] is True and second["is_active"] is False
    assert first["rfm_segment"] == "Champions" and second["name"] is None


def test_documents_encode_to_bson_and_decode_to_the_same_values():
    documents = to_documents(client_kpis_batch(), key="id_client")
    for document in documents:
        decoded = bson.decode(bson.encode(document), codec_options=bson.CodecOptions(tz_aware=True))
        assert decoded == document


def test_encoded_documents_are_the_documents_as_bson_with_id_first():
    documents = to_documents(client_kpis_batch(), key="id_client")
    encoded = encoded_documents(client_kpis_batch(), key="id_client")
    assert [raw.raw for raw in encoded] == [bson.encode(document) for document in documents]
    assert [next(iter(raw)) for raw in encoded] == ["_id", "_id"]
    assert [raw["_id"] for raw in encoded] == [document["id_client"] for document in documents]


def test_decimal_rounds_half_away_from_zero_to_cents():
    values = ["2.345", "-2.345", "2.344", "0.005", "-0.004", "99999999.995"]
    table = pa.table({"amount": pa.array([Decimal(v) for v in values], pa.decimal128(18, 3))})
    got = [d["amount"] for d in to_documents(table)]
    assert got == [2.35, -2.35, 2.34, 0.01, -0.0, 100000000.0]


def test_cents_become_the_nearest_double_of_the_decimal_value():
    # Independent recount: float(Decimal) is the correctly rounded double of the exact decimal.
    cents = [k * 7919 % 10_000_000_000 - 123_456 for k in range(2000)] + [1, 10, 99, 101, 999_999_999_999]
    exact = [Decimal(c).scaleb(-2) for c in cents]
    table = pa.table({"total": pa.array(exact, pa.decimal128(18, 2))})
    got = [d["total"] for d in to_documents(table)]
    assert got == [float(e) for e in exact]
    assert all(type(v) is float for v in got)


def test_non_finite_doubles_become_none():
    table = pa.table({"growth": pa.array([12.5, float("nan"), float("inf"), float("-inf"), None, -0.25])})
    assert [d["growth"] for d in to_documents(table)] == [12.5, None, None, None, None, -0.25]


def test_naive_timestamp_is_utc_milliseconds_and_dictionary_strings_decode():
    table = pa.table({
        "at": pa.array([dt.datetime(2024, 3, 1, 12, 30, 15, 123456)], pa.timestamp("us")),
        "year_month": pa.array(["2024-03"]).dictionary_encode(),
    })
    (document,) = to_documents(table)
    assert document["at"] == dt.datetime(2024, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    assert type(document["year_month"]) is str and document["year_month"] == "2024-03"


def test_repeated_and_missing_dates_each_get_their_own_midnight():
    days = [dt.date(2024, 12, 30), None, dt.date(2024, 12, 30), dt.date(2025, 1, 1), None, dt.date(1999, 12, 31)]
    table = pa.table({"day": pa.array(days, pa.date32()), "n": list(range(6))})
    got = [(d["day"], d["n"]) for d in to_documents(table)]
    assert got == [(dt.datetime(2024, 12, 30, tzinfo=UTC), 0), (None, 1), (dt.datetime(2024, 12, 30, tzinfo=UTC), 2),
                   (dt.datetime(2025, 1, 1, tzinfo=UTC), 3), (None, 4), (dt.datetime(1999, 12, 31, tzinfo=UTC), 5)]
    assert to_documents(table.slice(0, 0)) == []


def test_date_key_becomes_the_id():
    table = pa.table({"date": pa.array([dt.date(2024, 12, 30)], pa.date32()), "total_orders": [4]})
    assert bson_safe_table(table, key="date").column_names == ["_id", "date", "total_orders"]
    (document,) = to_documents(table, key="date")
    assert document["_id"] == document["date"] == dt.datetime(2024, 12, 30, tzinfo=UTC)


def test_missing_key_and_unsupported_type_are_clear_errors():
    with pytest.raises(KeyError, match="key column 'id_client' is missing"):
        to_documents(pa.table({"id": [1]}), key="id_client")
    with pytest.raises(TypeError, match="column 'tags' has Arrow type list<item: string>"):
        to_documents(pa.table({"tags": pa.array([["a"]], pa.list_(pa.string()))}))


def test_json_reports_lose_nan_and_infinity_recursively():
    report = {"a": float("nan"), "b": [1.5, float("inf"), {"c": float("-inf"), "d": 2}], "e": "x"}
    assert bson_safe_json(report) == {"a": None, "b": [1.5, None, {"c": None, "d": 2}], "e": "x"}


@pytest.mark.parametrize("value, expected", [
    ("2026-11-29", dt.datetime(2026, 11, 29, tzinfo=UTC)),
    (dt.date(2026, 11, 29), dt.datetime(2026, 11, 29, tzinfo=UTC)),
    (dt.datetime(2026, 11, 29, 6, 0), dt.datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),
    (dt.datetime(2026, 11, 29, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     dt.datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
    ("2026-11-29T00:00:00+00:00", dt.datetime(2026, 11, 29, tzinfo=UTC)),
])
def test_logical_dates_are_utc(value, expected):
    got = utc_datetime(value)
    assert got == expected and got.utcoffset() == dt.timedelta(0)


def test_staging_names_are_safe_distinct_and_stable():
    run_id = "manual__2026-11-29T00:00:00+00:00"
    name = staging_name("client_kpis", run_id)
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    assert name == f"_staging__client_kpis__manual__2026-11-29T00_00_00_00_00_{digest}"
    assert staging_name("client_kpis", run_id) == name
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
    # ids that differ only in unsafe characters still get different tokens
    assert run_token("run:1") != run_token("run+1")
    assert len(run_token("x" * 500)) == 48 + 1 + 8


def test_published_tables_follow_the_fact_sales_flag():
    aggregates = ("client_kpis", "product_analytics", "country_analytics", "daily_sales",
                  "weekly_sales", "monthly_sales")
    assert published_tables(Settings()) == aggregates
    assert published_tables(Settings(publish_fact_sales=True)) == ("fact_sales", *aggregates)


def test_parquet_checksum_is_sha256_of_the_files_in_sorted_order(tmp_path):
    import pyarrow.fs as pafs

    paths = []
    for name, rows in (("b.parquet", [3, 4]), ("a.parquet", [1, 2])):
        pq.write_table(pa.table({"x": rows}), tmp_path / name)
        paths.append(str(tmp_path / name))
    blob = (tmp_path / "a.parquet").read_bytes() + (tmp_path / "b.parquet").read_bytes()
    digest, size = parquet_checksum(pafs.LocalFileSystem(), paths, chunk_size=7)
    assert digest == hashlib.sha256(blob).hexdigest()
    assert size == len(blob)


# --- The lake side: gold Delta tables and documents in a temporary lake -------------------------

def commit_products(settings: Settings, run_date: str, products: list[str], run_id: str) -> int:
    """Commit ``run_date``'s partition of gold ``product_analytics`` (two of its columns); the version."""
    data = pa.table({"product": pa.array(products, pa.string()),
                     "total_orders": pa.array(range(len(products)), pa.int64())})
    return tables.write_snapshot(settings, "gold", "product_analytics", run_date, data, {"run_id": run_id})


def partition_folder(settings: Settings, run_date: str) -> Path:
    return Path(lake.layer_path(settings, "gold", "product_analytics", f"run_date={run_date}"))


def test_table_source_reads_only_the_run_dates_current_rows(settings):
    assert commit_products(settings, "2026-11-28", ["Laptop", "Mouse", "Phone"], "a") == 0
    assert commit_products(settings, "2026-11-29", ["Laptop", "Desk"], "b") == 1
    assert commit_products(settings, "2026-11-28", ["Laptop", "Mouse", "Phone", "Cable"], "a-rerun") == 2

    source = table_source(settings, "2026-11-28", "product_analytics")
    assert (source.table, source.run_date, source.version, source.rows) == ("product_analytics", "2026-11-28", 2, 4)
    # the first commit's file is still on disk (no VACUUM) but no longer part of the table
    on_disk = sorted(str(f) for f in partition_folder(settings, "2026-11-28").glob("*.parquet"))
    assert len(on_disk) == 2 and len(source.files) == 1 and source.files[0] in on_disk
    current = Path(source.files[0]).read_bytes()
    assert pq.read_table(source.files[0]).column("product").to_pylist() == ["Laptop", "Mouse", "Phone", "Cable"]
    assert (source.sha256, source.size_bytes) == (hashlib.sha256(current).hexdigest(), len(current))

    other = table_source(settings, "2026-11-29", "product_analytics")
    assert (other.version, other.rows, len(other.files)) == (2, 2, 1)
    assert Path(other.files[0]).parent == partition_folder(settings, "2026-11-29")


def test_table_source_of_an_empty_run_date_needs_the_gold_documents(settings):
    commit_products(settings, "2026-11-28", ["Laptop"], "a")
    assert commit_products(settings, "2026-11-29", [], "b") == 1  # committed, no rows: no file either
    with pytest.raises(FileNotFoundError, match="gold table product_analytics has no rows for run date 2026-11-29 "
                                                r"at .*/gold/product_analytics \(version 1\) and gold has no "
                                                "committed output for that date"):
        table_source(settings, "2026-11-29", "product_analytics")

    lake.write_document(settings, "gold", "2026-11-29", "gold_summary", {"fact_rows": 0})
    empty = table_source(settings, "2026-11-29", "product_analytics")
    assert (empty.version, empty.rows, empty.files, empty.size_bytes) == (1, 0, (), 0)
    assert empty.sha256 == hashlib.sha256(b"").hexdigest()
    assert list(publish._document_batches(empty, settings, 10)) == []
    with pytest.raises(FileNotFoundError, match="gold table client_kpis does not exist yet: no Delta table at "):
        table_source(settings, "2026-11-29", "client_kpis")


@pytest.mark.parametrize("batch_size, sizes", [(7_000, [7_000, 7_000, 6_000]), (20_000, [20_000]),
                                               (50_000, [20_000])])
def test_staging_batches_hold_batch_size_documents_of_the_run_date(settings, batch_size, sizes):
    products = [f"product-{i:05d}" for i in range(20_000)]
    commit_products(settings, "2026-11-28", products, "a")
    commit_products(settings, "2026-11-29", ["other"], "b")
    source = table_source(settings, "2026-11-28", "product_analytics")
    batches = list(publish._document_batches(source, settings, batch_size))
    assert [len(batch) for batch in batches] == sizes
    documents = [document for batch in batches for document in batch]
    assert sorted(document["_id"] for document in documents) == products
    assert all(list(document) == ["_id", "product", "total_orders"] for document in documents[:3])
    assert all(document["_id"] == document["product"] for document in documents)


def test_reports_are_the_run_dates_documents_made_bson_safe(settings):
    lake.write_document(settings, "gold", "2026-11-28", "statistical_distributions", {"skew": float("nan")})
    lake.write_document(settings, "gold", "2026-11-28", "gold_summary", {"fact_rows": 4})
    lake.write_document(settings, "gold", "2026-11-29", "gold_summary", {"fact_rows": 5})
    with pytest.raises(FileNotFoundError) as missing:
        load_reports(settings, "2026-11-28")
    assert str(missing.value) == (f"no committed silver output for run date 2026-11-28: {settings.lake_root}"
                                  "/silver/_documents/run_date=2026-11-28/quality_report.json is missing")

    lake.write_document(settings, "silver", "2026-11-28", "quality_report", {"clients": {"input_rows": 3}})
    assert load_reports(settings, "2026-11-28") == {
        "statistical_distributions": {"skew": None}, "gold_summary": {"fact_rows": 4},
        "quality_report": {"clients": {"input_rows": 3}}}
