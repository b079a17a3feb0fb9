"""The silver layer in Spark: bronze CSV -> typed, cleaned tables, rejects with reasons, quality report.

The rules are data in :mod:`medallion.contract` and this module iterates over them:
``SILVER_RULES`` (reason, check, columns, in precedence order: a rejected row gets the reason of
the first rule it fails), ``PARSERS`` (how each trimmed field becomes its silver value: ids,
money half-up to cents, dates, lower-cased e-mails, collapsed names, canonical vocabulary
spellings), ``RECOMPUTED`` (``total = price x quantity``) and ``MINIMUMS``. Every field is first
trimmed of ``contract.ASCII_WHITESPACE`` at both ends and an empty result is a missing value.
Under future-date policy ``cap`` a row dated after the run date is kept with the run date.

Money is ``DECIMAL(18,2)`` in currency units (Spark's decimal cast and ``round`` are HALF_UP).

Counts in a table's statistics (:func:`clean_clients`, :func:`clean_purchases`, and each table's
section of ``quality_report.json``):

* ``input_rows``, ``output_rows``, ``rejected_rows`` (rows); ``rejects_by_reason``: every reason of
  the table in rule order, zero included;
* ``null_values``: per contract column, input rows where it is missing (null, or empty after trimming);
* ``total_recalculated``: kept rows whose total was recomputed (see above; 0 for clients);
* ``future_dates``: rows that passed the rules before the date rules and were dated after the run
  date: rejected as ``future_date`` under policy ``reject``, capped under ``cap`` (a capped row
  may still fail a later rule);
* ``unknown_values``: kept rows whose country (clients) / product (purchases) is not in the vocabulary.

Source rows: ``source_row`` is the 1-based data row number in the bronze file (header excluded,
blank lines skipped: the same definition as the bronze manifest's ``data_rows``, see
:mod:`medallion.bronze`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from typing import Any, Callable, Iterable

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import contract, lake
from medallion.config import Settings
from medallion.contract import (
    ASCII_WHITESPACE,
    DATASETS,
    DATE_FORMATS,
    DECIMAL_PATTERN,
    EMAIL_PATTERN,
    FUTURE_DATE_POLICIES,
    ID_PATTERN,
    INTEGER_PATTERN,
    MINIMUMS,
    MONTH_OF,
    PARSERS,
    RECOMPUTED,
    REJECTS_TABLES,
    SILVER_RULES,
    SILVER_SCHEMAS,
    SOURCE_COLUMNS,
    VOCABULARIES,
    SilverRule,
)

#: Money type, ``DECIMAL(18,2)``.
MONEY = f"decimal({contract.MONEY_PRECISION},{contract.MONEY_SCALE})"
#: Precision used to compare a source total with the recomputed one.
_TOTAL_COMPARE = "decimal(38,18)"
#: Boolean input column: the line's field count differs from the header's (``malformed_row``).
MALFORMED = contract.MALFORMED_FLAG
#: Computes a frame once and returns a frame that reads the result.
Materialise = Callable[[DataFrame], DataFrame]


class SilverError(ValueError):
    """The silver input is unusable (missing bronze data, wrong columns, row count mismatch).

    The message names the file or the columns at fault.
    """


# --- Column helpers -----------------------------------------------------------------------------

def _trimmed(name: str) -> Column:
    """The field trimmed of ASCII whitespace at both ends; an empty result is null."""
    return F.nullif(F.btrim(F.col(name), F.lit(ASCII_WHITESPACE)), F.lit(""))


def _positive_id(col: Column) -> Column:
    """bigint >= 1 when ``col`` matches ``ID_PATTERN`` (digits, not all zeros) and fits a bigint, else null."""
    return F.when(col.rlike(ID_PATTERN), col.try_cast("bigint"))


def _date_from(col: Column, fmt: str) -> Column:
    """``date`` of a string that already matches the regex of Spark pattern ``fmt``, else null.

    The known patterns are rewritten to ISO text and cast (Spark's cast rejects impossible calendar
    dates and times exactly like ``try_to_date`` with the pattern, and is several times faster);
    any other pattern falls back to ``try_to_date``.
    """
    if fmt == "yyyy-MM-dd":
        return col.try_cast("date")
    if fmt == "yyyy/MM/dd":
        return F.translate(col, "/", "-").try_cast("date")
    if fmt == "dd/MM/yyyy":
        return F.concat(F.substring(col, 7, 4), F.lit("-"), F.substring(col, 4, 2), F.lit("-"),
                        F.substring(col, 1, 2)).try_cast("date")
    if fmt == "yyyy-MM-dd'T'HH:mm:ss":
        return F.to_date(col.try_cast("timestamp"))  # the time must be valid too; UTC session
    return F.try_to_date(col, fmt)


def parse_date(col: Column) -> Column:
    """``date`` of a trimmed string in one of ``contract.DATE_FORMATS`` (date part kept), else null.

    The whole field must match one format's regex and be a real calendar date: ``2024-02-30`` and
    ``2024-01-01T25:00:00`` are null. Formats are tried in contract order; the first whose regex
    matches decides.
    """
    parsed = None
    for regex, fmt, _ in DATE_FORMATS:
        value = _date_from(col, fmt)
        parsed = F.when(col.rlike(regex), value) if parsed is None else parsed.when(col.rlike(regex), value)
    return parsed


def _canonical(col: Column, vocabulary: tuple[str, ...]) -> Column:
    """Canonical spelling of ``col`` matched case-insensitively in ``vocabulary``, else null."""
    pairs = [item for word in vocabulary for item in (F.lit(word.lower()), F.lit(word))]
    return F.try_element_at(F.create_map(*pairs), F.lower(col))


def _first_reason(*rules: tuple[Column, str]) -> Column:
    """The reason of the first rule whose condition is true (conditions must never be null)."""
    expr = None
    for condition, reason in rules:
        expr = F.when(condition, F.lit(reason)) if expr is None else expr.when(condition, F.lit(reason))
    return expr


def _not(col: Column) -> Column:
    """True when ``col`` is false or null (three-valued logic made two-valued)."""
    return ~F.coalesce(col, F.lit(False))


def _malformed(df: DataFrame) -> Column:
    """The input's ``_malformed`` flag (see :func:`medallion.spark.bronze_read.read_bronze`); false when the input has none."""
    return F.coalesce(F.col(MALFORMED), F.lit(False)) if MALFORMED in df.columns else F.lit(False)


