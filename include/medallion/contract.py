"""The data contract: source columns, vocabularies, cleaning rules and silver schemas.

Every engine (Spark jobs, the pandas reference engine), the data generator, the quality gates
and the tests read the contract from here, so a rule is defined once.

Sources are CSV files with a header row (see ``SOURCE_COLUMNS``), in one of ``SOURCE_ENCODINGS``
(UTF-8 unless declared otherwise); columns may come in any order and extra columns are allowed (kept
in bronze, ignored by silver).

A file is read line by line (a quoted field cannot span lines): each non-blank line after the
header is one data row, read on its own with ``,`` as delimiter and ``"`` as quote (``""`` inside
a quoted field is a quote). A row that does not hold exactly as many fields as the header is
``malformed_row`` (first reject reason: its fields cannot be trusted to be in their columns), in
both directions:

* more fields than the header (an unquoted comma, a trailing delimiter);
* fewer fields than the header (a truncated line);
* an unterminated quote: the quoted field takes the rest of the line, commas included, so the row
  has fewer fields than the header. When the quote opens the *last* column the count is right and
  the row is not malformed: that column holds the rest of the line (Spark's parser gives no sign of
  the missing quote there) and the value rules judge it.

A malformed row keeps, in its rejects table, the fields as parsed by position (null where the line
has none).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from types import MappingProxyType

#: Contract columns of each source file, in the seed's order.
SOURCE_COLUMNS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "clients": ("id_client", "name", "email", "subscription_date", "country"),
        "purchases": ("id_purchase", "id_client", "product", "price", "quantity", "purchase_date", "total"),
    }
)

#: Source file name of each dataset in the landing zone and in bronze.
SOURCE_FILES: MappingProxyType[str, str] = MappingProxyType(
    {"clients": "clients.csv", "purchases": "purchases.csv"}
)

DATASETS: tuple[str, ...] = ("clients", "purchases")

#: Encodings a source file may be declared in, by the name the bronze manifest records: the IANA
#: name, which Python's codecs, pyarrow and Java (Spark's CSV reader) all accept. Each keeps
#: ``\n``, ``\r``, ``,`` and ``"`` as single ASCII bytes that never occur inside another character,
#: so lines and fields can be split on bytes, and Python and Java decode every byte sequence that
#: Python's strict decoder accepts to the same text. Bytes Python refuses (invalid UTF-8;
#: windows-1252's undefined 0x81, 0x8D, 0x8F, 0x90, 0x9D, which Java would read as U+FFFD) fail
#: the bronze ingestion, so no engine ever reads them. A UTF-8 byte-order mark is allowed.
SOURCE_ENCODINGS: tuple[str, ...] = ("UTF-8", "ISO-8859-1", "ISO-8859-15", "windows-1252")
DEFAULT_ENCODING = "UTF-8"


def source_encoding(name: str) -> str:
    """The ``SOURCE_ENCODINGS`` name of an encoding given by any name Python knows for it.

    ``latin-1``, ``latin1`` and ``iso8859_1`` give ``ISO-8859-1``; ``cp1252`` gives
    ``windows-1252``; ``latin9`` gives ``ISO-8859-15``; ``utf8`` gives ``UTF-8``.

    Raises:
        ValueError: any other encoding; the message lists the accepted names.
    """
    try:
        codec = codecs.lookup(name.strip()).name
    except LookupError:
        codec = None
    for accepted in SOURCE_ENCODINGS:
        if codecs.lookup(accepted).name == codec:
            return accepted
    raise ValueError(f"unsupported source encoding {name!r}; accepted: UTF-8 (with or without a byte-order "
                     "mark), ISO-8859-1 (latin-1), ISO-8859-15 (latin9) and windows-1252 (cp1252)")

#: Canonical country spelling (the seed's ten countries).
COUNTRIES: tuple[str, ...] = (
    "Belgium", "Canada", "France", "Germany", "Italy",
    "Netherlands", "Spain", "Switzerland", "UK", "USA",
)

#: Canonical product name -> (min price, max price) in currency units, as in the seed's generator.
PRODUCT_PRICE_RANGES: MappingProxyType[str, tuple[int, int]] = MappingProxyType(
    {
        "Laptop": (500, 2000),
        "Phone": (300, 1200),
        "Tablet": (200, 800),
        "Monitor": (150, 600),
        "Headphones": (50, 300),
        "Speaker": (50, 300),
        "Webcam": (40, 200),
        "Keyboard": (30, 150),
        "Mouse": (20, 100),
        "Charger": (10, 50),
    }
)
PRODUCTS: tuple[str, ...] = tuple(sorted(PRODUCT_PRICE_RANGES))

# --- Parsing rules ----------------------------------------------------------------------------

#: A positive integer id: digits only, not all zeros (leading zeros allowed); its value must also be < 2**63.
ID_PATTERN = r"^0*[1-9][0-9]*$"
#: A decimal number (price, total): optional sign, digits, optional fraction.
DECIMAL_PATTERN = r"^[+-]?[0-9]+(\.[0-9]+)?$"
#: An integer (quantity): optional sign, digits.
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
#: Email, checked after lower-casing.
EMAIL_PATTERN = r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"

#: Accepted date formats: (regex the whole field must match, Spark datetime pattern, strptime
#: format). Only the date part of a timestamp is kept. A string that matches a regex but is not a
#: real calendar date (2024-02-30) is an invalid date.
DATE_FORMATS: tuple[tuple[str, str, str], ...] = (
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "yyyy-MM-dd", "%Y-%m-%d"),
    (r"^[0-9]{4}/[0-9]{2}/[0-9]{2}$", "yyyy/MM/dd", "%Y/%m/%d"),
    (r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$", "dd/MM/yyyy", "%d/%m/%Y"),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$", "yyyy-MM-dd'T'HH:mm:ss", "%Y-%m-%dT%H:%M:%S"),
)

#: Boolean column both engines add to a bronze read: the line's field count differs from the header's.
MALFORMED_FLAG = "_malformed"

# --- Silver rules, as data ----------------------------------------------------------------------
# Every engine and the silver expectation suites are built by iterating over these tables: changing
# or adding a rule is one edit here (plus its cases in tests/cases.py).

MALFORMED_ROW = "malformed_row"
MISSING_VALUE = "missing_value"
INVALID_ID = "invalid_id"
INVALID_NUMBER = "invalid_number"
INVALID_AMOUNT = "invalid_amount"
INVALID_DATE = "invalid_date"
FUTURE_DATE = "future_date"
INVALID_EMAIL = "invalid_email"
DUPLICATE_ID = "duplicate_id"
DUPLICATE_EMAIL = "duplicate_email"
ORPHAN_CLIENT = "orphan_client"

#: Characters trimmed from both ends of every field (ASCII whitespace); an empty result is null.
ASCII_WHITESPACE = " \t\n\r\f\v"

#: How each source column's trimmed text becomes its silver value; a null result fails ``parses``:
#:
#: * ``id``: ``ID_PATTERN``, value < 2**63 -> bigint
#: * ``money``: ``DECIMAL_PATTERN`` -> ``DECIMAL(18,2)`` rounded half-up to cents (at most 16
#:   integer digits)
#: * ``integer``: ``INTEGER_PATTERN``, within INT range -> int
#: * ``date``: one of ``DATE_FORMATS`` and a real calendar date -> date (the date part)
#: * ``email``: lower-cased; must then match ``EMAIL_PATTERN``
#: * ``name``: runs of whitespace inside collapsed to one space
#: * ``vocabulary``: the canonical spelling in ``VOCABULARIES[column]`` matched case-insensitively;
#:   an unknown value is kept as trimmed and counted in ``unknown_values`` (it fails ``parses``, so
#:   a ``parses`` rule on the column would reject it)
#: * ``recomputed``: the silver value is the product of its ``RECOMPUTED`` columns, half-up to
#:   cents; the source text is only compared with it: a kept row whose source value is missing, not
#:   a decimal number or another number (compared as decimals, so ``923.7`` equals ``923.70``)
#:   counts in ``total_recalculated``
PARSERS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType({
    "clients": MappingProxyType({"id_client": "id", "name": "name", "email": "email",
                                 "subscription_date": "date", "country": "vocabulary"}),
    "purchases": MappingProxyType({"id_purchase": "id", "id_client": "id", "product": "vocabulary",
                                   "price": "money", "quantity": "integer", "purchase_date": "date",
                                   "total": "recomputed"}),
})

#: Vocabulary of each ``vocabulary`` column.
VOCABULARIES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {"country": COUNTRIES, "product": PRODUCTS})

#: The factors of each ``recomputed`` column.
RECOMPUTED: MappingProxyType[str, tuple[str, str]] = MappingProxyType({"total": ("price", "quantity")})

#: Silver columns that hold the ``YYYY-MM`` month of a date column.
MONTH_OF: MappingProxyType[str, str] = MappingProxyType({"year_month": "purchase_date"})

#: Least value of each column an ``amount`` rule checks (currency units / items).
MINIMUMS: MappingProxyType[str, int] = MappingProxyType({"price": 0, "quantity": 1})


@dataclass(frozen=True)
class SilverRule:
    """One silver rule: a row that fails ``check`` on ``columns`` is rejected with ``reason``.

    A table's rules are applied in order and a row gets the reason of the first rule it fails;
    each rule judges only the rows that passed every earlier one (so ``unique`` keeps the first
    row that is otherwise valid, and ``not_future`` counts only rows valid so far).
    """

    reason: str
    check: str
    columns: tuple[str, ...] = ()


#: The checks a rule can name (every engine implements each one).
CHECKS: MappingProxyType[str, str] = MappingProxyType({
    "well_formed": "the line holds exactly as many fields as the header",
    "present": "every column is non-null after trimming",
    "parses": "every column's value parses (PARSERS)",
    "amount": "every column is at least its MINIMUMS value, and each RECOMPUTED product of the columns "
              "fits DECIMAL(18,2)",
    "not_future": "the date is on or before the run date (policy cap: kept with the run date instead)",
    "unique": "the value did not occur in an earlier row (source order) still valid at this rule",
    "known_client": "the id_client is one of the silver clients",
})

#: The silver rules of each dataset, in precedence order.
SILVER_RULES: MappingProxyType[str, tuple[SilverRule, ...]] = MappingProxyType({
    "clients": (
        SilverRule(MALFORMED_ROW, "well_formed"),
        SilverRule(MISSING_VALUE, "present", SOURCE_COLUMNS["clients"]),
        SilverRule(INVALID_ID, "parses", ("id_client",)),
        SilverRule(INVALID_DATE, "parses", ("subscription_date",)),
        SilverRule(FUTURE_DATE, "not_future", ("subscription_date",)),
        SilverRule(INVALID_EMAIL, "parses", ("email",)),
        SilverRule(DUPLICATE_ID, "unique", ("id_client",)),
        SilverRule(DUPLICATE_EMAIL, "unique", ("email",)),
    ),
    "purchases": (
        SilverRule(MALFORMED_ROW, "well_formed"),
        SilverRule(MISSING_VALUE, "present",
                   ("id_purchase", "id_client", "product", "price", "quantity", "purchase_date")),
        SilverRule(INVALID_ID, "parses", ("id_purchase", "id_client")),
        SilverRule(INVALID_NUMBER, "parses", ("price", "quantity")),
        SilverRule(INVALID_AMOUNT, "amount", ("price", "quantity")),
        SilverRule(INVALID_DATE, "parses", ("purchase_date",)),
        SilverRule(FUTURE_DATE, "not_future", ("purchase_date",)),
        SilverRule(DUPLICATE_ID, "unique", ("id_purchase",)),
        SilverRule(ORPHAN_CLIENT, "known_client", ("id_client",)),
    ),
})

#: Reject reasons of each dataset, in precedence order.
REJECT_REASONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {dataset: tuple(rule.reason for rule in rules) for dataset, rules in SILVER_RULES.items()})

#: Columns that must be present (non-null after trimming) for a row to be kept (``total`` is
#: optional: it is recomputed).
REQUIRED_COLUMNS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {dataset: tuple(c for rule in rules if rule.check == "present" for c in rule.columns)
     for dataset, rules in SILVER_RULES.items()})


def check_rules(dataset: str, rules: tuple[SilverRule, ...]) -> None:
    """Raise ``ValueError`` naming the rule when ``rules`` cannot be applied to ``dataset``.

    Every check must be in ``CHECKS`` and every column a source column of the dataset;
    ``not_future`` and ``unique`` take one column; at most one ``not_future`` rule (its date is
    the one capped under policy ``cap``), before every ``unique`` rule (the engines judge the
    row-by-row rules in one pass and the cross-row ones after it).
    """
    for rule in rules:
        if rule.check not in CHECKS:
            raise ValueError(f"{dataset} rule {rule.reason}: unknown check {rule.check!r}; "
                             f"one of {', '.join(CHECKS)}")
        unknown = [c for c in rule.columns if c not in PARSERS[dataset]]
        if unknown:
            raise ValueError(f"{dataset} rule {rule.reason}: unknown column(s) {', '.join(unknown)}")
        if rule.check in ("not_future", "unique") and len(rule.columns) != 1:
            raise ValueError(f"{dataset} rule {rule.reason}: {rule.check} takes exactly one column")
    checks = [rule.check for rule in rules]
    if checks.count("not_future") > 1:
        raise ValueError(f"{dataset}: at most one not_future rule")
    if "not_future" in checks and "unique" in checks[:checks.index("not_future")]:
        raise ValueError(f"{dataset}: the not_future rule must come before every unique rule")


#: Future-date policies: ``reject`` (default) rejects rows dated after the run date;
#: ``cap`` keeps them with the date set to the run date (the seed's behaviour) and counts them.
FUTURE_DATE_POLICIES: tuple[str, ...] = ("reject", "cap")

#: Money: DECIMAL(MONEY_PRECISION, MONEY_SCALE), rounded half-up to cents.
MONEY_PRECISION = 18
MONEY_SCALE = 2

# --- Silver tables: column -> logical type (Spark DDL type names) ------------------------------
SILVER_SCHEMAS: MappingProxyType[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "clients": (
            ("id_client", "bigint"),
            ("name", "string"),
            ("email", "string"),
            ("subscription_date", "date"),
            ("country", "string"),
        ),
        "purchases": (
            ("id_purchase", "bigint"),
            ("id_client", "bigint"),
            ("product", "string"),
            ("price", "decimal(18,2)"),
            ("quantity", "int"),
            ("purchase_date", "date"),
            ("total", "decimal(18,2)"),
            ("year_month", "string"),  # partition column, YYYY-MM of purchase_date
        ),
    }
)

#: Extra columns of a rejects table, after the dataset's original (untrimmed) string columns.
REJECT_EXTRA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_row", "bigint"),  # 1-based data row number in the bronze file (header excluded)
    ("reason", "string"),
    ("run_id", "string"),
)

# --- Lake tables -------------------------------------------------------------------------------
# Silver and gold tables are Delta Lake tables partitioned by the run date; a run replaces exactly
# its run date's partition of each table in one Delta transaction.

#: Partition column of every silver and gold table (``date``: the run's as-of date).
PARTITION_COLUMN = "run_date"

#: Rejects table of each dataset: the rows silver did not keep, with their reason.
REJECTS_TABLES: MappingProxyType[str, str] = MappingProxyType(
    {"clients": "clients_rejects", "purchases": "purchases_rejects"}
)

#: Silver tables, in the order the silver job commits them.
SILVER_TABLES: tuple[str, ...] = ("clients", "purchases", *REJECTS_TABLES.values())

GOLD_TABLES: tuple[str, ...] = (
    "fact_sales", "client_kpis", "product_analytics", "country_analytics",
    "daily_sales", "weekly_sales", "monthly_sales",
)

#: JSON documents of each layer (``<name>.json``), written after the layer's tables are committed.
LAYER_DOCUMENTS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {"silver": ("quality_report",), "gold": ("statistical_distributions", "gold_summary")}
)

# --- Gold rules, as data -----------------------------------------------------------------------
# Both engines and the gold expectation suites are built from these tables.

#: A client is active when the last purchase is at most this many days before the run date.
ACTIVE_DAYS = 90

#: ISO weekday names, Monday (1) first.
DAY_NAMES: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Recency, frequency and monetary value are each scored 1..RFM_SCORE_MAX as
#: ``ceil(RFM_SCORE_MAX x cume_dist)`` over ascending goodness (fewer days since the last purchase,
#: more purchases, more spent are better; ties share a score).
RFM_SCORE_MAX = 5


@dataclass(frozen=True)
class RfmSegmentRule:
    """A client whose R score is in ``[r_min, r_max]`` and whose FM score is at least ``fm_min``
    belongs to ``segment`` (``FM = round_half_up((F + M) / 2)``), unless an earlier rule matched."""

    segment: str
    r_min: int
    r_max: int
    fm_min: int


#: RFM segments, tested in order (the first match wins); the last one matches every client.
RFM_SEGMENT_RULES: tuple[RfmSegmentRule, ...] = (
    RfmSegmentRule("Champions", 4, 5, 4),
    RfmSegmentRule("Loyal Customers", 3, 5, 3),
    RfmSegmentRule("Promising", 4, 5, 1),
    RfmSegmentRule("At Risk", 1, 2, 3),
    RfmSegmentRule("Hibernating", 1, 2, 1),
    RfmSegmentRule("Need Attention", 1, 5, 1),
)
RFM_SEGMENTS: tuple[str, ...] = tuple(rule.segment for rule in RFM_SEGMENT_RULES)

#: Rounding policies. ``half_up``: each value on its own, half away from zero; money (to cents),
#: averages, ratios and percentages always use it. ``largest_remainder``: a table's shares are
#: rounded down to 0.01 and the rows with the largest remainders (ties by key) get 0.01 more until
#: they add up to exactly 100.00.
ROUNDING_POLICIES: tuple[str, ...] = ("half_up", "largest_remainder")

#: How ``market_share_pct`` (product and country analytics) is rounded to 0.01.
MARKET_SHARE_ROUNDING = "largest_remainder"
