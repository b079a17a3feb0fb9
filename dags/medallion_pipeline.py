"""
### Medallion pipeline: landing CSVs → bronze → silver → gold → MongoDB

Runs every day for its **logical date** (`ds`), the as-of date of every number it produces: re-running a
date gives the same bytes. Trigger it from the UI with **Trigger DAG w/ config** to override the run date or
the future-date policy.

| task | what it does |
| --- | --- |
| `ingest_bronze` | copies `sources/clients.csv` and `sources/purchases.csv` byte-for-byte into the write-once bronze archive (`bronze/<dataset>/ingest_date=<run date>/`) with a manifest (sha256, bytes, rows). A missing, empty or wrong-header file fails here, naming the file. |
| `gate_bronze` | Great Expectations checkpoint on the bronze files (contract columns, rows > 0, manifest row count), run on the Spark cluster. |
| `silver_transformation` | Spark job: typed, cleaned `clients` and `purchases`, every rejected row kept in `_rejects/` with its reason, `quality_report.json`. |
| `gate_silver` | GX checkpoint on silver: keys, emails, dates, amounts, referential integrity, rejected share under the threshold. |
| `gold_aggregation` | Spark job: `fact_sales`, `client_kpis` (RFM), product, country, daily, weekly and monthly tables, `statistical_distributions.json`, `gold_summary.json`. |
| `gate_gold` | GX checkpoint on gold: unique keys, non-negative money, market shares, revenue reconciliation, calendar without gaps, RFM scores. |
| `publish_gold` | loads gold into MongoDB (`mongo_default`) through staging collections swapped in by rename, with a `_publish_log`. |
| `build_data_docs` | rebuilds the GX data docs after every run, failed or not (**Data quality** in the Airflow menu). |
| `run_summary` | logs row counts, data-quality score and revenue from the quality report and gold summary. |

A failed task stops everything downstream; Spark driver errors appear in the task log. Connections come from
`AIRFLOW_CONN_SPARK_DEFAULT` and `AIRFLOW_CONN_MONGO_DEFAULT`; lake settings from the environment (`.env.example`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Asset, Param, TriggerRule, chain, task

from medallion.config import Settings
from medallion.lake import display_uri
from medallion.spark.conf import spark_conf, submit_resources

SPARK_JOBS_DIR = Path(os.environ.get("SPARK_JOBS_DIR", Path(__file__).resolve().parents[1] / "spark_jobs"))
RUN_DATE = "{{ params.run_date or ds }}"

settings = Settings.from_env()


def _asset(layer: str, table: str) -> Asset:
    return Asset(name=f"{layer}_{table.strip('_').replace('/', '_')}", uri=display_uri(settings, layer, table).replace(" ", "%20") if settings.is_s3 else f"file://{display_uri(settings, layer, table)}")


BRONZE_ASSETS = [_asset("bronze", "clients"), _asset("bronze", "purchases")]
SILVER_ASSETS = [_asset("silver", "clients"), _asset("silver", "purchases")]
GOLD_ASSETS = [_asset("gold", name) for name in
               ("fact_sales", "client_kpis", "product_analytics", "country_analytics",
                "daily_sales", "weekly_sales", "monthly_sales")]

default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def spark_task(task_id: str, script: str, *args: str, outlets: list[Asset] | None = None, doc: str) -> SparkSubmitOperator:
    """A spark-submit of ``spark_jobs/<script>`` on ``spark_default`` for the run date.

    Spark jobs are not retried automatically: they are deterministic, so a retry would fail the same way
    (fix the input and clear the task instead).
    """
    return SparkSubmitOperator(
        task_id=task_id,
        application=str(SPARK_JOBS_DIR / script),
        application_args=["--run-date", RUN_DATE, "--run-id", "{{ run_id }}", *args],
        conn_id="spark_default",
        name=f"medallion-{task_id}",
        conf=spark_conf(settings),
        **submit_resources(),
        retries=0,
        outlets=outlets or [],
        doc_md=doc,
    )


with DAG(
    dag_id="medallion_pipeline",
    description="Landing CSVs → bronze → silver → gold (Spark) with GX gates, published to MongoDB",
    doc_md=__doc__,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["medallion", "spark", "great-expectations", "mongodb"],
    params={
        "run_date": Param(None, type=["null", "string"], format="date",
                          description="As-of date to process (YYYY-MM-DD); empty = the logical date."),
        "future_dates": Param("reject", enum=["reject", "cap"],
                              description="Rows dated after the run date: reject them, or cap the date to the run date (the seed's behaviour)."),
    },
) as dag:

    @task(outlets=BRONZE_ASSETS, retries=3)
    def ingest_bronze(params: dict, ds: str, run_id: str) -> dict:
        """Copy the landing-zone CSVs into the write-once bronze archive for the run date.

        Retried with exponential backoff on storage errors; a missing, empty or wrong-header file fails
        at once (no retry) with a message naming the file.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from medallion.bronze import BronzeError, ingest

        try:
            return ingest(Settings.from_env(), params.get("run_date") or ds, run_id)
        except BronzeError as error:  # bad input: retrying cannot help, fail at once
            raise AirflowFailException(str(error)) from error

    gate_bronze = spark_task("gate_bronze", "quality_gate.py", "--layer", "bronze",
                             doc="GX checkpoint on the bronze files of the run date.")
    silver = spark_task("silver_transformation", "silver_transformation.py",
                        "--future-dates", "{{ params.future_dates }}", outlets=SILVER_ASSETS,
                        doc="Spark silver job: typed and cleaned tables, rejects with reasons, quality report.")
    gate_silver = spark_task("gate_silver", "quality_gate.py", "--layer", "silver",
                             doc="GX checkpoint on silver; fails when the rejected share exceeds the threshold.")
    gold = spark_task("gold_aggregation", "gold_aggregation.py", outlets=GOLD_ASSETS,
                      doc="Spark gold job: fact table, client KPIs with RFM, product/country/time aggregates, statistics.")
    gate_gold = spark_task("gate_gold", "quality_gate.py", "--layer", "gold",
                           doc="GX checkpoint on gold: keys, money, shares, reconciliation, calendar, RFM.")

    @task(retries=3)
    def publish_gold(params: dict, ds: str, run_id: str) -> dict:
        """Publish the gold snapshot of the run date into MongoDB (``mongo_default``), collection by collection.

        Each collection is loaded into a staging collection and swapped in by ``renameCollection``, so readers
        never see a half-written collection; retried with exponential backoff on failure.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from medallion.publish import PublishRefused, publish_gold_with_airflow_hook

        run_date = params.get("run_date") or ds
        try:
            return publish_gold_with_airflow_hook(Settings.from_env(), run_date, run_id, run_date)
        except PublishRefused as error:  # an older date after a newer one: retrying cannot help
            raise AirflowFailException(str(error)) from error

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=1)
    def build_data_docs() -> str:
        """Rebuild the Great Expectations data docs (after every run, failed or not) and copy them to the lake."""
        from medallion.quality import build_data_docs as build

        return build(Settings.from_env())

    @task
    def run_summary(params: dict, ds: str) -> dict:
        """Log row counts, data-quality score and revenue of the run from the quality report and gold summary."""
        from medallion.reporting import log_run_summary

        return log_run_summary(Settings.from_env(), params.get("run_date") or ds)

    ingested = ingest_bronze()
    published = publish_gold()
    chain(ingested, gate_bronze, silver, gate_silver, gold, gate_gold, published, run_summary())
    [gate_bronze, gate_silver, gate_gold] >> build_data_docs()