def _check_columns(df: DataFrame, dataset: str, extra: tuple[str, ...] = ("source_row",)) -> None:
    missing = [c for c in (*SOURCE_COLUMNS[dataset], *extra) if c not in df.columns]
    if missing:
        raise SilverError(f"{dataset} input DataFrame lacks column(s) {', '.join(missing)}")


def _check_policy(future_dates: str) -> None:
    if future_dates not in FUTURE_DATE_POLICIES:
        raise ValueError(f"future_dates must be one of {', '.join(FUTURE_DATE_POLICIES)}, got {future_dates!r}")


def _mark_first(df: DataFrame, reason_col: str, key: str, reason: str) -> DataFrame:
    """Among rows with a null ``reason_col``, rows whose ``key`` appeared earlier get ``reason``.

    The wide rows are never shuffled: one aggregation of ``(key, source_row)`` over the rows still
    valid finds the keys seen more than once and their first row; that set (small for real data:
    one row per repeated key) is broadcast and joined back.
    """
    valid = df.where(F.col(reason_col).isNull() & F.col(key).isNotNull())
    repeated = (valid.groupBy(F.col(key).alias("_dup_key"))
                .agg(F.min("source_row").alias("_dup_first"), F.count(F.lit(1)).alias("_dup_n"))
                .where(F.col("_dup_n") > 1).drop("_dup_n"))
    # Computed once: every later action (stats, each write) reuses it instead of aggregating again.
    repeated = repeated.persist()
    joined = df.join(F.broadcast(repeated), F.col(key) == F.col("_dup_key"), "left")
    later = F.col(reason_col).isNull() & F.coalesce(F.col("source_row") != F.col("_dup_first"), F.lit(False))
    return joined.withColumn(reason_col, F.when(later, F.lit(reason)).otherwise(F.col(reason_col))) \
        .drop("_dup_key", "_dup_first")


