"""Gate plumbing: failure messages, run names, the jobs' arguments and exit codes, the operator's
reading of a failed gate, a table missing a column."""

from __future__ import annotations

import datetime as dt
import importlib.util
from datetime import date

import pytest

from medallion import lake, quality
from medallion.config import PROJECT_ROOT, Settings
from medallion.spark import job


def load_job(name: str):
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "spark_jobs" / f"{name}.py")
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


def test_gate_failed_names_the_gate_and_each_critical_expectation():
    result = quality.GateResult("silver", "2024-06-05", "silver__2024-06-05__r1", {"silver_clients": False}, [
        quality.ExpectationOutcome("silver_clients", "expect_column_values_to_be_unique", "id_client", "critical",
                                   unexpected_count=2, unexpected_values=({"id_client": 4},)),
        quality.ExpectationOutcome("silver_clients", "expect_column_values_to_be_in_set", "country", "warning",
                                   unexpected_count=1),
    ])
    assert str(quality.GateFailed(result)) == (
        "gate_silver FAILED for run date 2024-06-05: 1 critical expectation(s) failed, nothing was committed\n"
        "  - CRITICAL silver_clients: expect_column_values_to_be_unique | column=id_client | unexpected_count=2"
        " | unexpected values (up to 5): [{'id_client': 4}]")


def test_job_arguments():
    args = job.parser("test").parse_args(["--run-date", "2024-06-05", "--run-id", "r1"])
    assert (args.run_date, args.run_id, args.logical_date) == ("2024-06-05", "r1", None)
    args = job.parser("test").parse_args(["--run-date", "2024-06-05", "--run-id", "r1", "--logical-date", "2024-06-06"])
    assert args.logical_date == "2024-06-06"
    for bad in ("05/06/2024", "2024-6-5", "2024-02-30"):
        with pytest.raises(SystemExit) as exit_:
            job.parser("test").parse_args(["--run-date", bad, "--run-id", "r1"])
        assert exit_.value.code == 2
    # --run-started is Airflow's dag_run.start_date as the template renders it (str of a datetime).
    assert args.run_started is None
    args = job.parser("test").parse_args(["--run-date", "2024-06-05", "--run-id", "r1",
                                          "--run-started", "2024-06-06 10:00:01.250000+00:00"])
    assert args.run_started == dt.datetime(2024, 6, 6, 10, 0, 1, 250000, tzinfo=dt.timezone.utc)
    for bad in ("2024-06-06 10:00:01", "None"):  # no time zone, not a timestamp
        with pytest.raises(SystemExit) as exit_:
            job.parser("test").parse_args(["--run-date", "2024-06-05", "--run-id", "r1", "--run-started", bad])
        assert exit_.value.code == 2
    # A run whose start date is unset renders "" (the DAG's template): the job's own start applies.
    args = job.parser("test").parse_args(["--run-date", "2024-06-05", "--run-id", "r1", "--run-started", "",
                                          "--logical-date", ""])
    assert (args.run_started, args.logical_date) == (None, None)


def test_exit_codes_tell_bad_input_and_failed_gates_from_spark_failures(spark):
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException, PySparkValueError
    from pyspark.sql import functions as F

    from medallion.bronze import BronzeError

    gate = quality.GateResult("silver", "2024-06-05", "r", {"silver_clients": False}, [
        quality.ExpectationOutcome("silver_clients", "expect_column_values_to_be_unique", "id_client", "critical",
                                   unexpected_count=2)])
    assert job.exit_code(quality.GateFailed(gate)) == job.EXIT_GATE_FAILED == 3
    assert job.exit_code(BronzeError("no bronze clients for 2024-06-05")) == job.EXIT_BAD_INPUT == 2
    assert job.exit_code(FileNotFoundError("silver/_documents/... is missing")) == 2
    assert job.exit_code(ValueError("silver table clients: column 'email' has type int")) == 2
    assert job.exit_code(quality.GateNotEvaluated("gate_silver could not be evaluated")) == job.EXIT_FAILED == 1
    assert job.exit_code(OSError("connection refused")) == 1
    # What Spark raises: a failed Spark job, a JVM exception through py4j, PySpark's own ValueError.
    with pytest.raises(PySparkException) as failed_job:
        spark.range(1).select(F.raise_error(F.lit("boom"))).collect()
    with pytest.raises(Py4JJavaError) as jvm_error:
        spark.sparkContext._jvm.java.util.ArrayList().get(0)
    with pytest.raises(PySparkValueError) as pyspark_value_error:
        spark.createDataFrame([])
    for raised in (failed_job, jvm_error, pyspark_value_error):
        assert job.exit_code(raised.value) == 1, raised.value


