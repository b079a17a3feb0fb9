"""Tests of the dirty-data generator (``medallion.devtools.datagen``).

The ground truth is checked against an independent recount: a plain per-row Python classifier
below implements the silver rules of issue 3 (csv + re + datetime.strptime, first failing rule
wins) from the issue text, and its counts must equal ``ground_truth.json``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from medallion.contract import COUNTRIES, PRODUCT_PRICE_RANGES, PRODUCTS, REJECT_REASONS
from medallion.devtools.datagen import generate

AS_OF = dt.date(2026, 11, 29)
CLIENT_HEADER = "id_client,name,email,subscription_date,country"
PURCHASE_HEADER = "id_purchase,id_client,product,price,quantity,purchase_date,total"

# --- The silver rules, written from the issue text (not imported from the code under test) -------
ID_RE = re.compile(r"[0-9]+")
DECIMAL_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
INTEGER_RE = re.compile(r"[+-]?[0-9]+")
EMAIL_RE = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
# name used in the generator's `injected` keys, whole-field regex, strptime format
DATE_FORMATS = (
    ("yyyy-MM-dd", re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "%Y-%m-%d"),
    ("yyyy/MM/dd", re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}"), "%Y/%m/%d"),
    ("dd/MM/yyyy", re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}"), "%d/%m/%Y"),
    ("timestamp", re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"), "%Y-%m-%dT%H:%M:%S"),
)
CENT = Decimal("0.01")


def parse_date(text: str) -> tuple[dt.date | None, str | None]:
    """(date, format name), or (None, None) when ``text`` is in no accepted format or not a real date."""
    for name, pattern, fmt in DATE_FORMATS:
        if pattern.fullmatch(text):
            try:
                return dt.datetime.strptime(text, fmt).date(), name
            except ValueError:
                return None, None
    return None, None


def positive_id(text: str) -> bool:
    return bool(ID_RE.fullmatch(text)) and 1 <= int(text) < 2**63


def read_rows(path: Path, header: str) -> list[dict[str, str]]:
    """Rows read line by line (a quote never spans lines); a line whose field count is not the
    header's is ``{"malformed": line}``."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == header and lines[-1] == ""
    names = header.split(",")
    rows = []
    for line in lines[1:-1]:
        fields = next(csv.reader([line]))
        rows.append(dict(zip(names, fields)) if len(fields) == len(names) else {"malformed": line})
    return rows


def malformed(row: dict[str, str]) -> dict | None:
    """The classification of a malformed line (its defect kind told by its quote), else None."""
    if "malformed" not in row:
        return None
    kind = "malformed_unterminated_quote" if '"' in row["malformed"] else "malformed_extra_field"
    return {"row": row, "reason": "malformed_row", "failures": ["malformed_row"], "cosmetic": [], "kind": kind}


def classify_clients(rows: list[dict[str, str]], as_of: dt.date) -> list[dict]:
    """Per row: ``reason`` (first failing rule or None), ``failures`` (every row-level rule that
    fails), ``cosmetic`` (kept-row oddities) and ``kind`` (the defect kind, recounted)."""
    canonical = {c.casefold(): c for c in COUNTRIES}
    seen_ids: dict[int, dict[str, str]] = {}
    seen_emails: set[str] = set()
    out = []
    for row in rows:
        if broken := malformed(row):
            out.append(broken)
            continue
        f = {k: v.strip() for k, v in row.items()}
        failures = []
        if any(v == "" for v in f.values()):
            failures.append("missing_value")
        if f["id_client"] and not positive_id(f["id_client"]):
            failures.append("invalid_id")
        day, fmt = parse_date(f["subscription_date"]) if f["subscription_date"] else (None, None)
        if f["subscription_date"] and day is None:
            failures.append("invalid_date")
        if day is not None and day > as_of:
            failures.append("future_date")
        if f["email"] and not EMAIL_RE.fullmatch(f["email"].lower()):
            failures.append("invalid_email")
        reason = failures[0] if failures else None
        kind = {"invalid_id": "invalid_id_non_numeric" if not INTEGER_RE.fullmatch(f["id_client"])
                else "invalid_id_non_positive"}.get(reason, reason)
        if reason is None:
            ident, email = int(f["id_client"]), f["email"].lower()
            if ident in seen_ids:
                reason = "duplicate_id"
                kind = "duplicate_id_exact" if seen_ids[ident] == row else "duplicate_id_conflicting"
            elif email in seen_emails:
                reason = kind = "duplicate_email"
            else:
                seen_ids[ident] = row
                seen_emails.add(email)
        cosmetic = []
        if fmt not in (None, "yyyy-MM-dd"):
            cosmetic.append(f"date_format_{fmt}")
        if row["email"] != f["email"]:
            cosmetic.append("padded_email")
        if f["email"] != f["email"].lower():
            cosmetic.append("upper_case_email")
        if row["name"] != " ".join(row["name"].split()):
            cosmetic.append("padded_name")
        if row["country"] != f["country"]:
            cosmetic.append("padded_country")
        if f["country"] and f["country"] not in COUNTRIES:
            cosmetic.append("odd_case_country" if f["country"].casefold() in canonical else "unknown_country")
        if row["id_client"] != f["id_client"] or row["subscription_date"] != f["subscription_date"]:
            cosmetic.append("padded_other")
        if reason is None and cosmetic:
            kind = cosmetic[0]
        out.append({"row": row, "reason": reason, "failures": failures, "cosmetic": cosmetic, "kind": kind})
    return out


