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
# Trimming removes ASCII whitespace (space, \t, \n, \r, \f, \v) at both ends of every field;
# an empty string after trimming is a missing value (null).

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

# --- Reject reasons, in the order they are checked: a row gets the first it fails ---------------
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

REJECT_REASONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "clients": (MALFORMED_ROW, MISSING_VALUE, INVALID_ID, INVALID_DATE, FUTURE_DATE, INVALID_EMAIL,
                    DUPLICATE_ID, DUPLICATE_EMAIL),
        "purchases": (MALFORMED_ROW, MISSING_VALUE, INVALID_ID, INVALID_NUMBER, INVALID_AMOUNT, INVALID_DATE,
                      FUTURE_DATE, DUPLICATE_ID, ORPHAN_CLIENT),
    }
)

#: Columns that must be present (non-null after trimming) for a row to be kept. ``total`` is
#: optional: it is always recomputed as price x quantity.
REQUIRED_COLUMNS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "clients": SOURCE_COLUMNS["clients"],
        "purchases": ("id_purchase", "id_client", "product", "price", "quantity", "purchase_date"),
    }
)

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
