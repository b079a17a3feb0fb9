"""Synthetic source data with known defects: ``clients.csv``, ``purchases.csv`` and ``ground_truth.json``.

Run ``python -m medallion.devtools.datagen --help`` or call :func:`generate`. The same options always give
byte-identical files (every random draw comes from NumPy generators seeded with ``--seed``; "today"
is ``--as-of``, never the wall clock).

Clean data (``--dirty-rate 0``) follows the seed's generator and :mod:`medallion.contract`:

* ``clients.csv`` (``id_client, name, email, subscription_date, country``): ids ``1..clients`` in
  file order; ``name`` is "First Last" drawn uniformly from the name lists below; ``email`` is
  ``first.last.<id>@<domain>`` in lower case, so it is unique by construction;
  ``subscription_date`` (``yyyy-MM-dd``) is uniform over the 1095 days before ``as_of``
  (``as_of - 1095 .. as_of - 1``); ``country`` is uniform over ``contract.COUNTRIES``.
* ``purchases.csv`` (``id_purchase, id_client, product, price, quantity, purchase_date, total``):
  ``round(clients * purchases_per_client)`` rows with ids ``1..m`` in file order; ``id_client``
  uniform over ``1..clients`` (sorted, so a client's purchases are adjacent, as in the seed);
  ``product`` uniform over ``contract.PRODUCTS``; ``price`` in currency units with 2 decimals,
  uniform over the product's ``contract.PRODUCT_PRICE_RANGES`` range in whole cents;
  ``quantity`` uniform in 1..5; ``purchase_date`` uniform over the 730 days before ``as_of``;
  ``total = price * quantity`` with 2 decimals, computed in integer cents (exact).

Dirty data (``--dirty-rate r``, ``0 <= r <= 0.5``): a share ``r`` of the rows of each file carries
exactly one defect. The number of defective rows ``D`` solves ``D = round(r * (N + E(D)))`` where
``N`` is the clean row count and ``E(D)`` the number of added rows among them (see below), so
``D / file rows`` is ``r`` up to rounding. Defect kinds (:data:`CLIENT_DEFECTS`,
:data:`PURCHASE_DEFECTS`) are dealt round-robin in an order shuffled by the seed, so their counts
differ by at most one.

* Defects that the silver rules (issue 3, ``contract.REJECT_REASONS``, first failing rule wins)
  reject are **added rows**, built from a fresh valid row so that they fail only the intended rule:
  they get new ids above every clean id (``clients + 1 ..``, ``m + 1 ..``), except duplicates,
  which copy (or conflict with) an untouched clean row and are placed after it. Malformed rows
  (``malformed_row``) are such a fresh row whose CSV line is broken: one field too many, or a
  quote left open in a field other than the last (:func:`_malformed_line`). Clean purchases
  and every added purchase reference clean client ids only; orphan purchases reference an id
  above every client id of the file. Hence silver keeps exactly the ``clients`` and ``m`` clean
  rows.
* Defects that silver keeps (other date formats, case and padding, wrong or missing totals)
  modify distinct untouched clean rows in place.

``ground_truth.json`` holds the parameters and, per table, ``input_rows``, ``output_rows``,
``rejected_rows``, ``rejects_by_reason`` (every reason of ``contract.REJECT_REASONS``),
``total_recalculated`` (purchases kept with a missing or wrong total), ``injected`` (rows per
defect kind) and ``expected_revenue``: the sum of ``price * quantity`` of the kept purchases, in
currency units, as a string with 2 decimals.

Performance: numeric columns are drawn with NumPy for the whole table (about 30 bytes per
purchase) and rendered to CSV text with ``pyarrow.compute`` in chunks of :data:`CHUNK_ROWS` rows;
only the defective rows are built in Python.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medallion.contract import (
    COUNTRIES,
    DUPLICATE_EMAIL,
    DUPLICATE_ID,
    FUTURE_DATE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_EMAIL,
    INVALID_ID,
    INVALID_NUMBER,
    MALFORMED_ROW,
    MISSING_VALUE,
    ORPHAN_CLIENT,
    PRODUCT_PRICE_RANGES,
    PRODUCTS,
    REJECT_REASONS,
    REQUIRED_COLUMNS,
    SOURCE_COLUMNS,
    SOURCE_FILES,
)

#: Default output folder of the CLI (the local landing zone).
DEFAULT_OUT = Path("data") / "lake" / "sources"
GROUND_TRUTH_FILE = "ground_truth.json"
#: Clean rows rendered to text per chunk (bounds memory: ~0.5 GiB peak at 10M purchases).
CHUNK_ROWS = 500_000
#: Highest accepted ``dirty_rate``: above it there are not enough clean rows to hold the
#: in-place defects and duplicate sources on distinct rows.
MAX_DIRTY_RATE = 0.5
SUBSCRIPTION_DAYS = 1095  # subscription dates: the 3 years before as_of
PURCHASE_DAYS = 730  # purchase dates: the 2 years before as_of
FUTURE_DAYS = 365  # future dates: 1..365 days after as_of
MAX_QUANTITY = 5

# Common US first and last names (ASCII letters only, so that emails built from them are valid).
FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward",
    "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
    "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen",
    "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra",
    "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine", "Dennis",
    "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie", "Adam",
    "Olivia", "Nathan", "Joyce", "Henry", "Virginia", "Douglas", "Victoria", "Zachary", "Kelly",
    "Peter", "Lauren", "Kyle", "Christina", "Ethan", "Joan", "Walter", "Evelyn", "Noah", "Judith",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner",
    "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
    "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
    "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
    "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell",
    "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander",
    "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes",
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "mail.example.com")

# Defect values, each failing exactly the intended rule of issue 3.
NON_NUMERIC_IDS: tuple[str, ...] = ("abc", "12x", "x7")
NON_POSITIVE_IDS: tuple[str, ...] = ("0", "-5", "-1")
INVALID_DATES: tuple[str, ...] = ("2024-13-45", "not-a-date", "31/02/2024", "2023-02-30")
NON_NUMERIC_PRICES: tuple[str, ...] = ("abc", "n/a")  # plus "<units>,<cents>" built per row
NON_INTEGER_QUANTITIES: tuple[str, ...] = ("two", "three")  # plus "<q>.5" built per row


@dataclass(frozen=True)
class DefectKind:
    """One kind of injected defect.

    Attributes:
        name: Key in ``ground_truth.json`` ``injected``.
        reason: Reject reason (``contract.REJECT_REASONS``) the row must get in silver; ``None``
            when silver keeps the row (the defect is only cosmetic).
        total_recalculated: Silver keeps the row and counts it in ``total_recalculated``.
    """

    name: str
    reason: str | None
    total_recalculated: bool = False


#: Client defect kinds: the first eleven are added rows rejected by silver, the rest are kept.
CLIENT_DEFECTS: tuple[DefectKind, ...] = (
    DefectKind("malformed_extra_field", MALFORMED_ROW),
    DefectKind("malformed_unterminated_quote", MALFORMED_ROW),
    DefectKind("missing_value", MISSING_VALUE),
    DefectKind("invalid_id_non_numeric", INVALID_ID),
    DefectKind("invalid_id_non_positive", INVALID_ID),
    DefectKind("invalid_date", INVALID_DATE),
    DefectKind("future_date", FUTURE_DATE),
    DefectKind("invalid_email", INVALID_EMAIL),
    DefectKind("duplicate_id_exact", DUPLICATE_ID),
    DefectKind("duplicate_id_conflicting", DUPLICATE_ID),
    DefectKind("duplicate_email", DUPLICATE_EMAIL),
    DefectKind("date_format_yyyy/MM/dd", None),
    DefectKind("date_format_dd/MM/yyyy", None),
    DefectKind("date_format_timestamp", None),
    DefectKind("upper_case_email", None),
    DefectKind("padded_email", None),
    DefectKind("padded_name", None),
    DefectKind("padded_country", None),
    DefectKind("odd_case_country", None),
)

#: Purchase defect kinds: the first fourteen are added rows rejected by silver, the rest are kept.
PURCHASE_DEFECTS: tuple[DefectKind, ...] = (
    DefectKind("malformed_extra_field", MALFORMED_ROW),
    DefectKind("malformed_unterminated_quote", MALFORMED_ROW),
    DefectKind("missing_value", MISSING_VALUE),
    DefectKind("invalid_id_non_numeric", INVALID_ID),
    DefectKind("invalid_id_non_positive", INVALID_ID),
    DefectKind("non_numeric_price", INVALID_NUMBER),
    DefectKind("non_integer_quantity", INVALID_NUMBER),
    DefectKind("negative_price", INVALID_AMOUNT),
    DefectKind("non_positive_quantity", INVALID_AMOUNT),
    DefectKind("invalid_date", INVALID_DATE),
    DefectKind("future_date", FUTURE_DATE),
    DefectKind("duplicate_id_exact", DUPLICATE_ID),
    DefectKind("duplicate_id_conflicting", DUPLICATE_ID),
    DefectKind("orphan_client", ORPHAN_CLIENT),
    DefectKind("wrong_total", None, total_recalculated=True),
    DefectKind("missing_total", None, total_recalculated=True),
    DefectKind("date_format_yyyy/MM/dd", None),
    DefectKind("date_format_dd/MM/yyyy", None),
    DefectKind("date_format_timestamp", None),
    DefectKind("padded_product", None),
    DefectKind("odd_case_product", None),
)

#: Kinds whose added row is a valid row whose CSV line is then broken (see :func:`_malformed_line`).
_MALFORMED_KINDS = frozenset({"malformed_extra_field", "malformed_unterminated_quote"})

#: Kinds whose added row repeats (or conflicts with) an earlier clean row.
_DUPLICATE_KINDS = frozenset({"duplicate_id_exact", "duplicate_id_conflicting", "duplicate_email"})

# Random streams (independent, so a change in one part does not shift the others).
_STREAM_CLIENTS, _STREAM_PURCHASES, _STREAM_CLIENT_DEFECTS, _STREAM_PURCHASE_DEFECTS = range(4)

_FIRST_LOWER = tuple(name.lower() for name in FIRST_NAMES)
_LAST_LOWER = tuple(name.lower() for name in LAST_NAMES)
_PRODUCT_LOW_CENTS = np.array([PRODUCT_PRICE_RANGES[p][0] * 100 for p in PRODUCTS], dtype=np.int64)
_PRODUCT_HIGH_CENTS = np.array([PRODUCT_PRICE_RANGES[p][1] * 100 for p in PRODUCTS], dtype=np.int64)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def _money(cents: int) -> str:
    """``cents`` (integer) as currency units with 2 decimals (``-1234`` -> ``"-12.34"``)."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _csv_field(value: str) -> str:
    """One CSV field (RFC 4180): quoted only when it holds a comma, a quote or a line break."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _malformed_line(fields: list[str], kind: str, rng: np.random.Generator) -> list[str]:
    """CSV field texts of a valid row with its line broken (still one entry per column).

    ``malformed_extra_field``: one field too many after the last (empty, i.e. a trailing comma,
    or a copy of the last field). ``malformed_unterminated_quote``: a ``"`` opens a field other
    than the last and is never closed, so that field takes the rest of the line (fewer fields).
    The fields of a fresh valid row hold no quote, so nothing closes it.
    """
    fields = list(fields)
    if kind == "malformed_extra_field":
        fields[-1] += "," + (fields[-1] if rng.integers(0, 2) else "")
    else:
        at = int(rng.integers(0, len(fields) - 1))
        fields[at] = '"' + fields[at]
    return fields


def _date_in_format(day: dt.date, kind: str, rng: np.random.Generator) -> str:
    """``day`` written in one of the other accepted formats (``kind`` is a ``date_format_*`` name)."""
    if kind == "date_format_yyyy/MM/dd":
        return day.strftime("%Y/%m/%d")
    if kind == "date_format_dd/MM/yyyy":
        return day.strftime("%d/%m/%Y")
    seconds = int(rng.integers(0, 86_400))
    return f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _future_day(as_of: dt.date, rng: np.random.Generator) -> str:
    """A day 1..FUTURE_DAYS days after ``as_of``, as ``yyyy-MM-dd``."""
    return (as_of + dt.timedelta(days=int(rng.integers(1, FUTURE_DAYS + 1)))).isoformat()


def _odd_case(canonical: str, rng: np.random.Generator) -> str:
    """``canonical`` in upper or lower case, always different from ``canonical`` itself."""
    upper, lower = canonical.upper(), canonical.lower()
    first, second = (upper, lower) if rng.integers(0, 2) == 0 else (lower, upper)
    return first if first != canonical else second


def _pad(value: str, rng: np.random.Generator) -> str:
    """``value`` with 1-3 spaces added at the start, the end, or both."""
    where = int(rng.integers(0, 3))
    left = " " * int(rng.integers(1, 4)) if where in (0, 2) else ""
    right = " " * int(rng.integers(1, 4)) if where in (1, 2) else ""
    return f"{left}{value}{right}"


def _defect_count(rate: float, clean_rows: int, kinds: Sequence[DefectKind]) -> int:
    """Number of defective rows ``D`` with ``D = round(rate * (clean_rows + added(D)))``.

    ``kinds`` is the round-robin order; ``added(D)`` counts the rejected (added-row) kinds among
    its first ``D`` entries. Fixed-point iteration (the map's slope is below 1 for rate <= 0.5).
    """
    if rate == 0 or clean_rows == 0:
        return 0
    added = np.cumsum([0] + [kind.reason is not None for kind in kinds])  # added(d) for d < len

    def added_rows(d: int) -> int:
        full, rest = divmod(d, len(kinds))
        return int(full * added[-1] + added[rest])

    # The map is non-decreasing and starts at or below its least fixed point, so the iteration
    # climbs to that point (geometrically: its slope is at most rate * added share < 1).
    count = round(rate * clean_rows)
    while (following := round(rate * (clean_rows + added_rows(count)))) != count:
        count = following
    return count


@dataclass
class _Plan:
    """Defects of one table: which clean rows change in place and which rows are added.

    ``inplace``: clean row index (0-based) -> {column: new text}. ``added``: rows (lists of field
    texts) with their placement: the number of clean rows that precede each one in the file.
    """

    injected: dict[str, int]
    inplace: dict[int, dict[str, str]]
    added_rows: list[list[str]]
    added_after: np.ndarray  # int64, clean rows before each added row
    next_id: int  # first id above every id given to a clean or added row

    def added_in(self, lo: int, hi: int) -> np.ndarray:
        """Indices of the added rows that belong to the chunk of clean rows ``lo..hi-1``."""
        after = self.added_after
        if lo == 0:
            return np.flatnonzero(after <= hi)
        return np.flatnonzero((after > lo) & (after <= hi))


def _deal_kinds(rng: np.random.Generator, kinds: Sequence[DefectKind], rate: float,
                clean_rows: int) -> list[DefectKind]:
    """The kinds of the defective rows of a table, in a random order.

    Kinds are dealt round-robin in an order shuffled by ``rng`` (so counts differ by at most
    one), as many as :func:`_defect_count` gives for that order.
    """
    order = [kinds[i] for i in rng.permutation(len(kinds))]
    count = _defect_count(rate, clean_rows, order)
    dealt = [order[i % len(order)] for i in range(count)]
    return [dealt[i] for i in rng.permutation(count)]


# --- Clients ------------------------------------------------------------------------------------

@dataclass
class _Clients:
    """Clean client columns as small integers (row ``i`` has ``id_client = i + 1``)."""

    first: np.ndarray  # index into FIRST_NAMES
    last: np.ndarray  # index into LAST_NAMES
    domain: np.ndarray  # index into EMAIL_DOMAINS
    days_before: np.ndarray  # subscription_date = as_of - days_before (1..SUBSCRIPTION_DAYS)
    country: np.ndarray  # index into COUNTRIES

    @classmethod
    def draw(cls, rng: np.random.Generator, count: int) -> "_Clients":
        return cls(
            first=rng.integers(0, len(FIRST_NAMES), count, dtype=np.int16),
            last=rng.integers(0, len(LAST_NAMES), count, dtype=np.int16),
            domain=rng.integers(0, len(EMAIL_DOMAINS), count, dtype=np.int8),
            days_before=rng.integers(1, SUBSCRIPTION_DAYS + 1, count, dtype=np.int16),
            country=rng.integers(0, len(COUNTRIES), count, dtype=np.int8),
        )

    def row(self, i: int, as_of: dt.date, id_client: int | None = None) -> dict[str, str]:
        """Clean texts of row ``i`` (with ``id_client`` instead of ``i + 1`` when given)."""
        ident = i + 1 if id_client is None else id_client
        first, last = int(self.first[i]), int(self.last[i])
        return {
            "id_client": str(ident),
            "name": f"{FIRST_NAMES[first]} {LAST_NAMES[last]}",
            "email": f"{_FIRST_LOWER[first]}.{_LAST_LOWER[last]}.{ident}@{EMAIL_DOMAINS[int(self.domain[i])]}",
            "subscription_date": (as_of - dt.timedelta(days=int(self.days_before[i]))).isoformat(),
            "country": COUNTRIES[int(self.country[i])],
        }


def _plan_clients(clean: _Clients, as_of: dt.date, rate: float, seed: int) -> _Plan:
    """Choose the client defects: kinds, the clean rows they change or repeat, the added rows."""
    n = len(clean.first)
    rng = _rng(seed, _STREAM_CLIENT_DEFECTS)
    dealt = _deal_kinds(rng, CLIENT_DEFECTS, rate, n)
    count = len(dealt)
    injected = {kind.name: 0 for kind in CLIENT_DEFECTS}
    for kind in dealt:
        injected[kind.name] += 1

    needs_row = [k for k in dealt if k.reason is None or k.name in _DUPLICATE_KINDS]
    if len(needs_row) > n:
        raise ValueError(f"dirty_rate {rate} needs {len(needs_row)} distinct clean client rows, only {n} exist")
    rows = iter(rng.choice(n, len(needs_row), replace=False).tolist())
    fresh = _Clients.draw(rng, count)  # templates of the added rows
    columns = SOURCE_COLUMNS["clients"]
    inplace: dict[int, dict[str, str]] = {}
    added_rows: list[list[str]] = []
    added_after: list[int] = []
    next_id = n + 1
    for j, kind in enumerate(dealt):
        if kind.reason is None:  # kept: modify a clean row in place
            i = next(rows)
            values = clean.row(i, as_of)
            day = as_of - dt.timedelta(days=int(clean.days_before[i]))
            if kind.name.startswith("date_format_"):
                change = {"subscription_date": _date_in_format(day, kind.name, rng)}
            elif kind.name == "upper_case_email":
                change = {"email": values["email"].upper()}
            elif kind.name == "padded_email":
                change = {"email": _pad(values["email"], rng)}
            elif kind.name == "padded_name":
                first, last = values["name"].split(" ")
                # leading/trailing spaces, or a run of spaces inside (silver collapses it)
                if rng.integers(0, 4):
                    change = {"name": _pad(values["name"], rng)}
                else:
                    change = {"name": f"{first}{' ' * int(rng.integers(2, 4))}{last}"}
            elif kind.name == "padded_country":
                change = {"country": _pad(values["country"], rng)}
            else:  # odd_case_country
                change = {"country": _odd_case(values["country"], rng)}
            inplace[i] = {col: _csv_field(text) for col, text in change.items()}
            continue

        if kind.name in _DUPLICATE_KINDS:  # placed after the clean row it repeats
            source = next(rows)
            after = int(rng.integers(source + 1, n + 1))
            if kind.name == "duplicate_id_exact":
                values = clean.row(source, as_of)
            elif kind.name == "duplicate_id_conflicting":
                values = fresh.row(j, as_of, id_client=source + 1)
                first = (int(clean.first[source]) + 1 + int(rng.integers(0, len(FIRST_NAMES) - 1))) % len(FIRST_NAMES)
                values["name"] = f"{FIRST_NAMES[first]} {LAST_NAMES[int(fresh.last[j])]}"
                # ".v2" keeps it unique: clean emails end in ".<digits>@"
                values["email"] = (f"{_FIRST_LOWER[first]}.{_LAST_LOWER[int(fresh.last[j])]}.{source + 1}.v2"
                                   f"@{EMAIL_DOMAINS[int(fresh.domain[j])]}")
            else:  # duplicate_email: a new id with the email of the earlier clean row
                values = fresh.row(j, as_of, id_client=next_id)
                next_id += 1
                email = clean.row(source, as_of)["email"]
                values["email"] = email.upper() if rng.integers(0, 2) else email
        else:  # a fresh valid row with a new id, then the one defect
            after = int(rng.integers(0, n + 1))
            values = fresh.row(j, as_of, id_client=next_id)
            next_id += 1
            if kind.name in _MALFORMED_KINDS:
                pass  # the line is broken below
            elif kind.name == "missing_value":
                values[columns[int(rng.integers(0, len(columns)))]] = ""
            elif kind.name == "invalid_id_non_numeric":
                values["id_client"] = str(rng.choice(NON_NUMERIC_IDS))
            elif kind.name == "invalid_id_non_positive":
                values["id_client"] = str(rng.choice(NON_POSITIVE_IDS))
            elif kind.name == "invalid_date":
                values["subscription_date"] = str(rng.choice(INVALID_DATES))
            elif kind.name == "future_date":
                values["subscription_date"] = _future_day(as_of, rng)
            elif kind.name == "invalid_email":
                local, domain = values["email"].split("@")
                variant = int(rng.integers(0, 3))
                if variant == 0:  # no @
                    values["email"] = f"{local}.{domain}"
                elif variant == 1:  # no dot in the domain
                    values["email"] = f"{local}@{domain.replace('.', '')}"
                else:  # a space inside
                    values["email"] = f"{local.replace('.', ' ', 1)}@{domain}"
            else:  # pragma: no cover - every kind is handled above
                raise AssertionError(kind.name)
        fields = [_csv_field(values[col]) for col in columns]
        added_rows.append(_malformed_line(fields, kind.name, rng) if kind.name in _MALFORMED_KINDS else fields)
        added_after.append(after)
    return _Plan(injected, inplace, added_rows, np.asarray(added_after, dtype=np.int64), next_id)


def _client_chunk(clean: _Clients, lo: int, hi: int, as_of: dt.date) -> list[pa.Array]:
    """CSV texts of clean client rows ``lo..hi-1``, one string array per column."""
    ids = pa.array(np.arange(lo + 1, hi + 1, dtype=np.int64)).cast(pa.string())
    first, last = clean.first[lo:hi], clean.last[lo:hi]
    name = pc.binary_join_element_wise(pc.take(pa.array(FIRST_NAMES), first), pc.take(pa.array(LAST_NAMES), last), " ")
    local = pc.binary_join_element_wise(
        pc.take(pa.array(_FIRST_LOWER), first), pc.take(pa.array(_LAST_LOWER), last), ids, ".")
    email = pc.binary_join_element_wise(local, pc.take(pa.array(EMAIL_DOMAINS), clean.domain[lo:hi]), "@")
    days = np.datetime64(as_of, "D") - clean.days_before[lo:hi].astype("timedelta64[D]")
    date = pa.array(days).cast(pa.string())
    country = pc.take(pa.array(COUNTRIES), clean.country[lo:hi])
    return [ids, name, email, date, country]


# --- Purchases ----------------------------------------------------------------------------------

@dataclass
class _Purchases:
    """Clean purchase columns as integers (row ``i`` has ``id_purchase = i + 1``)."""

    id_client: np.ndarray  # 1..clients
    product: np.ndarray  # index into PRODUCTS
    price_cents: np.ndarray  # price in cents
    quantity: np.ndarray  # 1..MAX_QUANTITY
    days_before: np.ndarray  # purchase_date = as_of - days_before (1..PURCHASE_DAYS)

    @classmethod
    def draw(cls, rng: np.random.Generator, count: int, clients: int, sort_clients: bool) -> "_Purchases":
        id_client = rng.integers(1, clients + 1, count, dtype=np.int64)
        if sort_clients:
            id_client.sort()
        product = rng.integers(0, len(PRODUCTS), count, dtype=np.int8)
        price = rng.integers(_PRODUCT_LOW_CENTS[product], _PRODUCT_HIGH_CENTS[product] + 1, dtype=np.int64)
        return cls(
            id_client=id_client,
            product=product,
            price_cents=price,
            quantity=rng.integers(1, MAX_QUANTITY + 1, count, dtype=np.int8),
            days_before=rng.integers(1, PURCHASE_DAYS + 1, count, dtype=np.int16),
        )

    def row(self, i: int, as_of: dt.date, id_purchase: int | None = None) -> dict[str, str]:
        """Clean texts of row ``i`` (with ``id_purchase`` instead of ``i + 1`` when given)."""
        price, quantity = int(self.price_cents[i]), int(self.quantity[i])
        return {
            "id_purchase": str(i + 1 if id_purchase is None else id_purchase),
            "id_client": str(int(self.id_client[i])),
            "product": PRODUCTS[int(self.product[i])],
            "price": _money(price),
            "quantity": str(quantity),
            "purchase_date": (as_of - dt.timedelta(days=int(self.days_before[i]))).isoformat(),
            "total": _money(price * quantity),
        }


def _plan_purchases(clean: _Purchases, as_of: dt.date, rate: float, seed: int, clients: int,
                    max_client_id: int) -> _Plan:
    """Choose the purchase defects; orphans reference ids in ``max_client_id + 1 ..``."""
    m = len(clean.id_client)
    rng = _rng(seed, _STREAM_PURCHASE_DEFECTS)
    dealt = _deal_kinds(rng, PURCHASE_DEFECTS, rate, m)
    count = len(dealt)
    injected = {kind.name: 0 for kind in PURCHASE_DEFECTS}
    for kind in dealt:
        injected[kind.name] += 1

    needs_row = [k for k in dealt if k.reason is None or k.name in _DUPLICATE_KINDS]
    if len(needs_row) > m:
        raise ValueError(f"dirty_rate {rate} needs {len(needs_row)} distinct clean purchase rows, only {m} exist")
    rows = iter(rng.choice(m, len(needs_row), replace=False).tolist())
    fresh = _Purchases.draw(rng, count, clients, sort_clients=False)
    columns = SOURCE_COLUMNS["purchases"]
    inplace: dict[int, dict[str, str]] = {}
    added_rows: list[list[str]] = []
    added_after: list[int] = []
    next_id = m + 1
    for j, kind in enumerate(dealt):
        if kind.reason is None:  # kept: modify a clean row in place
            i = next(rows)
            values = clean.row(i, as_of)
            day = as_of - dt.timedelta(days=int(clean.days_before[i]))
            if kind.name == "wrong_total":
                wrong = int(clean.price_cents[i]) * int(clean.quantity[i]) + int(rng.integers(1, 5001))
                change = {"total": _money(wrong)}
            elif kind.name == "missing_total":
                change = {"total": ""}
            elif kind.name.startswith("date_format_"):
                change = {"purchase_date": _date_in_format(day, kind.name, rng)}
            elif kind.name == "padded_product":
                change = {"product": _pad(values["product"], rng)}
            else:  # odd_case_product
                change = {"product": _odd_case(values["product"], rng)}
            inplace[i] = {col: _csv_field(text) for col, text in change.items()}
            continue

        if kind.name in _DUPLICATE_KINDS:  # placed after the clean row it repeats
            source = next(rows)
            after = int(rng.integers(source + 1, m + 1))
            if kind.name == "duplicate_id_exact":
                values = clean.row(source, as_of)
            else:  # duplicate_id_conflicting: same id, another valid purchase
                values = fresh.row(j, as_of, id_purchase=source + 1)
                if values["product"] == PRODUCTS[int(clean.product[source])]:
                    values["quantity"] = str(int(clean.quantity[source]) % MAX_QUANTITY + 1)
                    values["total"] = _money(int(fresh.price_cents[j]) * int(values["quantity"]))
        else:  # a fresh valid row with a new id, then the one defect
            after = int(rng.integers(0, m + 1))
            values = fresh.row(j, as_of, id_purchase=next_id)
            next_id += 1
            price, quantity = int(fresh.price_cents[j]), int(fresh.quantity[j])
            if kind.name in _MALFORMED_KINDS:
                pass  # the line is broken below
            elif kind.name == "missing_value":
                values[REQUIRED_COLUMNS["purchases"][int(rng.integers(0, len(REQUIRED_COLUMNS["purchases"])))]] = ""
            elif kind.name in ("invalid_id_non_numeric", "invalid_id_non_positive"):
                bad = NON_NUMERIC_IDS if kind.name == "invalid_id_non_numeric" else NON_POSITIVE_IDS
                values[("id_purchase", "id_client")[int(rng.integers(0, 2))]] = str(rng.choice(bad))
            elif kind.name == "non_numeric_price":  # decimal comma, or letters
                if rng.integers(0, 2):
                    values["price"] = values["price"].replace(".", ",")
                else:
                    values["price"] = str(rng.choice(NON_NUMERIC_PRICES))
            elif kind.name == "non_integer_quantity":
                values["quantity"] = f"{quantity}.5" if rng.integers(0, 2) else str(rng.choice(NON_INTEGER_QUANTITIES))
            elif kind.name == "negative_price":
                values["price"] = _money(-price)
                values["total"] = _money(-price * quantity)
            elif kind.name == "non_positive_quantity":
                bad_quantity = -int(rng.integers(0, MAX_QUANTITY + 1))  # 0 .. -5
                values["quantity"] = str(bad_quantity)
                values["total"] = _money(price * bad_quantity)
            elif kind.name == "invalid_date":
                values["purchase_date"] = str(rng.choice(INVALID_DATES))
            elif kind.name == "future_date":
                values["purchase_date"] = _future_day(as_of, rng)
            elif kind.name == "orphan_client":
                values["id_client"] = str(max_client_id + int(rng.integers(1, 1001)))
            else:  # pragma: no cover - every kind is handled above
                raise AssertionError(kind.name)
        fields = [_csv_field(values[col]) for col in columns]
        added_rows.append(_malformed_line(fields, kind.name, rng) if kind.name in _MALFORMED_KINDS else fields)
        added_after.append(after)
    return _Plan(injected, inplace, added_rows, np.asarray(added_after, dtype=np.int64), next_id)


def _money_array(cents: np.ndarray) -> pa.Array:
    """Non-negative integer cents as ``"<units>.<cc>"`` strings."""
    units = pa.array(cents // 100).cast(pa.string())
    hundredths = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(units, hundredths, ".")


def _purchase_chunk(clean: _Purchases, lo: int, hi: int, as_of: dt.date) -> list[pa.Array]:
    """CSV texts of clean purchase rows ``lo..hi-1``, one string array per column."""
    ids = pa.array(np.arange(lo + 1, hi + 1, dtype=np.int64)).cast(pa.string())
    price = clean.price_cents[lo:hi]
    quantity = clean.quantity[lo:hi].astype(np.int64)
    days = np.datetime64(as_of, "D") - clean.days_before[lo:hi].astype("timedelta64[D]")
    return [
        ids,
        pa.array(clean.id_client[lo:hi]).cast(pa.string()),
        pc.take(pa.array(PRODUCTS), clean.product[lo:hi]),
        _money_array(price),
        pa.array(quantity).cast(pa.string()),
        pa.array(days).cast(pa.string()),
        _money_array(price * quantity),
    ]


# --- Writing ------------------------------------------------------------------------------------

def _write_table(path: Path, columns: Sequence[str], rows: int, plan: _Plan,
                 chunk: Callable[[int, int], list[pa.Array]]) -> int:
    """Write the header, the clean rows (with in-place changes) and the added rows to ``path``.

    Returns the number of data rows written. The file is written to ``<path>.tmp`` and renamed,
    so a reader never sees a half-written file.
    """
    inplace_rows = np.array(sorted(plan.inplace), dtype=np.int64)
    tmp = path.with_name(path.name + ".tmp")
    written = 0
    with open(tmp, "wb") as out:
        out.write((",".join(columns) + "\n").encode("utf-8"))
        for lo in range(0, max(rows, 1), CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, rows)
            arrays = chunk(lo, hi) if hi > lo else [pa.array([], pa.string()) for _ in columns]
            # in-place defects of this chunk
            touched = inplace_rows[np.searchsorted(inplace_rows, lo):np.searchsorted(inplace_rows, hi)]
            for c, col in enumerate(columns):
                changed = [(int(i), plan.inplace[int(i)][col]) for i in touched if col in plan.inplace[int(i)]]
                if changed:
                    mask = np.zeros(hi - lo, dtype=bool)
                    mask[[i - lo for i, _ in changed]] = True
                    arrays[c] = pc.replace_with_mask(arrays[c], pa.array(mask), pa.array([v for _, v in changed]))
            # added rows of this chunk, interleaved after the clean row they follow
            extra = plan.added_in(lo, hi)
            if len(extra):
                for c in range(len(columns)):
                    added = pa.array([plan.added_rows[k][c] for k in extra], pa.string())
                    arrays[c] = pa.concat_arrays([arrays[c], added])
                position = np.concatenate([np.arange(lo, hi) * 2 + 1, plan.added_after[extra] * 2])
                arrays = [pc.take(a, np.argsort(position, kind="stable")) for a in arrays]
            if len(arrays[0]) == 0:
                continue
            lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*arrays, ","), "", "\n")
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
            out.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])
            written += len(lines)
    os.replace(tmp, path)
    return written


def _table_truth(plan: _Plan, kinds: Sequence[DefectKind], table: str, clean_rows: int,
                 input_rows: int) -> dict[str, Any]:
    by_reason = {reason: 0 for reason in REJECT_REASONS[table]}
    recalculated = 0
    for kind in kinds:
        count = plan.injected[kind.name]
        if kind.reason is not None:
            by_reason[kind.reason] += count
        recalculated += count if kind.total_recalculated else 0
    rejected = sum(by_reason.values())
    assert input_rows - rejected == clean_rows, (table, input_rows, rejected, clean_rows)
    return {
        "input_rows": input_rows,
        "output_rows": input_rows - rejected,
        "rejected_rows": rejected,
        "rejects_by_reason": by_reason,
        "total_recalculated": recalculated,
        "injected": dict(plan.injected),
    }


def _parse_as_of(as_of: dt.date | str | None) -> dt.date:
    if as_of is None:
        return dt.datetime.now(dt.timezone.utc).date()
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of)[:10])
    except ValueError:
        raise ValueError(f"as_of must be a date YYYY-MM-DD, got {as_of!r}") from None


def generate(out_dir: str | os.PathLike[str] = DEFAULT_OUT, clients: int = 1000, purchases_per_client: float = 5.0,
             dirty_rate: float = 0.0, seed: int = 42, as_of: dt.date | str | None = None) -> dict[str, Any]:
    """Write ``clients.csv``, ``purchases.csv`` and ``ground_truth.json`` into ``out_dir``.

    Args:
        out_dir: Local folder, created if missing; existing files of the same names are replaced.
        clients: Clean client rows (ids ``1..clients``), at least 1.
        purchases_per_client: Average purchases per client; the file holds
            ``round(clients * purchases_per_client)`` clean purchases.
        dirty_rate: Share of each file's rows that carry exactly one defect, ``0..0.5``
            (``0``: clean data).
        seed: Non-negative random seed; the same arguments give byte-identical files.
        as_of: The generation date ("today", a ``date`` or ``YYYY-MM-DD``): every clean date is
            before it, future-date defects after it. ``None``: today's UTC date.

    Returns:
        The ground truth, as written to ``ground_truth.json`` (see the module docstring).

    Raises:
        ValueError: an argument is out of range, or ``as_of`` is not a date.
    """
    if isinstance(clients, bool) or int(clients) != clients or clients < 1:
        raise ValueError(f"clients must be an integer >= 1, got {clients!r}")
    if not purchases_per_client >= 0:
        raise ValueError(f"purchases_per_client must be >= 0, got {purchases_per_client!r}")
    if not 0 <= dirty_rate <= MAX_DIRTY_RATE:
        raise ValueError(f"dirty_rate must be within 0..{MAX_DIRTY_RATE}, got {dirty_rate!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    clients, seed = int(clients), int(seed)
    day = _parse_as_of(as_of)
    purchases = round(clients * purchases_per_client)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    clean_clients = _Clients.draw(_rng(seed, _STREAM_CLIENTS), clients)
    client_plan = _plan_clients(clean_clients, day, dirty_rate, seed)
    client_rows = _write_table(out / SOURCE_FILES["clients"], SOURCE_COLUMNS["clients"], clients, client_plan,
                               lambda lo, hi: _client_chunk(clean_clients, lo, hi, day))
    max_client_id = client_plan.next_id - 1  # orphan purchases reference ids above it
    del clean_clients

    clean_purchases = _Purchases.draw(_rng(seed, _STREAM_PURCHASES), purchases, clients, sort_clients=True)
    purchase_plan = _plan_purchases(clean_purchases, day, dirty_rate, seed, clients, max_client_id)
    purchase_rows = _write_table(out / SOURCE_FILES["purchases"], SOURCE_COLUMNS["purchases"], purchases,
                                 purchase_plan, lambda lo, hi: _purchase_chunk(clean_purchases, lo, hi, day))
    revenue_cents = int(np.dot(clean_purchases.price_cents, clean_purchases.quantity.astype(np.int64)))
    del clean_purchases

    truth = {
        "params": {"clients": clients, "purchases_per_client": float(purchases_per_client),
                   "dirty_rate": float(dirty_rate),
                   "seed": seed, "as_of": day.isoformat()},
        "clients": _table_truth(client_plan, CLIENT_DEFECTS, "clients", clients, client_rows),
        "purchases": _table_truth(purchase_plan, PURCHASE_DEFECTS, "purchases", purchases, purchase_rows),
        "expected_revenue": _money(revenue_cents),
    }
    tmp = out / (GROUND_TRUTH_FILE + ".tmp")
    tmp.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / GROUND_TRUTH_FILE)
    return truth


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: parse arguments, generate, print a one-line summary per file."""
    parser = argparse.ArgumentParser(
        prog="python -m medallion.devtools.datagen",
        description="Generate clients.csv, purchases.csv (optionally with known defects) and ground_truth.json.")
    parser.add_argument("--clients", type=int, default=1000, help="clean client rows (default 1000)")
    parser.add_argument("--purchases-per-client", type=float, default=5.0,
                        help="average purchases per client (default 5)")
    parser.add_argument("--dirty-rate", type=float, default=0.0,
                        help=f"share of rows with one defect, 0..{MAX_DIRTY_RATE} (default 0: clean)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--as-of", default=None, help="generation date YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        truth = generate(args.out, clients=args.clients, purchases_per_client=args.purchases_per_client,
                         dirty_rate=args.dirty_rate, seed=args.seed, as_of=args.as_of)
    except ValueError as error:
        parser.error(str(error))
    for table in ("clients", "purchases"):
        t = truth[table]
        print(f"{Path(args.out) / SOURCE_FILES[table]}: {t['input_rows']} rows, {t['output_rows']} clean, "
              f"{t['rejected_rows']} to reject, {sum(t['injected'].values())} with a defect")
    print(f"{Path(args.out) / GROUND_TRUTH_FILE}: expected revenue {truth['expected_revenue']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