def classify_purchases(rows: list[dict[str, str]], client_ids: set[int], as_of: dt.date) -> list[dict]:
    """As :func:`classify_clients`, plus ``total`` (recomputed, Decimal) and ``recalculated`` for kept rows."""
    canonical = {p.casefold(): p for p in PRODUCTS}
    required = ("id_purchase", "id_client", "product", "price", "quantity", "purchase_date")
    seen_ids: dict[int, dict[str, str]] = {}
    out = []
    for row in rows:
        if broken := malformed(row):
            out.append(broken)
            continue
        f = {k: v.strip() for k, v in row.items()}
        failures = []
        if any(f[c] == "" for c in required):
            failures.append("missing_value")
        bad_ids = [c for c in ("id_purchase", "id_client") if f[c] and not positive_id(f[c])]
        if bad_ids:
            failures.append("invalid_id")
        price_ok = bool(DECIMAL_RE.fullmatch(f["price"]))
        quantity_ok = bool(INTEGER_RE.fullmatch(f["quantity"]))
        if (f["price"] and not price_ok) or (f["quantity"] and not quantity_ok):
            failures.append("invalid_number")
        if (price_ok and Decimal(f["price"]) < 0) or (quantity_ok and int(f["quantity"]) < 1):
            failures.append("invalid_amount")
        day, fmt = parse_date(f["purchase_date"]) if f["purchase_date"] else (None, None)
        if f["purchase_date"] and day is None:
            failures.append("invalid_date")
        if day is not None and day > as_of:
            failures.append("future_date")
        reason = failures[0] if failures else None
        kind = reason
        if reason == "invalid_id":
            kind = "invalid_id_non_numeric" if not INTEGER_RE.fullmatch(f[bad_ids[0]]) else "invalid_id_non_positive"
        elif reason == "invalid_number":
            kind = "non_numeric_price" if not price_ok else "non_integer_quantity"
        elif reason == "invalid_amount":
            kind = "negative_price" if Decimal(f["price"]) < 0 else "non_positive_quantity"
        if reason is None:
            ident = int(f["id_purchase"])
            if ident in seen_ids:
                reason = "duplicate_id"
                kind = "duplicate_id_exact" if seen_ids[ident] == row else "duplicate_id_conflicting"
            else:
                seen_ids[ident] = row
                if int(f["id_client"]) not in client_ids:
                    reason = kind = "orphan_client"
        cosmetic, total, recalculated = [], None, False
        if fmt not in (None, "yyyy-MM-dd"):
            cosmetic.append(f"date_format_{fmt}")
        if row["product"] != f["product"]:
            cosmetic.append("padded_product")
        if f["product"] and f["product"] not in PRODUCTS:
            cosmetic.append("odd_case_product" if f["product"].casefold() in canonical else "unknown_product")
        if any(row[c] != f[c] for c in ("id_purchase", "id_client", "price", "quantity", "purchase_date", "total")):
            cosmetic.append("padded_other")
        if price_ok and quantity_ok:
            price = Decimal(f["price"]).quantize(CENT, ROUND_HALF_UP)
            total = (price * int(f["quantity"])).quantize(CENT, ROUND_HALF_UP)
            if f["total"] == "":
                cosmetic.append("missing_total")
            elif not DECIMAL_RE.fullmatch(f["total"]) or Decimal(f["total"]) != total:
                cosmetic.append("wrong_total")
            recalculated = bool({"missing_total", "wrong_total"} & set(cosmetic))
        if reason is None and cosmetic:
            kind = cosmetic[0]
        out.append({"row": row, "reason": reason, "failures": failures, "cosmetic": cosmetic, "kind": kind,
                    "total": total, "recalculated": recalculated})
    return out


