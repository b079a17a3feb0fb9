"""The pandas engine's silver layer: bronze CSV -> typed, cleaned Arrow tables, rejects and report.

Applies the rule tables of :mod:`medallion.contract` (``SILVER_RULES``, ``PARSERS``, ...) with
vectorised ``pyarrow.compute`` kernels and NumPy arrays (no per-row Python code); see
:func:`clean_table`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from medallion import contract as C
from medallion import lake
from medallion.config import Settings
from medallion.engines.csv_lines import MALFORMED, read_lines
from medallion.engines.pandas_arrow import (
    MAX_CENTS,
    cents_to_decimal,
    ratio_2dp,
    reject_arrow_schema,
    silver_arrow_schema,
    to_bool,
    to_date32,
)

_INT64_MAX_DIGITS = "9223372036854775807"
_INT32_MAX = 2**31 - 1
_DECIMAL_PARTS = r"^(?P<sign>[+-]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?$"
#: Runs of ASCII whitespace inside names collapse to one space.
_WHITESPACE_RUN = "[ \t\n\r\f\v]+"


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
    simple = to_bool(pc.match_substring_regex(values, r"^[1-9][0-9]{0,17}$"))
    out[simple] = _int64(pc.if_else(pa.array(simple), values, "0"))[simple]
    ok |= simple
    rest = np.flatnonzero(~simple & to_bool(pc.is_valid(values)))
    if len(rest):
        sub = values.take(pa.array(rest))
        good = to_bool(pc.match_substring_regex(sub, C.ID_PATTERN))
        stripped = pc.utf8_ltrim(sub, characters="0")
        length = np.asarray(pc.utf8_length(stripped).to_numpy(zero_copy_only=False), dtype=np.int64)
        good &= (length < 19) | ((length == 19) & to_bool(pc.less_equal(stripped, _INT64_MAX_DIGITS)))
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
    simple = to_bool(pc.match_substring_regex(values, r"^[0-9]{1,16}\.[0-9]{2}$"))
    digits = pc.replace_substring(pc.if_else(pa.array(simple), values, "0.00"), ".", "")
    cents[simple] = _int64(digits)[simple]
    ok |= simple
    exact |= simple
    rest = np.flatnonzero(~simple & to_bool(pc.is_valid(values)))
    if len(rest):
        sub_ok, sub_cents, sub_exact = _parse_decimal_general(values.take(pa.array(rest)))
        ok[rest], cents[rest], exact[rest] = sub_ok, sub_cents, sub_exact
    return ok, cents, exact


def _parse_decimal_general(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = to_bool(pc.match_substring_regex(values, C.DECIMAL_PATTERN))
    parts = pc.extract_regex(pc.if_else(pa.array(ok), values, "0"), _DECIMAL_PARTS)
    sign = to_bool(pc.equal(pc.struct_field(parts, "sign"), "-"))
    integer = pc.utf8_ltrim(pc.struct_field(parts, "int"), characters="0")
    int_len = np.asarray(pc.utf8_length(integer).to_numpy(zero_copy_only=False), dtype=np.int64)
    ok &= int_len <= 16
    units = _int64(pc.if_else(pa.array(ok & (int_len > 0)), integer, "0"))
    frac = pc.struct_field(parts, "frac")
    first3 = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, width=3, padding="0"), 0, 3)
    milli = _int64(first3)
    rest = pc.utf8_slice_codeunits(frac, 2)
    exact = to_bool(pc.equal(pc.utf8_ltrim(rest, characters="0"), ""))
    magnitude = units * 100 + milli // 10 + (milli % 10 >= 5)
    ok &= magnitude <= MAX_CENTS
    cents = np.where(sign, -magnitude, magnitude)
    return ok, np.where(ok, cents, 0), exact & ok


def parse_integer(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer strings (``INTEGER_PATTERN``) that fit a 32-bit int -> (valid mask, int64 values).

    Fast path: 1-9 plain digits; other rows (signs, leading zeros, long or bad text) on their own.
    """
    n = len(values)
    ok = np.zeros(n, dtype=bool)
    out = np.zeros(n, dtype=np.int64)
    simple = to_bool(pc.match_substring_regex(values, r"^[0-9]{1,9}$"))
    out[simple] = _int64(pc.if_else(pa.array(simple), values, "0"))[simple]
    ok |= simple
    rest = np.flatnonzero(~simple & to_bool(pc.is_valid(values)))
    if len(rest):
        sub = values.take(pa.array(rest))
        good = to_bool(pc.match_substring_regex(sub, C.INTEGER_PATTERN))
        parts = pc.extract_regex(pc.if_else(pa.array(good), sub, "0"), r"^(?P<sign>[+-]?)(?P<int>[0-9]+)$")
        sign = to_bool(pc.equal(pc.struct_field(parts, "sign"), "-"))
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
    candidates = np.flatnonzero(to_bool(pc.is_valid(values)))
    for regex, _spark_pattern, strptime_format in C.DATE_FORMATS:
        if not len(candidates):
            break
        subset = values if len(candidates) == n else values.take(pa.array(candidates))
        matched = to_bool(pc.match_substring_regex(subset, regex))
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

def bronze_file(settings: Settings, dataset: str, run_date: str) -> tuple[str, dict[str, Any]]:
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
    return pc.if_else(known, canonical, values), ~to_bool(known)


def _malformed(source: pa.Table) -> np.ndarray:
    """The source's ``_malformed`` flags (see :func:`read_source`); all false when it has none."""
    if MALFORMED not in source.column_names:
        return np.zeros(source.num_rows, dtype=bool)
    return to_bool(source.column(MALFORMED))


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
    nulls = to_bool(pc.is_null(text))
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
        ok = to_bool(pc.match_substring_regex(values, C.EMAIL_PATTERN))
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
    return (quantity >= 1) & (np.abs(cents) > MAX_CENTS // np.maximum(quantity, 1))


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
            outputs[column] = to_date32(parsed[column].values[keep])
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
