"""Publish the committed gold snapshot of a run date into MongoDB, never showing a half-written collection.

Input (the lake, read through :mod:`medallion.lake`, local or S3):

* ``gold/<table>/`` -- the Delta tables of :data:`medallion.contract.GOLD_TABLES`, their rows of
  ``run_date = D`` (read with ``deltalake``, :mod:`medallion.tables`), plus the gold documents
  ``statistical_distributions.json`` and ``gold_summary.json`` of D;
* the silver document ``quality_report.json`` of the same date.

Output (database ``settings.mongo_database``, default ``analytics_gold``):

* one collection per published table (:func:`published_tables`: every aggregate table and
  ``client_kpis``; ``fact_sales`` only with ``settings.publish_fact_sales``), one document per
  row with the table's column names (``run_date`` excluded), plus ``_id`` = the row's key
  (:data:`medallion.metrics.PRIMARY_KEYS`), so a re-run of the same date gives the same documents;
* ``reports``: one document per (run id, kind) for the three JSON reports, upserted;
* ``_publish_log``: one document per publish attempt (run id, run and logical date, per-collection
  counts, Delta table versions and checksums of the snapshot's Parquet files, start/end time,
  status ``running|success|failed|refused``, error).

Value mapping (what Metabase and the apps read; done per record batch with ``pyarrow.compute``):

==================  ====================================================================
Arrow type          document value
==================  ====================================================================
decimal (money)     ``float`` = the value rounded half-up (ties away from zero) to cents
date                ``datetime`` at 00:00 UTC of that day (BSON date)
timestamp           ``datetime`` in UTC, milliseconds (BSON precision)
double              ``float``; NaN and +-infinity become ``None`` (BSON null)
integer / boolean   Python ``int`` / ``bool`` (never numpy scalars)
string              ``str`` (dictionary-encoded columns decoded)
null                ``None``
==================  ====================================================================

Steps of :func:`publish_gold`: (1) refuse an older run date than the newest successfully published
one unless forced (:class:`PublishRefused`); (2) resolve each table's rows of the run date (Delta
version and files) and load the JSON reports, count the rows and checksum the files; (3) for each
table, create a staging collection ``_staging__<table>__<run token>``, stream the rows in record
batches (memory bounded by the batch size) into it with ``insert_many(ordered=False)``, check the
staged count equals the table's row count, then build the indexes dashboards filter by (the key, unique, and
:data:`TABLE_INDEXES`); (4) only when every table is staged, ``renameCollection`` each staging collection onto its
live name with ``dropTarget`` (atomic per collection on the server); (5) upsert the reports and mark
the log entry ``success``. On any failure before (4) every staging collection is dropped, every live
collection is untouched, the log entry is marked ``failed`` and the error is re-raised.

One publisher at a time per database (the DAG runs one publish task at a time): a publish drops
staging collections that a killed earlier publish of the same tables left behind.

The functions take a ``pymongo`` ``Database``; :func:`publish_gold_with_airflow_hook` is the Airflow
glue that gets one from ``MongoHook`` (connection ``mongo_default``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import math
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bson
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bson.raw_bson import RawBSONDocument

from medallion import lake
from medallion.config import Settings
from medallion.contract import GOLD_TABLES
from medallion.metrics import PRIMARY_KEYS
from medallion.tables import open_table, snapshot_files, snapshot_reader

if TYPE_CHECKING:
    from pymongo.collection import Collection
    from pymongo.database import Database

log = logging.getLogger(__name__)

#: Rows per record batch read from the lake and sent with one ``insert_many``.
DEFAULT_BATCH_SIZE = 20_000
REPORTS_COLLECTION = "reports"
PUBLISH_LOG_COLLECTION = "_publish_log"
STAGING_PREFIX = "_staging__"

#: Non-unique indexes dashboards filter or sort by (the key gets a unique index besides ``_id``).
TABLE_INDEXES: Mapping[str, tuple[str, ...]] = {
    "fact_sales": ("id_client", "purchase_date", "year_month", "country", "product"),
    "client_kpis": ("country", "rfm_segment", "first_purchase_date", "last_purchase_date"),
    "product_analytics": (),
    "country_analytics": (),
    "daily_sales": (),
    "weekly_sales": (),
    "monthly_sales": (),
}

#: Report kinds -> (lake layer, document name of the run date).
REPORT_SOURCES: Mapping[str, tuple[str, str]] = {
    "statistical_distributions": ("gold", "statistical_distributions"),
    "gold_summary": ("gold", "gold_summary"),
    "quality_report": ("silver", "quality_report"),
}


class PublishError(RuntimeError):
    """Publishing failed; the live collections were left as they were."""


class PublishRefused(PublishError):
    """The run date is older than the newest date already published and ``force`` is off."""


class PublishVerificationError(PublishError):
    """A staging collection does not hold exactly the gold table's rows."""


