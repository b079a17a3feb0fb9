"""The Spark silver job beyond the shared case table (tests/cases.py, test_silver_cases.py): date
parsing, reading bronze, source rows, the job and its report; expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from medallion import bronze, lake
from medallion.engines import pandas_silver
from medallion.spark import bronze_read, silver
from tests.conftest import LATIN1_NAMES, write_latin1_landing

RUN_DATE = "2026-11-29"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("2024/02/29", dt.date(2024, 2, 29)),
        ("29/02/2024", dt.date(2024, 2, 29)),
        ("2024-02-29T13:14:15", dt.date(2024, 2, 29)),
        ("2024-02-30", None),          # not a calendar date
        ("2023-02-29", None),          # not a leap year
        ("31/04/2024", None),
        ("2024-02-29T24:00:00", None),  # not a time of day
        ("2024-2-29", None),           # one-digit month: no format matches
        ("02/29/2024", None),          # MM/dd/yyyy is not accepted
        ("2024-02-29 13:14:15", None),
        ("20240229", None),
    ],
)
def test_parse_date_formats(spark, text, expected):
    value = spark.createDataFrame([(text,)], "v string").select(silver.parse_date(F.col("v")).alias("d")).first().d
    assert value == expected


def test_missing_columns_are_named(spark):
    raw = spark.createDataFrame([("1", "A", 1)], "id_client string, name string, source_row bigint")
    with pytest.raises(silver.SilverError, match="email, subscription_date, country"):
        silver.clean_clients(raw, RUN_DATE)


def test_source_row_across_several_partitions(spark, tmp_path):
    # 60 data rows whose first field is their own row number, with blank lines in between
    # (skipped, not numbered); 128-byte splits give many partitions.
    lines = ["n,pad"]
    for i in range(1, 61):
        lines.append(f"{i},{'x' * (i % 7)}")
        if i % 13 == 0:
            lines.append("")
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(lines) + "\n")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "128")
    try:
        df = spark.read.schema("n string, pad string").option("header", True).csv(f"file://{path}")
        partitions = df.rdd.getNumPartitions()
        numbered_df, rows = bronze_read.with_source_row(df)
        got = [(int(r.n), r.source_row) for r in numbered_df.collect()]
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert partitions >= 4
    assert rows == 60
    assert sorted(got) == [(i, i) for i in range(1, 61)]


def test_read_bronze_maps_columns_by_name(spark, settings, tmp_path):
    # Columns in another order plus an extra one; Spark maps by position, read_bronze by name.
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "clients.csv").write_text(
        "country,extra,email,id_client,subscription_date,name\n"
        "Spain,zz,a@example.com,7,2024-01-01,Ann\n"
        "\n"
        "France,yy,b@example.com,8,2024-02-02,Bob\n")
    (landing / "purchases.csv").write_text(
        "id_purchase,id_client,product,price,quantity,purchase_date,total\n1,7,Mouse,5,1,2025-01-01,5\n")
    bronze.ingest(settings, RUN_DATE, "r1", sources_dir=str(landing))
    read = bronze_read.read_bronze(spark, settings, "clients", RUN_DATE)
    assert read.manifest["data_rows"] == 2
    assert read.raw.columns == ["country", "_extra1", "email", "id_client", "subscription_date", "name"]
    df = read.rows
    assert df.columns == ["id_client", "name", "email", "subscription_date", "country", "_malformed", "source_row"]
    assert [tuple(r) for r in df.orderBy("source_row").collect()] == [
        ("7", "Ann", "a@example.com", "2024-01-01", "Spain", False, 1),
        ("8", "Bob", "b@example.com", "2024-02-02", "France", False, 2),
    ]


def test_read_bronze_without_ingestion_names_the_missing_file(spark, settings):
    with pytest.raises(bronze.BronzeError, match=r"bronze/clients/ingest_date=2026-11-29/_manifest\.json"):
        bronze_read.read_bronze(spark, settings, "clients", RUN_DATE)


PURCHASES_CSV = b"id_purchase,id_client,product,price,quantity,purchase_date,total\n1,1,Mouse,5,1,2025-01-01,5\n"


def test_latin1_names_reach_silver_as_the_intended_unicode(spark, settings, tmp_path):
    landing = write_latin1_landing(tmp_path / "landing")
    bronze.ingest(settings.with_overrides(clients_encoding="latin-1"), RUN_DATE, "r1", sources_dir=str(landing))
    read = bronze_read.read_bronze(spark, settings, "clients", RUN_DATE)  # the manifest's encoding decides
    clean, _, _ = silver.clean_clients(read.rows, RUN_DATE)
    assert [r.name for r in clean.orderBy("id_client").collect()] == LATIN1_NAMES


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "ISO-8859-15", "windows-1252"])
def test_both_engines_decode_every_byte_as_python_does(spark, settings, tmp_path, encoding):
    # Every byte 0x80..0xFF the encoding defines, in one field: Spark (Java's decoder) and the pandas
    # engine (pyarrow) must read what Python's codec reads. windows-1252 leaves five bytes undefined;
    # bronze refuses them (tests/unit/test_bronze.py).
    undefined = {0x81, 0x8D, 0x8F, 0x90, 0x9D} if encoding == "windows-1252" else set()
    high = bytes(b for b in range(0x80, 0x100) if b not in undefined)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "clients.csv").write_bytes(
        b"id_client,name,email,subscription_date,country\n1," + high + b",a@x.com,2024-01-01,UK\n")
    (landing / "purchases.csv").write_bytes(PURCHASES_CSV)
    bronze.ingest(settings.with_overrides(clients_encoding=encoding), RUN_DATE, "r1", sources_dir=str(landing))
    expected = high.decode(encoding)
    assert len(expected) == len(high)

    assert [r.name for r in bronze_read.read_bronze(spark, settings, "clients", RUN_DATE).rows.collect()] == [expected]
    path, manifest = bronze.latest_version(settings, "clients", RUN_DATE)
    table = pandas_silver.read_source(settings, path, "clients", encoding=bronze.manifest_encoding(manifest))
    assert table.column("name").to_pylist() == [expected]


@pytest.mark.parametrize(("out", "inp", "score"), [(0, 0, 0.0), (2, 3, 66.67), (1, 8, 12.5), (1, 3, 33.33),
                                                    (1, 16, 6.25), (5, 5, 100.0)])
def test_data_quality_score(out, inp, score):
    assert silver.data_quality_score(out, inp) == score


def test_run_writes_tables_rejects_and_a_deterministic_report(spark, settings, tmp_path):
    from medallion import tables

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "clients.csv").write_text(
        "id_client,name,email,subscription_date,country\n"
        "1,Ann,ann@example.com,2024-01-02,France\n"
        "2,Bob,bob@example,2024-01-02,Spain\n"
        "3,Cy,cy@example.com,2024-01-02,spain\n")
    (landing / "purchases.csv").write_text(
        "id_purchase,id_client,product,price,quantity,purchase_date,total\n"
        "1,1,Mouse,20.00,2,2025-01-15,40.00\n"
        "2,2,Mouse,20.00,2,2025-01-15,40.00\n"     # client 2 was rejected: orphan
        "3,3,Laptop,999.999,1,2025-03-01,999.99\n")  # price 1000.00, total recalculated
    bronze.ingest(settings, RUN_DATE, "r1", sources_dir=str(landing))
    lenient = settings.with_overrides(reject_threshold_pct=50.0)  # a third of each table is rejected

    report = silver.run(spark, lenient, RUN_DATE, "run-1", "reject", logical_date="2026-11-30")

    assert report["summary"] == {"total_input_rows": 6, "total_output_rows": 4, "data_quality_score": 66.67,
                                 "run_id": "run-1", "run_date": RUN_DATE, "future_dates_policy": "reject"}
    assert report["clients"]["rejects_by_reason"]["invalid_email"] == 1
    assert report["purchases"]["rejects_by_reason"]["orphan_client"] == 1
    assert report["purchases"]["total_recalculated"] == 1
    assert report["commit"]["table_versions"] == {
        "clients": 0, "purchases": 0, "clients_rejects": 0, "purchases_rejects": 0}
    assert report["commit"]["logical_date"] == "2026-11-30"
    assert lake.read_document(settings, "silver", RUN_DATE, "quality_report") == report
    purchases = tables.read_snapshot(settings, "silver", "purchases", RUN_DATE)
    assert sorted((r["id_purchase"], r["total"], r["year_month"]) for r in purchases.to_pylist()) == [
        (1, Decimal("40.00"), "2025-01"), (3, Decimal("1000.00"), "2025-03")]
    rejects = tables.read_snapshot(settings, "silver", "clients_rejects", RUN_DATE)
    assert [(r["source_row"], r["reason"], r["run_id"]) for r in rejects.to_pylist()] == [
        (2, "invalid_email", "run-1")]
    commit = tables.last_commit(settings, "silver", "purchases")
    assert commit["metadata"] == {"run_id": "run-1", "run_date": RUN_DATE, "logical_date": "2026-11-30",
                                  "job": "silver_transformation"}

    # The same date again: the same rows and report, as a new version of each table.
    again = silver.run(spark, lenient, RUN_DATE, "run-1", "reject", logical_date="2026-11-30")
    assert {k: v for k, v in again.items() if k != "commit"} == {k: v for k, v in report.items() if k != "commit"}
    assert again["commit"]["table_versions"] == {
        "clients": 1, "purchases": 1, "clients_rejects": 1, "purchases_rejects": 1}
    assert tables.read_snapshot(settings, "silver", "purchases", RUN_DATE).sort_by("id_purchase") == \
        purchases.sort_by("id_purchase")


def _load_job():
    import importlib.util

    from medallion.config import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(
        "silver_transformation_job", PROJECT_ROOT / "spark_jobs" / "silver_transformation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_job_fails_with_the_missing_bronze_file_named(settings, monkeypatch, capsys):
    job = _load_job()
    monkeypatch.setenv("LAKE_ROOT", settings.lake_root)
    assert job.main(["--run-date", RUN_DATE, "--run-id", "r1"]) == 2  # bad input: before any Spark session
    err = capsys.readouterr().err
    assert f"silver_transformation {RUN_DATE} cannot run: BronzeError:" in err
    assert f"{settings.lake_root}/bronze/clients/ingest_date={RUN_DATE}/_manifest.json" in err


def test_job_rejects_bad_arguments(capsys):
    job = _load_job()
    with pytest.raises(SystemExit) as exc:
        job.main(["--run-date", "2026-02-30", "--run-id", "r1"])
    assert exc.value.code == 2
    assert "expected YYYY-MM-DD" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        job.main(["--run-date", RUN_DATE, "--run-id", "r1", "--future-dates", "drop"])


# Lines that do not hold the header's five fields, as both engines must read them (line by line).
MALFORMED_CLIENTS_CSV = (
    "id_client,name,email,subscription_date,country\n"
    "1,Ann,ann@x.com,2024-01-02,France\n"
    "2,Bob,bob@x.com,2024-01-02,Spain,\n"          # six fields (trailing comma)
    '3,"Cy,cy@x.com,2024-01-02,Spain\n'            # open quote takes the rest of the line: two fields
    "4,Di,di@x.com,2024-01-02\n"                   # four fields
    '5,Ed,ed@x.com,2024-01-02,"Italy\n'            # open quote in the last column: five fields, kept
    '6,"Fay, Jr",fay@x.com,2024-01-02,UK\n'        # a quoted comma: five fields
    '7,"Gus,gus@x.com,2024-01-02,UK\n'             # two fields (pyarrow alone would join it to line 8)
    '8,Hal",hal@x.com,2024-01-02,UK\n'             # a quote inside an unquoted field is a character
)
#: (source_row, id_client, name, email, subscription_date, country) of the malformed_row rejects.
MALFORMED_CLIENT_REJECTS = [
    (2, "2", "Bob", "bob@x.com", "2024-01-02", "Spain"),
    (3, "3", "Cy,cy@x.com,2024-01-02,Spain", None, None, None),
    (4, "4", "Di", "di@x.com", "2024-01-02", None),
    (7, "7", "Gus,gus@x.com,2024-01-02,UK", None, None, None),
]
MALFORMED_CLIENT_KEPT = [(1, "Ann", "France"), (5, "Ed", "Italy"), (6, "Fay, Jr", "UK"), (8, 'Hal"', "UK")]
MALFORMED_CLIENT_STATS = {
    "input_rows": 8, "output_rows": 4, "rejected_rows": 4,
    "rejects_by_reason": {"malformed_row": 4, "missing_value": 0, "invalid_id": 0, "invalid_date": 0,
                          "future_date": 0, "invalid_email": 0, "duplicate_id": 0, "duplicate_email": 0},
    "null_values": {"id_client": 0, "name": 0, "email": 2, "subscription_date": 2, "country": 3},
    "total_recalculated": 0, "future_dates": 0, "unknown_values": {"country": 0},
}


def test_malformed_lines_are_rejects_with_their_fields_as_parsed(spark, settings, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "clients.csv").write_text(MALFORMED_CLIENTS_CSV)
    (landing / "purchases.csv").write_text(
        "id_purchase,id_client,product,extra,price,quantity,purchase_date,total\n"
        "1,1,Mouse,e,5,1,2025-01-01,5\n"
        "2,1,Mouse,e,5,1,2025-01-01,5,9\n")  # a field too many beyond an extra column
    bronze.ingest(settings, RUN_DATE, "r1", sources_dir=str(landing))
    clients_read = bronze_read.read_bronze(spark, settings, "clients", RUN_DATE)
    assert clients_read.manifest["data_rows"] == 8 and clients_read.raw.count() == 8
    clean, rejects, stats = silver.clean_clients(clients_read.rows, RUN_DATE, run_id="r1")
    assert stats == MALFORMED_CLIENT_STATS
    assert sorted((r.source_row, r.id_client, r.name, r.email, r.subscription_date, r.country)
                  for r in rejects.where(F.col("reason") == "malformed_row").collect()) == MALFORMED_CLIENT_REJECTS
    assert sorted((r.id_client, r.name, r.country) for r in clean.collect()) == MALFORMED_CLIENT_KEPT

    purchases_read = bronze_read.read_bronze(spark, settings, "purchases", RUN_DATE)
    _, purchase_rejects, purchase_stats = silver.clean_purchases(purchases_read.rows, clean, RUN_DATE)
    assert [(r.source_row, r.reason, r.total) for r in purchase_rejects.collect()] == [(2, "malformed_row", "5")]
    assert purchase_stats["output_rows"] == 1 and purchase_stats["rejects_by_reason"]["malformed_row"] == 1