def recount(classified: list[dict], table: str) -> dict:
    """The ground-truth fields re-derived from the classifier's per-row results."""
    reasons = Counter(r["reason"] for r in classified if r["reason"])
    kept = [r for r in classified if r["reason"] is None]
    return {
        "input_rows": len(classified),
        "output_rows": len(kept),
        "rejected_rows": len(classified) - len(kept),
        "rejects_by_reason": {reason: reasons.get(reason, 0) for reason in REJECT_REASONS[table]},
        "total_recalculated": sum(1 for r in kept if r.get("recalculated")),
        "injected": dict(Counter(r["kind"] for r in classified if r["kind"])),
    }


def run(out: Path, **kwargs) -> tuple[dict, list[dict], list[dict]]:
    truth = generate(out, as_of=AS_OF, **kwargs)
    clients = classify_clients(read_rows(out / "clients.csv", CLIENT_HEADER), AS_OF)
    silver_ids = {int(r["row"]["id_client"].strip()) for r in clients if r["reason"] is None}
    purchases = classify_purchases(read_rows(out / "purchases.csv", PURCHASE_HEADER), silver_ids, AS_OF)
    return truth, clients, purchases


DIRTY_CASES = {
    "rate-0.3": dict(clients=300, purchases_per_client=4, dirty_rate=0.3, seed=7),
    "rate-0.05": dict(clients=1000, purchases_per_client=5, dirty_rate=0.05, seed=42),
}


@pytest.fixture(scope="module", params=sorted(DIRTY_CASES))
def dirty(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"dirty-{request.param}")
    params = DIRTY_CASES[request.param]
    truth, clients, purchases = run(out, **params)
    return params, out, truth, clients, purchases


# --- Ground truth vs independent recount ----------------------------------------------------

def test_ground_truth_matches_an_independent_recount(dirty):
    params, out, truth, clients, purchases = dirty
    assert json.loads((out / "ground_truth.json").read_text(encoding="utf-8")) == truth
    for table, classified in (("clients", clients), ("purchases", purchases)):
        counted = recount(classified, table)
        expected = dict(truth[table])
        expected["injected"] = {kind: n for kind, n in expected["injected"].items() if n}
        assert counted == expected, table
    assert truth["clients"]["total_recalculated"] == 0
    revenue = sum(r["total"] for r in purchases if r["reason"] is None)
    assert Decimal(truth["expected_revenue"]) == revenue
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", truth["expected_revenue"])
    assert truth["params"] == {"clients": params["clients"], "purchases_per_client": params["purchases_per_client"],
                               "dirty_rate": params["dirty_rate"], "seed": params["seed"], "as_of": "2026-11-29"}


def test_every_reason_and_kind_is_injected_and_spread_evenly(dirty):
    params, _, truth, clients, purchases = dirty
    for table, classified in (("clients", clients), ("purchases", purchases)):
        assert all(truth[table]["rejects_by_reason"][reason] > 0 for reason in REJECT_REASONS[table]), table
        kinds = Counter(r["kind"] for r in classified if r["kind"])
        assert set(kinds) == set(truth[table]["injected"]), table
        assert max(kinds.values()) - min(kinds.values()) <= 1, (table, kinds)
        # the share of defective rows is the dirty rate, up to rounding
        defective = sum(kinds.values())
        assert abs(defective - params["dirty_rate"] * len(classified)) <= 0.5, (table, defective, len(classified))


