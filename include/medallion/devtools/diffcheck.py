"""Differential check: are two engines' silver and gold outputs for a run date the same?

Compares the committed snapshots of two lakes (e.g. the pandas reference engine's and the Spark
jobs') table by table and document by document:

* every silver table (:data:`medallion.contract.SILVER_TABLES`: ``clients``, ``purchases``,
  ``clients_rejects``, ``purchases_rejects``) and every gold table
  (:data:`medallion.contract.GOLD_TABLES`), each read as the Delta table's current rows of the
  run date without the ``run_date`` partition column (:func:`medallion.tables.read_snapshot`):
  same columns in the same order, same kind of type (integer widths and decimal precisions may
  differ, a decimal never equals a double), same row count, and, after sorting both sides by the
  table's key, equal values: integers, strings, dates, booleans and **money (decimals) exactly**,
  doubles exactly too (every gold double is a percentage or ratio that both engines round to 2
  decimals by the same rule, so a difference of 0.01 is a real disagreement, not noise);
* the layers' documents (:data:`medallion.contract.LAYER_DOCUMENTS`: ``quality_report.json``,
  ``statistical_distributions.json`` and ``gold_summary.json``, read with
  :func:`medallion.lake.read_document`): same keys, and every value equal (numbers exactly: they
  are integers or values both engines round to 2 decimals). Fields that name Delta commits (``commit``: table
  versions, logical date, bronze files; ``silver_versions``) are skipped: they differ by
  construction between two lakes.

Nulls equal nulls (and NaN equals NaN for doubles). The result lists at most ``limit`` differences,
each naming the table or document, the key and both values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from medallion import lake
from medallion.config import Settings
from medallion.contract import GOLD_TABLES, LAYER_DOCUMENTS, REJECTS_TABLES, SILVER_TABLES
from medallion.metrics import PRIMARY_KEYS
from medallion.tables import read_snapshot

#: Sort key of every compared table.
TABLE_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "silver": {
        "clients": ("id_client",),
        "purchases": ("id_purchase",),
        REJECTS_TABLES["clients"]: ("source_row",),
        REJECTS_TABLES["purchases"]: ("source_row",),
    },
    "gold": {table: (key,) for table, key in PRIMARY_KEYS.items()},
}
assert tuple(TABLE_KEYS["silver"]) == SILVER_TABLES
assert tuple(TABLE_KEYS["gold"]) == GOLD_TABLES
#: JSON documents compared per layer (names without ``.json``).
DOCUMENTS: dict[str, tuple[str, ...]] = {layer: LAYER_DOCUMENTS[layer] for layer in ("silver", "gold")}
#: Document fields skipped (they name Delta commits and versions, different by construction).
IGNORED_FIELDS: frozenset[str] = frozenset({"commit", "silver_versions"})


@dataclass
class DiffResult:
    """Outcome of :func:`compare_lakes`.

    Attributes:
        compared: every table and document compared (``layer/name``).
        differences: human-readable differences, at most ``limit`` (empty when identical).
        truncated: more differences existed than were kept.
    """

    compared: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def identical(self) -> bool:
        return not self.differences


class _Collector:
    def __init__(self, limit: int):
        self.limit = limit
        self.items: list[str] = []
        self.truncated = False

    def add(self, message: str) -> bool:
        """Record a difference; False once the limit is reached (callers stop early)."""
        if len(self.items) >= self.limit:
            self.truncated = True
            return False
        self.items.append(message)
        return True

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_decimal(dtype):
        return f"decimal(scale {dtype.scale})"
    if pa.types.is_floating(dtype):
        return "double"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_boolean(dtype):
        return "boolean"
    return str(dtype)


def _mismatches(left: pa.ChunkedArray, right: pa.ChunkedArray, kind: str) -> pa.ChunkedArray:
    """Boolean per row: the two values differ (nulls equal nulls)."""
    if kind == "integer":
        left, right = pc.cast(left, pa.int64()), pc.cast(right, pa.int64())
    elif kind.startswith("decimal"):
        scale = left.type.scale
        left, right = pc.cast(left, pa.decimal128(38, scale)), pc.cast(right, pa.decimal128(38, scale))
    both_null = pc.and_(pc.is_null(left), pc.is_null(right))
    if kind == "double":
        nan = pc.and_(pc.is_nan(pc.fill_null(left, 0.0)), pc.is_nan(pc.fill_null(right, 0.0)))
        same = pc.or_(pc.fill_null(pc.equal(left, right), False), pc.or_(both_null, nan))
    else:
        same = pc.or_(pc.fill_null(pc.equal(left, right), False), both_null)
    return pc.invert(same)


def compare_tables(name: str, left: pa.Table, right: pa.Table, keys: tuple[str, ...],
                   names: tuple[str, str], out: _Collector) -> None:
    """Append to ``out`` the differences between two versions of one table (see module doc)."""
    a, b = names
    left_cols, right_cols = left.column_names, right.column_names
    if left_cols != right_cols:
        if set(left_cols) == set(right_cols):
            out.add(f"{name}: column order differs: {a} {left_cols} vs {b} {right_cols}")
        else:
            out.add(f"{name}: columns differ: only in {a}: {sorted(set(left_cols) - set(right_cols))}, "
                    f"only in {b}: {sorted(set(right_cols) - set(left_cols))}")
    common = [c for c in left_cols if c in right_cols]
    kinds: dict[str, str] = {}
    for column in common:
        left_kind, right_kind = _kind(left.schema.field(column).type), _kind(right.schema.field(column).type)
        if left_kind != right_kind:
            out.add(f"{name}.{column}: type {left.schema.field(column).type} in {a} vs "
                    f"{right.schema.field(column).type} in {b}")
        else:
            kinds[column] = left_kind
    if left.num_rows != right.num_rows:
        out.add(f"{name}: {left.num_rows} rows in {a} vs {right.num_rows} rows in {b}")
        return
    if any(k not in kinds for k in keys):
        out.add(f"{name}: key column(s) {keys} missing or of different types; values not compared")
        return
    order = [(k, "ascending") for k in keys]
    left = left.select(common).sort_by(order)
    right = right.select(common).sort_by(order)
    for column, kind in kinds.items():
        differs = _mismatches(left.column(column), right.column(column), kind)
        count = pc.sum(pc.cast(differs, pa.int64())).as_py() or 0
        if not count:
            continue
        rows = pc.indices_nonzero(differs).to_pylist()[:3]
        examples = "; ".join(
            f"{dict((k, left.column(k)[i].as_py()) for k in keys)}: {a}={left.column(column)[i].as_py()!r} "
            f"{b}={right.column(column)[i].as_py()!r}" for i in rows)
        if not out.add(f"{name}.{column}: {count} row(s) differ, e.g. {examples}"):
            return


def compare_documents(name: str, left: Any, right: Any, names: tuple[str, str], out: _Collector,
                      path: tuple[str, ...] = ()) -> None:
    """Append to ``out`` the differences between two JSON documents (see module doc)."""
    where = f"{name}:{'.'.join(path) or '<root>'}"
    a, b = names
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key in IGNORED_FIELDS:
                continue
            if key not in left or key not in right:
                out.add(f"{where}: key {key!r} only in {a if key in left else b}")
                continue
            compare_documents(name, left[key], right[key], names, out, (*path, key))
        return
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            out.add(f"{where}: {len(left)} items in {a} vs {len(right)} in {b}")
            return
        for i, (x, y) in enumerate(zip(left, right)):
            compare_documents(name, x, y, names, out, (*path, str(i)))
        return
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) \
            and not isinstance(left, bool) and not isinstance(right, bool):
        if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
            same = math.isnan(right)
        else:
            same = left == right
        if not same:
            out.add(f"{where}: {a}={left!r} {b}={right!r}")
        return
    if left != right:
        out.add(f"{where}: {a}={left!r} {b}={right!r}")


def compare_lakes(left: Settings, right: Settings, run_date: str, names: tuple[str, str] = ("pandas", "spark"),
                  layers: tuple[str, ...] = ("silver", "gold"), limit: int = 20) -> DiffResult:
    """Compare the committed ``layers`` of two lakes for ``run_date`` (see the module docstring).

    Args:
        left / right: settings of the two lakes (e.g. the pandas and the Spark engine's roots).
        names: labels of the two sides in messages.
        limit: keep at most this many differences.

    Returns:
        A :class:`DiffResult`; a missing table or document on one side is a difference.
    """
    out = _Collector(limit)
    result = DiffResult()
    for layer in layers:
        for table, keys in TABLE_KEYS[layer].items():
            result.compared.append(f"{layer}/{table}")
            try:
                left_table = read_snapshot(left, layer, table, run_date)
                right_table = read_snapshot(right, layer, table, run_date)
            except FileNotFoundError as error:
                out.add(f"{layer}/{table}: {error}")
                continue
            compare_tables(f"{layer}/{table}", left_table, right_table, keys, names, out)
            del left_table, right_table
            if out.full:
                break
        for document in DOCUMENTS[layer]:
            label = f"{layer}/{document}.json"
            result.compared.append(label)
            try:
                docs = [lake.read_document(s, layer, run_date, document) for s in (left, right)]
            except FileNotFoundError as error:
                out.add(f"{label}: {error}")
                continue
            compare_documents(label, docs[0], docs[1], names, out)
    result.differences = out.items
    result.truncated = out.truncated
    return result
