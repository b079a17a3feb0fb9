"""The quality gate job on the local standalone cluster: a clean bronze and gold layer pass, a gold
table tampered after the fact (one revenue changed) fails with a non-zero exit code and a log
naming the expectation, the data docs list every run's validations, and the committed GX context
is left untouched."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal as D

from medallion import lake, quality
from medallion.config import PROJECT_ROOT
from tests.unit.test_quality_lake import RUN_DATE, gold_rows, write_bronze, write_gold

GX_DIR = PROJECT_ROOT / "great_expectations"


def snapshot_of_context() -> dict[str, str]:
    """sha256 of every file of the committed context (generated folders included if any appear)."""
    return {str(p.relative_to(GX_DIR)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(GX_DIR.rglob("*")) if p.is_file()}


def gate(cluster, settings, layer: str, run_id: str) -> tuple[int, str]:
    """Exit code and log of one gate run. spark-submit's PythonRunner may forward the driver's
    stderr on its own stdout, so the log is both streams, as Airflow's SparkSubmitHook shows it."""
    run = cluster.submit("quality_gate.py", "--layer", layer, "--run-date", RUN_DATE, "--run-id", run_id,
                         settings=settings)
    return run.returncode, run.stdout + run.stderr


def test_gates_on_the_cluster_and_data_docs(spark_cluster, spark, settings, tmp_path):
    before = snapshot_of_context()
    write_bronze(settings, tmp_path)
    write_gold(spark, settings)

    code, output = gate(spark_cluster, settings, "bronze", "clean-run")
    assert code == 0, output[-3000:]
    assert "gate bronze for 2024-06-05: PASSED (0 critical failure(s), 0 warning(s))" in output, output[-3000:]

    code, output = gate(spark_cluster, settings, "gold", "clean-run")
    assert code == 0, output[-3000:]
    assert "gate gold for 2024-06-05: PASSED (0 critical failure(s), 0 warning(s))" in output, output[-3000:]

    # Tamper with gold after the fact: Laptop's revenue 1000.00 -> 1000.01 (sum 2000.01 vs 2000.00).
    rows = gold_rows()
    rows["product_analytics"][0] = ("Laptop", D("1000.01"), *rows["product_analytics"][0][2:])
    write_gold(spark, settings, rows)
    code, output = gate(spark_cluster, settings, "gold", "tampered-run")
    assert code == 1, output[-3000:]
    assert ("ERROR medallion.quality: CRITICAL gold_product_analytics: expect_column_sum_to_be_between"
            " | column=total_revenue | observed_value=2000.01") in output, output[-3000:]
    assert "gate gold FAILED for run date 2024-06-05: 1 critical expectation(s) failed" in output

    fs = lake.filesystem(settings)
    summary = lake.read_json(fs, quality.gate_result_path(settings, "gold", RUN_DATE))
    assert summary["passed"] is False and summary["run_name"] == "gold__2024-06-05__tampered-run"
    assert [(f["suite"], f["expectation"], f["column"]) for f in summary["failures"]] == [
        ("gold_product_analytics", "expect_column_sum_to_be_between", "total_revenue")]
    assert summary["suites"] == {s: s != "gold_product_analytics" for s in quality.LAYER_SUITES["gold"]}

    # Data docs: every validation of the three runs (2 bronze + 7 + 7 gold suites) is rendered.
    index = quality.build_data_docs(settings)
    page = lake.read_bytes(fs, index).decode()
    for run_name in ("bronze__2024-06-05__clean-run", "gold__2024-06-05__clean-run", "gold__2024-06-05__tampered-run"):
        assert run_name in page, run_name
    pages = [info.path for info in fs.get_file_info(lake.pafs.FileSelector(
        quality.data_docs_path(settings, "validations"), recursive=True)) if info.path.endswith(".html")]
    assert len(pages) == 16
    assert sum("gold_product_analytics" in p and "tampered-run" in p for p in pages) == 1
    stored = [info.path for info in fs.get_file_info(lake.pafs.FileSelector(
        lake.layer_path(settings, "quality", "validations"), recursive=True)) if info.path.endswith(".json")]
    assert len(stored) == 16
    failed = [p for p in stored if "tampered-run" in p and "gold_product_analytics" in p]
    assert json.loads(lake.read_bytes(fs, failed[0]))["success"] is False

    # The committed context was only read: same files, same bytes (no uncommitted/ either).
    assert snapshot_of_context() == before


def test_generated_samples_through_the_real_jobs(spark, tmp_path):
    """The silver and gold jobs' own output on a generated sample passes every gate; a sample
    dirty above the reject threshold fails gate_silver on the rejected share, for exactly the
    tables whose share the generator's ground truth puts above 20 %."""
    from medallion import bronze, datagen
    from medallion.config import Settings
    from medallion.spark import gold, silver

    def pipeline(name: str, dirty_rate: float) -> tuple[Settings, dict]:
        settings = Settings(lake_root=str(tmp_path / name / "lake"))
        truth = datagen.generate(tmp_path / name / "landing", clients=120, purchases_per_client=2,
                                 dirty_rate=dirty_rate, seed=11, as_of=RUN_DATE)
        bronze.ingest(settings, RUN_DATE, name, sources_dir=str(tmp_path / name / "landing"))
        silver.run(spark, settings, RUN_DATE, name)
        return settings, truth

    settings, _ = pipeline("sample", 0.05)
    gold.run(spark, settings, RUN_DATE, "sample")
    for layer in quality.LAYER_NAMES:
        result = quality.run_gate(spark, settings, layer, RUN_DATE, "sample")
        assert result.critical_failures == [], [f.message() for f in result.failures]
        assert result.suites == {suite: True for suite in quality.LAYER_SUITES[layer]}

    settings, truth = pipeline("dirty", 0.5)
    over = [t for t in ("clients", "purchases") if truth[t]["rejected_rows"] * 100 > 20 * truth[t]["input_rows"]]
    assert over, "the dirty sample must reject more than 20 % of some table"
    result = quality.run_gate(spark, settings, "silver", RUN_DATE, "dirty")
    assert not result.passed
    share = [f for f in result.critical_failures if f.column == "rejected_pct"]
    assert len(share) == 1 and share[0].unexpected_count == len(over)
    assert sorted(v["table"] for v in share[0].unexpected_values) == sorted(over)
    assert len(result.critical_failures) == 1, [f.message() for f in result.critical_failures]