def _null_flags(columns: Iterable[str]) -> list[Column]:
    """``_null_<c>``: the trimmed field ``_t_<c>`` is missing (counted in ``null_values``)."""
    return [F.col(f"_t_{c}").isNull().alias(f"_null_{c}") for c in columns]


def _stats(flagged: DataFrame, dataset: str, extra: dict[str, Column], rules: tuple[SilverRule, ...]
           ) -> dict[str, Any]:
    """Every count of a table's report section in one aggregation pass over ``flagged``."""
    kept = F.col("_reason").isNull()
    reasons = tuple(rule.reason for rule in rules)
    aggs = [F.count(F.lit(1)).alias("input_rows"), F.count(F.when(kept, 1)).alias("output_rows")]
    aggs += [F.count(F.when(F.col("_reason") == r, 1)).alias(f"reason__{r}") for r in reasons]
    aggs += [F.count(F.when(F.col(f"_null_{c}"), 1)).alias(f"null__{c}") for c in SOURCE_COLUMNS[dataset]]
    aggs += [F.count(F.when(cond, 1)).alias(name) for name, cond in extra.items()]
    row = flagged.agg(*aggs).first().asDict()
    unknown = {k.split("__", 1)[1]: row[k] for k in extra if k.startswith("unknown__")}
    return {
        "input_rows": row["input_rows"],
        "output_rows": row["output_rows"],
        "rejected_rows": row["input_rows"] - row["output_rows"],
        "rejects_by_reason": {r: row[f"reason__{r}"] for r in reasons},
        "null_values": {c: row[f"null__{c}"] for c in SOURCE_COLUMNS[dataset]},
        "total_recalculated": row.get("total_recalculated", 0),
        "future_dates": row["future_dates"],
        "unknown_values": unknown,
    }


def _persisted(rows: DataFrame) -> DataFrame:
    """``rows`` kept on the executors' local disks once computed (by the first action that reads them).

    Serialized on disk rather than in memory: the per-row rule frames are wide and string-heavy,
    and keeping them in memory made the block manager evict and spill. Unlike a checkpoint, the
    lineage is kept, so blocks lost with an executor are recomputed from the bronze file.
    """
    return rows.persist(StorageLevel.DISK_ONLY)


def _rejects(flagged: DataFrame, dataset: str, run_id: str) -> DataFrame:
    """Original (untrimmed) string columns + ``source_row`` + ``reason`` + ``run_id`` of rejected rows."""
    return flagged.where(F.col("_reason").isNotNull()).select(
        *SOURCE_COLUMNS[dataset],
        F.col("source_row").cast("bigint").alias("source_row"),
        F.col("_reason").alias("reason"),
        F.lit(run_id).cast("string").alias("run_id"),
    )


def _typed(df: DataFrame, dataset: str) -> DataFrame:
    """The silver columns of ``dataset`` (``_out_<col>``) cast to ``SILVER_SCHEMAS`` types."""
    return df.select(*[F.col(f"_out_{name}").cast(dtype).alias(name) for name, dtype in SILVER_SCHEMAS[dataset]])


# --- Transforms --------------------------------------------------------------------------------

