"""Line-mode CSV reading for the pandas engine: every non-blank line is one row, read on its own.

``pyarrow.csv`` lets a quoted field run over line ends, so one unterminated quote swallows the
lines after it. Spark (and :mod:`medallion.bronze`'s ``data_rows``) read line by line: a line is
a row whatever its quotes. The pandas engine reads with ``pyarrow.csv`` first and falls back to
:func:`read_lines` only when that read found a line it could not take (see
:func:`medallion.engines.pandas_silver.read_source`).

How a line is read (:mod:`medallion.contract`): lines end at ``\\n``, ``\\r\\n`` or ``\\r``;
lines made only of characters ``<= U+0020`` are blank and skipped; the first line left is the
header. A line without a ``"`` is split at every comma (Arrow kernels); a line with one is read by
Python's :mod:`csv` module alone, so an unterminated quote takes the rest of *its* line, as in
Spark's parser. An empty field is null.
"""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medallion.contract import MALFORMED_FLAG as MALFORMED


def _fields_of_quoted(lines: pa.Array) -> pa.Array:
    """Fields of each line (each parsed alone: an open quote never reaches the next line)."""
    return pa.array([next(csv.reader((line,))) for line in lines.to_pylist()], pa.list_(pa.large_string()))


def read_lines(data: bytes, columns: list[str], where: str) -> pa.Table:
    """``columns`` of a whole CSV file (UTF-8 bytes) as ``string``, one row per non-blank line.

    Returns:
        A table with ``columns`` (strings, null when empty or when the line has no such field)
        in file order plus ``_malformed`` (boolean): the line does not hold exactly as many
        fields as the header. Fields are taken by position, so a malformed line keeps its first
        fields in the header's columns.

    Raises:
        ValueError: the file is not UTF-8, has no header, or its header lacks one of
            ``columns``; the message names ``where``.
    """
    from medallion.bronze import BronzeError, parse_header

    try:
        text = pa.array([data], pa.large_binary()).cast(pa.large_string())
    except pa.ArrowInvalid as error:
        raise ValueError(f"{where}: not valid UTF-8 ({error})") from None
    lines = pc.split_pattern_regex(text, r"\r\n|\r|\n").flatten()
    lines = lines.filter(pc.invert(pc.match_substring_regex(lines, r"^[\x00-\x20]*$")))
    if len(lines) == 0:
        raise ValueError(f"{where}: file is empty (no header line)")
    try:
        header = parse_header(lines[0].as_py().encode("utf-8"), where)
    except BronzeError as error:
        raise ValueError(str(error)) from None
    missing = [name for name in columns if name not in header]
    if missing:
        raise ValueError(f"{where}: header lacks column(s) {', '.join(missing)}")

    rows = lines.slice(1)
    quoted = np.asarray(pc.match_substring(rows, '"').to_numpy(zero_copy_only=False), dtype=bool)
    plain_at, quoted_at = np.flatnonzero(~quoted), np.flatnonzero(quoted)
    parts = pa.concat_arrays([
        pc.split_pattern(rows.take(pa.array(plain_at)), ","),
        _fields_of_quoted(rows.take(pa.array(quoted_at))),
    ])
    place = np.empty(len(rows), dtype=np.int64)  # row i is parts[place[i]]
    place[plain_at] = np.arange(len(plain_at))
    place[quoted_at] = len(plain_at) + np.arange(len(quoted_at))
    fields = parts.take(pa.array(place))

    arrays = []
    for name in columns:
        at = header.index(name)
        value = pc.list_slice(fields, at, at + 1, return_fixed_size_list=True).flatten().cast(pa.string())
        arrays.append(pc.if_else(pc.equal(value, ""), pa.scalar(None, pa.string()), value))
    arrays.append(pc.not_equal(pc.list_value_length(fields), len(header)))
    return pa.Table.from_arrays(arrays, names=[*columns, MALFORMED])
