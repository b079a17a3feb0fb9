"""Each committed suite on tiny hand-made layers: the clean layer passes, a tampered one fails on
the expected expectation with the unexpected_count worked out by hand (see test_quality_lake)."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal as D

import pytest

from medallion import quality
from medallion.config import PROJECT_ROOT
from medallion.quality.inputs import bronze_inputs
from tests.unit.test_quality_inputs import RUN_ID, bronze_layer, gold_layer, gold_rows, silver_layer, silver_rows


@pytest.fixture(scope="module")
def context():
    from medallion.config import Settings

    with quality.working_context(Settings()) as ctx:
        yield ctx


def run_suite(context, suite: str, suite_input) -> list[quality.ExpectationOutcome]:
    definition = context.validation_definitions.get(suite)
    return quality.evaluate(suite, quality.check_suite(definition, suite_input))


def by_type(failures, expectation: str, column: str | None = None):
    found = [f for f in failures if f.expectation == expectation and (column is None or f.column == column)]
    assert len(found) == 1, f"expected one failure {expectation}({column}), got {[f.message() for f in failures]}"
    return found[0]


# --- bronze ---------------------------------------------------------------------------------------


def test_bronze_clean_passes_and_manifest_mismatch_fails(spark, settings, tmp_path, context):
    inputs = bronze_layer(spark, settings, tmp_path)
    assert run_suite(context, "bronze_clients", inputs["bronze_clients"]) == []
    # A manifest claiming 6 rows for a 5-row file.
    tampered = quality.SuiteInput(inputs["bronze_purchases"].frame, {"manifest_data_rows": 6})
    failure = by_type(run_suite(context, "bronze_purchases", tampered), "expect_table_row_count_to_equal")
    assert failure.severity == "critical" and failure.observed_value == 5


def test_bronze_missing_contract_column_fails(spark, context):
    # "country" renamed (ingestion and the silver job's reader refuse such a file before the gate).
    frame = spark.createDataFrame([("1", "Alice", "alice@example.com", "2024-01-05", "France")],
                                  "id_client string, name string, email string, subscription_date string, land string")
    inputs = bronze_inputs({"clients": frame, "purchases": frame}, {"clients": {"data_rows": 1},
                                                                      "purchases": {"data_rows": 1}})
    failures = run_suite(context, "bronze_clients", inputs["bronze_clients"])
    failure = by_type(failures, "expect_table_columns_to_match_set")
    assert "land" in str(failure.observed_value) and len(failures) == 1


# --- silver ---------------------------------------------------------------------------------------


def test_silver_clean_layer_passes_every_suite(spark, context):
    inputs = silver_layer(spark)
    for suite in quality.LAYER_SUITES["silver"]:
        assert run_suite(context, suite, inputs[suite]) == [], suite


def test_silver_clients_tampered(spark, context):
    rows = silver_rows()
    rows["clients"] += [
        (3, "Dan", "dan@example.com", date(2024, 4, 1), "Spain"),            # duplicate id 3
        (4, "Eve", "eve_at_example.com", date(2024, 4, 2), "Italy"),         # bad email
        (5, "Fay", "fay@example.com", date(2024, 6, 6), "USA"),              # after the run date
        (6, "Gus", "gus@example.com", date(2024, 4, 3), "Atlantis"),         # unknown country
    ]
    frame = silver_layer(spark, rows)["silver_clients"]
    failures = run_suite(context, "silver_clients", frame)
    assert by_type(failures, "expect_column_values_to_be_unique", "id_client").unexpected_count == 2
    bad_email = by_type(failures, "expect_column_values_to_match_regex", "email")
    assert bad_email.unexpected_count == 1
    assert bad_email.unexpected_values == ({"id_client": 4, "email": "eve_at_example.com"},)
    future = by_type(failures, "expect_column_values_to_be_between", "subscription_date")
    assert future.unexpected_count == 1
    country = by_type(failures, "expect_column_values_to_be_in_set", "country")
    assert (country.severity, country.unexpected_count) == ("warning", 1)
    assert len(failures) == 4


def test_silver_purchases_tampered(spark, context):
    rows = silver_rows()
    june2 = date(2024, 6, 2)
    rows["purchases"] += [
        (201, 2, "Mouse", D("25.00"), 2, june2, D("50.01"), "2024-06"),     # total != price x qty
        (202, 2, "Mouse", D("-1.00"), 1, june2, D("-1.00"), "2024-06"),     # negative price
        (203, 2, "Mouse", D("25.00"), 0, june2, D("0.00"), "2024-06"),      # quantity 0
        (204, 9, "Mouse", D("25.00"), 1, june2, D("25.00"), "2024-06"),     # orphan client
        (205, 2, "Toaster", D("30.00"), 1, june2, D("30.00"), "2024-06"),   # unknown product
        (206, 2, "Mouse", D("25.00"), 1, date(2024, 6, 9), D("25.00"), "2024-06"),  # future date
    ]
    frame = silver_layer(spark, rows)["silver_purchases"]
    failures = run_suite(context, "silver_purchases", frame)
    total = by_type(failures, "expect_column_pair_values_to_be_equal", "total, expected_total")
    assert total.unexpected_count == 1
    assert total.unexpected_values[0]["id_purchase"] == 201
    assert by_type(failures, "expect_column_values_to_be_between", "price").unexpected_count == 1
    assert by_type(failures, "expect_column_values_to_be_between", "quantity").unexpected_count == 1
    assert by_type(failures, "expect_column_values_to_be_between", "purchase_date").unexpected_count == 1
    orphan = by_type(failures, "expect_column_values_to_be_in_set", "client_in_silver_clients")
    assert orphan.unexpected_count == 1 and orphan.unexpected_values[0]["id_purchase"] == 204
    product = by_type(failures, "expect_column_values_to_be_in_set", "product")
    assert (product.severity, product.unexpected_count) == ("warning", 1)
    assert len(failures) == 6


def test_silver_report_unbalanced_and_over_threshold(spark, context):
    rows = copy.deepcopy(silver_rows())
    # purchases: 5 input rows but 4 + 2 accounted; the rejects table holds 1 row.
    rows["quality_report"]["purchases"]["rejected_rows"] = 2
    frame = silver_layer(spark, rows, threshold_pct=19.99)["silver_quality_report"]
    failures = run_suite(context, "silver_quality_report", frame)
    balance = by_type(failures, "expect_column_pair_values_to_be_equal", "output_plus_rejected_rows, input_rows")
    assert balance.unexpected_count == 1 and balance.unexpected_values[0]["table"] == "purchases"
    recount = by_type(failures, "expect_column_pair_values_to_be_equal", "rejected_rows, rows_in_rejects")
    assert recount.unexpected_count == 1
    # 2 / 5 = 40 % > 19.99 %; clients 0 % passes.
    share = by_type(failures, "expect_column_values_to_be_between", "rejected_pct")
    assert share.unexpected_count == 1 and share.unexpected_values[0] == {"table": "purchases", "rejected_pct": 40.0}
    assert len(failures) == 3


def test_silver_report_malformed_count_must_match_the_rejects(spark, context):
    rows = copy.deepcopy(silver_rows())
    # clients: a fourth line with a comma too many, rejected as malformed_row and counted.
    rows["clients_rejects"].append(("4", "Dan", "Jr", "dan@example.com", "2024-01-05", 4, "malformed_row", RUN_ID))
    rows["quality_report"]["clients"].update(input_rows=4, rejected_rows=1, rejects_by_reason={"malformed_row": 1})
    # purchases: the report counts a malformed row that its rejects table does not hold.
    rows["quality_report"]["purchases"]["rejects_by_reason"]["malformed_row"] = 1
    frame = silver_layer(spark, rows, threshold_pct=30.0)["silver_quality_report"]
    failures = run_suite(context, "silver_quality_report", frame)
    mismatch = by_type(failures, "expect_column_pair_values_to_be_equal", "malformed_rows, malformed_in_rejects")
    assert (mismatch.severity, mismatch.unexpected_count) == ("critical", 1)
    assert mismatch.unexpected_values[0]["table"] == "purchases"
    # Any malformed row is a warning, not a failure of the gate.
    seen = by_type(failures, "expect_column_values_to_be_between", "malformed_rows")
    assert (seen.severity, seen.unexpected_count) == ("warning", 2)
    assert len(failures) == 2


def test_reject_share_equal_to_threshold_passes(spark, context):
    # purchases reject 1 of 5 = exactly 20 %, the default threshold.
    frame = silver_layer(spark, threshold_pct=20.0)
    assert run_suite(context, "silver_quality_report", frame["silver_quality_report"]) == []


# --- gold -----------------------------------------------------------------------------------------


def test_gold_clean_layer_passes_every_suite(spark, context):
    inputs = gold_layer(spark)
    for suite in quality.LAYER_SUITES["gold"]:
        assert run_suite(context, suite, inputs[suite]) == [], suite


def test_gold_tampered_tables(spark, context):
    rows = gold_rows()
    # product_analytics: Laptop revenue +0.01 (sum 2000.01) and Mouse share 25 -> 25.5 (sum 100.5).
    rows["product_analytics"][0] = ("Laptop", D("1000.01"), *rows["product_analytics"][0][2:])
    rows["product_analytics"][1] = (*rows["product_analytics"][1][:6], 25.5)
    # daily_sales: 06-02 (a day without sales) missing -> a gap.
    del rows["daily_sales"][1]
    # client_kpis: r_score 6 for Bob, min_order_value -1.00 for Carol.
    rows["client_kpis"][1] = (*rows["client_kpis"][1][:7], 6, *rows["client_kpis"][1][8:])
    rows["client_kpis"][2] = (*rows["client_kpis"][2][:5], D("-1.00"), *rows["client_kpis"][2][6:])
    # monthly_sales: month key duplicated (revenue split 1500 + 500, sum unchanged).
    rows["monthly_sales"] = [("2024-06", D("1500.00"), 3, D("500.00"), D("750.00")),
                             ("2024-06", D("500.00"), 1, D("500.00"), D("500.00"))]
    inputs = gold_layer(spark, rows)

    product = run_suite(context, "gold_product_analytics", inputs["gold_product_analytics"])
    revenue = by_type(product, "expect_column_sum_to_be_between", "total_revenue")
    assert float(revenue.observed_value) == pytest.approx(2000.01)
    share = by_type(product, "expect_column_sum_to_be_between", "market_share_pct")
    assert share.observed_value == pytest.approx(100.5)
    assert len(product) == 2

    daily = run_suite(context, "gold_daily_sales", inputs["gold_daily_sales"])
    gap = by_type(daily, "expect_table_row_count_to_equal")
    assert gap.observed_value == 2 and len(daily) == 1

    kpis = run_suite(context, "gold_client_kpis", inputs["gold_client_kpis"])
    assert by_type(kpis, "expect_column_values_to_be_between", "r_score").unexpected_count == 1
    negative = by_type(kpis, "expect_column_values_to_be_between", "min_order_value")
    assert negative.unexpected_values == ({"id_client": 3, "min_order_value": D("-1.00")},)
    assert len(kpis) == 2

    monthly = run_suite(context, "gold_monthly_sales", inputs["gold_monthly_sales"])
    assert by_type(monthly, "expect_column_values_to_be_unique", "year_month").unexpected_count == 2
    assert len(monthly) == 1


def test_fact_total_must_match_overall_metrics(spark, context):
    rows = gold_rows()
    rows["statistical_distributions"]["overall_metrics"]["total_revenue"] = 2000.01
    inputs = gold_layer(spark, rows)
    failures = run_suite(context, "gold_fact_sales", inputs["gold_fact_sales"])
    failure = by_type(failures, "expect_column_sum_to_be_between", "total")
    assert float(failure.observed_value) == pytest.approx(2000.00)
    assert len(failures) == 1


# --- the committed context ------------------------------------------------------------------------


def test_committed_context_is_what_the_generator_writes(spark, tmp_path):
    """The committed suites are regenerated byte for byte (no hand edits, no stale JSON).

    (``spark`` first: GX's ``add_spark`` then reuses the project-configured session.)"""
    written = quality.write_suites(tmp_path / "ctx")
    committed = PROJECT_ROOT / "great_expectations"
    for rel in written:
        assert (tmp_path / "ctx" / rel).read_bytes() == (committed / rel).read_bytes(), rel
    for entry in ("expectations", "validation_definitions", "checkpoints"):
        assert sorted(p.name for p in (committed / entry).iterdir()) == \
            sorted(p.name for p in (tmp_path / "ctx" / entry).iterdir())
    checkpoint = json.loads((committed / "checkpoints" / "silver.json").read_text())
    assert [v["name"] for v in checkpoint["validation_definitions"]] == list(quality.LAYER_SUITES["silver"])