def _parsers(dataset: str) -> dict[str, Column]:
    """``_p_<column>``: each source column's trimmed text parsed by its ``contract.PARSERS`` kind (null: fails)."""
    parsed: dict[str, Column] = {}
    for column, kind in PARSERS[dataset].items():
        text = F.col(f"_t_{column}")
        if kind == "id":
            value = _positive_id(text)
        elif kind in ("money", "recomputed"):
            value = F.when(text.rlike(DECIMAL_PATTERN), text.try_cast(MONEY if kind == "money" else _TOTAL_COMPARE))
        elif kind == "integer":
            value = F.when(text.rlike(INTEGER_PATTERN), text.try_cast("int"))
        elif kind == "date":
            value = parse_date(text)
        elif kind == "email":
            value = F.when(F.lower(text).rlike(EMAIL_PATTERN), F.lower(text))
        elif kind == "name":
            value = F.regexp_replace(text, r"\s+", " ")
        elif kind == "vocabulary":
            value = _canonical(text, VOCABULARIES[column])
        else:
            raise ValueError(f"{dataset}.{column}: unknown parser {kind!r}")
        parsed[column] = value.alias(f"_p_{column}")
    return parsed


def _recomputed(column: str) -> Column:
    """The silver value of a ``recomputed`` column: the product of its factors, half-up to cents."""
    left, right = (F.col(f"_p_{factor}") for factor in RECOMPUTED[column])
    # decimal(18,2) x int -> decimal(29,2): exact; the cast back to money is null on overflow.
    return F.round(left * right, 2).try_cast(MONEY)


def _condition(rule: SilverRule, dataset: str) -> Column:
    """True where a row fails a row-by-row ``rule`` (never null: a check that cannot be judged fails)."""
    if rule.check == "well_formed":
        failed = F.col("_bad_line")
    elif rule.check == "present":
        failed = reduce(lambda a, b: a | b, [F.col(f"_t_{c}").isNull() for c in rule.columns])
    elif rule.check == "parses":
        failed = reduce(lambda a, b: a | b, [F.col(f"_p_{c}").isNull() for c in rule.columns])
    elif rule.check == "amount":
        below = [F.col(f"_p_{c}") < F.lit(MINIMUMS[c]) for c in rule.columns if c in MINIMUMS]
        too_large = [F.col(f"_out_{c}").isNull() for c, factors in RECOMPUTED.items()
                     if c in PARSERS[dataset] and set(factors) <= set(rule.columns)]
        failed = reduce(lambda a, b: a | b, below + too_large)
    elif rule.check == "known_client":
        failed = F.col("_known_client").isNull()
    else:
        raise ValueError(f"{dataset} rule {rule.reason}: {rule.check} is not a row-by-row check")
    return F.coalesce(failed, F.lit(True))


