"""The gates inside the real silver and gold jobs (write–audit–publish), on generated samples.

A clean sample passes every gate and is committed; a sample dirty above the reject threshold fails
the silver gate for exactly the tables the generator's ground truth puts above 20 %, and nothing
of silver is committed; the data docs render every stored validation; the committed GX context is
only read.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from medallion import bronze, lake, quality, tables
from medallion.devtools import datagen
from medallion.config import PROJECT_ROOT, Settings
from medallion.contract import GOLD_TABLES, SILVER_TABLES
from medallion.spark import gold, silver

RUN_DATE = "2026-11-29"
GX_DIR = PROJECT_ROOT / "great_expectations"


def snapshot_of_context() -> dict[str, str]:
    """sha256 of every file of the committed context (generated folders included if any appear)."""
    return {str(p.relative_to(GX_DIR)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(GX_DIR.rglob("*")) if p.is_file()}


def sample(tmp_path, name: str, dirty_rate: float) -> tuple[Settings, dict]:
    settings = Settings(lake_root=str(tmp_path / name / "lake"))
    truth = datagen.generate(tmp_path / name / "landing", clients=120, purchases_per_client=2,
                             dirty_rate=dirty_rate, seed=11, as_of=RUN_DATE)
    bronze.ingest(settings, RUN_DATE, name, sources_dir=str(tmp_path / name / "landing"))
    return settings, truth


def test_gates_inside_the_jobs_commit_a_clean_sample_and_stop_a_dirty_one(spark, tmp_path):
    before = snapshot_of_context()

    settings, clean_truth = sample(tmp_path, "clean", 0.05)
    fs = lake.filesystem(settings)
    silver.run(spark, settings, RUN_DATE, "clean")
    gold.run(spark, settings, RUN_DATE, "clean")
    # The only failure is the warning on malformed lines, for the tables the generator broke lines of.
    malformed = {t: clean_truth[t]["rejects_by_reason"]["malformed_row"] for t in ("clients", "purchases")}
    assert any(malformed.values())
    for layer in quality.LAYER_NAMES:
        result = lake.read_json(fs, quality.gate_result_path(settings, layer, RUN_DATE))
        assert (result["passed"], result["run_id"]) == (True, "clean"), layer
        warnings = [{"table": v["table"], "malformed_rows": v["malformed_rows"]}
                    for f in result["failures"] for v in f["unexpected_values"]]
        assert all(f["severity"] == "warning" and f["column"] == "malformed_rows" for f in result["failures"])
        assert sorted(warnings, key=lambda v: v["table"]) == (
            [{"table": t, "malformed_rows": n} for t, n in sorted(malformed.items()) if n] if layer == "silver" else [])
        assert result["suites"] == {suite: True for suite in quality.LAYER_SUITES[layer]}  # warnings pass
    assert all(tables.last_commit(settings, "silver", t)["version"] == 0 for t in SILVER_TABLES)
    assert all(tables.last_commit(settings, "gold", t)["version"] == 0 for t in GOLD_TABLES)

    dirty, truth = sample(tmp_path, "dirty", 0.5)
    over = [t for t in ("clients", "purchases") if truth[t]["rejected_rows"] * 100 > 20 * truth[t]["input_rows"]]
    assert over, "the dirty sample must reject more than 20 % of some table"
    with pytest.raises(quality.GateFailed) as failed:
        silver.run(spark, dirty, RUN_DATE, "dirty")
    result = failed.value.result
    assert result.layer == "silver" and not result.passed
    share = [f for f in result.critical_failures if f.column == "rejected_pct"]
    assert len(share) == 1 and share[0].unexpected_count == len(over)
    assert sorted(v["table"] for v in share[0].unexpected_values) == sorted(over)
    assert len(result.critical_failures) == 1, [f.message() for f in result.critical_failures]
    assert str(failed.value).startswith("gate_silver FAILED for run date 2026-11-29: 1 critical expectation(s) "
                                        "failed, nothing was committed")
    # Nothing of silver was written: no table, no document; the bronze gate had passed.
    for table in SILVER_TABLES:
        with pytest.raises(FileNotFoundError):
            tables.open_table(dirty, "silver", table)
    with pytest.raises(FileNotFoundError):
        lake.read_document(dirty, "silver", RUN_DATE, "quality_report")
    dirty_fs = lake.filesystem(dirty)
    assert lake.read_json(dirty_fs, quality.gate_result_path(dirty, "bronze", RUN_DATE))["passed"] is True
    assert lake.read_json(dirty_fs, quality.gate_result_path(dirty, "silver", RUN_DATE))["passed"] is False

    # Data docs of the clean lake: every validation of its three gates (2 + 3 + 7 suites).
    index = quality.build_data_docs(settings)
    page = lake.read_bytes(fs, index).decode()
    for layer in quality.LAYER_NAMES:
        assert quality.run_name(layer, RUN_DATE, "clean") in page, layer
    stored = [info.path for info in fs.get_file_info(lake.pafs.FileSelector(
        lake.layer_path(settings, "quality", "validations"), recursive=True)) if info.path.endswith(".json")]
    assert len(stored) == 12
    failed_expectations = [(r["expectation_config"]["type"], r["expectation_config"]["kwargs"].get("column"))
                           for path in stored for r in json.loads(lake.read_bytes(fs, path))["results"]
                           if not r["success"]]
    assert failed_expectations == [("expect_column_values_to_be_between", "malformed_rows")]
    # The dirty lake's docs show its failed silver validation, with the unexpected values.
    quality.build_data_docs(dirty)
    failed_results = [info.path for info in dirty_fs.get_file_info(lake.pafs.FileSelector(
        lake.layer_path(dirty, "quality", "validations", "silver_quality_report"), recursive=True))
        if info.path.endswith(".json")]
    assert len(failed_results) == 1
    document = json.loads(lake.read_bytes(dirty_fs, failed_results[0]))
    assert document["success"] is False
    assert any(r["result"].get("unexpected_count") == len(over) for r in document["results"] if not r["success"])

    # The committed context was only read: same files, same bytes (no uncommitted/ either).
    assert snapshot_of_context() == before