# --- Document shaping (pure, no server) ---------------------------------------------------------

def published_tables(settings: Settings) -> tuple[str, ...]:
    """Gold tables published for ``settings``, in :data:`GOLD_TABLES` order.

    Every aggregate table and ``client_kpis``; ``fact_sales`` (one document per purchase) only when
    ``settings.publish_fact_sales`` is on.
    """
    return tuple(t for t in GOLD_TABLES if t != "fact_sales" or settings.publish_fact_sales)


def run_token(run_id: str) -> str:
    """A collection-name-safe token for ``run_id``: its safe characters (<= 48) and a sha256 prefix.

    Example: ``manual__2026-11-29T00:00:00+00:00`` -> ``manual__2026-11-29T00_00_00_00_00_3f1c2a9b``.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", run_id)[:48]
    return f"{safe}_{hashlib.sha256(run_id.encode('utf-8')).hexdigest()[:8]}"


def staging_name(table: str, run_id: str) -> str:
    """Staging collection of ``table`` for ``run_id``: ``_staging__<table>__<run token>``."""
    return f"{STAGING_PREFIX}{table}__{run_token(run_id)}"


def _bson_safe_column(name: str, column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """One column converted so that ``to_pylist`` yields BSON-safe Python values (see module doc)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _bson_safe_column(name, column.cast(kind.value_type))
    if pa.types.is_decimal(kind):
        # Half away from zero, as Spark's round() and java.math.RoundingMode.HALF_UP.
        rounded = pc.round(column, ndigits=2, round_mode="half_towards_infinity").cast(pa.float64())
        # Arrow's decimal->double cast and float round can be 1 ulp off (-917.8000000000001):
        # take the exact integral cents (|cents| < 2**53) and divide once, which IEEE rounds
        # correctly, so the result equals float(Decimal(value)).
        cents = pc.round(pc.multiply(rounded, 100.0))
        return pc.divide(cents, 100.0)
    if pa.types.is_floating(kind):
        as_double = column.cast(pa.float64())
        return pc.if_else(pc.is_finite(as_double), as_double, pa.scalar(None, pa.float64()))
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("ms", tz="UTC"))
    if pa.types.is_timestamp(kind):
        utc = column if kind.tz is not None else column.cast(pa.timestamp(kind.unit, tz="UTC"))
        return utc.cast(pa.timestamp("ms", tz="UTC"), safe=False)  # BSON dates hold milliseconds
    if (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind)
            or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        return column
    raise TypeError(f"column {name!r} has Arrow type {kind}, which publishing does not map to BSON")


def bson_safe_table(data: pa.RecordBatch | pa.Table, key: str | None = None) -> pa.Table:
    """Convert every column of ``data`` to BSON-safe Arrow types (vectorised, see module doc).

    Args:
        data: A record batch or table of a gold table.
        key: Column copied into a leading ``_id`` column (after conversion), or None for no ``_id``.

    Returns:
        A table with ``_id`` (when ``key``) followed by ``data``'s columns in their order.

    Raises:
        KeyError: ``key`` is not a column of ``data``.
        TypeError: a column has a type with no BSON mapping (list, struct, map, binary, ...).
    """
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    names = table.column_names
    columns = [_bson_safe_column(name, table.column(name)) for name in names]
    if key is not None:
        if key not in names:
            raise KeyError(f"key column {key!r} is missing; columns are {', '.join(names)}")
        columns.insert(0, columns[names.index(key)])
        names = ["_id", *names]
    return pa.Table.from_arrays(columns, names=names)


