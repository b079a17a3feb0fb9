"""The pandas reference engine: the silver and gold contract on one machine, without Spark.

It is an *independent* implementation of issues 3 (silver) and 4 (gold) and of
:mod:`medallion.contract`, used by the benchmark (``python -m medallion.benchmark``) and by the
differential check (:mod:`medallion.diffcheck`): where this engine and the Spark jobs disagree, one
of them is wrong.

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

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from medallion import contract as C
from medallion import lake
from medallion.config import Settings
from medallion.engines.csv_lines import MALFORMED, read_lines
from medallion.tables import last_commit, read_snapshot, write_snapshot

ENGINE = "pandas"

#: Runs of ASCII whitespace inside names collapse to one space.
_WHITESPACE_RUN = "[ \t\n\r\f\v]+"

_INT64_MAX_DIGITS = "9223372036854775807"
_INT32_MAX = 2**31 - 1
#: decimal(18, 2) holds at most 10**18 - 1 cents.
_MAX_CENTS = 10**18 - 1
_DECIMAL_PARTS = r"^(?P<sign>[+-]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?$"

MONEY = pa.decimal128(C.MONEY_PRECISION, C.MONEY_SCALE)

_ARROW_TYPES = {"bigint": pa.int64(), "string": pa.string(), "date": pa.date32(), "int": pa.int32(),
                "decimal(18,2)": MONEY}


def silver_arrow_schema(dataset: str) -> pa.Schema:
    """Arrow schema of a silver table from :data:`medallion.contract.SILVER_SCHEMAS`."""
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in C.SILVER_SCHEMAS[dataset]])


def reject_arrow_schema(dataset: str) -> pa.Schema:
    """Arrow schema of a rejects table: the original string columns, ``source_row``, ``reason``, ``run_id``."""
    return pa.schema([(name, pa.string()) for name in C.SOURCE_COLUMNS[dataset]]
                     + [(name, _ARROW_TYPES[kind]) for name, kind in C.REJECT_EXTRA_COLUMNS])


# --- exact integer arithmetic -------------------------------------------------------------------

def div_half_up(num: np.ndarray | int, den: np.ndarray | int) -> np.ndarray:
    """``num / den`` rounded to the nearest integer, ties away from zero (Java ``HALF_UP``).

    Works element-wise on int64 arrays (``den`` > 0 required; callers mask zero denominators).
    """
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    magnitude = (2 * np.abs(num) + den) // (2 * den)
    return np.where(num < 0, -magnitude, magnitude)


def ratio_2dp(num: np.ndarray, den: np.ndarray, scale: int = 1) -> np.ndarray:
    """``scale * num / den`` rounded half-up to 2 decimals, as float64; NaN where ``den`` is 0.

    Exact: the rounding is done on the integer ``scale * 100 * num / den``. ``scale`` is 100 for
    percentages.
    """
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    safe = np.where(den == 0, 1, den)
    hundredths = div_half_up(num * (100 * scale), safe)
    return np.where(den == 0, np.nan, hundredths / 100.0)


def round_double_2dp(values: np.ndarray) -> np.ndarray:
    """Round doubles to 2 decimals, ties away from zero (as Spark's ``round``)."""
    return pc.round(pa.array(values, type=pa.float64()), ndigits=2,
                    round_mode="half_towards_infinity").to_numpy(zero_copy_only=False)


def cents_to_decimal(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """int64 cents -> ``decimal128(18, 2)`` Arrow array (exact, no Python objects)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the 128-bit two's complement value
    validity = None
    null_count = 0
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))
        null_count = int((~valid).sum())
    return pa.Array.from_buffers(MONEY, len(cents), [validity, pa.py_buffer(words)], null_count=null_count)


def decimal_to_cents(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A ``decimal128(p, 2)`` column (no nulls) -> int64 cents."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=values.type)
    if not pa.types.is_decimal128(values.type) or values.type.scale != C.MONEY_SCALE:
        raise TypeError(f"expected a decimal128(*, 2) money column, got {values.type}")
    words = np.frombuffer(values.buffers()[1], dtype=np.int64)
    return words[2 * values.offset: 2 * (values.offset + len(values))][0::2].copy()


def _bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Arrow boolean (nulls = False) -> NumPy bool array."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _days(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """date32 column -> int64 days since 1970-01-01 (nulls are not expected)."""
    return np.asarray(pc.fill_null(pc.cast(values, pa.int32()), 0).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


def _date32(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def _iso(day: int) -> str:
    return (np.datetime64(int(day), "D")).astype(str)


# --- parsing (contract: medallion.contract) -------------------------------------------------------

def _trim(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim ASCII whitespace; an empty string after trimming becomes null."""
    trimmed = pc.utf8_trim(values, characters=C.ASCII_WHITESPACE)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def parse_id(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Positive-integer ids (``ID_PATTERN``, 1 <= value < 2**63) -> (valid mask, int64 values).

    Fast path: 1-18 digits without a leading zero are cast directly; the other rows (leading zeros,
    19+ digits, garbage) are checked on their own.
    """
    n = len(values)
    ok = np.zeros(n, dtype=bool)
    out = np.zeros(n, dtype=np.int64)
    simple = _bool(pc.match_substring_regex(values, r"^[1-9][0-9]{0,17}$"))
    out[simple] = _int64(pc.if_else(pa.array(simple), values, "0"))[simple]
    ok |= simple
    rest = np.flatnonzero(~simple & _bool(pc.is_valid(values)))
    if len(rest):
        sub = values.take(pa.array(rest))
        good = _bool(pc.match_substring_regex(sub, C.ID_PATTERN))
        stripped = pc.utf8_ltrim(sub, characters="0")
        length = np.asarray(pc.utf8_length(stripped).to_numpy(zero_copy_only=False), dtype=np.int64)
        good &= (length < 19) | ((length == 19) & _bool(pc.less_equal(stripped, _INT64_MAX_DIGITS)))
        ok[rest] = good
        out[rest] = _int64(pc.if_else(pa.array(good), stripped, "0"))
    return ok, out


def _int64(values) -> np.ndarray:
    """Digit strings (already validated) -> int64 NumPy array."""
    return np.asarray(pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def parse_decimal_cents(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decimal strings (``DECIMAL_PATTERN``) -> (valid mask, cents rounded half-up, exact-in-cents mask).

    ``valid`` is False for a non-number or a value that does not fit ``decimal(18, 2)`` after
    rounding. ``exact`` is True when the value has no non-zero digit after the cents (so the
    rounded cents equal the number itself). Fast path: ``<1-16 digits>.<2 digits>`` (the usual
    money text) is read as cents directly; other rows are parsed on their own.
    """
    n = len(values)
    ok = np.zeros(n, dtype=bool)
    cents = np.zeros(n, dtype=np.int64)
    exact = np.zeros(n, dtype=bool)
    simple = _bool(pc.match_substring_regex(values, r"^[0-9]{1,16}\.[0-9]{2}$"))
    digits = pc.replace_substring(pc.if_else(pa.array(simple), values, "0.00"), ".", "")
    cents[simple] = _int64(digits)[simple]
    ok |= simple
    exact |= simple
    rest = np.flatnonzero(~simple & _bool(pc.is_valid(values)))
    if len(rest):
        sub_ok, sub_cents, sub_exact = _parse_decimal_general(values.take(pa.array(rest)))
        ok[rest], cents[rest], exact[rest] = sub_ok, sub_cents, sub_exact
    return ok, cents, exact


def _parse_decimal_general(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = _bool(pc.match_substring_regex(values, C.DECIMAL_PATTERN))
    parts = pc.extract_regex(pc.if_else(pa.array(ok), values, "0"), _DECIMAL_PARTS)
    sign = _bool(pc.equal(pc.struct_field(parts, "sign"), "-"))
    integer = pc.utf8_ltrim(pc.struct_field(parts, "int"), characters="0")
    int_len = np.asarray(pc.utf8_length(integer).to_numpy(zero_copy_only=False), dtype=np.int64)
    ok &= int_len <= 16
    units = _int64(pc.if_else(pa.array(ok & (int_len > 0)), integer, "0"))
    frac = pc.struct_field(parts, "frac")
    first3 = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, width=3, padding="0"), 0, 3)
    milli = _int64(first3)
    rest = pc.utf8_slice_codeunits(frac, 2)
    exact = _bool(pc.equal(pc.utf8_ltrim(rest, characters="0"), ""))
    magnitude = units * 100 + milli // 10 + (milli % 10 >= 5)
    ok &= magnitude <= _MAX_CENTS
    cents = np.where(sign, -magnitude, magnitude)
    return ok, np.where(ok, cents, 0), exact & ok


def parse_integer(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer strings (``INTEGER_PATTERN``) that fit a 32-bit int -> (valid mask, int64 values).

    Fast path: 1-9 plain digits; other rows (signs, leading zeros, long or bad text) on their own.
    """
    n = len(values)
    ok = np.zeros(n, dtype=bool)
    out = np.zeros(n, dtype=np.int64)
    simple = _bool(pc.match_substring_regex(values, r"^[0-9]{1,9}$"))
    out[simple] = _int64(pc.if_else(pa.array(simple), values, "0"))[simple]
    ok |= simple
    rest = np.flatnonzero(~simple & _bool(pc.is_valid(values)))
    if len(rest):
        sub = values.take(pa.array(rest))
        good = _bool(pc.match_substring_regex(sub, C.INTEGER_PATTERN))
        parts = pc.extract_regex(pc.if_else(pa.array(good), sub, "0"), r"^(?P<sign>[+-]?)(?P<int>[0-9]+)$")
        sign = _bool(pc.equal(pc.struct_field(parts, "sign"), "-"))
        digits = pc.utf8_ltrim(pc.struct_field(parts, "int"), characters="0")
        length = np.asarray(pc.utf8_length(digits).to_numpy(zero_copy_only=False), dtype=np.int64)
        good &= length <= 10
        magnitude = _int64(pc.if_else(pa.array(good & (length > 0)), digits, "0"))
        value = np.where(sign, -magnitude, magnitude)
        good &= (value <= _INT32_MAX) & (value >= -_INT32_MAX - 1)
        ok[rest] = good
        out[rest] = np.where(good, value, 0)
    return ok, out


def _field_offsets(strptime_format: str) -> dict[str, tuple[int, int]]:
    """Character span of each field of a fixed-width strptime format (``%Y`` 4, others 2 chars)."""
    spans: dict[str, tuple[int, int]] = {}
    position = i = 0
    while i < len(strptime_format):
        if strptime_format[i] == "%":
            code = strptime_format[i + 1]
            width = 4 if code == "Y" else 2
            spans[code] = (position, position + width)
            position += width
            i += 2
        else:
            position += 1
            i += 1
    return spans


def _calendar_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valid mask, days since 1970-01-01) of year/month/day numbers; invalid for e.g. Feb 30."""
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(valid, (year - 1970) * 12 + month - 1, 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    following = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    valid &= day <= following - first
    return valid, np.where(valid, first + day - 1, 0)


def parse_date(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Dates in any of :data:`medallion.contract.DATE_FORMATS` -> (valid mask, int64 days since epoch).

    A string must match a format's regex and be a real calendar date (and a real time of day, for
    the timestamp format): ``2024-02-30`` and ``2024-01-01T24:00:00`` are invalid. Only the date part
    of a timestamp is kept. The fields are read at the fixed positions given by the format's
    strptime pattern and checked with calendar arithmetic.
    """
    n = len(values)
    ok = np.zeros(n, dtype=bool)
    days = np.zeros(n, dtype=np.int64)
    candidates = np.flatnonzero(_bool(pc.is_valid(values)))
    for regex, _spark_pattern, strptime_format in C.DATE_FORMATS:
        if not len(candidates):
            break
        subset = values if len(candidates) == n else values.take(pa.array(candidates))
        matched = _bool(pc.match_substring_regex(subset, regex))
        if not matched.any():
            continue
        index = candidates[matched]
        text = subset.filter(pa.array(matched))
        fields = {code: _int64(pc.utf8_slice_codeunits(text, start, stop))
                  for code, (start, stop) in _field_offsets(strptime_format).items()}
        good, numbers = _calendar_days(fields["Y"], fields["m"], fields["d"])
        if "H" in fields:
            good &= (fields["H"] < 24) & (fields.get("M", 0) < 60) & (fields.get("S", 0) < 60)
        ok[index] = good
        days[index] = numbers
        candidates = candidates[~matched]
    return ok, days


# --- reading bronze ---------------------------------------------------------------------------------

def _bronze_file(settings: Settings, dataset: str, run_date: str) -> tuple[str, dict[str, Any]]:
    """(filesystem path, manifest) of the latest bronze version of ``dataset``."""
    from medallion.bronze import latest_version

    return latest_version(settings, dataset, run_date)


def _skip_blank_line(row) -> str:
    """pyarrow invalid-row handler: skip lines made only of characters <= U+0020 (as Spark does)."""
    return "skip" if not row.text.strip("".join(map(chr, range(0x21)))) else "error"


def read_source(settings: Settings, path: str, dataset: str, expected_rows: int | None = None,
                encoding: str = C.DEFAULT_ENCODING) -> pa.Table:
    """Read a source CSV in ``encoding`` with every contract column as ``string`` (extra columns ignored).

    An empty field, quoted or not, is null (as in Spark's CSV reader, so rejects keep the same
    original values in both engines); rows keep the file's order; blank lines
    (only characters <= U+0020) are skipped, as in :mod:`medallion.bronze` and Spark's CSV reader.

    A file that ``pyarrow.csv`` cannot take whole (a line whose field count differs from the
    header's, or a quote left open, which pyarrow would carry over the line end so that fewer
    rows than ``expected_rows`` come out) is read again line by line
    (:func:`medallion.engines.csv_lines.read_lines`); the table then has a ``_malformed``
    (boolean) column marking the lines whose field count differs from the header's.

    Raises:
        ValueError: the file lacks a contract column, does not decode in ``encoding``, or holds a number of data
            rows different from ``expected_rows`` (the bronze manifest's ``data_rows``); the
            message names the file.
    """
    columns = list(C.SOURCE_COLUMNS[dataset])
    fs = lake.filesystem(settings)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in columns}, include_columns=columns,
        strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True,
    )
    parse = pacsv.ParseOptions(invalid_row_handler=_skip_blank_line)
    try:
        with fs.open_input_stream(path) as stream:
            table = pacsv.read_csv(stream, read_options=pacsv.ReadOptions(block_size=32 << 20, encoding=encoding),
                                   parse_options=parse, convert_options=convert)
    except KeyError as error:
        raise ValueError(f"cannot read {dataset} source {path}: {error}") from error
    except pa.ArrowInvalid:
        table = None
    if table is None or (expected_rows is not None and table.num_rows != expected_rows):
        with fs.open_input_stream(path) as stream:
            table = read_lines(stream.read().decode(encoding).encode("utf-8"), columns, f"{dataset} source {path}")
    if expected_rows is not None and table.num_rows != expected_rows:
        raise ValueError(f"{path}: read {table.num_rows} data rows but the bronze manifest says "
                         f"{expected_rows} (the file is not the one the manifest describes)")
    return table


# --- silver -------------------------------------------------------------------------------------------

class _Rules:
    """Reject-reason bookkeeping: a row keeps the first rule it fails (rule-table order)."""

    def __init__(self, reasons: tuple[str, ...], n: int):
        self.reasons = reasons
        self.code = np.zeros(n, dtype=np.int8)

    @property
    def valid(self) -> np.ndarray:
        return self.code == 0

    def fail(self, index: int, failed: np.ndarray) -> None:
        self.code[(self.code == 0) & failed] = index + 1

    def counts(self) -> dict[str, int]:
        tally = np.bincount(self.code, minlength=len(self.reasons) + 1)
        return {reason: int(tally[i + 1]) for i, reason in enumerate(self.reasons)}

    def reason_array(self, rows: np.ndarray) -> pa.Array:
        labels = pa.array(self.reasons, type=pa.string())
        return labels.take(pa.array(self.code[rows].astype(np.int32) - 1))


def _first_occurrence(keys: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """True for eligible rows whose key already appeared in an earlier eligible row (source order)."""
    dup = np.zeros(len(eligible), dtype=bool)
    index = np.flatnonzero(eligible)
    dup[index] = pd.Series(np.asarray(keys)[index]).duplicated(keep="first").to_numpy()
    return dup


def _canonical(values: pa.ChunkedArray, vocabulary: tuple[str, ...]) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Case-insensitive match to ``vocabulary`` -> (canonical or unchanged value, unknown mask)."""
    lowered = pc.utf8_lower(values)
    index = pc.index_in(lowered, value_set=pa.array([v.lower() for v in vocabulary]))
    canonical = pa.array(vocabulary, type=pa.string()).take(pc.fill_null(index, 0))
    known = pc.is_valid(index)
    return pc.if_else(known, canonical, values), ~_bool(known)


def _malformed(source: pa.Table) -> np.ndarray:
    """The source's ``_malformed`` flags (see :func:`read_source`); all false when it has none."""
    if MALFORMED not in source.column_names:
        return np.zeros(source.num_rows, dtype=bool)
    return _bool(source.column(MALFORMED))


def _rejects_table(source: pa.Table, dataset: str, rules: _Rules, run_id: str) -> pa.Table:
    rows = np.flatnonzero(~rules.valid)
    taken = source.take(pa.array(rows))
    arrays = [taken.column(name) for name in C.SOURCE_COLUMNS[dataset]]
    arrays += [pa.array(rows + 1, type=pa.int64()), rules.reason_array(rows),
               pa.array(np.full(len(rows), run_id, dtype=object), type=pa.string())]
    return pa.Table.from_arrays(arrays, schema=reject_arrow_schema(dataset))


@dataclass
class _Parsed:
    """One source column, trimmed and parsed by its ``contract.PARSERS`` kind."""

    nulls: np.ndarray  # missing after trimming
    ok: np.ndarray  # parsed (the ``parses`` check)
    values: Any  # int64 NumPy array (ids, cents, integers, day numbers) or Arrow strings


def _parse(column: str, kind: str, raw: pa.ChunkedArray) -> _Parsed:
    text = _trim(raw)
    nulls = _bool(pc.is_null(text))
    if kind == "id":
        ok, values = parse_id(text)
    elif kind == "money":
        ok, values, _ = parse_decimal_cents(text)
    elif kind == "recomputed":
        ok, values, exact = parse_decimal_cents(text)
        ok &= exact  # only a value equal to its cents can equal the recomputed one
    elif kind == "integer":
        ok, values = parse_integer(text)
    elif kind == "date":
        ok, values = parse_date(text)
    elif kind == "email":
        values = pc.utf8_lower(text)
        ok = _bool(pc.match_substring_regex(values, C.EMAIL_PATTERN))
    elif kind == "name":
        values, ok = pc.replace_substring_regex(text, _WHITESPACE_RUN, " "), ~nulls
    elif kind == "vocabulary":
        values, unknown = _canonical(text, C.VOCABULARIES[column])
        ok = ~unknown
    else:
        raise ValueError(f"{column}: unknown parser {kind!r}")
    return _Parsed(nulls, ok, values)


def _too_large(factors: list[np.ndarray]) -> np.ndarray:
    """cents x quantity does not fit decimal(18, 2) (checked without overflowing int64)."""
    cents, quantity = factors
    return (quantity >= 1) & (np.abs(cents) > _MAX_CENTS // np.maximum(quantity, 1))


def _unique_keys(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    return pc.dictionary_encode(pc.fill_null(values, "")).combine_chunks().indices.to_numpy(zero_copy_only=False)


def _take(values: Any, rows: np.ndarray) -> Any:
    return values[rows] if isinstance(values, np.ndarray) else values.take(pa.array(rows))


def clean_table(source: pa.Table, dataset: str, run_date: str, run_id: str, future_dates: str = "reject", *,
                client_ids: np.ndarray | None = None, rules: tuple[C.SilverRule, ...] | None = None
                ) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """Apply the silver rules of ``dataset`` (``contract.SILVER_RULES``, or ``rules``) to the raw string table.

    Args:
        source: the dataset's source columns as strings, file order; optionally ``_malformed``
            (boolean, see :func:`read_source`).
        dataset: ``clients`` or ``purchases``.
        run_date: ``YYYY-MM-DD``; dates after it are future dates.
        future_dates: ``reject`` or ``cap`` (cap sets the date to ``run_date`` and counts it).
        client_ids: ``id_client`` values (int64) of the silver clients, for a ``known_client`` rule.
        rules: the rule table (default ``contract.SILVER_RULES[dataset]``).

    Returns:
        ``(table, rejects, report)``: the silver table (``contract.SILVER_SCHEMAS``; clients sorted
        by id_client, purchases by year_month then id_purchase), the rejects (original strings,
        ``source_row`` int64 1-based, ``reason``, ``run_id``) and the table's quality-report entry
        (``input_rows, output_rows, rejected_rows, rejects_by_reason, null_values,
        total_recalculated, future_dates, unknown_values``).

    Raises:
        ValueError: unknown ``future_dates`` policy, a rule table :func:`contract.check_rules`
            refuses, or a ``known_client`` rule without ``client_ids``.
    """
    rules = C.SILVER_RULES[dataset] if rules is None else rules
    C.check_rules(dataset, rules)
    if future_dates not in C.FUTURE_DATE_POLICIES:
        raise ValueError(f"future_dates must be one of {C.FUTURE_DATE_POLICIES}, got {future_dates!r}")
    n = source.num_rows
    parsers = C.PARSERS[dataset]
    # Columns are independent and Arrow/NumPy kernels release the GIL: parse them on all cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        parsed = dict(zip(parsers, pool.map(lambda c: _parse(c, parsers[c], source.column(c)), parsers)))
    recomputed = {c: C.RECOMPUTED[c] for c in parsers if c in C.RECOMPUTED}
    state = _Rules(tuple(rule.reason for rule in rules), n)
    run_day = int(np.datetime64(run_date, "D").astype(np.int64))
    future_count = 0
    for index, rule in enumerate(rules):
        columns = [parsed[c] for c in rule.columns]
        if rule.check == "well_formed":
            failed = _malformed(source)
        elif rule.check == "present":
            failed = np.logical_or.reduce([p.nulls for p in columns])
        elif rule.check == "parses":
            failed = ~np.logical_and.reduce([p.ok for p in columns])
        elif rule.check == "amount":
            failed = np.zeros(n, dtype=bool)
            for column in rule.columns:
                if column in C.MINIMUMS:
                    failed |= parsed[column].values < C.MINIMUMS[column]
            for factors in recomputed.values():
                if set(factors) <= set(rule.columns):
                    failed |= _too_large([parsed[f].values for f in factors])
        elif rule.check == "not_future":
            date = parsed[rule.columns[0]]
            future = state.valid & (date.values > run_day)
            future_count = int(future.sum())
            if future_dates == "cap":
                date.values = np.where(future, run_day, date.values)
                continue
            failed = future
        elif rule.check == "unique":
            failed = _first_occurrence(_unique_keys(parsed[rule.columns[0]].values), state.valid)
        elif rule.check == "known_client":
            if client_ids is None:
                raise ValueError(f"the {dataset} rules need the silver clients' ids (client_ids)")
            failed = state.valid & ~np.isin(parsed["id_client"].values, client_ids)
        state.fail(index, failed)

    keep = np.flatnonzero(state.valid)
    first_id = next(c for c, kind in parsers.items() if kind == "id")
    sort_keys = [parsed[first_id].values[keep]]
    months = {column: parsed[date].values[keep] for column, date in C.MONTH_OF.items() if date in parsers}
    sort_keys += [days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) for days in months.values()]
    keep = keep[np.lexsort(sort_keys)]  # purchases by (year_month, id_purchase): fact_table rarely sorts then
    outputs: dict[str, pa.Array | pa.ChunkedArray] = {}
    totals: dict[str, np.ndarray] = {}
    for column, kind in parsers.items():
        if kind == "recomputed":
            left, right = (parsed[f].values[keep] for f in recomputed[column])
            totals[column] = left * right
            outputs[column] = cents_to_decimal(totals[column])
        elif kind == "money":
            outputs[column] = cents_to_decimal(parsed[column].values[keep])
        elif kind == "date":
            outputs[column] = _date32(parsed[column].values[keep])
        elif kind in ("id", "integer"):
            outputs[column] = pa.array(parsed[column].values[keep])
        else:
            outputs[column] = _take(parsed[column].values, keep)
    for column, date in C.MONTH_OF.items():
        if date in parsers:
            outputs[column] = _year_month(parsed[date].values[keep])
    schema = silver_arrow_schema(dataset)
    table = pa.Table.from_arrays([outputs[name].cast(field.type) for name, field in zip(schema.names, schema)],
                                 schema=schema)
    recalculated = sum(int((~parsed[c].ok[keep] | (parsed[c].values[keep] != totals[c])).sum()) for c in totals)
    report = {
        "input_rows": n,
        "output_rows": len(keep),
        "rejected_rows": n - len(keep),
        "rejects_by_reason": state.counts(),
        "null_values": {name: int(parsed[name].nulls.sum()) for name in C.SOURCE_COLUMNS[dataset]},
        "total_recalculated": recalculated,
        "future_dates": future_count,
        "unknown_values": {c: int((~parsed[c].ok[keep]).sum()) for c, kind in parsers.items() if kind == "vocabulary"},
    }
    return table, _rejects_table(source, dataset, state, run_id), report


def clean_clients(source: pa.Table, run_date: str, run_id: str, future_dates: str = "reject"
                  ) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """:func:`clean_table` for ``clients``: ``id_client`` int64, ``name`` string, ``email``
    lower-cased, ``subscription_date`` date32, ``country`` canonical or trimmed."""
    return clean_table(source, "clients", run_date, run_id, future_dates)


def clean_purchases(source: pa.Table, client_ids: np.ndarray, run_date: str, run_id: str,
                    future_dates: str = "reject") -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """:func:`clean_table` for ``purchases`` against the silver ``client_ids``: ids int64,
    ``product`` canonical or trimmed, ``price`` decimal(18,2), ``quantity`` int32,
    ``purchase_date`` date32, ``total`` decimal(18,2) = price x quantity, ``year_month`` ``YYYY-MM``."""
    return clean_table(source, "purchases", run_date, run_id, future_dates, client_ids=client_ids)


def _year_month(days: np.ndarray) -> pa.Array:
    """``YYYY-MM`` strings of day numbers (formatted once per distinct month)."""
    months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
    unique, inverse = np.unique(months, return_inverse=True)
    labels = pa.array(unique.astype(str).tolist() if len(unique) else [], type=pa.string())
    return labels.take(pa.array(inverse.astype(np.int32)))


def quality_summary(clients: dict[str, Any], purchases: dict[str, Any], run_id: str, run_date: str,
                    future_dates: str) -> dict[str, Any]:
    """The report's ``summary``: row totals, ``data_quality_score`` = output / input x 100 (percent,
    2 decimals half-up, 0.0 without input), ``run_id``, ``run_date``, ``future_dates_policy``."""
    total_in = clients["input_rows"] + purchases["input_rows"]
    total_out = clients["output_rows"] + purchases["output_rows"]
    score = float(ratio_2dp(np.array([total_out]), np.array([total_in]), scale=100)[0]) if total_in else 0.0
    return {"total_input_rows": total_in, "total_output_rows": total_out, "data_quality_score": score,
            "run_id": run_id, "run_date": run_date, "future_dates_policy": future_dates}


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
    clients_path, clients_manifest = _bronze_file(settings, "clients", run_date)
    clients_src = read_source(settings, clients_path, "clients", expected_rows=int(clients_manifest["data_rows"]),
                              encoding=manifest_encoding(clients_manifest))
    clients, client_rejects, clients_report = clean_clients(clients_src, run_date, run_id, future_dates)
    del clients_src
    purchases_path, purchases_manifest = _bronze_file(settings, "purchases", run_date)
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


# --- gold ---------------------------------------------------------------------------------------------

def iso_calendar(days: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar attributes of day numbers (days since 1970-01-01).

    Returns int arrays ``year, month, quarter, iso_year, iso_week, iso_weekday`` (ISO 8601:
    Monday = 1, week 1 holds the year's first Thursday).
    """
    days = np.asarray(days, dtype=np.int64)
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    weekday = (days + 3) % 7 + 1  # 1970-01-01 was a Thursday
    thursday = days - (weekday - 1) + 3
    iso_year = thursday.astype("datetime64[D]").astype("datetime64[Y]")
    jan1 = iso_year.astype("datetime64[D]").astype(np.int64)
    iso_week = (thursday - jan1) // 7 + 1
    return {"year": year, "month": month, "quarter": (month - 1) // 3 + 1,
            "iso_year": iso_year.astype(np.int64) + 1970, "iso_week": iso_week, "iso_weekday": weekday}


def _labels(codes: np.ndarray, formatter) -> pa.Array:
    """Format each distinct integer code once, then expand to a string array."""
    unique, inverse = np.unique(codes, return_inverse=True)
    labels = pa.array([formatter(int(code)) for code in unique], type=pa.string())
    return labels.take(pa.array(inverse.astype(np.int32)))


def _sorted_codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode strings: (int64 code per row, labels) with codes in label order.

    Labels sort by code point, which is the UTF-8 byte order Spark sorts strings by.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    encoded = pc.dictionary_encode(values)
    labels = encoded.dictionary.to_pylist()
    order = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels))
    codes = rank[np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)] \
        if len(labels) else np.zeros(len(values), dtype=np.int64)
    return codes, [labels[i] for i in order]


@dataclass
class Fact:
    """fact_sales, built once and reused by every aggregate.

    ``frame`` holds numbers only (money in int64 cents, dates as int64 day numbers, ``product`` and
    ``country`` as codes into :attr:`products` / :attr:`countries`, ``client_row`` as the row of the
    client in :attr:`clients`); the strings stay in Arrow until a table is written.
    """

    frame: pd.DataFrame
    clients: pa.Table
    products: list[str]
    countries: list[str]


def build_fact(purchases: pa.Table, clients: pa.Table) -> Fact:
    """fact_sales: silver purchases inner-joined to silver clients on ``id_client``, with calendar columns.

    Frame columns: ``id_purchase, id_client, client_row, product, country, price, quantity, total,
    purchase_date, subscription_date, year_week_code`` (ISO year x 100 + week),
    ``year_month_code`` (year x 100 + month), ``week_ordinal`` and ``month_ordinal`` (consecutive
    calendar periods differ by 1). The other calendar columns of fact_sales are derived from
    ``purchase_date`` when the table is written (:func:`fact_table`).
    """
    client_ids = np.asarray(clients.column("id_client").to_numpy(), dtype=np.int64)
    row = pd.Index(client_ids).get_indexer(np.asarray(purchases.column("id_client").to_numpy(), dtype=np.int64))
    matched = row >= 0
    if not matched.all():  # silver guarantees every purchase has its client; an inner join drops others
        purchases = purchases.filter(pa.array(matched))
        row = row[matched]
    product, products = _sorted_codes(purchases.column("product"))
    client_country, countries = _sorted_codes(clients.column("country"))
    day = _days(purchases.column("purchase_date"))
    subscription = _days(clients.column("subscription_date"))[row]
    cal = iso_calendar(day)
    frame = pd.DataFrame({
        "id_purchase": np.asarray(purchases.column("id_purchase").to_numpy(), dtype=np.int64),
        "id_client": client_ids[row],
        "client_row": row.astype(np.int64),
        "product": product,
        "country": client_country[row],
        "price": decimal_to_cents(purchases.column("price")),
        "quantity": np.asarray(purchases.column("quantity").to_numpy(), dtype=np.int64),
        "total": decimal_to_cents(purchases.column("total")),
        "purchase_date": day,
        "subscription_date": subscription,
        "year_week_code": cal["iso_year"] * 100 + cal["iso_week"],
        "year_month_code": cal["year"] * 100 + cal["month"],
        # 1970-01-05 was a Monday: Monday-based week numbers; months counted from year 0.
        "week_ordinal": (day - (cal["iso_weekday"] - 1) - 4) // 7,
        "month_ordinal": cal["year"] * 12 + cal["month"] - 1,
    })
    return Fact(frame=frame, clients=clients, products=products, countries=countries)


def _year_week_label(code: int) -> str:
    return f"{code // 100:04d}-W{code % 100:02d}"


def _year_month_label(code: int) -> str:
    return f"{code // 100:04d}-{code % 100:02d}"


def _int32(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64).astype(np.int32), pa.int32())


def _int64_array(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64())


def fact_table(fact: Fact) -> pa.Table:
    """fact_sales as Arrow, columns and types as in :mod:`medallion.metrics`, sorted by (year_month, id_purchase)."""
    f = fact.frame
    month, ids = f["year_month_code"].to_numpy(), f["id_purchase"].to_numpy()
    # Silver purchases are stored in this order, so the sort (1.4 s at 10M rows) is usually not needed.
    in_order = bool(((month[1:] > month[:-1]) | ((month[1:] == month[:-1]) & (ids[1:] >= ids[:-1]))).all())
    order = slice(None) if in_order else np.lexsort((ids, month))

    def col(name):
        return f[name].to_numpy()[order]

    client_rows = pa.array(col("client_row"))
    day, subscription = col("purchase_date"), col("subscription_date")
    cal = iso_calendar(day)
    weekday = cal["iso_weekday"]
    return pa.table({
        "id_purchase": _int64_array(col("id_purchase")),
        "id_client": _int64_array(col("id_client")),
        "product": pa.array(fact.products, pa.string()).take(pa.array(col("product"))),
        "price": cents_to_decimal(col("price")),
        "quantity": _int32(col("quantity")),
        "total": cents_to_decimal(col("total")),
        "purchase_date": _date32(day),
        "name": fact.clients.column("name").take(client_rows),
        "email": fact.clients.column("email").take(client_rows),
        "country": fact.clients.column("country").take(client_rows),
        "subscription_date": _date32(subscription),
        "purchase_year": _int32(cal["year"]),
        "purchase_month": _int32(cal["month"]),
        "purchase_quarter": _int32(cal["quarter"]),
        "purchase_week": _int32(cal["iso_week"]),
        "purchase_day_of_week": _int32(weekday),
        "purchase_day_name": pa.array(C.DAY_NAMES, pa.string()).take(pa.array(weekday - 1)),
        "year_month": _labels(col("year_month_code"), _year_month_label),
        "year_week": _labels(col("year_week_code"), _year_week_label),
        "customer_tenure_days": _int32(day - subscription),
    })


def _scores(rank_le: np.ndarray, n: int) -> np.ndarray:
    """``ceil(S * k / n)`` on integers (S: ``RFM_SCORE_MAX``), ``k`` = rows whose goodness is <= this
    row's (cume_dist)."""
    return (C.RFM_SCORE_MAX * np.asarray(rank_le, dtype=np.int64) + n - 1) // n


def client_kpis(fact: Fact, as_of_day: int) -> pd.DataFrame:
    """client_kpis (issue 4) as a frame sorted by id_client; money in cents, dates as day numbers.

    Recency/lifetime are days before the as-of date; ``is_high_value`` compares total_spent with the
    median over these clients exactly (cents); RFM scores are ``ceil(5 x cume_dist)`` over
    ascending goodness (recency: fewer days is better; ties share a score), segments as in the issue.
    """
    kpis = fact.frame.groupby("id_client", sort=True).agg(
        client_row=("client_row", "first"),
        total_purchases=("id_purchase", "size"), total_spent=("total", "sum"),
        min_order_value=("total", "min"), max_order_value=("total", "max"),
        total_quantity=("quantity", "sum"), first_purchase_date=("purchase_date", "min"),
        last_purchase_date=("purchase_date", "max"), subscription_date=("subscription_date", "first"),
    ).reset_index()
    count = kpis["total_purchases"].to_numpy(np.int64)
    spent = kpis["total_spent"].to_numpy(np.int64)
    kpis["avg_order_value"] = div_half_up(spent, count)
    lifetime = as_of_day - kpis["first_purchase_date"].to_numpy(np.int64)
    kpis["customer_lifetime_days"] = lifetime
    # total_purchases / max(lifetime / 30, 1) = 30 * total_purchases / max(lifetime, 30)
    kpis["purchase_frequency_per_month"] = ratio_2dp(30 * count, np.maximum(lifetime, 30))
    recency = as_of_day - kpis["last_purchase_date"].to_numpy(np.int64)
    kpis["days_since_last_purchase"] = recency
    kpis["is_active"] = recency <= C.ACTIVE_DAYS
    n = len(spent)
    if n:
        ordered = np.sort(spent)
        twice_median = 2 * ordered[n // 2] if n % 2 else ordered[n // 2 - 1] + ordered[n // 2]
        kpis["is_high_value"] = 2 * spent > twice_median
        r = _scores(pd.Series(recency).rank(method="max", ascending=False).to_numpy(), n)
        f = _scores(pd.Series(count).rank(method="max").to_numpy(), n)
        m = _scores(pd.Series(spent).rank(method="max").to_numpy(), n)
    else:
        kpis["is_high_value"] = np.zeros(0, dtype=bool)
        r = f = m = np.zeros(0, dtype=np.int64)
    fm = (f + m + 1) // 2
    kpis["r_score"], kpis["f_score"], kpis["m_score"] = r, f, m
    kpis["rfm_segment"] = np.select(
        [(r >= rule.r_min) & (r <= rule.r_max) & (fm >= rule.fm_min) for rule in C.RFM_SEGMENT_RULES],
        [rule.segment for rule in C.RFM_SEGMENT_RULES], default=None)
    return kpis


def client_kpis_table(kpis: pd.DataFrame, fact: Fact) -> pa.Table:
    """client_kpis as Arrow (columns and types as in :mod:`medallion.metrics`)."""
    rows = pa.array(kpis["client_row"].to_numpy(np.int64))
    return pa.table({
        "id_client": _int64_array(kpis["id_client"]),
        "name": fact.clients.column("name").take(rows),
        "email": fact.clients.column("email").take(rows),
        "country": fact.clients.column("country").take(rows),
        "subscription_date": _date32(kpis["subscription_date"].to_numpy()),
        "total_purchases": _int64_array(kpis["total_purchases"]),
        "total_spent": cents_to_decimal(kpis["total_spent"].to_numpy()),
        "avg_order_value": cents_to_decimal(kpis["avg_order_value"].to_numpy()),
        "min_order_value": cents_to_decimal(kpis["min_order_value"].to_numpy()),
        "max_order_value": cents_to_decimal(kpis["max_order_value"].to_numpy()),
        "total_quantity": _int64_array(kpis["total_quantity"]),
        "first_purchase_date": _date32(kpis["first_purchase_date"].to_numpy()),
        "last_purchase_date": _date32(kpis["last_purchase_date"].to_numpy()),
        "customer_lifetime_days": _int32(kpis["customer_lifetime_days"]),
        "purchase_frequency_per_month": pa.array(kpis["purchase_frequency_per_month"].to_numpy(), pa.float64()),
        "days_since_last_purchase": _int32(kpis["days_since_last_purchase"]),
        "is_active": pa.array(kpis["is_active"].to_numpy(bool), pa.bool_()),
        "is_high_value": pa.array(kpis["is_high_value"].to_numpy(bool), pa.bool_()),
        "r_score": _int32(kpis["r_score"]),
        "f_score": _int32(kpis["f_score"]),
        "m_score": _int32(kpis["m_score"]),
        "rfm_segment": pa.array(kpis["rfm_segment"].to_numpy(), pa.string()),
    })


#: Largest (keys x clients) boolean matrix used to count distinct clients per key (bytes).
_BITMAP_CELLS = 256 * 2**20


def _distinct_clients(frame: pd.DataFrame, key: str, clients: int) -> pd.Series:
    """Exact number of distinct clients per value of the integer column ``key`` (sorted index).

    ``clients`` is the number of client rows (``client_row`` is in ``0 .. clients - 1``). With few
    keys a keys x clients boolean matrix is marked (no hashing, no sort); otherwise the
    (key, client) pairs are packed into one int64 and hash-deduplicated.
    """
    keys = frame[key].to_numpy(np.int64)
    rows = frame["client_row"].to_numpy(np.int64)
    if not len(keys):
        return pd.Series([], dtype=np.int64)
    low = int(keys.min())
    span = int(keys.max()) - low + 1
    present = np.flatnonzero(np.bincount(keys - low, minlength=span))
    if span * clients <= _BITMAP_CELLS:
        seen = np.zeros((span, clients), dtype=bool)
        seen[keys - low, rows] = True
        per_key = seen.sum(axis=1)
    else:
        packed = pd.unique((keys - low) * clients + rows)
        per_key = np.bincount(packed // clients, minlength=span)
    return pd.Series(per_key[present], index=present + low)


def _sums(frame: pd.DataFrame, key: str, clients: int) -> pd.DataFrame:
    """Per ``key`` (sorted): revenue and price sums (cents), orders, quantity, distinct clients."""
    sums = frame.groupby(key, sort=True).agg(
        total_revenue=("total", "sum"), total_orders=("id_purchase", "size"),
        total_quantity=("quantity", "sum"), price_sum=("price", "sum"),
        min_price=("price", "min"), max_price=("price", "max"))
    sums["unique_customers"] = _distinct_clients(frame, key, clients)
    return sums.reset_index()


def _share(revenue: np.ndarray, total: int, rounding: str = C.MARKET_SHARE_ROUNDING) -> np.ndarray:
    """Percent shares of ``revenue`` (cents, rows in key order) in ``total``, rounded to 0.01 by ``rounding``.

    ``largest_remainder`` (``contract.ROUNDING_POLICIES``): each share is its exact value rounded
    down to 0.01, then the rows with the largest remainders (ties by key, i.e. row order) get 0.01
    more until the shares add up to exactly 100.00; ``half_up``: each share on its own. All in
    integers: the exact share in 0.01 % is ``10000 * revenue / total``. NaN (null) for every row
    when ``total`` is 0.
    """
    revenue = np.asarray(revenue, dtype=np.int64)
    if total == 0:
        return np.full(len(revenue), np.nan)
    if rounding == "half_up":
        return div_half_up(revenue * 10000, total) / 100.0
    if rounding != "largest_remainder":
        raise ValueError(f"unknown rounding {rounding!r}; one of {', '.join(C.ROUNDING_POLICIES)}")
    floor, remainder = np.divmod(revenue * 10000, total)
    missing = 10000 - int(floor.sum())
    by_remainder = np.lexsort((np.arange(len(revenue)), -remainder))
    floor[by_remainder[:missing]] += 1
    return floor / 100.0


def product_analytics(fact: Fact) -> pa.Table:
    """product_analytics (issue 4): per product, money exact, shares of total revenue in percent."""
    frame = fact.frame
    agg = _sums(frame, "product", fact.clients.num_rows)
    orders = agg["total_orders"].to_numpy(np.int64)
    revenue = agg["total_revenue"].to_numpy(np.int64)
    quantity = agg["total_quantity"].to_numpy(np.int64)
    by_country = frame.groupby(["product", "country"], sort=True)["total"].sum().reset_index()
    by_country = by_country.sort_values(["product", "total", "country"], ascending=[True, False, True],
                                        kind="stable")
    top = by_country.groupby("product", sort=True).head(3)
    labels = np.array(fact.countries, dtype=object)
    top_countries = pd.Series(labels[top["country"].to_numpy()], index=top["product"].to_numpy()) \
        .groupby(level=0, sort=True).agg(", ".join)
    return pa.table({
        "product": pa.array([fact.products[c] for c in agg["product"]], pa.string()),
        "total_quantity_sold": _int64_array(quantity),
        "total_revenue": cents_to_decimal(revenue),
        "avg_price": cents_to_decimal(div_half_up(agg["price_sum"].to_numpy(np.int64), orders)),
        "min_price": cents_to_decimal(agg["min_price"].to_numpy(np.int64)),
        "max_price": cents_to_decimal(agg["max_price"].to_numpy(np.int64)),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(agg["unique_customers"]),
        "avg_quantity_per_order": pa.array(ratio_2dp(quantity, orders), pa.float64()),
        "market_share_pct": pa.array(_share(revenue, int(revenue.sum())), pa.float64()),
        "top_countries": pa.array(top_countries.reindex(agg["product"]).to_numpy(), pa.string()),
    })


def country_analytics(fact: Fact) -> pa.Table:
    """country_analytics (issue 4): per client country, averages half-up to cents, share in percent."""
    agg = _sums(fact.frame, "country", fact.clients.num_rows)
    revenue = agg["total_revenue"].to_numpy(np.int64)
    orders = agg["total_orders"].to_numpy(np.int64)
    customers = agg["unique_customers"].to_numpy(np.int64)
    return pa.table({
        "country": pa.array([fact.countries[c] for c in agg["country"]], pa.string()),
        "total_revenue": cents_to_decimal(revenue),
        "unique_customers": _int64_array(customers),
        "total_orders": _int64_array(orders),
        "total_quantity": _int64_array(agg["total_quantity"]),
        "avg_order_value": cents_to_decimal(div_half_up(revenue, orders)),
        "avg_revenue_per_customer": cents_to_decimal(div_half_up(revenue, customers)),
        "market_share_pct": pa.array(_share(revenue, int(revenue.sum())), pa.float64()),
    })


def _growth(values: np.ndarray, ordinal: np.ndarray | None = None) -> np.ndarray:
    """Percent change vs the previous period, 2 decimals half-up, as float64 (NaN = null).

    Rows are sorted periods; ``ordinal`` numbers the calendar periods (consecutive periods differ by
    1). The growth is null when the previous calendar period has no row (first row, or a gap in
    ``ordinal``) or its value is 0.
    """
    values = np.asarray(values, dtype=np.int64)
    previous = np.concatenate([[0], values[:-1]]) if len(values) else values
    if ordinal is not None and len(values):
        ordinal = np.asarray(ordinal, dtype=np.int64)
        adjacent = np.concatenate([[False], ordinal[1:] - ordinal[:-1] == 1])
        previous = np.where(adjacent, previous, 0)
    return ratio_2dp(values - previous, previous, scale=100)


def _nullable(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.float64(), from_pandas=True)


def daily_sales(fact: Fact) -> pa.Table:
    """daily_sales (issue 4): every calendar day from the first to the last purchase date.

    Days without sales are zeros. ``revenue_7day_avg`` (cents, half-up) and ``orders_7day_avg``
    (2 decimals) average the trailing 7 calendar days including the day, over fewer days at the start
    (pandas ``rolling(7, min_periods=1)``). ``revenue_growth_pct`` is vs the previous day, null when
    that day's revenue is zero or there is none.
    """
    sums = _sums(fact.frame, "purchase_date", fact.clients.num_rows)
    if len(sums):
        first, last = int(sums["purchase_date"].iloc[0]), int(sums["purchase_date"].iloc[-1])
        calendar = pd.DataFrame({"purchase_date": np.arange(first, last + 1, dtype=np.int64)})
        sums = calendar.merge(sums, on="purchase_date", how="left").fillna(0)
    revenue = sums["total_revenue"].to_numpy(np.int64)
    orders = sums["total_orders"].to_numpy(np.int64)
    window = np.minimum(np.arange(1, len(sums) + 1), 7).astype(np.int64)

    def trailing(values):
        cumulative = np.concatenate([[0], np.cumsum(values)])
        idx = np.arange(1, len(values) + 1)
        return cumulative[idx] - cumulative[np.maximum(idx - 7, 0)]

    return pa.table({
        "date": _date32(sums["purchase_date"].to_numpy(np.int64)),
        "total_revenue": cents_to_decimal(revenue),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(sums["unique_customers"]),
        "total_quantity": _int64_array(sums["total_quantity"]),
        "revenue_7day_avg": cents_to_decimal(div_half_up(trailing(revenue), window)),
        "orders_7day_avg": pa.array(ratio_2dp(trailing(orders), window), pa.float64()),
        "revenue_growth_pct": _nullable(_growth(revenue)),
    })


def weekly_sales(fact: Fact) -> pa.Table:
    """weekly_sales (issue 4): per ISO week with sales (``YYYY-Www``); growth vs the previous calendar ISO week."""
    sums = _sums(fact.frame, "week_ordinal", fact.clients.num_rows)
    codes = fact.frame.groupby("week_ordinal", sort=True)["year_week_code"].first().to_numpy()
    revenue = sums["total_revenue"].to_numpy(np.int64)
    orders = sums["total_orders"].to_numpy(np.int64)
    return pa.table({
        "year_week": pa.array([_year_week_label(int(c)) for c in codes], pa.string()),
        "total_revenue": cents_to_decimal(revenue),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(sums["unique_customers"]),
        "total_quantity": _int64_array(sums["total_quantity"]),
        "avg_order_value": cents_to_decimal(div_half_up(revenue, orders)),
        "revenue_growth_pct": _nullable(_growth(revenue, sums["week_ordinal"])),
    })


def monthly_sales(fact: Fact) -> pa.Table:
    """monthly_sales (issue 4): per ``YYYY-MM`` with sales; growth of revenue, orders and customers
    vs the previous calendar month (null when that month has no row or a zero base)."""
    sums = _sums(fact.frame, "month_ordinal", fact.clients.num_rows)
    months = sums["month_ordinal"].to_numpy(np.int64)
    revenue = sums["total_revenue"].to_numpy(np.int64)
    orders = sums["total_orders"].to_numpy(np.int64)
    customers = sums["unique_customers"].to_numpy(np.int64)
    return pa.table({
        "year_month": pa.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months], pa.string()),
        "total_revenue": cents_to_decimal(revenue),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(customers),
        "total_quantity": _int64_array(sums["total_quantity"]),
        "avg_order_value": cents_to_decimal(div_half_up(revenue, orders)),
        "avg_revenue_per_customer": cents_to_decimal(div_half_up(revenue, customers)),
        "revenue_growth_pct": _nullable(_growth(revenue, months)),
        "orders_growth_pct": _nullable(_growth(orders, months)),
        "customers_growth_pct": _nullable(_growth(customers, months)),
    })


def _money(cents: int | float) -> float:
    return round(float(cents) / 100.0, 2)


def quantile_2dp(ordered: np.ndarray, q: float, per_unit: int = 1) -> float:
    """Quantile of sorted integers with linear interpolation (pandas' default), rounded half-up to 2 decimals.

    ``ordered`` counts ``1 / per_unit`` of the result's unit (``per_unit`` = 100 for cents ->
    currency units). Exact: the level is read as the decimal it is written as (``0.95`` = 19/20)
    and the interpolation and the rounding are done on rationals, as the Spark job does in
    ``Decimal``; in floating point ``0.95 * 9999`` is ``9499.04999…`` and a quantile of exactly
    ``….845`` would round down.
    """
    position = Fraction(str(q)) * (len(ordered) - 1)
    lower = math.floor(position)
    low, high = int(ordered[lower]), int(ordered[min(lower + 1, len(ordered) - 1)])
    hundredths = (low + (high - low) * (position - lower)) * 100 / per_unit
    magnitude = math.floor(abs(hundredths) + Fraction(1, 2))
    return (magnitude if hundredths >= 0 else -magnitude) / 100


def _half_up_2dp(value: float) -> float:
    return float(round_double_2dp(np.array([value]))[0])


def statistical_distributions(fact: Fact) -> dict[str, Any]:
    """statistical_distributions.json (issue 4). Money in currency units rounded half-up to cents.

    Quantiles are exact with linear interpolation; ``std`` is the sample standard deviation
    (ddof = 1, null with fewer than 2 orders); the quantity ``mode`` is the smallest most frequent
    value. Raises ValueError when there is no purchase.
    """
    frame = fact.frame
    total = np.sort(frame["total"].to_numpy(np.int64))
    price = np.sort(frame["price"].to_numpy(np.int64))
    quantity = np.sort(frame["quantity"].to_numpy(np.int64))
    n = len(total)
    if n == 0:
        raise ValueError("statistical distributions need at least one fact_sales row")
    revenue = int(total.sum())
    counts = np.bincount(quantity - quantity.min())

    def std_units(cents):
        return _half_up_2dp(float(np.std(cents / 100.0, ddof=1))) if n > 1 else None

    def quantile_units(cents, q):
        return quantile_2dp(cents, q, per_unit=100)

    return {
        "order_value_distribution": {
            "mean": _money(div_half_up(revenue, n)), "median": quantile_units(total, 0.5),
            "std": std_units(total), "min": _money(total[0]), "max": _money(total[-1]),
            "q25": quantile_units(total, 0.25), "q75": quantile_units(total, 0.75),
            "q90": quantile_units(total, 0.90), "q95": quantile_units(total, 0.95),
        },
        "quantity_distribution": {
            "mean": float(ratio_2dp(np.array([quantity.sum()]), np.array([n]))[0]),
            "median": quantile_2dp(quantity, 0.5),
            "mode": int(np.argmax(counts) + quantity.min()),
            "min": int(quantity[0]), "max": int(quantity[-1]),
        },
        "price_distribution": {
            "mean": _money(div_half_up(int(price.sum()), n)), "median": quantile_units(price, 0.5),
            "std": std_units(price), "min": _money(price[0]), "max": _money(price[-1]),
        },
        "overall_metrics": {
            "total_revenue": _money(revenue), "total_orders": n,
            "total_customers": int(np.count_nonzero(np.bincount(frame["client_row"].to_numpy(np.int64)))),
            "total_products": int(np.count_nonzero(np.bincount(frame["product"].to_numpy(np.int64)))),
            "total_countries": int(np.count_nonzero(np.bincount(frame["country"].to_numpy(np.int64)))),
            "avg_order_value": _money(div_half_up(revenue, n)),
            "avg_items_per_order": float(ratio_2dp(np.array([quantity.sum()]), np.array([n]))[0]),
        },
    }


def _top(labels: list, revenue: np.ndarray) -> tuple[Any, int]:
    """Label with the most revenue, ties by label (labels are sorted, so the first maximum)."""
    best = int(np.argmax(revenue))
    return labels[best], int(revenue[best])


def gold_summary(fact: Fact, kpis: pd.DataFrame, tables: dict[str, pa.Table], row_counts: dict[str, int],
                 run_id: str, run_date: str, silver_versions: Mapping[str, int] | None = None) -> dict[str, Any]:
    """gold_summary.json (issue 4; fields in :data:`medallion.metrics.SUMMARY_FIELDS`).

    Top product / country by revenue (ties by name), top client by total_spent (ties by id);
    revenues in currency units. ``silver_versions``: the Delta versions of the silver tables the
    gold tables were built from (``{table: version}``).
    """
    frame = fact.frame
    products = tables["product_analytics"]
    countries = tables["country_analytics"]
    top_product, product_cents = _top(products.column("product").to_pylist(),
                                      decimal_to_cents(products.column("total_revenue")))
    top_country, country_cents = _top(countries.column("country").to_pylist(),
                                      decimal_to_cents(countries.column("total_revenue")))
    best = int(np.argmax(kpis["total_spent"].to_numpy(np.int64)))  # kpis sorted by id: first max = lowest id
    segments = kpis["rfm_segment"].value_counts()
    return {
        "run_id": run_id,
        "as_of_date": run_date,
        "silver_versions": dict(silver_versions or {}),
        "fact_sales": {"rows": len(frame), "first_purchase_date": _iso(frame["purchase_date"].min()),
                       "last_purchase_date": _iso(frame["purchase_date"].max())},
        "total_revenue": _money(int(decimal_to_cents(products.column("total_revenue")).sum())),
        "total_orders": len(frame),
        "total_customers": len(kpis),
        "counts": {"clients": len(kpis), "products": products.num_rows, "countries": countries.num_rows,
                   "active_clients": int(kpis["is_active"].sum()),
                   "high_value_clients": int(kpis["is_high_value"].sum())},
        "rfm_segments": {segment: int(segments.get(segment, 0)) for segment in C.RFM_SEGMENTS},
        "temporal_records": {name: row_counts[name] for name in ("daily_sales", "weekly_sales", "monthly_sales")},
        "top_product": {"product": top_product, "total_revenue": _money(product_cents)},
        "top_country": {"country": top_country, "total_revenue": _money(country_cents)},
        "top_client": {"id_client": int(kpis["id_client"].iloc[best]),
                       "name": fact.clients.column("name")[int(kpis["client_row"].iloc[best])].as_py(),
                       "total_spent": _money(int(kpis["total_spent"].iloc[best]))},
        "tables": {name: row_counts[name] for name in C.GOLD_TABLES},
    }


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
