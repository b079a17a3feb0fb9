"""The silver and gold Delta Lake tables from Python, without Spark (the ``deltalake`` package).

Every silver and gold table is a Delta table at ``<layer>/<table>/`` partitioned by ``run_date``
(:data:`medallion.contract.PARTITION_COLUMN`); "the snapshot of run date D" is the table's
current rows with ``run_date = D``. Spark writes the pipeline's tables
(:mod:`medallion.spark.delta`); this module reads them for publishing, reports, the differential
check and tests, writes the pandas engine's tables, and applies the retention settings.

On S3 the ``deltalake`` writer commits with S3's conditional writes; the pipeline has one
writer per table anyway (the DAG runs one run at a time, see ``docker/README.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import posixpath
from typing import Any

import pyarrow as pa

from medallion import lake
from medallion.config import Settings
from medallion.contract import GOLD_TABLES, PARTITION_COLUMN, SILVER_TABLES

log = logging.getLogger(__name__)

#: Tables of each layer that the retention settings apply to (bronze is never deleted).
LAYER_TABLES: dict[str, tuple[str, ...]] = {"silver": SILVER_TABLES, "gold": GOLD_TABLES}


def storage_options(settings: Settings) -> dict[str, str]:
    """``deltalake`` storage options of the lake (empty on the local filesystem)."""
    if not settings.is_s3:
        return {}
    options = {"AWS_REGION": settings.aws_region}
    if settings.aws_access_key_id:
        options.update(AWS_ACCESS_KEY_ID=settings.aws_access_key_id,
                       AWS_SECRET_ACCESS_KEY=settings.aws_secret_access_key)
    if settings.s3_endpoint_url:
        options.update(AWS_ENDPOINT_URL=settings.s3_endpoint_url,
                       AWS_ALLOW_HTTP=str(settings.s3_endpoint_url.startswith("http://")).lower())
    return options


def open_table(settings: Settings, layer: str, table: str, version: int | None = None) -> Any:
    """The ``deltalake.DeltaTable`` of ``layer``/``table`` at ``version`` (default: the latest).

    Raises:
        FileNotFoundError: no Delta table there yet (the message names the location).
    """
    from deltalake import DeltaTable

    uri = lake.delta_uri(settings, layer, table)
    options = storage_options(settings)
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        raise FileNotFoundError(f"{layer} table {table} does not exist yet: no Delta table at {uri}")
    return DeltaTable(uri, storage_options=options, version=version)


def _day(run_date: str | dt.date) -> dt.date:
    return run_date if isinstance(run_date, dt.date) else dt.date.fromisoformat(run_date)


def snapshot_reader(settings: Settings, layer: str, table: str, run_date: str | dt.date,
                    columns: list[str] | None = None, version: int | None = None) -> pa.RecordBatchReader:
    """A stream of record batches of the committed rows of ``run_date``, without the partition column.

    Read by ``deltalake``'s own query engine (memory bounded by the batch size), so any table
    feature it supports is honoured.

    Args:
        columns: the columns to read, in this order (default: every column but ``run_date``).
        version: the table version to read (default: the latest).

    Raises:
        FileNotFoundError: the table does not exist.
    """
    from deltalake import QueryBuilder

    delta = open_table(settings, layer, table, version)
    wanted = columns or [f.name for f in delta.schema().fields if f.name != PARTITION_COLUMN]
    select = ", ".join('"' + name.replace('"', '""') + '"' for name in wanted)
    query = (f'SELECT {select} FROM snapshot WHERE "{PARTITION_COLUMN}" = DATE \'{_day(run_date).isoformat()}\'')
    reader = pa.RecordBatchReader.from_stream(QueryBuilder().register("snapshot", delta).execute(query))
    # The query engine returns text as string_view; the rest of the project (and Parquet) uses string.
    schema = pa.schema([f.with_type(pa.string()) if f.type == pa.string_view() else f for f in reader.schema])
    if schema == reader.schema:
        return reader
    return pa.RecordBatchReader.from_batches(schema, (batch.cast(schema) for batch in reader))


def read_snapshot(settings: Settings, layer: str, table: str, run_date: str | dt.date,
                  columns: list[str] | None = None) -> pa.Table:
    """The committed rows of ``run_date`` in a table as one Arrow table (:func:`snapshot_reader`)."""
    return snapshot_reader(settings, layer, table, run_date, columns).read_all()


def snapshot_files(settings: Settings, layer: str, table: str, run_date: str | dt.date,
                   version: int | None = None) -> list[str]:
    """Paths (for :func:`medallion.lake.filesystem`) of the Parquet files of ``run_date``'s rows.

    Args:
        version: the table version (default: the latest).

    Raises:
        FileNotFoundError: the table does not exist.
    """
    delta = open_table(settings, layer, table, version)
    uris = delta.file_uris(file_pruning_predicate=[(PARTITION_COLUMN, "=", _day(run_date).isoformat())])
    return sorted(uri.removeprefix("s3://").removeprefix("s3a://").removeprefix("file://") for uri in uris)


def last_commit(settings: Settings, layer: str, table: str) -> dict[str, Any]:
    """The latest commit of a table: ``version``, ``operation``, ``timestamp`` and ``metadata``.

    ``metadata`` is the commit's user metadata parsed from JSON (run id, run and logical date,
    job; empty when the writer recorded none).
    """
    delta = open_table(settings, layer, table)
    info = delta.history(1)[0]
    text = info.get("userMetadata")
    return {"version": delta.version(), "operation": info.get("operation"),
            "timestamp": info.get("timestamp"), "metadata": json.loads(text) if text else {}}


def write_snapshot(settings: Settings, layer: str, table: str, run_date: str, data: pa.Table,
                   metadata: dict[str, Any]) -> int:
    """Replace ``run_date``'s partition of a table with ``data`` in one Delta transaction.

    ``data`` must not hold ``run_date``: it is added. The table is created, partitioned by
    ``run_date``, on its first write. ``metadata`` is recorded as the commit's user metadata.

    Returns:
        The table version committed.
    """
    from deltalake import CommitProperties, write_deltalake

    day = _day(run_date)
    stamped = data.append_column(PARTITION_COLUMN, pa.array([day] * data.num_rows, pa.date32()))
    uri = lake.delta_uri(settings, layer, table)
    write_deltalake(uri, stamped, mode="overwrite", partition_by=[PARTITION_COLUMN],
                    predicate=f"{PARTITION_COLUMN} = '{day.isoformat()}'",
                    storage_options=storage_options(settings) or None,
                    commit_properties=CommitProperties(custom_metadata={"userMetadata": json.dumps(metadata)}))
    return open_table(settings, layer, table).version()


def _is_data_file(name: str) -> bool:
    # Delta, like Spark, treats names starting with "_" or "." as not part of the table
    # (``_delta_log``, Hadoop's ``.<file>.crc`` checksums).
    return not name.startswith(("_", "."))


def remove_orphans(settings: Settings, layer: str, table: str, run_date: str | dt.date,
                   since: dt.datetime) -> dict[str, int]:
    """Delete the files of ``run_date``'s partition that a job wrote since ``since`` but never committed.

    A file is removed when it is in the partition's folder, was last modified at or after
    ``since`` and no table version committed since ``since`` names it, nor the version that was
    current at ``since`` (so that clock differences between the machines cannot remove a file a
    reader still uses). Such files come from a Spark task whose executor died while it wrote
    (the task ran again elsewhere) or from an earlier attempt of the run that died before its
    commit. A removed file's Hadoop checksum (``.<name>.crc``) goes with it. Older orphans are
    left to ``VACUUM`` (:func:`apply_retention`).

    Safe only because each table has one writer at a time (``max_active_runs=1``, see
    ``docker/README.md``, "One writer per table"): another writer's files, written but not yet
    committed, would look exactly like orphans.

    Args:
        since: a timezone-aware time at or before the start of the run (its first attempt).

    Returns:
        ``{"files": files deleted, "bytes": their size in bytes}``, checksums included.

    Raises:
        FileNotFoundError: the table does not exist.
        ValueError: ``since`` has no time zone.
    """
    if since.tzinfo is None:
        raise ValueError(f"remove_orphans of {layer}/{table}: since must have a time zone, got {since.isoformat()}")
    delta = open_table(settings, layer, table)
    since_ms = since.timestamp() * 1000
    history = sorted(delta.history(), key=lambda commit: commit["version"])
    before = [commit["version"] for commit in history if commit["timestamp"] < since_ms]
    versions = before[-1:] + [commit["version"] for commit in history if commit["timestamp"] >= since_ms]
    referenced = {posixpath.basename(path) for version in versions
                  for path in snapshot_files(settings, layer, table, run_date, version)}

    fs = lake.filesystem(settings)
    folder = lake.layer_path(settings, layer, table, lake.run_date_dir(_day(run_date).isoformat()))
    listed = {posixpath.basename(info.path): info for info in fs.get_file_info(
        lake.pafs.FileSelector(folder, allow_not_found=True)) if info.type == lake.pafs.FileType.File}
    orphans = [name for name, info in listed.items() if _is_data_file(name) and name not in referenced
               and info.mtime is not None and info.mtime.timestamp() >= since.timestamp()]
    removed = {"files": 0, "bytes": 0}
    for name in orphans:
        for doomed in (name, f".{name}.crc"):
            if doomed in listed:
                fs.delete_file(listed[doomed].path)
                removed["files"] += 1
                removed["bytes"] += listed[doomed].size or 0
    if orphans:
        log.info("%s/%s run_date=%s: removed %d orphan file(s), %d bytes, written since %s and never committed",
                 layer, table, _day(run_date).isoformat(), removed["files"], removed["bytes"], since.isoformat())
    return removed


def apply_retention(settings: Settings, run_date: str) -> dict[str, Any]:
    """Delete expired run-date partitions of every silver and gold table, then ``VACUUM`` it.

    A partition is expired when ``settings.retention_days`` > 0 and its run date is more than
    that many days before ``run_date``; the delete is one Delta transaction per table (readers
    keep a consistent snapshot, time travel still sees the rows). ``VACUUM`` then removes the
    files that no version younger than ``settings.vacuum_retain_hours`` needs, and the files of
    jobs that died before their commit, which is what frees storage. Tables that do not exist
    yet are skipped.

    Returns:
        ``{"cutoff": ISO date or None, "tables": {"<layer>/<table>": {"deleted_rows",
        "vacuumed_files"}}}``.
    """
    cutoff = None
    if settings.retention_days:
        cutoff = _day(run_date) - dt.timedelta(days=settings.retention_days)
    result: dict[str, Any] = {"cutoff": cutoff.isoformat() if cutoff else None, "tables": {}}
    for layer, names in LAYER_TABLES.items():
        for table in names:
            try:
                delta = open_table(settings, layer, table)
            except FileNotFoundError:
                continue
            deleted = 0
            if cutoff is not None:
                metrics = delta.delete(f"{PARTITION_COLUMN} < '{cutoff.isoformat()}'")
                deleted = int(metrics.get("num_deleted_rows") or 0)
            # full: also the files no commit ever named (those of a job killed before its commit).
            vacuumed = delta.vacuum(retention_hours=settings.vacuum_retain_hours, dry_run=False,
                                    enforce_retention_duration=False, full=True)
            result["tables"][f"{layer}/{table}"] = {"deleted_rows": deleted, "vacuumed_files": len(vacuumed)}
            log.info("%s/%s: deleted %d row(s) of run dates before %s, vacuumed %d file(s) (retention %d h)",
                     layer, table, deleted, result["cutoff"] or "-", len(vacuumed), settings.vacuum_retain_hours)
    return result
