"""Gate plumbing: failure messages, run names, the job's arguments, a table missing a column."""

from __future__ import annotations

import importlib.util
from datetime import date

import pytest

from medallion import quality
from medallion.config import PROJECT_ROOT, Settings


def load_job():
    spec = importlib.util.spec_from_file_location("quality_gate", PROJECT_ROOT / "spark_jobs" / "quality_gate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_failure_message_names_expectation_column_count_and_values():
    outcome = quality.ExpectationOutcome(
        suite="silver_purchases", expectation="expect_column_values_to_be_between", column="price",
        severity="critical", unexpected_count=2,
        unexpected_values=({"id_purchase": 7, "price": -1}, {"id_purchase": 9, "price": -3}),
    )
    assert outcome.message() == (
        "CRITICAL silver_purchases: expect_column_values_to_be_between | column=price | unexpected_count=2"
        " | unexpected values (up to 5): [{'id_purchase': 7, 'price': -1}, {'id_purchase': 9, 'price': -3}]"
    )


def test_gate_result_passes_with_warnings_only():
    warning = quality.ExpectationOutcome("silver_clients", "expect_column_values_to_be_in_set", "country",
                                         "warning", unexpected_count=1)
    result = quality.GateResult("silver", "2024-06-05", "silver__2024-06-05__r1", {"silver_clients": True}, [warning])
    assert result.passed and result.warnings == [warning] and result.critical_failures == []
    critical = quality.ExpectationOutcome("silver_clients", "expect_column_values_to_be_unique", "id_client",
                                          "critical", unexpected_count=2)
    result.failures.append(critical)
    assert not result.passed
    assert result.to_json()["failures"][1] == {
        "suite": "silver_clients", "expectation": "expect_column_values_to_be_unique", "column": "id_client",
        "severity": "critical", "unexpected_count": 2, "observed_value": None, "unexpected_values": [],
        "error": None}


def test_run_name_is_path_safe():
    assert quality.run_name("gold", "2024-06-05", "scheduled__2024-06-05T00:00:00+00:00") == \
        "gold__2024-06-05__scheduled__2024-06-05T00_00_00_00_00"


def test_job_arguments():
    job = load_job()
    args = job.parse_args(["--layer", "silver", "--run-date", "2024-06-05", "--run-id", "r1"])
    assert (args.layer, args.run_date, args.run_id) == ("silver", "2024-06-05", "r1")
    with pytest.raises(SystemExit):
        job.parse_args(["--layer", "platinum", "--run-date", "2024-06-05", "--run-id", "r1"])


def test_bad_run_date_and_layer_are_rejected(spark, settings):
    with pytest.raises(ValueError, match="--run-date must be YYYY-MM-DD, got '05/06/2024'"):
        quality.run_gate(spark, settings, "silver", "05/06/2024", "r1")
    with pytest.raises(ValueError, match="unknown layer 'platinum'"):
        quality.run_gate(spark, settings, "platinum", "2024-06-05", "r1")


def test_missing_context_is_a_clear_error(tmp_path):
    with pytest.raises(quality.QualityGateError, match="great_expectations.yml: GX context not found"):
        with quality.working_context(Settings(great_expectations_dir=str(tmp_path))):
            pass


def test_missing_column_fails_with_the_column_named(spark):
    frame = spark.createDataFrame(
        [(1, "Alice", "alice@example.com", date(2024, 1, 5))],
        "id_client bigint, name string, email string, subscription_date date",
    )
    with quality.working_context(Settings()) as context:
        definition = context.validation_definitions.get("silver_clients")
        outcome = quality.validate_suite(definition, quality.SuiteInput(frame, {"run_date": "2024-06-05"}))
    failures = quality.evaluate("silver_clients", outcome)
    columns = [f for f in failures if f.expectation == "expect_table_columns_to_match_set"]
    assert len(columns) == 1 and columns[0].severity == "critical"
    country = [f for f in failures if f.column == "country"]
    assert len(country) == 1 and 'The column "country" in BatchData does not exist' in country[0].error
    assert len(failures) == 2