def test_a_gate_whose_expectations_raised_is_not_a_verdict_on_the_data():
    # GX records an expectation that raised (a Spark failure while it computed) with its error.
    raised = [quality.ExpectationOutcome("silver_clients", expectation, "id_client", "critical",
                                         error="SparkException: Job aborted due to stage failure: ExecutorLostFailure")
              for expectation in ("expect_column_values_to_be_unique", "expect_column_values_to_not_be_null")]
    warning = quality.ExpectationOutcome("silver_clients", "expect_column_values_to_be_in_set", "country", "warning",
                                         unexpected_count=1)
    result = quality.GateResult("silver", "2024-06-05", "r", {"silver_clients": False}, [*raised, warning])
    assert not result.passed and not result.evaluated
    # One critical expectation that measured the data and failed makes it a verdict again.
    result.failures.append(quality.ExpectationOutcome(
        "silver_clients", "expect_column_values_to_be_unique", "email", "critical", unexpected_count=2))
    assert not result.passed and result.evaluated
    assert quality.GateResult("silver", "2024-06-05", "r", {"silver_clients": True}, [warning]).evaluated


def test_gold_job_without_committed_silver_exits_2_before_starting_spark(settings, monkeypatch, capsys):
    monkeypatch.setenv("LAKE_ROOT", settings.lake_root)
    assert load_job("gold_aggregation").main(["--run-date", "2024-06-05", "--run-id", "r1"]) == job.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "gold_aggregation 2024-06-05 cannot run: FileNotFoundError: no committed silver output for run date " \
           "2024-06-05" in err
    assert "silver/_documents/run_date=2024-06-05/quality_report.json is missing" in err


def test_operator_reads_the_failed_gate_of_this_run(settings):
    from medallion.operators import gate_failure_message

    started = dt.datetime(2024, 6, 6, 10, 0, tzinfo=dt.timezone.utc)
    summary = {"layer": "silver", "run_date": "2024-06-05", "run_id": "r1", "passed": False,
               "finished_at": "2024-06-06T10:01:00+00:00", "failures": [
                   {"suite": "silver_quality_report", "expectation": "expect_column_values_to_be_between",
                    "column": "rejected_pct", "severity": "critical", "unexpected_count": 1, "observed_value": None},
                   {"suite": "silver_clients", "expectation": "expect_column_values_to_be_in_set",
                    "column": "country", "severity": "warning", "unexpected_count": 3, "observed_value": None}]}
    fs = lake.filesystem(settings)
    lake.write_json(fs, quality.gate_result_path(settings, "bronze", "2024-06-05"),
                    {**summary, "layer": "bronze", "passed": True, "failures": []})
    lake.write_json(fs, quality.gate_result_path(settings, "silver", "2024-06-05"), summary)

    message = gate_failure_message(settings, ("bronze", "silver"), "2024-06-05", "r1", started)
    assert message.splitlines() == [
        "gate_silver FAILED for run date 2024-06-05: nothing of the layer was committed (readers keep the previous "
        "snapshot). Failed expectations:",
        "  - silver_quality_report: expect_column_values_to_be_between (column=rejected_pct, unexpected_count=1)",
        f"Data docs: {settings.lake_root}/quality/data_docs/index.html (Data quality in the Airflow UI).",
    ]
    # Another run's failure, or one from before this attempt started, is not this attempt's.
    assert gate_failure_message(settings, ("bronze", "silver"), "2024-06-05", "r2", started) is None
    later = started + dt.timedelta(minutes=5)
    assert gate_failure_message(settings, ("bronze", "silver"), "2024-06-05", "r1", later) is None


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
    country = [f for f in failures if f.column == "country"]  # not null (critical), in the vocabulary (warning)
    assert sorted((f.expectation, f.severity) for f in country) == [
        ("expect_column_values_to_be_in_set", "warning"), ("expect_column_values_to_not_be_null", "critical")]
    assert all('The column "country" in BatchData does not exist' in f.error for f in country)
    assert len(failures) == 3
