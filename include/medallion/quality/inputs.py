"""What each gate validates: the staged DataFrames of a layer job turned into the suites' inputs.

A layer job calls these on what it is about to commit (nothing is read back from the lake): the
bronze frames as the silver job read them, the silver tables and quality report it staged, the
gold tables and documents it staged. Each returns ``{suite name: SuiteInput}`` for
:func:`medallion.quality.gate.audit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from medallion.contract import DATASETS, MALFORMED_ROW, REJECTS_TABLES
from medallion.quality.gate import QualityGateError, SuiteInput
from medallion.quality.suites import GOLD_MONEY_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

#: Half a cent: revenue sums are DECIMAL(18,2), so bounds of +/- this mean "equal to the cent".
HALF_CENT = 0.005


def bronze_inputs(raw: Mapping[str, "DataFrame"], manifests: Mapping[str, Mapping[str, Any]]) -> dict[str, SuiteInput]:
    """Bronze suites' inputs: each dataset's bronze file as Spark read it (every header column, strings).

    Args:
        raw: dataset -> the file read with a schema made of its own header names, so the columns
            check looks at the file, not at the contract.
        manifests: dataset -> its bronze manifest; parameter ``manifest_data_rows`` is its ``data_rows``.
    """
    return {f"bronze_{dataset}": SuiteInput(raw[dataset], {"manifest_data_rows": int(manifests[dataset]["data_rows"])})
            for dataset in DATASETS}


def silver_inputs(tables: Mapping[str, "DataFrame"], report: Mapping[str, Any], run_date: str,
                  reject_threshold_pct: float) -> dict[str, SuiteInput]:
    """Silver suites' inputs from the staged silver tables and quality report of ``run_date``.

    * ``silver_clients``: the ``clients`` table.
    * ``silver_purchases``: the ``purchases`` table plus ``expected_total`` (DECIMAL(18,2),
      ``round(price * quantity, 2)``, Spark's ``round`` is half-up) and ``client_in_silver_clients``
      (boolean, false when ``id_client`` is not in silver clients).
    * ``silver_quality_report``: one row per dataset from the report with ``table, input_rows,
      output_rows, rejected_rows, malformed_rows`` (long; ``malformed_rows`` is
      ``rejects_by_reason.malformed_row``), ``output_plus_rejected_rows``, ``rows_in_table``,
      ``rows_in_rejects`` and ``malformed_in_rejects`` (counted on the staged tables) and
      ``rejected_pct`` (double, rejected_rows / input_rows x 100, 0 when input_rows is 0).

    Parameters: ``run_date`` (ISO date string), ``reject_threshold_pct`` (percent).

    Args:
        tables: ``clients``, ``purchases`` and the rejects tables (:data:`medallion.contract.REJECTS_TABLES`).

    Raises:
        QualityGateError: the report lacks a dataset or one of its counts (the ``malformed_row``
            count included).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    clients, purchases = tables["clients"], tables["purchases"]
    spark = clients.sparkSession
    known = clients.select("id_client").distinct().withColumn("client_in_silver_clients", F.lit(True))
    checked = (
        purchases.join(known, on="id_client", how="left")
        .withColumn("client_in_silver_clients", F.coalesce(F.col("client_in_silver_clients"), F.lit(False)))
        .withColumn("expected_total", F.round(F.col("price") * F.col("quantity"), 2).cast("decimal(18,2)"))
    )
    rows = []
    for dataset in DATASETS:
        entry = report.get(dataset)
        if not isinstance(entry, Mapping) or any(k not in entry for k in ("input_rows", "output_rows", "rejected_rows")):
            raise QualityGateError(f"quality_report: missing {dataset}.input_rows/output_rows/rejected_rows")
        input_rows, output_rows, rejected_rows = (int(entry[k]) for k in ("input_rows", "output_rows", "rejected_rows"))
        malformed_rows = (entry.get("rejects_by_reason") or {}).get(MALFORMED_ROW)
        if malformed_rows is None:
            raise QualityGateError(f"quality_report: missing {dataset}.rejects_by_reason.{MALFORMED_ROW}")
        rejects = tables[REJECTS_TABLES[dataset]].agg(
            F.count(F.lit(1)).alias("rows"),
            F.count(F.when(F.col("reason") == MALFORMED_ROW, 1)).alias("malformed")).first()
        pct = round(rejected_rows / input_rows * 100, 2) if input_rows else 0.0
        rows.append((dataset, input_rows, output_rows, rejected_rows, int(malformed_rows),
                     output_rows + rejected_rows, tables[dataset].count(), rejects["rows"], rejects["malformed"], pct))
    schema = StructType([StructField("table", StringType(), False)] + [
        StructField(name, LongType(), False) for name in (
            "input_rows", "output_rows", "rejected_rows", "malformed_rows", "output_plus_rejected_rows",
            "rows_in_table", "rows_in_rejects", "malformed_in_rejects")
    ] + [StructField("rejected_pct", DoubleType(), False)])
    params = {"run_date": run_date, "reject_threshold_pct": float(reject_threshold_pct)}
    return {
        "silver_clients": SuiteInput(clients, params),
        "silver_purchases": SuiteInput(checked, params),
        "silver_quality_report": SuiteInput(spark.createDataFrame(rows, schema), params),
    }


def gold_inputs(tables: Mapping[str, "DataFrame"], distributions: Mapping[str, Any]) -> dict[str, SuiteInput]:
    """Gold suites' inputs from the staged gold tables and ``statistical_distributions`` document.

    Parameters computed once from ``fact_sales``: ``fact_total_revenue_min/max`` (sum of
    ``total`` -/+ half a cent, currency units), ``first_purchase_date`` and ``last_purchase_date``
    (ISO dates), ``calendar_days`` (days from first to last, inclusive); and from the document:
    ``overall_total_revenue_min/max`` (``overall_metrics.total_revenue`` -/+ half a cent).

    Raises:
        QualityGateError: ``overall_metrics.total_revenue`` is missing.
    """
    from pyspark.sql import functions as F

    stats = tables["fact_sales"].agg(
        F.sum("total").alias("revenue"), F.min("purchase_date").alias("first"),
        F.max("purchase_date").alias("last"),
    ).first()
    overall = (distributions.get("overall_metrics") or {}).get("total_revenue")
    if overall is None:
        raise QualityGateError("statistical_distributions: overall_metrics.total_revenue is missing")
    fact_revenue = float(stats["revenue"] or 0)
    params: dict[str, Any] = {
        "fact_total_revenue_min": fact_revenue - HALF_CENT,
        "fact_total_revenue_max": fact_revenue + HALF_CENT,
        "overall_total_revenue_min": float(overall) - HALF_CENT,
        "overall_total_revenue_max": float(overall) + HALF_CENT,
        "first_purchase_date": stats["first"].isoformat() if stats["first"] else None,
        "last_purchase_date": stats["last"].isoformat() if stats["last"] else None,
        "calendar_days": (stats["last"] - stats["first"]).days + 1 if stats["first"] else 0,
    }
    return {f"gold_{table}": SuiteInput(tables[table], params) for table in GOLD_MONEY_COLUMNS}