def test_every_defective_row_has_exactly_one_defect(dirty):
    _, _, _, clients, purchases = dirty
    for table, classified in (("clients", clients), ("purchases", purchases)):
        for number, r in enumerate(classified, start=1):
            where = f"{table} row {number}: {r['row']}"
            assert len(r["failures"]) <= 1, where  # no row fails two row-level rules
            if r["reason"] is None:
                assert len(r["cosmetic"]) <= 1, where
            elif r["reason"] == "duplicate_email":  # the copied email may differ in case only
                assert set(r["cosmetic"]) <= {"upper_case_email"}, where
            else:
                assert r["cosmetic"] == [], where


def test_kept_rows_are_the_clean_ids_in_order_and_duplicates_follow_their_original(dirty):
    params, _, _, clients, purchases = dirty
    kept_clients = [int(r["row"]["id_client"].strip()) for r in clients if r["reason"] is None]
    assert kept_clients == list(range(1, params["clients"] + 1))
    purchases_count = round(params["clients"] * params["purchases_per_client"])
    kept_purchases = [int(r["row"]["id_purchase"].strip()) for r in purchases if r["reason"] is None]
    assert kept_purchases == list(range(1, purchases_count + 1))
    # orphans reference an id above every client id of the file
    highest = max(int(r["row"]["id_client"]) for r in clients
                  if "id_client" in r["row"] and positive_id(r["row"]["id_client"].strip()))
    orphans = [int(r["row"]["id_client"]) for r in purchases if r["reason"] == "orphan_client"]
    assert orphans and min(orphans) > highest
    # every kept purchase references a client that silver keeps
    assert {int(r["row"]["id_client"]) for r in purchases if r["reason"] is None} <= set(kept_clients)


def test_vocabulary_after_trimming_and_case_folding(dirty):
    _, _, _, clients, purchases = dirty
    countries = {r["row"]["country"].strip().casefold() for r in clients if r["reason"] is None}
    assert countries == {c.casefold() for c in COUNTRIES}
    products = {r["row"]["product"].strip().casefold() for r in purchases if r["reason"] is None}
    assert products == {p.casefold() for p in PRODUCTS}


# --- Clean mode -------------------------------------------------------------------------------

def test_clean_mode_has_no_defect_in_any_row(tmp_path):
    truth, clients, purchases = run(tmp_path, clients=500, purchases_per_client=3.5, dirty_rate=0, seed=3)
    n, m = 500, 1750
    assert len(clients) == n and len(purchases) == m
    for table, classified in (("clients", clients), ("purchases", purchases)):
        assert [r for r in classified if r["reason"] or r["cosmetic"] or r["kind"]] == [], table
        assert truth[table]["rejected_rows"] == 0 and truth[table]["total_recalculated"] == 0
        assert set(truth[table]["injected"].values()) == {0}

    # strict re-check of every client row
    emails = set()
    for i, row in enumerate(clients, start=1):
        row = row["row"]
        assert row["id_client"] == str(i)
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", row["name"]), row
        assert EMAIL_RE.fullmatch(row["email"]) and row["email"] not in emails, row
        emails.add(row["email"])
        assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", row["subscription_date"])
        days = (AS_OF - dt.date.fromisoformat(row["subscription_date"])).days
        assert 1 <= days <= 1095, row
        assert row["country"] in COUNTRIES
    assert {r["row"]["country"] for r in clients} == set(COUNTRIES)

    # strict re-check of every purchase row
    revenue = Decimal(0)
    for i, row in enumerate(purchases, start=1):
        row = row["row"]
        assert row["id_purchase"] == str(i)
        assert 1 <= int(row["id_client"]) <= n and row["id_client"] == str(int(row["id_client"]))
        assert row["product"] in PRODUCTS
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", row["price"]), row
        low, high = PRODUCT_PRICE_RANGES[row["product"]]
        assert low <= Decimal(row["price"]) <= high, row
        assert row["quantity"] in {"1", "2", "3", "4", "5"}
        days = (AS_OF - dt.date.fromisoformat(row["purchase_date"])).days
        assert 1 <= days <= 730, row
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", row["total"]), row
        assert Decimal(row["total"]) == Decimal(row["price"]) * int(row["quantity"]), row
        revenue += Decimal(row["total"])
    assert {r["row"]["product"] for r in purchases} == set(PRODUCTS)
    assert {r["row"]["quantity"] for r in purchases} == {"1", "2", "3", "4", "5"}
    assert Decimal(truth["expected_revenue"]) == revenue