def clean_table(raw_df: DataFrame, dataset: str, run_date: str, future_dates: str = "reject", *,
                clients_df: DataFrame | None = None, rules: tuple[SilverRule, ...] | None = None,
                run_id: str = "", materialise: Materialise | None = None
                ) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """Apply the silver rules of ``dataset`` (``contract.SILVER_RULES``, or ``rules``) to raw string rows.

    The row-by-row rules (and ``known_client``: the silver client ids are broadcast into that
    pass) give each row the reason of the first rule it fails in one pass, which is materialised;
    the ``unique`` rules then only change the reason through small broadcast joins
    (:func:`_mark_first`), and rules after them are applied in order on the materialised flags.

    Args:
        raw_df: the dataset's source columns as strings and ``source_row`` (bigint, 1-based,
            unique; "source order" is its order); optionally ``_malformed`` (boolean, as
            :func:`medallion.spark.bronze_read.read_bronze` gives it). Other columns are ignored.
        dataset: ``clients`` or ``purchases``.
        run_date: ``YYYY-MM-DD``; dates after it are future dates.
        future_dates: ``reject`` or ``cap``.
        clients_df: the silver clients (at least ``id_client`` bigint, unique), for a
            ``known_client`` rule.
        rules: the rule table (default ``contract.SILVER_RULES[dataset]``).
        run_id: Written in the rejects' ``run_id`` column.
        materialise: Keeps the per-row rule frame once computed and returns a frame that reads
            the result (default: persisted on the executors' disks).

    Returns:
        ``(clean_df, rejects_df, stats)``: ``clean_df`` has ``SILVER_SCHEMAS[dataset]``, unordered;
        ``rejects_df`` the original string columns, ``source_row`` bigint, ``reason`` string,
        ``run_id`` string; ``stats`` the table's quality-report section (module docstring).

    Raises:
        SilverError: a column is missing from ``raw_df`` (or ``clients_df`` when a rule needs it).
        ValueError: unknown ``future_dates`` policy, or a rule table :func:`contract.check_rules` refuses.
    """
    rules = SILVER_RULES[dataset] if rules is None else rules
    contract.check_rules(dataset, rules)
    _check_columns(raw_df, dataset)
    _check_policy(future_dates)
    cols = SOURCE_COLUMNS[dataset]
    run_day = F.lit(run_date).cast("date")
    df = raw_df.select(*cols, F.col("source_row").cast("bigint").alias("source_row"),
                       _malformed(raw_df).alias("_bad_line"), *[_trimmed(c).alias(f"_t_{c}") for c in cols])
    df = df.select("*", *_parsers(dataset).values())
    if any(rule.check == "known_client" for rule in rules):
        if clients_df is None or "id_client" not in clients_df.columns:
            raise SilverError(f"the {dataset} rules need the silver clients' id_client")
        # The client ids (2M at the seed's size: ~16 MB) are broadcast into the per-row pass.
        known = F.broadcast(clients_df.select(F.col("id_client").cast("bigint").alias("_known_client")))
        df = df.join(known, F.col("_p_id_client") == F.col("_known_client"), "left")
    df = df.select("*", *[_recomputed(c).alias(f"_out_{c}") for c in RECOMPUTED if c in cols])

    first_unique = next((i for i, rule in enumerate(rules) if rule.check == "unique"), len(rules))
    early: list[tuple[Column, str]] = []
    future = F.lit(False)
    for rule in rules[:first_unique]:
        if rule.check == "not_future":
            passed = ~reduce(lambda a, b: a | b, [c for c, _ in early], F.lit(False))
            future = passed & F.coalesce(F.col(f"_p_{rule.columns[0]}") > run_day, F.lit(False))
            if future_dates == "reject":
                early.append((F.col("_future"), rule.reason))
        else:
            early.append((_condition(rule, dataset), rule.reason))
    late = {f"_late{i}": _condition(rule, dataset) for i, rule in enumerate(rules)
            if i > first_unique and rule.check != "unique"}
    df = df.withColumn("_future", future)

    capped = [rule.columns[0] for rule in rules if rule.check == "not_future"]
    outputs: dict[str, Column] = {}
    for column, kind in PARSERS[dataset].items():
        if kind == "recomputed":
            outputs[column] = F.col(f"_out_{column}")
        elif column in capped:
            outputs[column] = F.when(F.col("_future"), run_day).otherwise(F.col(f"_p_{column}"))
        elif kind == "vocabulary":
            outputs[column] = F.coalesce(F.col(f"_p_{column}"), F.col(f"_t_{column}"))
        else:
            outputs[column] = F.col(f"_p_{column}")
    for column, date_column in MONTH_OF.items():
        if column in dict(SILVER_SCHEMAS[dataset]):
            outputs[column] = F.substring(outputs[date_column].cast("string"), 1, 7)
    unknown = [c for c, kind in PARSERS[dataset].items() if kind == "vocabulary"]
    recomputed = [c for c in RECOMPUTED if c in cols]
    rows = df.select(
        *cols, "source_row", *_null_flags(cols), "_future",
        (_first_reason(*early) if early else F.lit(None).cast("string")).alias("_reason"),
        *[value.alias(f"_out_{name}") for name, value in outputs.items()],
        *[F.col(f"_p_{c}").isNull().alias(f"_unknown_{c}") for c in unknown],
        *[F.coalesce(F.col(f"_p_{c}") != F.col(f"_out_{c}"), F.lit(True)).alias(f"_recalc_{c}") for c in recomputed],
        *[condition.alias(name) for name, condition in late.items()],
    )
    flagged = (materialise or _persisted)(rows)
    for i, rule in enumerate(rules[first_unique:], start=first_unique):
        if rule.check == "unique":
            flagged = _mark_first(flagged, "_reason", f"_out_{rule.columns[0]}", rule.reason)
        else:
            flagged = flagged.withColumn("_reason", F.when(F.col("_reason").isNull() & F.col(f"_late{i}"),
                                                           F.lit(rule.reason)).otherwise(F.col("_reason")))
    kept = F.col("_reason").isNull()
    extra = {"future_dates": F.col("_future")}
    extra |= {f"unknown__{c}": kept & F.col(f"_unknown_{c}") for c in unknown}
    if recomputed:
        extra["total_recalculated"] = kept & reduce(lambda a, b: a | b, [F.col(f"_recalc_{c}") for c in recomputed])
    stats = _stats(flagged, dataset, extra, rules)
    return _typed(flagged.where(kept), dataset), _rejects(flagged, dataset, run_id), stats


