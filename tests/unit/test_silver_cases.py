"""The silver case table (tests/cases.py) against every engine, and rule-table edits seen by both."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from medallion import contract as C
from medallion.contract import SilverRule
from medallion.engines import pandas_silver
from tests.cases import CASES, KNOWN_CLIENTS, RUN_DATE

ENGINES = ("pandas", "spark")


@dataclasses.dataclass
class Result:
    kept: list[tuple]  # silver rows, sorted
    reasons: dict[int, str]  # source_row -> reason
    rejects: list[dict]  # every rejects row, by source_row
    stats: dict


def clean(engine: str, request, dataset: str, rows: list[tuple], policy: str = "reject",
          rules: tuple[SilverRule, ...] | None = None) -> Result:
    """Run one engine's silver rules on ``rows`` (source row = position, 1-based)."""
    columns = C.SOURCE_COLUMNS[dataset]
    if engine == "pandas":
        source = pa.table({name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(columns)})
        table, rejects, stats = pandas_silver.clean_table(
            source, dataset, RUN_DATE, "r1", policy, client_ids=np.array(KNOWN_CLIENTS, dtype=np.int64), rules=rules)
        kept = [tuple(row.values()) for row in table.to_pylist()]
        reject_rows = rejects.to_pylist()
    else:
        from medallion.spark import silver

        spark = request.getfixturevalue("spark")
        schema = ", ".join(f"{name} string" for name in columns) + ", source_row bigint"
        raw = spark.createDataFrame([(*row, i) for i, row in enumerate(rows, start=1)], schema)
        known = spark.createDataFrame([(i,) for i in KNOWN_CLIENTS], "id_client bigint")
        table, rejects, stats = silver.clean_table(raw, dataset, RUN_DATE, policy, clients_df=known, rules=rules,
                                                   run_id="r1")
        assert table.columns == [name for name, _ in C.SILVER_SCHEMAS[dataset]]
        kept = [tuple(row) for row in table.collect()]
        reject_rows = [row.asDict() for row in rejects.collect()]
    reject_rows.sort(key=lambda row: row["source_row"])
    return Result(sorted(kept), {r["source_row"]: r["reason"] for r in reject_rows}, reject_rows, stats)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dataset", C.DATASETS)
def test_case_table(engine, dataset, request):
    cases, kept, stats = CASES[dataset]
    result = clean(engine, request, dataset, [row for row, _ in cases])
    assert result.reasons == {i: reason for i, (_, reason) in enumerate(cases, start=1) if reason}
    assert result.kept == kept
    assert result.stats == stats
    # a reject keeps its source row as read (untrimmed strings) and the run id
    for reject in result.rejects:
        row = cases[reject["source_row"] - 1][0]
        assert [reject[c] for c in C.SOURCE_COLUMNS[dataset]] == list(row)
        assert reject["run_id"] == "r1"


@pytest.mark.parametrize("engine", ENGINES)
def test_future_dates_cap_keeps_the_rows_at_the_run_date(engine, request):
    cases, kept, _ = CASES["clients"]
    result = clean(engine, request, "clients", [row for row, _ in cases], policy="cap")
    assert result.kept == sorted([*kept, (6, "Fay", "fay@example.com", dt.date(2026, 11, 29), "Spain")])
    assert result.stats["future_dates"] == 1 and result.stats["rejects_by_reason"]["future_date"] == 0

    rows = [("1", "1", "Mouse", "5", "1", "2027-03-04", "5"),
            ("2", "1", "Mouse", "-5", "1", "2030-01-01", "5")]  # an earlier rule fails: not a future date
    result = clean(engine, request, "purchases", rows, policy="cap")
    assert result.kept == [(1, 1, "Mouse", Decimal("5.00"), 1, dt.date(2026, 11, 29), Decimal("5.00"), "2026-11")]
    assert result.reasons == {2: "invalid_amount"}
    assert result.stats["future_dates"] == 1


def _edited(dataset: str, edit) -> tuple[SilverRule, ...]:
    return tuple(edit(list(C.SILVER_RULES[dataset])))


def _clients_edit(rules: list[SilverRule]) -> list[SilverRule]:
    """No duplicate-e-mail rule; a strict country rule at the end."""
    rules = [rule for rule in rules if rule.reason != C.DUPLICATE_EMAIL]
    return [*rules, SilverRule("unknown_country", "parses", ("country",))]


def _purchases_edit(rules: list[SilverRule]) -> list[SilverRule]:
    """The orphan rule moved before the duplicate-id rule."""
    orphan = next(rule for rule in rules if rule.reason == C.ORPHAN_CLIENT)
    rules.remove(orphan)
    rules.insert([rule.reason for rule in rules].index(C.DUPLICATE_ID), orphan)
    return rules


@pytest.mark.parametrize("engine", ENGINES)
def test_an_edited_rule_table_changes_every_engine_the_same_way(engine, request):
    cases, kept, stats = CASES["clients"]
    result = clean(engine, request, "clients", [row for row, _ in cases], rules=_edited("clients", _clients_edit))
    # row 11 (Hal, a repeated e-mail) is kept now; Atlantis (13) and Narnia (20) are rejected
    assert result.reasons == {**{i: r for i, (_, r) in enumerate(cases, start=1) if r and r != C.DUPLICATE_EMAIL},
                              13: "unknown_country", 20: "unknown_country"}
    assert sorted(row[0] for row in result.kept) == [1, 9, 12, 13, 14, 16]
    assert result.stats["rejects_by_reason"] == {
        "malformed_row": 0, "missing_value": 2, "invalid_id": 3, "invalid_date": 3, "future_date": 1,
        "invalid_email": 2, "duplicate_id": 1, "unknown_country": 2}
    assert result.stats["unknown_values"] == {"country": 0}

    cases, kept, stats = CASES["purchases"]
    result = clean(engine, request, "purchases", [row for row, _ in cases],
                   rules=_edited("purchases", _purchases_edit))
    # row 15 (id 1 again, client 99) is an orphan before it is a duplicate now
    assert result.reasons[15] == C.ORPHAN_CLIENT and result.reasons[13] == C.DUPLICATE_ID
    assert result.kept == kept
    assert list(result.stats["rejects_by_reason"]) == [
        "malformed_row", "missing_value", "invalid_id", "invalid_number", "invalid_amount", "invalid_date",
        "future_date", "orphan_client", "duplicate_id"]
    assert (result.stats["rejects_by_reason"]["orphan_client"], result.stats["rejects_by_reason"]["duplicate_id"]) == (2, 1)


@pytest.mark.parametrize(("rules", "message"), [
    ((SilverRule("x", "no_such_check"),), "unknown check 'no_such_check'"),
    ((SilverRule("x", "present", ("nope",)),), "unknown column"),
    ((SilverRule("x", "unique", ("id_client", "email")),), "takes exactly one column"),
    ((SilverRule("a", "unique", ("id_client",)), SilverRule("b", "not_future", ("subscription_date",))),
     "before every unique rule"),
])
def test_a_rule_table_the_engines_cannot_apply_is_refused(rules, message):
    with pytest.raises(ValueError, match=message):
        pandas_silver.clean_table(pa.table({c: pa.array([], pa.string()) for c in C.SOURCE_COLUMNS["clients"]}),
                                  "clients", RUN_DATE, "r1", rules=rules)