def test_schema_header_encoding_and_line_endings(tmp_path):
    generate(tmp_path, clients=40, purchases_per_client=2, dirty_rate=0.2, seed=1, as_of=AS_OF)
    for name, header in (("clients.csv", CLIENT_HEADER), ("purchases.csv", PURCHASE_HEADER)):
        data = (tmp_path / name).read_bytes()
        text = data.decode("utf-8")  # strict UTF-8
        assert not text.startswith("\ufeff") and "\r" not in text and text.endswith("\n")
        assert text.split("\n", 1)[0] == header
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clients.csv", "ground_truth.json", "purchases.csv"]


def test_small_sizes_and_zero_purchases(tmp_path):
    truth, clients, purchases = run(tmp_path, clients=1, purchases_per_client=0, dirty_rate=0, seed=0)
    assert len(clients) == 1 and purchases == []
    assert truth["purchases"]["input_rows"] == 0 and truth["expected_revenue"] == "0.00"
    # purchases_per_client is an average: 7 * 1.3 = 9.1 -> 9 purchases
    truth, _, purchases = run(tmp_path / "b", clients=7, purchases_per_client=1.3, dirty_rate=0, seed=0)
    assert len(purchases) == 9 == truth["purchases"]["output_rows"]


# --- Determinism --------------------------------------------------------------------------------

def test_same_options_give_the_same_bytes_and_another_seed_does_not(tmp_path):
    options = dict(clients=200, purchases_per_client=3, dirty_rate=0.1, as_of="2026-11-29")
    generate(tmp_path / "a", seed=5, **options)
    generate(tmp_path / "b", seed=5, **options)
    generate(tmp_path / "c", seed=6, **options)
    for name in ("clients.csv", "purchases.csv", "ground_truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("clients.csv", "purchases.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


def test_rows_span_several_chunks(tmp_path, monkeypatch):
    """The chunked writer gives the same bytes whatever the chunk size (added rows land in order)."""
    import medallion.devtools.datagen as datagen

    options = dict(clients=120, purchases_per_client=3, dirty_rate=0.25, seed=11, as_of=AS_OF)
    generate(tmp_path / "one", **options)
    monkeypatch.setattr(datagen, "CHUNK_ROWS", 7)
    generate(tmp_path / "many", **options)
    for name in ("clients.csv", "purchases.csv", "ground_truth.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes(), name


# --- Errors and CLI -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(clients=0), "clients must be an integer >= 1"),
    (dict(purchases_per_client=-1), "purchases_per_client must be >= 0"),
    (dict(dirty_rate=0.6), "dirty_rate must be within 0..0.5"),
    (dict(seed=-3), "seed must be an integer >= 0"),
    (dict(as_of="2026-13-01"), "as_of must be a date YYYY-MM-DD"),
])
def test_invalid_arguments_raise_a_clear_error(tmp_path, kwargs, message):
    arguments = dict(clients=10, as_of=AS_OF) | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        generate(tmp_path, **arguments)
    assert not (tmp_path / "ground_truth.json").exists()


def test_cli_writes_the_same_files_as_the_function(tmp_path):
    cli_out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "medallion.devtools.datagen", "--clients", "60", "--purchases-per-client", "2.5",
         "--dirty-rate", "0.1", "--seed", "9", "--as-of", "2026-11-29", "--out", str(cli_out)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "clients.csv" in done.stdout and "purchases.csv" in done.stdout
    generate(tmp_path / "api", clients=60, purchases_per_client=2.5, dirty_rate=0.1, seed=9, as_of="2026-11-29")
    for name in ("clients.csv", "purchases.csv", "ground_truth.json"):
        assert (cli_out / name).read_bytes() == (tmp_path / "api" / name).read_bytes(), name
    truth = json.loads((cli_out / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["purchases"]["output_rows"] == 150  # round(60 * 2.5)

    bad = subprocess.run(
        [sys.executable, "-m", "medallion.devtools.datagen", "--dirty-rate", "0.9", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert bad.returncode == 2 and "dirty_rate must be within 0..0.5" in bad.stderr