def clean_clients(raw_df: DataFrame, run_date: str, future_dates: str = "reject", *, run_id: str = "",
                  materialise: Materialise | None = None) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """:func:`clean_table` for ``clients``: ``clean_df`` is ``id_client`` bigint, ``name`` string,
    ``email`` string lower-case, ``subscription_date`` date, ``country`` string."""
    return clean_table(raw_df, "clients", run_date, future_dates, run_id=run_id, materialise=materialise)


def clean_purchases(raw_df: DataFrame, clients_df: DataFrame, run_date: str, future_dates: str = "reject", *,
                    run_id: str = "", materialise: Materialise | None = None
                    ) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """:func:`clean_table` for ``purchases`` against the silver ``clients_df``: ``clean_df`` is
    ``id_purchase``/``id_client`` bigint, ``product`` string, ``price`` decimal(18,2) currency
    units, ``quantity`` int, ``purchase_date`` date, ``total`` decimal(18,2) currency units,
    ``year_month`` string ``YYYY-MM`` of ``purchase_date``."""
    return clean_table(raw_df, "purchases", run_date, future_dates, clients_df=clients_df, run_id=run_id,
                       materialise=materialise)


# --- The job -----------------------------------------------------------------------------------

def data_quality_score(output_rows: int, input_rows: int) -> float:
    """Data-quality score in percent: ``output_rows / input_rows x 100`` rounded half-up to 2 decimals.

    The seed's formula (issue 3), computed in ``Decimal`` so 2/3 gives 66.67 exactly; 0.0 when
    there is no input row.
    """
    if input_rows == 0:
        return 0.0
    return float((Decimal(output_rows) * 100 / Decimal(input_rows)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def quality_report(client_stats: dict[str, Any], purchase_stats: dict[str, Any], run_id: str, run_date: str,
                   policy: str) -> dict[str, Any]:
    """``quality_report.json``: each table's statistics and a summary with the data-quality score."""
    total_in = client_stats["input_rows"] + purchase_stats["input_rows"]
    total_out = client_stats["output_rows"] + purchase_stats["output_rows"]
    return {
        "clients": client_stats,
        "purchases": purchase_stats,
        "summary": {
            "total_input_rows": total_in,
            "total_output_rows": total_out,
            "data_quality_score": data_quality_score(total_out, total_in),
            "run_id": run_id,
            "run_date": run_date,
            "future_dates_policy": policy,
        },
    }


def run(spark: SparkSession, settings: Settings, run_date: str, run_id: str,
        future_dates: str | None = None, *, logical_date: str | None = None,
        run_started: datetime | None = None) -> dict[str, Any]:
    """Build, audit and commit the silver layer of ``run_date`` from the latest bronze versions.

    Write–audit–publish in one Spark application:

    1. read both bronze files and run the **bronze gate** on them, before any transform;
    2. apply the rules and stage the four tables (``purchases``, ``clients``, ``purchases_rejects``,
       ``clients_rejects``: persisted, nothing written) and the quality report;
    3. run the **silver gate** on what is staged;
    4. only then commit each table's ``run_date`` partition (:func:`medallion.spark.delta.commit_layer`,
       with run id, run date and logical date in the commit metadata) and write
       ``quality_report.json`` (with the committed table versions) to the silver documents.

    A failed gate raises before anything of the layer is written: readers keep the previous snapshot.
    The same bronze bytes and run date give the same rows and report.

    Args:
        future_dates: ``reject`` or ``cap``; default ``settings.future_dates``.
        logical_date: the Airflow logical date (recorded in the commits); default ``run_date``.
        run_started: when the run began (timezone-aware), before its first attempt: the files of
            the run date's partitions written since then and never committed are removed after the
            commits (:func:`medallion.spark.delta.commit_layer`); default: when this call began.

    Returns:
        The quality report: ``{"clients": stats, "purchases": stats, "summary":
        {"total_input_rows", "total_output_rows", "data_quality_score" (percent, 2 decimals),
        "run_id", "run_date", "future_dates_policy"}, "commit": {"table_versions", "bronze",
        "logical_date"}}`` (stats: module docstring).

    Raises:
        medallion.bronze.BronzeError: bronze data missing for the date, or a header without a
            contract column (message names the file).
        medallion.quality.GateFailed: the bronze or the silver gate failed (nothing committed).
    """
    from medallion import quality
    from medallion.quality.inputs import bronze_inputs, silver_inputs
    from medallion.spark import bronze_read, delta

    run_started = run_started or datetime.now(timezone.utc)
    policy = future_dates or settings.future_dates
    _check_policy(policy)
    with quality.working_context(settings) as context:
        bronze_reads = {dataset: bronze_read.read_bronze(spark, settings, dataset, run_date) for dataset in DATASETS}
        quality.audit(context, settings, "bronze", bronze_inputs(
            {d: b.raw for d, b in bronze_reads.items()}, {d: b.manifest for d, b in bronze_reads.items()}),
            run_date, run_id)

        clients, client_rejects, client_stats = clean_clients(
            bronze_reads["clients"].rows, run_date, policy, run_id=run_id)
        clients = clients.persist()
        purchases, purchase_rejects, purchase_stats = clean_purchases(
            bronze_reads["purchases"].rows, clients, run_date, policy, run_id=run_id)
        staged = {"purchases": purchases.persist(), "clients": clients,  # largest first: see commit_layer
                  REJECTS_TABLES["purchases"]: purchase_rejects.persist(),
                  REJECTS_TABLES["clients"]: client_rejects.persist()}
        report = quality_report(client_stats, purchase_stats, run_id, run_date, policy)
        quality.audit(context, settings, "silver",
                      silver_inputs(staged, report, run_date, settings.reject_threshold_pct), run_date, run_id)

    metadata = delta.commit_metadata(run_id, run_date, logical_date, "silver_transformation")
    versions = delta.commit_layer(staged, settings, "silver", run_date, metadata, run_started)
    # Committed: free the executors' storage of the staged frames for what the application runs next
    # (the benchmark and the tests run gold after silver in one session).
    spark.catalog.clearCache()
    report["commit"] = {
        "logical_date": metadata["logical_date"],
        "table_versions": versions,
        "bronze": {b.manifest["dataset"]: {"file": b.manifest["file"], "version": b.manifest["version"],
                                           "sha256": b.manifest["sha256"]} for b in bronze_reads.values()},
    }
    lake.write_document(settings, "silver", run_date, "quality_report", report)
    return report


__all__ = [
    "ASCII_WHITESPACE", "MALFORMED", "MONEY", "SilverError", "clean_clients", "clean_purchases", "clean_table",
    "data_quality_score", "parse_date", "quality_report", "run",
]
