"""The pandas reference engine: the silver and gold contract on one machine, without Spark.

It is an *independent* implementation of issues 3 (silver) and 4 (gold) and of
:mod:`medallion.contract`, used by the benchmark (``python -m medallion.devtools.benchmark``) and by the
differential check (:mod:`medallion.devtools.diffcheck`): where this engine and the Spark jobs disagree, one
of them is wrong.

Modules: :mod:`~medallion.engines.pandas_silver` (reading bronze, the silver rules),
:mod:`~medallion.engines.pandas_gold` (fact table and business tables),
:mod:`~medallion.engines.pandas_documents` (the gold JSON documents),
:mod:`~medallion.engines.pandas_arrow` (Arrow schemas, exact integer arithmetic); this one runs a
layer and commits it (:func:`run_silver`, :func:`run_gold`).

How it computes:

* Sources are read with ``pyarrow.csv`` from bronze (:func:`medallion.bronze.latest_version`) in the
  encoding their manifest records, with every contract column typed as ``string`` (no inference);
  extra columns are ignored. A file with malformed lines is read line by line instead, as Spark reads
  it (:mod:`medallion.engines.csv_lines`).
* String rules (trim, regex, lower-case) run as vectorised ``pyarrow.compute`` kernels, numbers as
  NumPy arrays, grouping with pandas. No per-row Python code (no ``apply``/``iterrows``).
* Money is handled as exact **integer cents** (``int64``): half-up rounding (half away from zero,
  like Java's ``RoundingMode.HALF_UP`` that Spark uses) is done on integers, and cents become
  ``decimal128(18, 2)`` only when a table is written. Percentages and other ratios that the contract
  rounds to 2 decimals are computed exactly on integers too, then stored as ``double``.
* Outputs follow the lake layout of :mod:`medallion.lake`: each table is a Delta Lake table whose
  ``run_date`` partition is replaced in one transaction (:func:`medallion.tables.write_snapshot`,
  commit metadata: run id, run date, logical date, ``engine: pandas``); a layer's JSON documents
  are written (:func:`medallion.lake.write_document`) only after all its tables are committed, so
  readers never see a half-written layer and a document never describes an uncommitted run.
* Independent columns are parsed on a thread pool (Arrow and NumPy kernels release the GIL), and
  gold tables are committed by a background thread while the next one is computed, so both cores
  of the target machine are used.

Formulas, column names, types and units of every output come from issues 3 and 4 and are documented
once in :mod:`medallion.metrics` (gold) and :mod:`medallion.contract` (silver); a unit test checks the
gold schemas against the glossary. The same bronze bytes, run date and run id give the same rows
and the same JSON documents except for the Delta table versions they name (``commit``,
``silver_versions``), as with the Spark jobs (no wall-clock value is written).

Silver (``<lake>/silver/``): the Delta tables of :data:`medallion.contract.SILVER_TABLES`
(``clients``, ``purchases`` with ``year_month`` as a plain column, ``clients_rejects``,
``purchases_rejects``) and ``_documents/run_date=D/quality_report.json``.
Gold (``<lake>/gold/``): the Delta tables of :data:`medallion.contract.GOLD_TABLES` and
``_documents/run_date=D/statistical_distributions.json`` and ``gold_summary.json``.
Every table is partitioned by ``run_date`` only (:data:`medallion.contract.PARTITION_COLUMN`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from medallion import contract as C
from medallion import lake
from medallion.config import Settings
from medallion.engines.pandas_documents import gold_summary, statistical_distributions
from medallion.engines.pandas_gold import (
    build_fact,
    client_kpis,
    client_kpis_table,
    country_analytics,
    daily_sales,
    fact_table,
    monthly_sales,
    product_analytics,
    weekly_sales,
)
from medallion.engines.pandas_silver import bronze_file, clean_clients, clean_purchases, quality_summary, read_source
from medallion.tables import last_commit, read_snapshot, write_snapshot

ENGINE = "pandas"


def commit_metadata(run_id: str, run_date: str, logical_date: str | None = None) -> dict[str, str]:
    """User metadata of this engine's commits: run id, run date, logical date (default: the run
    date) and ``engine`` (the Spark jobs record ``job`` instead)."""
    return {"run_id": run_id, "run_date": run_date, "logical_date": logical_date or run_date, "engine": ENGINE}


def commit_layer(settings: Settings, layer: str, run_date: str, data: Mapping[str, pa.Table],
                 metadata: Mapping[str, Any]) -> dict[str, int]:
    """Replace ``run_date``'s partition of each table of ``data`` (one Delta transaction per table).

    The tables are committed concurrently (Parquet encoding and the ``deltalake`` writer release
    the GIL); the first failure is raised once the others have finished. Write the layer's
    documents only after this returns.

    Returns:
        ``{table: committed version}`` in the order of ``data``.
    """
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix=f"commit-{layer}") as pool:
        futures = {name: pool.submit(write_snapshot, settings, layer, name, run_date, table, dict(metadata))
                   for name, table in data.items()}
    return {name: future.result() for name, future in futures.items()}


def run_silver(settings: Settings, run_date: str, run_id: str, future_dates: str | None = None, *,
               logical_date: str | None = None) -> dict[str, Any]:
    """Bronze -> silver for ``run_date`` with the pandas engine; returns the quality report.

    Reads the latest bronze version of both datasets for the run date, applies the contract
    (``future_dates`` policy ``reject``/``cap``, default ``settings.future_dates``), commits the
    ``run_date`` partition of the four silver tables (:data:`medallion.contract.SILVER_TABLES`:
    ``clients`` sorted by id_client, ``purchases`` sorted by year_month, id_purchase, and the
    rejects tables sorted by source_row; see :func:`commit_layer`), then writes
    ``quality_report.json`` ``{"clients": ..., "purchases": ..., "summary": ..., "commit": ...}``
    (per table: ``input_rows, output_rows, rejected_rows, rejects_by_reason, null_values,
    total_recalculated, future_dates, unknown_values``; see :func:`clean_clients`,
    :func:`clean_purchases`, :func:`quality_summary`; ``commit``: ``logical_date``,
    ``table_versions`` and the ``bronze`` files read, as :func:`medallion.spark.silver.run` writes it).

    Args:
        logical_date: the Airflow logical date recorded in the commits; default ``run_date``.

    Raises:
        FileNotFoundError: no bronze data for the run date (raised by :mod:`medallion.bronze`).
        ValueError: a bronze file lacks a contract column or is not valid CSV.
    """
    from medallion.bronze import manifest_encoding

    date.fromisoformat(run_date)
    future_dates = future_dates or settings.future_dates
    clients_path, clients_manifest = bronze_file(settings, "clients", run_date)
    clients_src = read_source(settings, clients_path, "clients", expected_rows=int(clients_manifest["data_rows"]),
                              encoding=manifest_encoding(clients_manifest))
    clients, client_rejects, clients_report = clean_clients(clients_src, run_date, run_id, future_dates)
    del clients_src
    purchases_path, purchases_manifest = bronze_file(settings, "purchases", run_date)
    purchases_src = read_source(settings, purchases_path, "purchases",
                                expected_rows=int(purchases_manifest["data_rows"]),
                                encoding=manifest_encoding(purchases_manifest))
    client_ids = np.asarray(clients.column("id_client").to_numpy(), dtype=np.int64)
    purchases, purchase_rejects, purchases_report = clean_purchases(
        purchases_src, client_ids, run_date, run_id, future_dates)
    del purchases_src
    report = {
        "clients": clients_report,
        "purchases": purchases_report,
        "summary": quality_summary(clients_report, purchases_report, run_id, run_date, future_dates),
    }
    metadata = commit_metadata(run_id, run_date, logical_date)
    staged = {"clients": clients, "purchases": purchases,
              C.REJECTS_TABLES["clients"]: client_rejects, C.REJECTS_TABLES["purchases"]: purchase_rejects}
    versions = commit_layer(settings, "silver", run_date, staged, metadata)
    report["commit"] = {
        "logical_date": metadata["logical_date"],
        "table_versions": versions,
        "bronze": {m["dataset"]: {"file": m["file"], "version": m["version"], "sha256": m["sha256"]}
                   for m in (clients_manifest, purchases_manifest)},
    }
    lake.write_document(settings, "silver", run_date, "quality_report", report)
    return report

def build_gold(purchases: pa.Table, clients: pa.Table, run_date: str, run_id: str,
               silver_versions: Mapping[str, int] | None = None,
               sink: Callable[[str, pa.Table], None] | None = None
               ) -> tuple[dict[str, pa.Table], dict[str, Any], dict[str, Any]]:
    """All gold tables and documents from silver ``purchases`` and ``clients`` (Arrow tables).

    Returns ``(tables, statistical_distributions, gold_summary)``; the fact table is built once and
    reused by every aggregate. With ``sink``, each table is handed to ``sink(name, table)`` as soon
    as it is built and only the small tables are kept in ``tables`` (bounded memory).
    Raises ValueError when there is no purchase to aggregate.
    """
    as_of = int(np.datetime64(run_date, "D").astype(np.int64))
    fact = build_fact(purchases, clients)
    del purchases
    tables: dict[str, pa.Table] = {}
    row_counts: dict[str, int] = {}
    builders: dict[str, Callable[[], pa.Table]] = {
        "fact_sales": lambda: fact_table(fact),
        "client_kpis": lambda: client_kpis_table(kpis, fact),
        "product_analytics": lambda: product_analytics(fact),
        "country_analytics": lambda: country_analytics(fact),
        "daily_sales": lambda: daily_sales(fact),
        "weekly_sales": lambda: weekly_sales(fact),
        "monthly_sales": lambda: monthly_sales(fact),
    }
    kpis = client_kpis(fact, as_of)
    for name in C.GOLD_TABLES:
        table = builders[name]()
        row_counts[name] = table.num_rows
        if sink is not None:
            sink(name, table)
        if sink is None or name not in ("fact_sales", "client_kpis"):
            tables[name] = table
        del table
    distributions = statistical_distributions(fact)
    summary = gold_summary(fact, kpis, tables, row_counts, run_id, run_date, silver_versions)
    return tables, distributions, summary


def run_gold(settings: Settings, run_date: str, run_id: str, *, logical_date: str | None = None) -> dict[str, Any]:
    """Silver -> gold for ``run_date`` with the pandas engine; returns ``gold_summary``.

    Reads the committed silver ``clients`` and ``purchases`` rows of the run date, commits the
    ``run_date`` partition of every gold table (each one while the next is computed, so that
    ``fact_sales`` and ``client_kpis`` are not all held in memory), then writes
    ``statistical_distributions.json`` and ``gold_summary.json``; the summary names the silver
    versions read (``silver_versions``) and, under ``commit``, the ``logical_date`` and the gold
    ``table_versions``, as :func:`medallion.spark.gold.run` writes it. Unlike the Spark job there
    is no gate between building and committing: an error while the tables are built (after the
    up-front checks) leaves the tables committed so far replaced, and no new documents.

    Args:
        logical_date: the Airflow logical date recorded in the commits; default ``run_date``.

    Raises:
        FileNotFoundError: silver has no committed output for the run date (names the document).
        ValueError: silver holds no purchase.
    """
    date.fromisoformat(run_date)
    lake.read_document(settings, "silver", run_date, "quality_report")  # silver committed for the date?
    silver_versions = {table: last_commit(settings, "silver", table)["version"] for table in ("clients", "purchases")}
    purchases = read_snapshot(settings, "silver", "purchases", run_date,
                              columns=[name for name, _ in C.SILVER_SCHEMAS["purchases"] if name != "year_month"])
    if purchases.num_rows == 0:  # checked before the first commit: nothing of the date is replaced
        raise ValueError(f"silver purchases hold no row for run date {run_date}: no gold to compute")
    clients = read_snapshot(settings, "silver", "clients", run_date,
                            columns=[name for name, _ in C.SILVER_SCHEMAS["clients"]])
    metadata = commit_metadata(run_id, run_date, logical_date)

    # Tables are committed by a background thread (Parquet encoding and the Delta writer release
    # the GIL) while the next aggregate is computed; at most one table waits in memory.
    versions: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit-gold") as writer:
        pending: list = []

        def settle() -> None:
            for name, future in pending:
                versions[name] = future.result()
            pending.clear()

        def write(name: str, table: pa.Table) -> None:
            settle()
            pending.append((name, writer.submit(write_snapshot, settings, "gold", name, run_date, table, metadata)))

        _, distributions, summary = build_gold(purchases, clients, run_date, run_id, silver_versions, sink=write)
        settle()
    summary["commit"] = {"logical_date": metadata["logical_date"],
                         "table_versions": {name: versions[name] for name in C.GOLD_TABLES}}
    lake.write_document(settings, "gold", run_date, "statistical_distributions", distributions)
    lake.write_document(settings, "gold", run_date, "gold_summary", summary)
    return summary
