"""
### Medallion pipeline: landing CSVs → bronze → silver → gold (Delta Lake) → MongoDB

Runs every day for its **run date**, the as-of date of every number it produces: re-running a date gives the
same rows and values. The run date is the `run_date` param when given (**Trigger DAG w/ config**, which also
sets the future-date policy), else the run's **logical date**; a run created *without* a logical date
(`airflow dags trigger` without `--logical-date`, the REST API with `logical_date: null`) takes the date of its
`run_after` (when it was triggered for), in UTC. Every task uses the same rule
(`medallion.operators.run_date_of`).

Silver and gold are **Delta Lake** tables partitioned by `run_date`; each layer job follows
**write–audit–publish**: it stages its output, validates it with its Great Expectations gate *in the same
Spark application*, and only then replaces the run date's partition of each table (one Delta transaction
per table). A failed gate commits nothing: readers keep the previous snapshot.

| task | what it does | gate |
| --- | --- | --- |
| `ingest_bronze` | copies `sources/clients.csv` and `sources/purchases.csv` byte-for-byte into the write-once bronze archive (`bronze/<dataset>/ingest_date=<run date>/`) with a manifest (sha256, bytes, rows, encoding). A missing, empty or wrong-header file, or one that does not decode in its declared encoding (`CLIENTS_ENCODING` / `PURCHASES_ENCODING`), fails here, naming the file. | |
| `silver_transformation` | Spark job: reads the bronze files, **gate_bronze** (contract columns, rows > 0, row count = manifest), then typed, cleaned `clients` and `purchases` with every rejected row kept in `clients_rejects` / `purchases_rejects` with its reason, **gate_silver** (keys, emails, dates, amounts, referential integrity, rejected share under the threshold), then the commit and `quality_report.json`. | gate_bronze, gate_silver |
| `gold_aggregation` | Spark job: `fact_sales`, `client_kpis` (RFM), product, country, daily, weekly and monthly tables and the statistics, **gate_gold** (unique keys, non-negative money, market shares, revenue reconciliation, calendar without gaps, RFM scores), then the commit, `statistical_distributions.json` and `gold_summary.json`. | gate_gold |
| `publish_gold` | loads gold into MongoDB (`mongo_default`) through staging collections swapped in by rename, with a `_publish_log`. | |
| `lake_maintenance` | deletes run-date partitions older than `RETENTION_DAYS` (default: keep all) and `VACUUM`s silver and gold (`VACUUM_RETAIN_HOURS`). | |
| `build_data_docs` | rebuilds the GX data docs after every run, failed or not (**Data quality** in the Airflow menu). | |
| `run_summary` | logs row counts, data-quality score and revenue from the quality report and gold summary. | |

A failed gate or bad input fails its task at once (no retry) with a message naming the gate and each failed
expectation; other Spark failures (a lost executor, storage errors) are retried. Connections come from
`AIRFLOW_CONN_SPARK_DEFAULT` and `AIRFLOW_CONN_MONGO_DEFAULT`; lake settings from the environment
(`.env.example`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, Param, TriggerRule, chain, task

from medallion.config import Settings
from medallion.contract import GOLD_TABLES, SILVER_TABLES
from medallion.lake import display_uri
from medallion.operators import TIMEZONE, SparkJobOperator, logical_date_of, run_date_of
from medallion.spark.conf import spark_conf, submit_resources

SPARK_JOBS_DIR = Path(os.environ.get("SPARK_JOBS_DIR", Path(__file__).resolve().parents[1] / "spark_jobs"))
RUN_DATE = "{{ run_date_of(params, dag_run) }}"

settings = Settings.from_env()


def _asset(layer: str, table: str) -> Asset:
    """The asset of a lake table, named by its URI: a lake at another place (another ``LAKE_ROOT``, a moved
    checkout) holds other assets, never a second URI for the same name, which Airflow would keep inactive."""
    where = display_uri(settings, layer, table)
    return Asset(uri=where.replace(" ", "%20") if settings.is_s3 else f"file://{where}")


BRONZE_ASSETS = [_asset("bronze", "clients"), _asset("bronze", "purchases")]
SILVER_ASSETS = [_asset("silver", name) for name in SILVER_TABLES]
GOLD_ASSETS = [_asset("gold", name) for name in GOLD_TABLES]

default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def spark_task(task_id: str, script: str, *args: str, gates: tuple[str, ...], display: str,
               outlets: list[Asset], doc: str) -> SparkJobOperator:
    """A spark-submit of ``spark_jobs/<script>`` on ``spark_default`` for the run date.

    Retried on infrastructure failures (a lost executor or worker, storage errors); a failed gate or
    bad input fails at once (:class:`medallion.operators.SparkJobOperator`).
    """
    return SparkJobOperator(
        task_id=task_id,
        task_display_name=display,
        application=str(SPARK_JOBS_DIR / script),
        application_args=["--run-date", RUN_DATE, "--run-id", "{{ run_id }}", "--logical-date", "{{ logical_date_of(dag_run) }}",
                          "--run-started", "{{ dag_run.start_date or '' }}", *args],
        conn_id="spark_default",
        name=f"medallion-{task_id}",
        conf=spark_conf(settings),
        **submit_resources(),
        gates=gates,
        run_date=RUN_DATE,
        outlets=outlets,
        doc_md=doc,
    )


with DAG(
    dag_id="medallion_pipeline",
    description="Landing CSVs → bronze → silver → gold (Spark) with GX gates, published to MongoDB",
    doc_md=__doc__,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    user_defined_macros={"run_date_of": run_date_of, "logical_date_of": logical_date_of},
    tags=["medallion", "spark", "great-expectations", "mongodb"],
    params={
        "run_date": Param(None, type=["null", "string"], format="date",
                          description="As-of date to process (YYYY-MM-DD); empty = the logical date (or, for a run "
                                      "without one, the date it was triggered for, in UTC)."),
        "future_dates": Param("reject", enum=["reject", "cap"],
                              description="Rows dated after the run date: reject them, or cap the date to the run date (the seed's behaviour)."),
    },
) as dag:

    @task(outlets=BRONZE_ASSETS, retries=3)
    def ingest_bronze(params: dict, dag_run, run_id: str) -> dict:
        """Copy the landing-zone CSVs into the write-once bronze archive for the run date.

        Retried with exponential backoff on storage errors; a missing, empty, undecodable or wrong-header
        file fails at once (no retry) with a message naming the file.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from medallion.bronze import BronzeError, ingest

        try:
            return ingest(Settings.from_env(), run_date_of(params, dag_run), run_id)
        except BronzeError as error:  # bad input: retrying cannot help, fail at once
            raise AirflowFailException(str(error)) from error

    silver = spark_task(
        "silver_transformation", "silver_transformation.py", "--future-dates", "{{ params.future_dates }}",
        gates=("bronze", "silver"), display="silver: gate_bronze → transform → gate_silver → commit",
        outlets=SILVER_ASSETS,
        doc="Spark silver job: **gate_bronze** on the bronze files, then typed and cleaned tables and their "
            "rejects, **gate_silver** on them, and only then the Delta commit and the quality report.")
    gold = spark_task(
        "gold_aggregation", "gold_aggregation.py",
        gates=("gold",), display="gold: transform → gate_gold → commit", outlets=GOLD_ASSETS,
        doc="Spark gold job: fact table, client KPIs with RFM, product/country/time aggregates and statistics, "
            "**gate_gold** on them, and only then the Delta commit and the gold documents.")

    @task(retries=3)
    def publish_gold(params: dict, dag_run, run_id: str) -> dict:
        """Publish the gold snapshot of the run date into MongoDB (``mongo_default``), collection by collection.

        Each collection is loaded into a staging collection and swapped in by ``renameCollection``, so readers
        never see a half-written collection; retried with exponential backoff on failure.
        """
        from airflow.sdk.exceptions import AirflowFailException

        from medallion.publish import PublishRefused, publish_gold_with_airflow_hook

        run_date = run_date_of(params, dag_run)
        try:
            return publish_gold_with_airflow_hook(Settings.from_env(), run_date, run_id, run_date)
        except PublishRefused as error:  # an older date after a newer one: retrying cannot help
            raise AirflowFailException(str(error)) from error

    @task(retries=1)
    def lake_maintenance(params: dict, dag_run) -> dict:
        """Apply the retention settings to silver and gold: delete expired run-date partitions, then VACUUM.

        ``RETENTION_DAYS`` (0 = keep every run date) and ``VACUUM_RETAIN_HOURS`` (files no version of the
        last N hours needs are removed). Runs after publishing, inside the run, so no job writes meanwhile.
        """
        from medallion.tables import apply_retention

        return apply_retention(Settings.from_env(), run_date_of(params, dag_run))

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=1)
    def build_data_docs() -> str:
        """Rebuild the Great Expectations data docs (after every run, failed or not) and copy them to the lake."""
        from medallion.quality import build_data_docs as build

        return build(Settings.from_env())

    @task
    def run_summary(params: dict, dag_run) -> dict:
        """Log row counts, data-quality score and revenue of the run from the quality report and gold summary."""
        from medallion.reporting import log_run_summary

        return log_run_summary(Settings.from_env(), run_date_of(params, dag_run))

    ingested = ingest_bronze()
    published = publish_gold()
    chain(ingested, silver, gold, published, run_summary())
    published >> lake_maintenance()
    [silver, gold] >> build_data_docs()