def _python_values(column: pa.ChunkedArray) -> list[Any]:
    """``column.to_pylist()``, with timestamps converted once per distinct value.

    Converting a timezone-aware Arrow timestamp to ``datetime`` costs ~10 us per value; gold dates
    repeat (a few thousand distinct days over millions of rows), so the distinct values are
    converted and spread back with a numpy take.
    """
    if not pa.types.is_timestamp(column.type) or len(column) == 0:
        return column.to_pylist()
    distinct = pc.unique(column)
    lookup = np.array([*distinct.to_pylist(), None], dtype=object)
    positions = pc.fill_null(pc.index_in(column, value_set=distinct), len(distinct))
    return lookup[positions.to_numpy()].tolist()


def to_documents(data: pa.RecordBatch | pa.Table, key: str | None = None) -> list[dict[str, Any]]:
    """BSON-safe documents (one dict per row, ``_id`` first when ``key``) of a record batch or table.

    Raises:
        KeyError, TypeError: as :func:`bson_safe_table`.
    """
    table = bson_safe_table(data, key)
    names = table.column_names
    columns = [_python_values(column) for column in table.columns]
    return [dict(zip(names, row)) for row in zip(*columns)]


def bson_safe_json(value: Any) -> Any:
    """A parsed JSON document with NaN and +-infinity replaced by ``None`` (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): bson_safe_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bson_safe_json(v) for v in value]
    return value


def utc_datetime(value: dt.datetime | dt.date | str) -> dt.datetime:
    """A timezone-aware UTC datetime of a logical date.

    A ``date`` or ``YYYY-MM-DD`` string is 00:00 UTC of that day; a naive datetime is taken as UTC;
    an aware one (e.g. Airflow's pendulum ``logical_date``) is converted to UTC.

    Raises:
        ValueError: a string that is not ISO 8601.
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(value.timestamp(), tz=dt.timezone.utc)


# --- Lake side ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableSource:
    """One gold table's rows of a run date: the Delta version read, its files, rows and checksum."""

    table: str
    run_date: str
    version: int            # Delta table version the snapshot was read at
    files: tuple[str, ...]  # Parquet files of the run date's rows, sorted (lake filesystem paths)
    rows: int
    sha256: str             # of the files' bytes concatenated in sorted path order
    size_bytes: int


def parquet_checksum(fs: Any, files: Iterable[str], chunk_size: int = 8 << 20) -> tuple[str, int]:
    """sha256 hex digest and byte count of ``files``' bytes concatenated in sorted path order."""
    digest, total = hashlib.sha256(), 0
    for path in sorted(files):
        with fs.open_input_stream(path) as stream:
            while chunk := stream.read(chunk_size):
                digest.update(chunk)
                total += len(chunk)
    return digest.hexdigest(), total


def table_source(settings: Settings, run_date: str, table: str) -> TableSource:
    """Locate, count and checksum one gold table's committed rows of ``run_date``.

    A run date committed with no rows has no file in a Delta table, exactly like a run date never
    committed; the gold documents tell them apart (the jobs write ``gold_summary`` after every
    gold table is committed), so an empty committed table gives a source of 0 rows and 0 files.

    Raises:
        FileNotFoundError: the gold table does not exist, or has no rows for ``run_date`` and gold
            has no committed output for that date (the message names the location).
    """
    version = open_table(settings, "gold", table).version()  # files, rows and the staged documents: this version
    files = tuple(snapshot_files(settings, "gold", table, run_date, version))
    fs = lake.filesystem(settings)
    if not files and not lake.is_file(fs, lake.document_path(settings, "gold", run_date, "gold_summary")):
        raise FileNotFoundError(f"gold table {table} has no rows for run date {run_date} at "
                                f"{lake.delta_uri(settings, 'gold', table)} (version {version}) and gold "
                                "has no committed output for that date (no gold_summary document)")
    rows = sum(pq.ParquetFile(fs.open_input_file(path)).metadata.num_rows for path in files)
    digest, size = parquet_checksum(fs, files)
    return TableSource(table, run_date, version, files, rows, digest, size)


def load_reports(settings: Settings, run_date: str) -> dict[str, Any]:
    """The JSON reports of ``run_date`` (:data:`REPORT_SOURCES`), parsed and made BSON-safe.

    Raises:
        FileNotFoundError: a report is missing (the message names it).
    """
    return {kind: bson_safe_json(lake.read_document(settings, layer, run_date, name))
            for kind, (layer, name) in REPORT_SOURCES.items()}


# --- Mongo side ---------------------------------------------------------------------------------

def _insert_batch(collection: "Collection", documents: list[RawBSONDocument]) -> None:
    """Insert one batch of documents (unordered: the server keeps going past a bad document and
    reports every error at the end). A seam for tests that simulate a crash mid-publish."""
    collection.insert_many(documents, ordered=False)


def encoded_documents(data: pa.RecordBatch | pa.Table, key: str) -> list[RawBSONDocument]:
    """:func:`to_documents` of ``data`` encoded to BSON, ready for ``insert_many`` (no re-encoding).

    Raises:
        KeyError, TypeError: as :func:`bson_safe_table`.
    """
    return [RawBSONDocument(bson.encode(document)) for document in to_documents(data, key)]


def _document_batches(source: TableSource, settings: Settings, batch_size: int) -> Iterator[list[RawBSONDocument]]:
    """The table's rows as BSON documents, in batches of at most ``batch_size``."""
    key = PRIMARY_KEYS[source.table]
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in snapshot_reader(settings, "gold", source.table, source.run_date, version=source.version):
        while batch.num_rows:
            piece = batch.slice(0, batch_size - rows)
            batch = batch.slice(piece.num_rows)
            pending.append(piece)
            rows += piece.num_rows
            if rows == batch_size:
                yield encoded_documents(pa.Table.from_batches(pending), key)
                pending, rows = [], 0
    if rows:
        yield encoded_documents(pa.Table.from_batches(pending), key)


def _stage_table(db: "Database", source: TableSource, staging: str, settings: Settings, batch_size: int) -> int:
    """Load ``source`` into the (new, empty) collection ``staging``, verify, index; return the count.

    During the load the only index is ``_id`` (= the key, so a duplicate key is refused there);
    the key's unique index and :data:`TABLE_INDEXES` are built once the documents are in, which is
    cheaper than maintaining them per insert. A helper thread converts and BSON-encodes the next
    batch while the current one is sent (the wait for the server releases the GIL), so at most two
    batches are in memory.
    """
    key = PRIMARY_KEYS[source.table]
    collection = db.create_collection(staging, check_exists=False)
    batches = _document_batches(source, settings, batch_size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"publish-{source.table}") as converter:
        pending = converter.submit(next, batches, None)
        while (documents := pending.result()) is not None:
            pending = converter.submit(next, batches, None)
            _insert_batch(collection, documents)
    staged = collection.count_documents({})
    if staged != source.rows:
        raise PublishVerificationError(
            f"staging collection {staging} holds {staged} documents but gold table {source.table} has "
            f"{source.rows} rows for run date {source.run_date}"
        )
    collection.create_index([(key, 1)], unique=True, name=f"{key}_unique")
    for field in TABLE_INDEXES[source.table]:
        collection.create_index([(field, 1)], name=f"{field}_1")
    return staged


def _drop_leftover_staging(db: "Database", tables: Iterable[str]) -> None:
    prefixes = tuple(f"{STAGING_PREFIX}{table}__" for table in tables)
    for name in db.list_collection_names():
        if name.startswith(prefixes):
            log.warning("dropping staging collection %s.%s left by an interrupted publish", db.name, name)
            db.drop_collection(name)


def newest_published(db: "Database") -> dict[str, Any] | None:
    """The ``_publish_log`` entry of the newest run date published successfully, or None."""
    return db[PUBLISH_LOG_COLLECTION].find_one({"status": "success"}, sort=[("run_date", -1), ("finished_at", -1)])


def publish_gold(db: "Database", settings: Settings, run_date: str, run_id: str,
                 logical_date: dt.datetime | dt.date | str, *, force: bool | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
    """Publish ``run_date``'s committed gold snapshot into ``db`` (see the module doc for the steps).

    Args:
        db: Target database (``client[settings.mongo_database]``).
        settings: Lake location, ``publish_fact_sales`` and ``publish_force``.
        run_date: ``YYYY-MM-DD``: the snapshot to publish; also orders publishes.
        run_id: The pipeline run id (Airflow ``run_id``): names staging collections and keys reports.
        logical_date: The run's logical date (stored in UTC in the log and reports).
        force: Publish even when a newer run date is already published; None uses
            ``settings.publish_force``.
        batch_size: Rows per record batch and ``insert_many`` call (bounds memory).

    Returns:
        The ``_publish_log`` entry written (without ``_id``): ``run_id``, ``run_date``,
        ``logical_date``, ``status`` (``success``), ``collections`` {table: documents},
        ``checksums`` {table: {version (Delta), sha256, files, bytes}}, ``reports`` (kinds),
        ``started_at``, ``finished_at`` (UTC datetimes), ``tables``, ``forced``.

    Raises:
        ValueError: ``run_date`` is not ``YYYY-MM-DD``.
        PublishRefused: ``run_date`` is older than the newest successfully published run date and
            force is off (logged as an error and recorded with status ``refused``).
        PublishVerificationError: a staged count differs from the table's row count.
        FileNotFoundError: a gold table, its rows of the run date or a report is missing.
        pymongo.errors.PyMongoError: the server refused a write (e.g. duplicate keys).
        Any error is re-raised after the staging collections are dropped and the log entry is
        marked ``failed``.
    """
    try:
        dt.date.fromisoformat(run_date)
    except (TypeError, ValueError):
        raise ValueError(f"run_date must be YYYY-MM-DD, got {run_date!r}") from None
    force = settings.publish_force if force is None else force
    started = dt.datetime.now(dt.timezone.utc)
    tables = published_tables(settings)
    publish_log = db[PUBLISH_LOG_COLLECTION]
    entry: dict[str, Any] = {
        "run_id": run_id, "run_date": run_date, "logical_date": utc_datetime(logical_date),
        "database": db.name, "tables": list(tables), "forced": bool(force), "status": "running",
        "started_at": started,
    }

    newest = newest_published(db)
    if newest is not None and newest["run_date"] > run_date and not force:
        message = (
            f"refusing to publish gold of run date {run_date} (run {run_id}) into database {db.name}: "
            f"the newer run date {newest['run_date']} (run {newest['run_id']}) is already published. "
            "Set PUBLISH_FORCE=true (settings.publish_force) to publish an older date on purpose."
        )
        log.error(message)
        publish_log.insert_one({**entry, "status": "refused", "error": message,
                                "finished_at": dt.datetime.now(dt.timezone.utc)})
        raise PublishRefused(message)
    if newest is not None and newest["run_date"] > run_date:
        log.warning("forced: publishing run date %s over the newer published run date %s", run_date, newest["run_date"])

    log_id = publish_log.insert_one(dict(entry)).inserted_id
    staged: dict[str, str] = {}
    swapped: list[str] = []
    try:
        sources = {table: table_source(settings, run_date, table) for table in tables}
        reports = load_reports(settings, run_date)
        entry["checksums"] = {t: {"version": s.version, "sha256": s.sha256, "files": len(s.files),
                                  "bytes": s.size_bytes}
                              for t, s in sources.items()}
        _drop_leftover_staging(db, tables)
        counts: dict[str, int] = {}
        for table, source in sources.items():
            staged[table] = staging_name(table, run_id)
            began = time.perf_counter()
            counts[table] = _stage_table(db, source, staged[table], settings, batch_size)
            log.info("staged %s: %d documents in %s.%s in %.1f s", table, counts[table], db.name, staged[table],
                     time.perf_counter() - began)
        for table in tables:  # every table is staged and verified: swap them in
            db[staged[table]].rename(table, dropTarget=True)
            del staged[table]
            swapped.append(table)
        for kind, document in reports.items():
            db[REPORTS_COLLECTION].replace_one(
                {"_id": f"{run_id}|{kind}"},
                {"run_id": run_id, "kind": kind, "run_date": run_date,
                 "logical_date": entry["logical_date"], "document": document},
                upsert=True,
            )
        db[REPORTS_COLLECTION].create_index([("run_id", 1), ("kind", 1)], unique=True, name="run_id_kind_unique")
        db[REPORTS_COLLECTION].create_index([("kind", 1), ("run_date", 1)], name="kind_run_date")
        entry.update(status="success", collections=counts, reports=list(reports),
                     finished_at=dt.datetime.now(dt.timezone.utc))
        publish_log.replace_one({"_id": log_id}, entry)
        publish_log.create_index([("run_date", 1), ("status", 1)], name="run_date_status")
        log.info("published gold of run date %s into %s: %s", run_date, db.name,
                 ", ".join(f"{t}={n}" for t, n in counts.items()))
        return entry
    except BaseException as error:
        for name in staged.values():
            try:
                db.drop_collection(name)
            except Exception:  # keep the original error; the next publish drops leftovers
                log.exception("could not drop staging collection %s.%s", db.name, name)
        entry.update(status="failed", error=f"{type(error).__name__}: {error}", swapped=swapped,
                     finished_at=dt.datetime.now(dt.timezone.utc))
        try:
            publish_log.replace_one({"_id": log_id}, entry)
        except Exception:
            log.exception("could not record the failed publish in %s.%s", db.name, PUBLISH_LOG_COLLECTION)
        log.error("publishing gold of run date %s into %s failed (%s); live collections %s", run_date, db.name,
                  entry["error"], "untouched" if not swapped else f"already swapped: {', '.join(swapped)}")
        raise


def publish_gold_with_airflow_hook(settings: Settings, run_date: str, run_id: str,
                                   logical_date: dt.datetime | dt.date | str, *,
                                   conn_id: str = "mongo_default", force: bool | None = None) -> dict[str, Any]:
    """Airflow glue: :func:`publish_gold` into ``settings.mongo_database`` through ``MongoHook``.

    The connection comes from Airflow (``AIRFLOW_CONN_MONGO_DEFAULT`` in JSON form, e.g.
    ``{"conn_type": "mongo", "host": "127.0.0.1", "port": 27017}``). Returns and raises as
    :func:`publish_gold`.
    """
    from airflow.providers.mongo.hooks.mongo import MongoHook

    with MongoHook(mongo_conn_id=conn_id) as hook:
        client = hook.get_conn()
        return publish_gold(client[settings.mongo_database], settings, run_date, run_id, logical_date, force=force)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m medallion.publish --run-date D --uri URI``: publish a committed gold snapshot by hand.

    The lake and database come from the environment (:meth:`Settings.from_env`: ``LAKE_ROOT``,
    ``MONGO_DATABASE``, ``PUBLISH_FACT_SALES``, ``PUBLISH_FORCE``); the run id defaults to
    ``manual__<run date>``. Per-table staging times are logged. Exit status 0 on success, 1 when the
    publish was refused or failed, with the reason on stderr (the live collections are untouched,
    see :func:`publish_gold`).
    """
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    parser = argparse.ArgumentParser(prog="python -m medallion.publish", description=main.__doc__.split("\n")[0])
    parser.add_argument("--run-date", required=True, help="run date of the gold snapshot (YYYY-MM-DD)")
    parser.add_argument("--uri", default="mongodb://127.0.0.1:27017", help="MongoDB URI [mongodb://127.0.0.1:27017]")
    parser.add_argument("--run-id", help="run id recorded in _publish_log and reports [manual__<run date>]")
    parser.add_argument("--force", action="store_true", help="publish even when a newer run date is published")
    args = parser.parse_args(None if argv is None else list(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    began = time.perf_counter()
    with MongoClient(args.uri) as client:
        try:
            entry = publish_gold(client[settings.mongo_database], settings, args.run_date,
                                 args.run_id or f"manual__{args.run_date}", args.run_date, force=args.force or None)
        except (PublishError, FileNotFoundError, ValueError, PyMongoError) as error:
            print(f"publish: {error}", file=sys.stderr)
            return 1
    print(f"published {sum(entry['collections'].values())} documents of run date {args.run_date} into "
          f"{settings.mongo_database} in {time.perf_counter() - began:.1f} s: "
          + ", ".join(f"{table}={count}" for table, count in entry["collections"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
