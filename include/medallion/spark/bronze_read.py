"""Reading a bronze file in Spark for the silver job: contract columns as strings, malformed lines flagged, rows numbered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion import bronze, lake
from medallion.config import Settings
from medallion.contract import MALFORMED_FLAG as MALFORMED
from medallion.contract import SOURCE_COLUMNS

#: Column of the bronze read holding the text of a line Spark's CSV parser found malformed.
_CORRUPT_RECORD = "_corrupt_record"


def with_source_row(df: DataFrame) -> tuple[DataFrame, int]:
    """Add ``source_row`` (bigint, 1-based data row number in the file) to a one-file CSV read.

    Works for any number of input partitions: ``monotonically_increasing_id()`` is
    ``partition index << 33 | row index within the partition``, and the rows of one file split
    (identified by ``input_file_block_start()``, its byte offset) are contiguous within their
    partition. One aggregation (a light scan of the file) counts the rows of each split and finds
    its first id; the driver sorts the splits by byte offset and derives, per split, the constant
    that turns an id into the row number; the returned frame adds it back, so rows are numbered
    without a shuffle or a single partition.

    Returns:
        ``(frame with source_row, number of data rows)``. The frame must be read from one file
        and the read must not be altered before this call (numbering follows the scan order).
    """
    tagged = df.withColumn("_mid", F.monotonically_increasing_id()).withColumn("_block", F.input_file_block_start())
    splits = sorted(
        (r["_block"], r["rows"], r["first"])
        for r in tagged.groupBy("_block").agg(F.count(F.lit(1)).alias("rows"), F.min("_mid").alias("first")).collect()
    )
    offsets: list[Column] = []
    before = 0
    for block, rows, first in splits:
        offsets += [F.lit(block), F.lit(before + 1 - first)]
        before += rows
    if not offsets:
        return tagged.withColumn("source_row", F.lit(None).cast("bigint")).drop("_mid", "_block"), 0
    source_row = F.col("_mid") + F.element_at(F.create_map(*offsets), F.col("_block"))
    return tagged.withColumn("source_row", source_row.cast("bigint")).drop("_mid", "_block"), before


@dataclass
class BronzeRead:
    """One bronze file as the silver job reads it.

    Attributes:
        raw: every column of the file by its header name (extra columns named ``_extra<i>``), as
            strings: what the bronze gate validates.
        rows: the contract columns as strings, ``_malformed`` (boolean: the line's field count
            differs from the header's) and ``source_row`` (bigint): the rules' input.
        manifest: the bronze manifest of the file (``data_rows``, ``sha256``, ``version``…).
    """

    raw: DataFrame
    rows: DataFrame
    manifest: dict[str, Any]


def read_bronze(spark: SparkSession, settings: Settings, dataset: str, run_date: str) -> BronzeRead:
    """Read the latest bronze version of ``dataset`` for ``run_date`` as strings.

    The file is decoded with the encoding its manifest records (:func:`medallion.bronze.manifest_encoding`).
    The header line is read first (through :mod:`medallion.lake`) and becomes an explicit
    all-string schema in the file's column order (Spark's CSV reader maps columns by position);
    the contract columns are then selected by name (extra columns dropped) and numbered. Whether
    Spark reads as many rows as the manifest counts is the bronze gate's check.

    A line whose field count differs from the header's is kept (PERMISSIVE mode: its fields by
    position, null where the line has none) and flagged in ``rows._malformed`` (boolean).

    Raises:
        medallion.bronze.BronzeError: no bronze data for the date, or the file's header lacks a
            contract column (message names the file).
    """
    path, manifest = bronze.latest_version(settings, dataset, run_date)
    fs = lake.filesystem(settings)
    where = manifest.get("bronze_uri", path)
    encoding = bronze.manifest_encoding(manifest)
    header = bronze.read_header(fs, path, where, encoding)
    bronze.check_header(dataset, header, where)
    # Contract columns keep their names (so Spark's header check agrees); other columns get
    # positional names (they may clash case-insensitively). Spark binds columns by position.
    contract_cols = set(SOURCE_COLUMNS[dataset])
    schema = T.StructType([T.StructField(name if name in contract_cols else f"_extra{i}", T.StringType(), True)
                           for i, name in enumerate(header)] + [T.StructField(_CORRUPT_RECORD, T.StringType(), True)])
    uri = lake.spark_uri(settings, "bronze", dataset, bronze.ingest_dir(run_date), manifest["file"])
    # The parser sets the corrupt-record column when a line's token count differs from the schema's;
    # with column pruning it would tokenise the selected columns only and never see extra fields.
    read = (spark.read.schema(schema)
            .option("header", True).option("enforceSchema", True).option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", _CORRUPT_RECORD).option("columnPruning", False)
            .option("encoding", encoding).option("quote", '"').option("escape", '"')
            .csv(uri))
    raw = read.drop(_CORRUPT_RECORD)
    numbered, _ = with_source_row(read.select(*SOURCE_COLUMNS[dataset],
                                              F.col(_CORRUPT_RECORD).isNotNull().alias(MALFORMED)))
    return BronzeRead(raw, numbered, manifest)
