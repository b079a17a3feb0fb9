"""The gold job on Spark: read a silver snapshot, build, audit and commit the gold tables and documents.

:func:`run` reads the committed silver rows of a run date, builds ``fact_sales`` once, derives every
aggregate from it (:mod:`medallion.spark.gold_tables`, pure transforms on DataFrames), audits the
staged tables with the gold gate and commits them (Delta Lake, one transaction per table:
:mod:`medallion.spark.delta`), then writes the documents (:mod:`medallion.spark.gold_documents`).

Every output column, its type, unit and formula is documented once in :mod:`medallion.metrics`
(rendered to ``docs/METRICS.md``); money arithmetic is exact (:mod:`medallion.spark.gold_columns`)
and quantiles too (:mod:`medallion.spark.order_statistics`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from medallion import lake
from medallion.config import Settings
from medallion.contract import SILVER_SCHEMAS
from medallion.spark import delta
from medallion.spark import gold_columns as gc
from medallion.spark.gold_documents import gold_summary, statistical_distributions
from medallion.spark.gold_tables import build_fact_sales, gold_tables, product_country_cube


# --- I/O and the job ------------------------------------------------------------------------------

def silver_schema(table: str) -> StructType:
    """Spark schema of a silver table from :data:`medallion.contract.SILVER_SCHEMAS`.

    Needs an active SparkSession (Spark parses the DDL type names).
    """
    return StructType.fromDDL(", ".join(f"{name} {kind}" for name, kind in SILVER_SCHEMAS[table]))


def read_silver(spark: SparkSession, settings: Settings, run_date: str, table: str) -> DataFrame:
    """Read the committed silver rows of ``run_date`` of one table, with its contract columns.

    Raises:
        FileNotFoundError: the silver table does not exist.
        ValueError: a contract column is missing from the table or has another type (names the
            table and the column).
    """
    frame = delta.read_snapshot(spark, settings, "silver", table, run_date)
    found = {field.name: field.dataType for field in frame.schema.fields}
    for field in silver_schema(table).fields:
        if field.name not in found:
            raise ValueError(f"silver table {table}: column {field.name!r} is missing "
                             f"(found {', '.join(sorted(found))})")
        if found[field.name] != field.dataType:
            raise ValueError(f"silver table {table}: column {field.name!r} has type "
                             f"{found[field.name].simpleString()}, expected {field.dataType.simpleString()}")
    return frame.select(*silver_schema(table).fieldNames())


def run(spark: SparkSession, settings: Settings, run_date: str, run_id: str, *,
        logical_date: str | None = None, run_started: datetime | None = None) -> dict[str, Any]:
    """Build, audit and commit the gold layer of ``run_date`` from its committed silver rows.

    Write–audit–publish in one Spark application: ``fact_sales`` is built once and persisted,
    every aggregate and ``statistical_distributions`` is derived from it, the **gold gate**
    validates the seven staged tables and the documents, and only then is each table's
    ``run_date`` partition committed (:func:`medallion.spark.delta.commit_layer`) and
    ``statistical_distributions.json`` and ``gold_summary.json`` written to the gold documents.
    A failed gate raises before anything of the layer is written.

    Args:
        logical_date: the Airflow logical date (recorded in the commits); default ``run_date``.
        run_started: when the run began (timezone-aware), before its first attempt: the files of
            the run date's partitions written since then and never committed are removed after the
            commits (:func:`medallion.spark.delta.commit_layer`); default: when this call began.

    Returns:
        The ``gold_summary.json`` document (with ``commit``: table versions and logical date).

    Raises:
        ValueError: ``run_date`` is not ``YYYY-MM-DD`` or a silver column is wrong.
        FileNotFoundError: silver has no committed output for ``run_date`` (names the document).
        medallion.quality.GateFailed: the gold gate failed (nothing committed).
    """
    from medallion import quality
    from medallion.quality.inputs import gold_inputs
    from medallion.tables import open_table

    run_started = run_started or datetime.now(timezone.utc)
    as_of = gc.as_date(run_date)
    run_date = as_of.isoformat()
    lake.read_document(settings, "silver", run_date, "quality_report")  # silver committed for the date?
    silver_versions = {table: open_table(settings, "silver", table).version() for table in ("clients", "purchases")}
    clients = read_silver(spark, settings, run_date, "clients")
    purchases = read_silver(spark, settings, run_date, "purchases")
    # Every aggregate, the statistics and the gate read the fact table: computed once, kept.
    fact = build_fact_sales(clients, purchases).persist()
    by_product_country = product_country_cube(fact).persist()
    staged = {name: table if name == "fact_sales" else table.persist()
              for name, table in gold_tables(fact, clients, as_of, by_product_country=by_product_country).items()}
    distributions = statistical_distributions(fact, by_product_country=by_product_country)
    summary = gold_summary(staged, run_id=run_id, as_of=as_of, silver_versions=silver_versions)
    with quality.working_context(settings) as context:
        quality.audit(context, settings, "gold", gold_inputs(staged, distributions), run_date, run_id)

    metadata = delta.commit_metadata(run_id, run_date, logical_date, "gold_aggregation")
    versions = delta.commit_layer(staged, settings, "gold", run_date, metadata, run_started)
    # Committed: free the executors' storage of the staged frames for what the application runs next
    # (the benchmark and the tests run gold after silver in one session).
    spark.catalog.clearCache()
    summary["commit"] = {"logical_date": metadata["logical_date"], "table_versions": versions}
    lake.write_document(settings, "gold", run_date, "statistical_distributions", distributions)
    lake.write_document(settings, "gold", run_date, "gold_summary", summary)
    return summary

