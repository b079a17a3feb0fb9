"""Differential check of the pandas engine against the Spark jobs, and the benchmark CLI end to end.

No timed assertions: the benchmark's numbers are data, not test conditions.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys

import jsonschema
import pytest

from medallion import bronze, lake
from medallion.devtools.benchmark import RESULTS_SCHEMA, STEPS, crossover, write_sweep
from medallion.config import PROJECT_ROOT, Settings
from medallion.devtools.diffcheck import compare_lakes
from medallion.engines import pandas_engine
from medallion.devtools.profiling import JFR_MAGIC, hot_methods

RUN_DATE = "2026-11-29"


EDGE_CLIENTS = "\n".join([
    "id_client,name,email,subscription_date,country",
    '1,"  Ann   Lee ",ann@x.com,2024-01-05,france',
    "0002,Bob,BOB@X.COM,2024/02/29,SPAIN",
    "3,Cy,cy@x.com,29/02/2023,Spain",                       # invalid_date (2023 not leap)
    "4,Dee,dee@x.com,2024-02-29T23:59:59,Narnia",           # unknown country
    '5,"",e@x.com,2024-01-01,UK',                           # missing_value (quoted empty)
    "6,Fay,fay@x,2024-01-01,UK",                            # invalid_email
    "7,Gus,\tgus@x.com\t,2024-01-01,uk",
    "+8,Hal,hal@x.com,2024-01-01,UK",                       # invalid_id
    "9223372036854775808,Big,big@x.com,2024-01-01,UK",      # invalid_id (> bigint)
    "9223372036854775807,Max,max@x.com,2024-01-01,UK",
    "10,Ivy,ivy@x.com,2026-11-30,UK",                       # future_date
    "11,Jo,ann@x.com,2024-01-01,UK",                        # duplicate_email
    "2,Kim,kim@x.com,2024-01-01,UK",                        # duplicate_id (0002)
    "12,Lu\u00e9  \u00c7a,lue@x.com,2024-12-30,belgium",
    "13,Mo,mo@x.com,2024-01-01T24:00:00,UK",                # invalid_date
    '14,"Ned, Jr",ned@x.com,2024-01-01,Netherlands',
    "15,Oz,oz@x.com,,UK",                                   # missing_value
]) + "\n"
EDGE_PURCHASES = "\n".join([
    "id_purchase,id_client,product,price,quantity,purchase_date,total",
    "1,1,laptop,10.005,3,2024-12-30,30.02",                 # price 10.01, total 30.03: recalculated
    "2,2,Mouse,0.125,+2,2025-01-02,",                       # price 0.13, total missing: recalculated
    "3,0002,Gizmo,5,01,2025-01-03,5.00",                    # unknown product
    "4,1,Mouse,-0.004,1,2025-01-01,0",                      # rounds to 0.00: kept
    "5,1,Mouse,1e3,1,2025-01-01,",                          # invalid_number
    "6,1,Mouse,1.00,2147483648,2025-01-01,",                # invalid_number (> int)
    "7,1,Mouse,99999999999999999.99,1,2025-01-01,",         # invalid_number (> decimal(18,2))
    "8,1,Mouse,9999999999999999.995,1,2025-01-01,",         # invalid_number (rounds out of range)
    "9,1,Mouse,1000000000000000.00,10,2025-01-01,",         # invalid_amount (total out of range)
    "10,9223372036854775807,Phone,300.00,1,2025-06-15,300.000",
    "11,3,Mouse,1.00,1,2025-01-01,1.00",                    # orphan_client
    "12,1,Mouse,2.675,1,2024-12-29,2.67",                   # price 2.68: recalculated
    "13,1,Mouse, 4.50 ,2,2025-03-01,9.001",                 # 9.001 != 9.00: recalculated
    "14,12,Tablet,100.00,1,2021-01-03,100",                 # ISO week 2020-W53
    "15,14,Charger,10.00,1,2026-11-29,10.00",               # on the run date
    "16,1,Mouse,1.00,1,2026-12-01,",                        # future_date
    "17,4,Webcam,1.00,1,2024-01-01,1.00",
    "18,7,Keyboard,3.333,3,2025-02-28,10.00",               # total 9.99: recalculated
    "19,2,Mouse,-1,1,2025-01-01,",                          # invalid_amount
    "20,2,Mouse,1.00,-0,2025-01-01,",                       # invalid_amount
    "21,2,Mouse,0.00,1,2025-01-05,0.00",
    "22,1,Mouse,0.01,1,2025-01-05,abc",                     # recalculated
]) + "\n"


def test_pandas_and_spark_agree_on_hand_written_edge_cases(spark, tmp_path):
    from medallion.spark import gold, silver

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "clients.csv").write_text(EDGE_CLIENTS, encoding="utf-8")
    (landing / "purchases.csv").write_text(EDGE_PURCHASES, encoding="utf-8")
    # Most edge rows are meant to be rejected (10 of 17 clients, 9 of 22 purchases): far above the
    # silver gate's default 20 % threshold, which the Spark job enforces before committing.
    pandas_lake = Settings(lake_root=str(tmp_path / "pandas"), reject_threshold_pct=100.0)
    spark_lake = Settings(lake_root=str(tmp_path / "spark"), reject_threshold_pct=100.0)
    for lake_settings in (pandas_lake, spark_lake):
        bronze.ingest(lake_settings, RUN_DATE, "edge-run", str(landing))
    report = pandas_engine.run_silver(pandas_lake, RUN_DATE, "edge-run")
    pandas_engine.run_gold(pandas_lake, RUN_DATE, "edge-run")
    silver.run(spark, spark_lake, RUN_DATE, "edge-run")
    gold.run(spark, spark_lake, RUN_DATE, "edge-run")
    # counts from the comments above
    assert report["clients"]["rejects_by_reason"] == {
        "malformed_row": 0, "missing_value": 2, "invalid_id": 2, "invalid_date": 2, "future_date": 1,
        "invalid_email": 1,
        "duplicate_id": 1, "duplicate_email": 1}
    assert report["purchases"]["rejects_by_reason"] == {
        "malformed_row": 0, "missing_value": 0, "invalid_id": 0, "invalid_number": 4, "invalid_amount": 3,
        "invalid_date": 0,
        "future_date": 1, "duplicate_id": 0, "orphan_client": 1}
    assert (report["purchases"]["output_rows"], report["purchases"]["total_recalculated"]) == (13, 6)
    assert report["clients"]["unknown_values"] == {"country": 1}
    result = compare_lakes(pandas_lake, spark_lake, RUN_DATE)
    assert result.identical, "\n".join(result.differences)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medallion.devtools.benchmark", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=1800)


def check_consistency(results: dict, csv_folder) -> None:
    """Recount what the benchmark reports from its inputs and its own per-run numbers."""
    jsonschema.validate(results, RESULTS_SCHEMA)
    lines = {name: (csv_folder / f"{name}.csv").read_text().splitlines() for name in ("clients", "purchases")}
    assert results["data"]["clients_rows"] == len(lines["clients"]) - 1
    assert results["data"]["purchases_rows"] == len(lines["purchases"]) - 1
    for engine, outcome in results["engines"].items():
        for run in outcome["runs"]:
            assert math.isclose(run["seconds"]["total"], sum(run["seconds"][s] for s in STEPS), abs_tol=1e-3)
        for key in (*STEPS, "total"):
            assert math.isclose(outcome["median_seconds"][key],
                                statistics.median(run["seconds"][key] for run in outcome["runs"]), abs_tol=1e-3)
        assert outcome["peak_rss_bytes"] == max(run["peak_rss_bytes"] for run in outcome["runs"])
        assert outcome["peak_rss_bytes"] > 50 * 2**20   # a Python process with pandas loaded


def test_benchmark_cli_both_engines_give_identical_outputs_on_a_dirty_sample(tmp_path):
    output = tmp_path / "results.json"
    finished = run_cli("--clients", "300", "--purchases-per-client", "4", "--dirty-rate", "0.1", "--seed", "11",
                       "--data-dir", str(tmp_path / "data"), "--output", str(output),
                       "--spark-profile", str(tmp_path / "jfr profiles"))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "outputs identical" in finished.stdout
    lakes = [Settings(lake_root=str(tmp_path / "data" / f"lake-{engine}")) for engine in ("pandas", "spark")]
    truth = json.loads((tmp_path / "data" / "c300-p4-d0.1-s11" / "ground_truth.json").read_text())
    reports = [lake.read_document(s, "silver", RUN_DATE, "quality_report") for s in lakes]
    summaries = [lake.read_document(s, "gold", RUN_DATE, "gold_summary") for s in lakes]
    # The sample is really dirty: every reject reason of both tables occurs.
    for table in ("clients", "purchases"):
        assert reports[0][table]["rejects_by_reason"] == truth[table]["rejects_by_reason"]
        assert all(count > 0 for count in truth[table]["rejects_by_reason"].values())
    # The commit sections the differential check skips have the same shape in both engines, and
    # on two fresh lakes fed the same bytes the same values: one commit per table (version 0).
    for report in reports:
        assert report["commit"]["table_versions"] == {
            "clients": 0, "purchases": 0, "clients_rejects": 0, "purchases_rejects": 0}
        assert report["commit"]["logical_date"] == RUN_DATE
    assert reports[0]["commit"]["bronze"] == reports[1]["commit"]["bronze"]
    assert {d: b["version"] for d, b in reports[0]["commit"]["bronze"].items()} == {"clients": 1, "purchases": 1}
    for summary in summaries:
        assert summary["silver_versions"] == {"clients": 0, "purchases": 0}
        assert summary["commit"] == {"logical_date": RUN_DATE, "table_versions": {
            "fact_sales": 0, "client_kpis": 0, "product_analytics": 0, "country_analytics": 0,
            "daily_sales": 0, "weekly_sales": 0, "monthly_sales": 0}}
    # The Spark driver JVM wrote a Flight Recorder file (the space in the folder name survives
    # spark-submit's option parsing); its hot methods were printed.
    recording = tmp_path / "jfr profiles" / "spark-c300-p4-d0.1-s11-1.jfr"
    assert recording.read_bytes()[:4] == JFR_MAGIC
    samples, methods = hot_methods(recording, top=5)
    assert samples > 100 and len(methods) == 5
    assert [count for _, count in methods] == sorted((count for _, count in methods), reverse=True)
    assert f"JFR recording {recording} ({samples:,} CPU samples)" in finished.stdout
    results = json.loads(output.read_text())
    check_consistency(results, tmp_path / "data" / "c300-p4-d0.1-s11")
    assert set(results["engines"]) == {"pandas", "spark"}
    assert results["differential_check"]["ran"] and results["differential_check"]["identical"]
    assert results["differential_check"]["compared"] == [
        "silver/clients", "silver/purchases", "silver/clients_rejects", "silver/purchases_rejects",
        "silver/quality_report.json", "gold/fact_sales", "gold/client_kpis", "gold/product_analytics",
        "gold/country_analytics", "gold/daily_sales", "gold/weekly_sales", "gold/monthly_sales",
        "gold/statistical_distributions.json", "gold/gold_summary.json",
    ]
    total = results["results"]["total"]
    pandas_s, spark_s = results["engines"]["pandas"]["median_seconds"]["total"], \
        results["engines"]["spark"]["median_seconds"]["total"]
    assert (total["pandas_s"], total["spark_s"]) == (pandas_s, spark_s)
    assert total["winner"] == ("pandas" if pandas_s < spark_s else "spark")
    assert math.isclose(total["speedup"], max(pandas_s, spark_s) / min(pandas_s, spark_s), abs_tol=0.01)
    assert results["results"]["winner"] == total["winner"]


def test_benchmark_cli_reuses_data_and_takes_medians(tmp_path):
    data_dir = tmp_path / "data"
    first = run_cli("--pandas-only", "--clients", "120", "--seed", "9", "--data-dir", str(data_dir),
                    "--output", str(tmp_path / "one.json"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads((tmp_path / "one.json").read_text())["data"]["reused"] is False
    second = run_cli("--pandas-only", "--clients", "120", "--seed", "9", "--repeat", "3", "--data-dir",
                     str(data_dir), "--output", str(tmp_path / "three.json"))
    assert second.returncode == 0, second.stdout + second.stderr
    results = json.loads((tmp_path / "three.json").read_text())
    assert results["data"]["reused"] is True
    assert len(results["engines"]["pandas"]["runs"]) == 3
    assert results["differential_check"] == {"ran": False, "identical": None, "compared": [], "differences": []}
    assert results["results"]["total"]["spark_s"] is None and results["results"]["winner"] is None
    check_consistency(results, data_dir / "c120-p5-d0.05-s9")


def test_sweep_writes_chart_and_finds_the_crossover(tmp_path):
    # pandas 1 s -> 10 s, Spark 10 s -> 1 s between 1e5 and 1e6 rows: the log-log lines cross halfway,
    # at sqrt(1e5 * 1e6) rows.
    assert crossover([100_000, 1_000_000], [1.0, 10.0], [10.0, 1.0]) == pytest.approx(316_227.766, rel=1e-6)
    assert crossover([100_000, 1_000_000], [1.0, 2.0], [3.0, 4.0]) is None
    documents = [
        {"data": {"purchases_rows": rows}, "machine": {"cores": 2}, "parameters": {"spark_master": "local[2]"},
         "engines": {"pandas": {"median_seconds": {"total": p}}, "spark": {"median_seconds": {"total": s}}}}
        for rows, p, s in ((100_000, 1.0, 10.0), (1_000_000, 10.0, 1.0))
    ]
    json_path, png_path = write_sweep(documents, tmp_path / "docs")
    sweep = json.loads(json_path.read_text())
    assert sweep["purchases_rows"] == [100_000, 1_000_000]
    assert sweep["total_seconds"] == {"pandas": [1.0, 10.0], "spark": [10.0, 1.0]}
    assert sweep["crossover_purchase_rows"] == pytest.approx(316_227.766, rel=1e-6)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
