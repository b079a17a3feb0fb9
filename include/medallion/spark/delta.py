"""Silver and gold Delta Lake tables on Spark: read a run date's snapshot, commit a run date's partition.

Each table lives at ``<layer>/<table>/`` (:func:`medallion.lake.table_uri`), partitioned by
``run_date``. A job commits a run date by overwriting exactly that partition
(``replaceWhere run_date = D``) in one Delta transaction per table, with the run's identity in
the commit's user metadata; readers (Spark, ``deltalake``, DuckDB, polars…) see the previous
snapshot or the new one, never a half-written one, and Delta's history gives every earlier
version back. Files written by a job that dies before its commit are never read and are removed
by ``VACUUM`` (:func:`medallion.tables.apply_retention`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import lake
from medallion.config import Settings
from medallion.contract import PARTITION_COLUMN

log = logging.getLogger(__name__)


def _predicate(run_date: str) -> str:
    return f"{PARTITION_COLUMN} = DATE'{run_date}'"


def read_snapshot(spark: SparkSession, settings: Settings, layer: str, table: str, run_date: str) -> DataFrame:
    """The current rows of ``run_date`` in a Delta table, without the partition column.

    Raises:
        FileNotFoundError: there is no Delta table at the table's location (names it).
    """
    from medallion.tables import open_table

    open_table(settings, layer, table)  # raises naming the location; deltalake needs no Spark job
    return (spark.read.format("delta").load(lake.table_uri(settings, layer, table))
            .where(_predicate(run_date)).drop(PARTITION_COLUMN))


def commit_metadata(run_id: str, run_date: str, logical_date: str | None, job: str) -> dict[str, str]:
    """User metadata of a commit: the Airflow run id, the run date, the logical date and the job."""
    return {"run_id": run_id, "run_date": run_date, "logical_date": logical_date or run_date, "job": job}


def commit_partition(frame: DataFrame, settings: Settings, layer: str, table: str, run_date: str,
                     metadata: Mapping[str, Any]) -> int:
    """Replace ``run_date``'s partition of ``layer``/``table`` with ``frame`` in one Delta transaction.

    ``frame`` must not hold ``run_date``: the column is added. The table is created, partitioned by
    ``run_date``, on its first commit; later commits must keep its schema (Delta rejects a
    different one, naming the columns). An empty ``frame`` for a partition that holds no rows
    changes nothing, and Delta then records no commit.

    Returns:
        The table's version after the commit: the version that holds ``frame`` as ``run_date``'s rows.
    """
    from medallion.tables import open_table

    (frame.withColumn(PARTITION_COLUMN, F.lit(run_date).cast("date"))
     .write.format("delta").mode("overwrite")
     .option("replaceWhere", _predicate(run_date))
     .option("userMetadata", json.dumps(dict(metadata), sort_keys=True))
     .partitionBy(PARTITION_COLUMN)
     .save(lake.table_uri(settings, layer, table)))
    return open_table(settings, layer, table).version()  # read with deltalake: no Spark job


def commit_layer(frames: Mapping[str, DataFrame], settings: Settings, layer: str, run_date: str,
                 metadata: Mapping[str, Any], run_started: datetime) -> dict[str, int]:
    """:func:`commit_partition` of each table of ``frames``, in their order; returns ``{table: version}``.

    Once every table is committed, the files of ``run_date``'s partitions that this run wrote
    since ``run_started`` (timezone-aware: the start of the run, before its first attempt) and
    never committed are deleted (:func:`medallion.tables.remove_orphans`).

    Each table commits on its own (Delta has no multi-table transaction): call this only once
    every table has passed its gate, and write the layer's documents after it returns, so that a
    document never describes an uncommitted run. Put the largest table first: its write is most
    of the time spent here and nothing of the layer is committed until it ends, so a job that
    dies meanwhile leaves every table as it was; only a failure between the later, short commits
    leaves some tables of the date new and some old, until the retry commits them all.
    """
    from medallion.tables import remove_orphans

    versions = {}
    for table, frame in frames.items():
        began = time.perf_counter()
        versions[table] = commit_partition(frame, settings, layer, table, run_date, metadata)
        log.info("committed %s/%s run_date=%s as version %d in %.1f s", layer, table, run_date,
                 versions[table], time.perf_counter() - began)
    for table in frames:
        try:
            remove_orphans(settings, layer, table, run_date, run_started)
        except Exception as error:  # noqa: BLE001 - the layer is committed: a retry would redo it for nothing
            log.warning("could not remove the orphan files of %s/%s run_date=%s (VACUUM will): %s: %s",
                        layer, table, run_date, type(error).__name__, error)
    return versions
