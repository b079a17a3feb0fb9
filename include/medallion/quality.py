"""Great Expectations quality gates for the bronze, silver and gold layers, and their data docs.

The GX file context lives in ``great_expectations/`` (``Settings.great_expectations_dir``) and is
**generated once and committed** (``python -m medallion.quality --write-suites``): one expectation
suite per layer and table (``expectations/<layer>_<table>.json``), one validation definition per
suite, one checkpoint per layer (``checkpoints/<layer>.json``), and ``great_expectations.yml`` with
the Spark data source (one DataFrame asset per suite) and the data-docs site.

**The committed context is never written at run time.** GX's file context writes store ids,
``config_variables.yml`` and its ``uncommitted/`` folders on open, so every gate run and every
docs build copies the committed files into a fresh temporary folder and opens *that* copy
(:func:`working_context`); concurrent gates therefore cannot corrupt ``great_expectations.yml``.
Validation results are then copied to the lake (``quality/validations/``, GX's own store layout)
so that :func:`build_data_docs` - which runs in another process, possibly on another machine,
and needs no Spark - renders every run's results, and the site is copied to
``quality/data_docs/`` where the Airflow plugin serves it.

A gate (:func:`run_gate`) validates each table of a layer with its suite on a cached Spark
DataFrame, one validation per table. Cross-table rules are handed to GX either as suite
parameters computed once in Spark (for example the fact table's total revenue, which every
aggregate's revenue sum must equal), as derived columns (``expected_total``,
``client_in_silver_clients``), or as a small DataFrame of computed checks (the silver quality
report), so that every rule shows up in the data docs. A failed *critical* expectation fails the
gate; *warning* expectations (vocabulary checks) are logged and shown in the docs only.

Suites (the rules of issue 6):

* bronze ``clients`` / ``purchases`` (the latest bronze version of the run date, read as strings):
  contract columns present (extra columns allowed), at least one row, row count equal to the
  manifest's ``data_rows``.
* silver ``clients``: ``id_client`` not null and unique, ``email`` not null and matching
  :data:`medallion.contract.EMAIL_PATTERN`, ``subscription_date`` <= run date, ``country`` in
  :data:`medallion.contract.COUNTRIES` (warning).
* silver ``purchases``: ``id_purchase`` not null and unique, ``id_client`` not null and present
  in silver clients, ``purchase_date`` <= run date, ``price`` >= 0, ``quantity`` >= 1,
  ``total`` = round-half-up(``price`` x ``quantity``, 2), ``product`` in
  :data:`medallion.contract.PRODUCTS` (warning).
* silver ``quality_report`` (one row per table from ``quality_report.json`` plus recounts):
  ``output_rows + rejected_rows = input_rows``; ``output_rows`` equals the rows of the silver
  table and ``rejected_rows`` the rows of its rejects table; ``rejected_pct`` <=
  ``Settings.reject_threshold_pct`` (percent, default 20).
* gold: keys not null and unique; money columns >= 0; ``market_share_pct`` of products and of
  countries sums to 100 +/- 0.01; total revenue of ``product_analytics``, ``country_analytics``,
  ``client_kpis``, ``daily_sales``, ``weekly_sales`` and ``monthly_sales`` equals
  ``fact_sales``'s, which equals ``overall_metrics.total_revenue`` of
  ``statistical_distributions.json`` (to the cent: bounds +/- half a cent); ``daily_sales`` has one
  row per calendar day from the first to the last purchase date (unique dates, first and last
  date equal to the fact table's, row count equal to the number of days); RFM scores in 1..5.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import posixpath
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pyarrow.fs as pafs

from medallion import lake
from medallion.config import Settings
from medallion.contract import (
    COUNTRIES,
    DATASETS,
    EMAIL_PATTERN,
    PRODUCTS,
    SILVER_SCHEMAS,
    SOURCE_COLUMNS,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

LAYER_NAMES: tuple[str, ...] = ("bronze", "silver", "gold")

#: Suites of each layer: ``<layer>_<table>``; the order is the validation order of a gate.
LAYER_SUITES: dict[str, tuple[str, ...]] = {
    "bronze": ("bronze_clients", "bronze_purchases"),
    "silver": ("silver_clients", "silver_purchases", "silver_quality_report"),
    "gold": (
        "gold_fact_sales", "gold_client_kpis", "gold_product_analytics", "gold_country_analytics",
        "gold_daily_sales", "gold_weekly_sales", "gold_monthly_sales",
    ),
}

#: Key column(s) of each suite's table, reported with every unexpected row in failure messages.
SUITE_KEYS: dict[str, tuple[str, ...]] = {
    "bronze_clients": (),
    "bronze_purchases": (),
    "silver_clients": ("id_client",),
    "silver_purchases": ("id_purchase",),
    "silver_quality_report": ("table",),
    "gold_fact_sales": ("id_purchase",),
    "gold_client_kpis": ("id_client",),
    "gold_product_analytics": ("product",),
    "gold_country_analytics": ("country",),
    "gold_daily_sales": ("date",),
    "gold_weekly_sales": ("year_week",),
    "gold_monthly_sales": ("year_month",),
}

#: Money columns (DECIMAL(18,2), currency units) of each gold table that must be >= 0.
GOLD_MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "fact_sales": ("price", "total"),
    "client_kpis": ("total_spent", "avg_order_value", "min_order_value", "max_order_value"),
    "product_analytics": ("total_revenue", "avg_price", "min_price", "max_price"),
    "country_analytics": ("total_revenue", "avg_order_value", "avg_revenue_per_customer"),
    "daily_sales": ("total_revenue", "revenue_7day_avg"),
    "weekly_sales": ("total_revenue", "avg_order_value"),
    "monthly_sales": ("total_revenue", "avg_order_value", "avg_revenue_per_customer"),
}

#: Revenue column of each aggregate whose sum must equal the fact table's total revenue.
GOLD_REVENUE_COLUMNS: dict[str, str] = {
    "client_kpis": "total_spent",
    "product_analytics": "total_revenue",
    "country_analytics": "total_revenue",
    "daily_sales": "total_revenue",
    "weekly_sales": "total_revenue",
    "monthly_sales": "total_revenue",
}

#: Tolerance of a market-share sum around 100, in percentage points (issue 6).
MARKET_SHARE_TOLERANCE_PCT = 0.01
#: Half a cent: revenue sums are DECIMAL(18,2), so bounds of +/- this mean "equal to the cent".
HALF_CENT = 0.005

SPARK_DATASOURCE = "medallion_spark"
BATCH_DEFINITION = "whole_dataframe"
DATA_DOCS_SITE = "local_site"
#: Result format of every validation (plus the suite's key columns as unexpected_index_column_names).
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
#: Unexpected values shown per failed expectation in a gate's log.
LOGGED_UNEXPECTED_VALUES = 5

#: Files and folders of the committed context (everything else in it is generated output).
COMMITTED_ENTRIES: tuple[str, ...] = (
    "great_expectations.yml", "expectations", "validation_definitions", "checkpoints",
)
#: Namespace of the deterministic ids written into the committed JSON (stable diffs on regenerate).
_ID_NAMESPACE = uuid.UUID("0b8f7a52-5d1e-4f0c-9a57-2c1f3e6d8a41")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class QualityGateError(RuntimeError):
    """A layer could not be validated (missing input, unreadable report, unknown layer)."""


# --- Suites ---------------------------------------------------------------------------------------


def _expectations(suite: str) -> list[Any]:
    """The expectations of ``suite`` (GX expectation objects; parameters as ``$PARAMETER`` refs)."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    warning = FailureSeverity.WARNING
    layer, _, table = suite.partition("_")
    exps: list[Any] = []
    if layer == "bronze":
        exps += [
            gxe.ExpectTableColumnsToMatchSet(column_set=list(SOURCE_COLUMNS[table]), exact_match=False),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectTableRowCountToEqual(value={"$PARAMETER": "manifest_data_rows"}),
        ]
    elif suite == "silver_clients":
        exps += [
            gxe.ExpectTableColumnsToMatchSet(column_set=[c for c, _ in SILVER_SCHEMAS["clients"]], exact_match=False),
            gxe.ExpectColumnValuesToNotBeNull(column="id_client"),
            gxe.ExpectColumnValuesToBeUnique(column="id_client"),
            gxe.ExpectColumnValuesToNotBeNull(column="email"),
            gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_PATTERN),
            gxe.ExpectColumnValuesToNotBeNull(column="subscription_date"),
            gxe.ExpectColumnValuesToBeBetween(column="subscription_date",
                                              max_value={"$PARAMETER": "run_date"}),
            gxe.ExpectColumnValuesToBeInSet(column="country", value_set=list(COUNTRIES), severity=warning),
        ]
    elif suite == "silver_purchases":
        exps += [
            gxe.ExpectTableColumnsToMatchSet(column_set=[c for c, _ in SILVER_SCHEMAS["purchases"]], exact_match=False),
            gxe.ExpectColumnValuesToNotBeNull(column="id_purchase"),
            gxe.ExpectColumnValuesToBeUnique(column="id_purchase"),
            gxe.ExpectColumnValuesToNotBeNull(column="id_client"),
            gxe.ExpectColumnValuesToBeInSet(
                column="client_in_silver_clients", value_set=[True],
                description="Every purchase's id_client exists in silver clients "
                            "(derived column: left join of purchases to silver clients).",
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="purchase_date"),
            gxe.ExpectColumnValuesToBeBetween(column="purchase_date", max_value={"$PARAMETER": "run_date"}),
            gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="total", column_B="expected_total",
                description="total = price x quantity rounded half-up to cents "
                            "(derived column expected_total).",
            ),
            gxe.ExpectColumnValuesToBeInSet(column="product", value_set=list(PRODUCTS), severity=warning),
        ]
    elif suite == "silver_quality_report":
        exps += [
            gxe.ExpectColumnDistinctValuesToEqualSet(column="table", value_set=list(DATASETS)),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="output_plus_rejected_rows", column_B="input_rows",
                description="quality_report.json: output_rows + rejected_rows = input_rows per table.",
            ),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="output_rows", column_B="rows_in_table",
                description="quality_report.json output_rows equals the rows of the silver table.",
            ),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="rejected_rows", column_B="rows_in_rejects",
                description="quality_report.json rejected_rows equals the rows of the rejects table.",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="rejected_pct", min_value=0, max_value={"$PARAMETER": "reject_threshold_pct"},
                description="Rejected share (percent of input rows) at most REJECT_THRESHOLD_PCT; "
                            "above it the source is considered broken.",
            ),
        ]
    elif layer == "gold":
        for key in SUITE_KEYS[suite]:
            exps += [gxe.ExpectColumnValuesToNotBeNull(column=key), gxe.ExpectColumnValuesToBeUnique(column=key)]
        exps += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in GOLD_MONEY_COLUMNS[table]]
        if table == "fact_sales":
            exps.append(gxe.ExpectColumnSumToBeBetween(
                column="total", min_value={"$PARAMETER": "overall_total_revenue_min"},
                max_value={"$PARAMETER": "overall_total_revenue_max"},
                description="Total revenue of fact_sales equals overall_metrics.total_revenue of "
                            "statistical_distributions.json (to the cent).",
            ))
        else:
            exps.append(gxe.ExpectColumnSumToBeBetween(
                column=GOLD_REVENUE_COLUMNS[table], min_value={"$PARAMETER": "fact_total_revenue_min"},
                max_value={"$PARAMETER": "fact_total_revenue_max"},
                description=f"Total revenue of {table} equals the total revenue of fact_sales (to the cent).",
            ))
        if table in ("product_analytics", "country_analytics"):
            exps.append(gxe.ExpectColumnSumToBeBetween(
                column="market_share_pct", min_value=100 - MARKET_SHARE_TOLERANCE_PCT,
                max_value=100 + MARKET_SHARE_TOLERANCE_PCT,
                description="Market shares (percent) sum to 100 +/- 0.01.",
            ))
        if table == "client_kpis":
            exps += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("r_score", "f_score", "m_score")]
            exps += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=1, max_value=5)
                     for c in ("r_score", "f_score", "m_score")]
        if table == "daily_sales":
            exps += [
                gxe.ExpectColumnMinToBeBetween(
                    column="date", min_value={"$PARAMETER": "first_purchase_date"},
                    max_value={"$PARAMETER": "first_purchase_date"},
                    description="The calendar starts on the first purchase date of fact_sales.",
                ),
                gxe.ExpectColumnMaxToBeBetween(
                    column="date", min_value={"$PARAMETER": "last_purchase_date"},
                    max_value={"$PARAMETER": "last_purchase_date"},
                    description="The calendar ends on the last purchase date of fact_sales.",
                ),
                gxe.ExpectTableRowCountToEqual(
                    value={"$PARAMETER": "calendar_days"},
                    description="One row per calendar day from the first to the last purchase date "
                                "(with unique dates: no gaps).",
                ),
            ]
    else:
        raise ValueError(f"unknown suite {suite!r}")
    return exps


def write_suites(context_dir: str | Path) -> list[Path]:
    """(Re)generate the committed GX file context in ``context_dir``.

    Builds the context with GX in a scratch folder, replaces GX's random ids by ids derived from
    their order (so regenerating unchanged suites gives the same bytes), and copies
    ``great_expectations.yml``, ``expectations/``, ``validation_definitions/`` and ``checkpoints/``
    into ``context_dir`` (replacing those entries; other files are left alone). GX's
    ``add_spark`` checks the data source by getting (or creating) a local SparkSession.

    Returns:
        The files written, relative to ``context_dir``.
    """
    import great_expectations as gx

    target = Path(context_dir)
    with tempfile.TemporaryDirectory(prefix="gx-generate-") as scratch:
        root = Path(scratch) / "ctx"
        root.mkdir()
        (root / "great_expectations.yml").write_text(_BASE_CONFIG)
        context = gx.get_context(mode="file", context_root_dir=str(root))
        datasource = context.data_sources.add_spark(name=SPARK_DATASOURCE)
        for layer in LAYER_NAMES:
            definitions = []
            for suite_name in LAYER_SUITES[layer]:
                asset = datasource.add_dataframe_asset(name=suite_name)
                batch = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
                suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=_expectations(suite_name)))
                definitions.append(context.validation_definitions.add(
                    gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)))
            context.checkpoints.add(gx.Checkpoint(name=layer, validation_definitions=definitions,
                                                  result_format=dict(RESULT_FORMAT)))
        files = sorted(
            path for entry in COMMITTED_ENTRIES
            for path in ([root / entry] if (root / entry).is_file() else (root / entry).rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        )
        ids: dict[str, str] = {}

        def stable(match: re.Match[str]) -> str:
            return ids.setdefault(match.group(0), str(uuid.uuid5(_ID_NAMESPACE, str(len(ids)))))

        texts = {p.relative_to(root): _UUID_RE.sub(stable, p.read_text()) for p in files}
        texts[Path("great_expectations.yml")] = _YML_HEADER + texts[Path("great_expectations.yml")]
        target.mkdir(parents=True, exist_ok=True)
        for entry in COMMITTED_ENTRIES[1:]:
            shutil.rmtree(target / entry, ignore_errors=True)
        for rel, text in texts.items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text(text)
    return sorted(texts)


_YML_HEADER = """\
# Great Expectations file context of the medallion pipeline. GENERATED: do not edit by hand;
# change medallion/quality.py and run `python -m medallion.quality --write-suites`.
# Read-only at run time: gates and docs builds open a temporary copy (see medallion.quality).
"""

_BASE_CONFIG = """\
config_version: 4.0
analytics_enabled: false
data_context_id: 00000000-0000-0000-0000-000000000000
config_variables_file_path: uncommitted/config_variables.yml
plugins_directory:
progress_bars:
  globally: false
  metric_calculations: false
stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: expectations/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/validations/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: validation_definitions/
expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store
data_docs_sites:
  local_site:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/data_docs/local_site/
    site_index_builder:
      class_name: DefaultSiteIndexBuilder
"""


# --- The working copy of the context --------------------------------------------------------------


@contextlib.contextmanager
def working_context(settings: Settings) -> Iterator[Any]:
    """A GX file context opened on a temporary copy of the committed context.

    Yields the context (its ``root_directory`` is the copy); the copy is deleted afterwards. The
    committed ``great_expectations.yml`` is only read.

    Raises:
        QualityGateError: ``settings.great_expectations_dir`` holds no ``great_expectations.yml``.
    """
    import great_expectations as gx

    source = Path(settings.great_expectations_dir)
    if not (source / "great_expectations.yml").is_file():
        raise QualityGateError(
            f"{source / 'great_expectations.yml'}: GX context not found (GX_CONTEXT_DIR); "
            "generate it with `python -m medallion.quality --write-suites`"
        )
    with tempfile.TemporaryDirectory(prefix="gx-run-") as scratch:
        root = Path(scratch) / "ctx"
        root.mkdir()
        for entry in COMMITTED_ENTRIES:
            if (source / entry).is_dir():
                shutil.copytree(source / entry, root / entry)
            elif (source / entry).is_file():
                shutil.copy2(source / entry, root / entry)
        yield gx.get_context(mode="file", context_root_dir=str(root))


def _validations_dir(context: Any) -> Path:
    return Path(context.root_directory) / "uncommitted" / "validations"


def _upload_tree(settings: Settings, local_dir: Path, layer: str, *prefix: str) -> list[str]:
    """Copy every file under ``local_dir`` (dot-files excluded) to ``layer/prefix/...`` in the lake."""
    fs = lake.filesystem(settings)
    written = []
    for path in sorted(local_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(local_dir).as_posix()
            lake.write_bytes(fs, lake.layer_path(settings, layer, *prefix, rel), path.read_bytes())
            written.append(rel)
    return written


# --- Gate results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation that did not pass (or raised) in a validation."""

    suite: str
    expectation: str
    column: str | None
    severity: str
    unexpected_count: int | None = None
    observed_value: Any = None
    unexpected_values: tuple[Any, ...] = ()
    error: str | None = None

    def message(self) -> str:
        """One log line: severity, suite, expectation, column, unexpected count and a few values."""
        parts = [f"{self.severity.upper()} {self.suite}: {self.expectation}",
                 f"column={self.column}" if self.column else "table-level"]
        if self.unexpected_count is not None:
            parts.append(f"unexpected_count={self.unexpected_count}")
        if self.observed_value is not None:
            parts.append(f"observed_value={self.observed_value}")
        if self.unexpected_values:
            parts.append(f"unexpected values (up to {LOGGED_UNEXPECTED_VALUES}): "
                         f"{list(self.unexpected_values)}")
        if self.error:
            parts.append(f"error: {self.error}")
        return " | ".join(parts)


@dataclass
class GateResult:
    """The outcome of a gate: every suite's success and the expectations that failed."""

    layer: str
    run_date: str
    run_name: str
    suites: dict[str, bool] = field(default_factory=dict)
    failures: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [f for f in self.failures if f.severity != "critical"]

    @property
    def passed(self) -> bool:
        """True when no critical expectation failed (warnings do not fail a gate)."""
        return not self.critical_failures

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "run_date": self.run_date, "run_name": self.run_name,
            "passed": self.passed, "suites": self.suites,
            "failures": [
                {"suite": f.suite, "expectation": f.expectation, "column": f.column,
                 "severity": f.severity, "unexpected_count": f.unexpected_count,
                 "observed_value": _jsonable(f.observed_value),
                 "unexpected_values": [_jsonable(v) for v in f.unexpected_values], "error": f.error}
                for f in self.failures
            ],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _exception_message(info: Any) -> str | None:
    """The message(s) of an expectation's ``exception_info``: GX gives either one
    ``{"raised_exception", "exception_message", ...}`` dict or one such dict per failed metric."""
    if not isinstance(info, dict) or not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = sorted({str(e.get("exception_message")) for e in entries if e.get("raised_exception")})
    return "; ".join(messages) or None


def evaluate(suite: str, validation_result: Any) -> list[ExpectationOutcome]:
    """The expectations of a GX ``ExpectationSuiteValidationResult`` that failed or raised.

    Each outcome carries the expectation type, its column (``column`` or ``column_A, column_B``),
    its severity (``critical``, ``warning`` or ``info``), ``unexpected_count`` and up to
    :data:`LOGGED_UNEXPECTED_VALUES` unexpected values (with the suite's key columns when GX
    returned them), or the aggregate's ``observed_value``, or the exception message.
    """
    outcomes = []
    for result in validation_result.results:
        if result.success:
            continue
        config = result.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or (
            f"{kwargs['column_A']}, {kwargs['column_B']}" if "column_A" in kwargs else None)
        info = result.result or {}
        values: list[Any] = info.get("partial_unexpected_index_list") or info.get("partial_unexpected_list") or []
        error = _exception_message(result.exception_info)
        severity = getattr(config, "severity", "critical")
        outcomes.append(ExpectationOutcome(
            suite=suite, expectation=config.type, column=column,
            severity=str(getattr(severity, "value", severity)),
            unexpected_count=info.get("unexpected_count"),
            observed_value=info.get("observed_value"),
            unexpected_values=tuple(values[:LOGGED_UNEXPECTED_VALUES]), error=error,
        ))
    return outcomes


# --- Layer inputs ---------------------------------------------------------------------------------


@dataclass
class SuiteInput:
    """What one validation needs: the DataFrame and the values of the suite's parameters."""

    frame: "DataFrame"
    parameters: dict[str, Any] = field(default_factory=dict)


def _iso(run_date: str) -> str:
    try:
        return date.fromisoformat(run_date).isoformat()
    except ValueError:
        raise ValueError(f"--run-date must be YYYY-MM-DD, got {run_date!r}") from None


def _first_line(fs: pafs.FileSystem, path: str) -> bytes:
    """First non-blank line of a file (blank = only bytes <= 0x20, as Spark's CSV reader skips)."""
    buffer = b""
    with fs.open_input_stream(path) as stream:
        while True:
            chunk = stream.read(64 * 1024)
            buffer += chunk
            lines = buffer.splitlines()
            complete = lines if not chunk else lines[:-1]
            for line in complete:
                if line.strip(bytes(range(0x21))):
                    return line
            if not chunk:
                return b""
            buffer = lines[-1] if lines else b""


def bronze_inputs(spark: "SparkSession", settings: Settings, run_date: str) -> dict[str, SuiteInput]:
    """Bronze suites' inputs: the latest bronze version of each dataset for ``run_date``.

    The CSV is read as strings with an explicit schema made of the file's own header names (so
    the columns check looks at the file, not at the manifest). Parameter ``manifest_data_rows`` is
    the manifest's ``data_rows``.

    Raises:
        medallion.bronze.BronzeError: no bronze data for the date, or the header is unreadable.
    """
    from pyspark.sql.types import StringType, StructField, StructType

    from medallion import bronze

    fs = lake.filesystem(settings)
    inputs = {}
    for dataset in DATASETS:
        path, manifest = bronze.latest_version(settings, dataset, run_date)
        where = lake.display_uri(settings, "bronze", dataset, bronze.ingest_dir(run_date), manifest["file"])
        names = bronze.parse_header(_first_line(fs, path), where)
        schema = StructType([StructField(n, StringType(), True) for n in names])
        uri = lake.spark_uri(settings, "bronze", dataset, bronze.ingest_dir(run_date), manifest["file"])
        frame = (spark.read.schema(schema).option("header", "true").option("mode", "PERMISSIVE")
                 .option("encoding", "UTF-8").csv(uri))
        inputs[f"bronze_{dataset}"] = SuiteInput(frame, {"manifest_data_rows": int(manifest["data_rows"])})
    return inputs


def _table_uri(settings: Settings, layer: str, run_date: str, *parts: str) -> str:
    return lake.spark_uri(settings, layer, *lake.snapshot_parts(settings, layer, run_date, *parts))


def _document(settings: Settings, layer: str, run_date: str, name: str) -> dict[str, Any]:
    fs = lake.filesystem(settings)
    return lake.read_json(fs, lake.layer_path(settings, layer, *lake.snapshot_parts(settings, layer, run_date, name)))


def silver_inputs(spark: "SparkSession", settings: Settings, run_date: str) -> dict[str, SuiteInput]:
    """Silver suites' inputs from the committed silver snapshot of ``run_date``.

    * ``silver_clients``: the ``clients`` table.
    * ``silver_purchases``: the ``purchases`` table plus ``expected_total`` (DECIMAL(18,2),
      ``round(price * quantity, 2)``, Spark's ``round`` is half-up) and ``client_in_silver_clients``
      (boolean, false when ``id_client`` is not in silver clients).
    * ``silver_quality_report``: one row per dataset from ``quality_report.json`` with
      ``table, input_rows, output_rows, rejected_rows`` (long), ``output_plus_rejected_rows``,
      ``rows_in_table`` and ``rows_in_rejects`` (recounted from the tables) and ``rejected_pct``
      (double, rejected_rows / input_rows x 100, 0 when input_rows is 0).

    Parameters: ``run_date`` (ISO date string), ``reject_threshold_pct`` (percent).

    Raises:
        FileNotFoundError: no committed silver snapshot for the run date.
        QualityGateError: ``quality_report.json`` lacks a dataset or one of its counts.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    run_date = _iso(run_date)
    clients = spark.read.parquet(_table_uri(settings, "silver", run_date, "clients")).cache()
    purchases = spark.read.parquet(_table_uri(settings, "silver", run_date, "purchases"))
    known = clients.select("id_client").distinct().withColumn("client_in_silver_clients", F.lit(True))
    purchases = (
        purchases.join(known, on="id_client", how="left")
        .withColumn("client_in_silver_clients", F.coalesce(F.col("client_in_silver_clients"), F.lit(False)))
        .withColumn("expected_total", F.round(F.col("price") * F.col("quantity"), 2).cast("decimal(18,2)"))
        .cache()
    )
    report = _document(settings, "silver", run_date, "quality_report.json")
    recount = {"clients": clients.count(), "purchases": purchases.count()}
    rows = []
    for dataset in DATASETS:
        entry = report.get(dataset)
        if not isinstance(entry, dict) or any(k not in entry for k in ("input_rows", "output_rows", "rejected_rows")):
            raise QualityGateError(
                f"{lake.display_uri(settings, 'silver', *lake.snapshot_parts(settings, 'silver', run_date, 'quality_report.json'))}: "
                f"missing {dataset}.input_rows/output_rows/rejected_rows"
            )
        rejects = spark.read.parquet(_table_uri(settings, "silver", run_date, "_rejects", dataset)).count()
        input_rows, output_rows, rejected_rows = (int(entry[k]) for k in ("input_rows", "output_rows", "rejected_rows"))
        pct = round(rejected_rows / input_rows * 100, 2) if input_rows else 0.0
        rows.append((dataset, input_rows, output_rows, rejected_rows, output_rows + rejected_rows,
                     recount[dataset], rejects, pct))
    schema = StructType([StructField("table", StringType(), False)] + [
        StructField(name, LongType(), False) for name in (
            "input_rows", "output_rows", "rejected_rows", "output_plus_rejected_rows",
            "rows_in_table", "rows_in_rejects")
    ] + [StructField("rejected_pct", DoubleType(), False)])
    params = {"run_date": run_date, "reject_threshold_pct": float(settings.reject_threshold_pct)}
    return {
        "silver_clients": SuiteInput(clients, params),
        "silver_purchases": SuiteInput(purchases, params),
        "silver_quality_report": SuiteInput(spark.createDataFrame(rows, schema), params),
    }


def gold_inputs(spark: "SparkSession", settings: Settings, run_date: str) -> dict[str, SuiteInput]:
    """Gold suites' inputs from the committed gold snapshot of ``run_date``.

    Parameters computed once from the cached ``fact_sales``: ``fact_total_revenue_min/max``
    (sum of ``total`` -/+ half a cent, currency units), ``first_purchase_date`` and
    ``last_purchase_date`` (ISO dates), ``calendar_days`` (days from first to last, inclusive);
    and from ``statistical_distributions.json``: ``overall_total_revenue_min/max``
    (``overall_metrics.total_revenue`` -/+ half a cent).

    Raises:
        FileNotFoundError: no committed gold snapshot for the run date.
        QualityGateError: ``overall_metrics.total_revenue`` is missing.
    """
    from pyspark.sql import functions as F

    run_date = _iso(run_date)
    frames = {table: spark.read.parquet(_table_uri(settings, "gold", run_date, table)).cache()
              for table in GOLD_MONEY_COLUMNS}
    stats = frames["fact_sales"].agg(
        F.sum("total").alias("revenue"), F.min("purchase_date").alias("first"),
        F.max("purchase_date").alias("last"),
    ).first()
    distributions = _document(settings, "gold", run_date, "statistical_distributions.json")
    overall = (distributions.get("overall_metrics") or {}).get("total_revenue")
    if overall is None:
        raise QualityGateError("statistical_distributions.json: overall_metrics.total_revenue is missing")
    fact_revenue = float(stats["revenue"] or 0)
    params: dict[str, Any] = {
        "fact_total_revenue_min": fact_revenue - HALF_CENT,
        "fact_total_revenue_max": fact_revenue + HALF_CENT,
        "overall_total_revenue_min": float(overall) - HALF_CENT,
        "overall_total_revenue_max": float(overall) + HALF_CENT,
        "first_purchase_date": stats["first"].isoformat() if stats["first"] else None,
        "last_purchase_date": stats["last"].isoformat() if stats["last"] else None,
        "calendar_days": (stats["last"] - stats["first"]).days + 1 if stats["first"] else 0,
    }
    return {f"gold_{table}": SuiteInput(frame, params) for table, frame in frames.items()}


LAYER_INPUTS = {"bronze": bronze_inputs, "silver": silver_inputs, "gold": gold_inputs}


# --- Running a gate -------------------------------------------------------------------------------


def run_name(layer: str, run_date: str, run_id: str) -> str:
    """GX run name of a gate: ``<layer>__<run_date>__<run_id>`` with path-unsafe characters as ``_``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", f"{layer}__{run_date}__{run_id}")


def validate(context: Any, layer: str, inputs: dict[str, SuiteInput], run_date: str, run_id: str,
             run_time: datetime | None = None) -> GateResult:
    """Run the validation definitions of checkpoint ``layer``, each on its own DataFrame.

    GX's ``Checkpoint.run`` passes one set of batch parameters to every validation definition,
    but each table is its own DataFrame, so the checkpoint's definitions are run one by one with
    the checkpoint's result format (plus the suite's key columns) and one shared run id. Results
    are stored in the context's validation results store.

    Raises:
        QualityGateError: a suite of the checkpoint has no input.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    name = run_name(layer, run_date, run_id)
    gx_run_id = RunIdentifier(run_name=name, run_time=run_time or datetime.now(timezone.utc))
    checkpoint = context.checkpoints.get(layer)
    result = GateResult(layer=layer, run_date=run_date, run_name=name)
    for definition in checkpoint.validation_definitions:
        suite = definition.suite.name
        if suite not in inputs:
            raise QualityGateError(f"checkpoint {layer!r}: no DataFrame for suite {suite!r}")
        outcome = validate_suite(definition, inputs[suite], checkpoint.result_format, gx_run_id,
                                 checkpoint_id=checkpoint.id)
        failures = evaluate(suite, outcome)
        result.suites[suite] = not any(f.severity == "critical" for f in failures)
        result.failures += failures
    return result


def validate_suite(definition: Any, suite_input: SuiteInput, result_format: Any = None,
                   run_id: Any = None, checkpoint_id: str | None = None) -> Any:
    """Run one GX validation definition on ``suite_input`` and return GX's validation result.

    ``result_format`` (default :data:`RESULT_FORMAT`) gets the suite's key columns as
    ``unexpected_index_column_names``, so failures name the offending rows by key.
    """
    suite = definition.suite.name
    base = result_format if result_format is not None else RESULT_FORMAT
    fmt = dict(base) if isinstance(base, dict) else {"result_format": str(getattr(base, "value", base))}
    if SUITE_KEYS.get(suite):
        fmt["unexpected_index_column_names"] = list(SUITE_KEYS[suite])
    return definition.run(
        checkpoint_id=checkpoint_id, batch_parameters={"dataframe": suite_input.frame},
        expectation_parameters=dict(suite_input.parameters), result_format=fmt, run_id=run_id,
    )


def log_result(result: GateResult) -> None:
    """Log every failed expectation (critical as ERROR, warnings as WARNING) and a summary line."""
    for failure in result.failures:
        (log.error if failure.severity == "critical" else log.warning)(failure.message())
    log.info("gate %s for %s: %s (%d critical failure(s), %d warning(s)); suites: %s",
             result.layer, result.run_date, "PASSED" if result.passed else "FAILED",
             len(result.critical_failures), len(result.warnings),
             ", ".join(f"{s}={'ok' if ok else 'FAILED'}" for s, ok in result.suites.items()))


def gate_result_path(settings: Settings, layer: str, run_date: str) -> str:
    """Lake path of a gate's summary JSON: ``quality/gates/run_date=<date>/<layer>.json``."""
    return lake.layer_path(settings, "quality", "gates", lake.run_date_dir(run_date), f"{layer}.json")


def run_gate(spark: "SparkSession", settings: Settings, layer: str, run_date: str, run_id: str) -> GateResult:
    """Validate ``layer`` for ``run_date`` and store the results in the lake.

    Writes the GX validation results to ``quality/validations/`` (GX store layout, read by
    :func:`build_data_docs`) and a summary to :func:`gate_result_path`, logs every failed
    expectation, and returns the result; the caller decides the exit code (``result.passed``).

    Raises:
        ValueError: unknown layer or malformed run date.
        FileNotFoundError / medallion.bronze.BronzeError / QualityGateError: the layer's input is
            missing or unreadable (the message names the file).
    """
    if layer not in LAYER_INPUTS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYER_NAMES)}")
    run_date = _iso(run_date)
    inputs = LAYER_INPUTS[layer](spark, settings, run_date)
    try:
        with working_context(settings) as context:
            result = validate(context, layer, inputs, run_date, run_id)
            _upload_tree(settings, _validations_dir(context), "quality", "validations")
    finally:
        for item in inputs.values():
            item.frame.unpersist()
    lake.write_json(lake.filesystem(settings), gate_result_path(settings, layer, run_date), result.to_json())
    log_result(result)
    return result


# --- Data docs ------------------------------------------------------------------------------------


def data_docs_path(settings: Settings, *parts: str) -> str:
    """Lake path (for :func:`medallion.lake.filesystem`) of the built data docs site."""
    return lake.layer_path(settings, "quality", "data_docs", *parts)


def build_data_docs(settings: Settings) -> str:
    """Rebuild the data docs from every stored validation result and copy them to the lake.

    Needs no Spark: it opens a working copy of the committed context, loads every result under
    ``quality/validations/`` into its validation store, renders the ``local_site`` and copies it
    to ``quality/data_docs/`` (``index.html`` at its root). Run after every pipeline run, failed
    or not (the DAG's ``build_data_docs`` task, ``trigger_rule="all_done"``).

    Returns:
        The display URI of the site's ``index.html``.
    """
    fs = lake.filesystem(settings)
    stored = lake.layer_path(settings, "quality", "validations")
    with working_context(settings) as context:
        target = _validations_dir(context)
        count = 0
        for info in fs.get_file_info(pafs.FileSelector(stored, recursive=True, allow_not_found=True)):
            if info.type == pafs.FileType.File and info.base_name.endswith(".json"):
                rel = posixpath.relpath(info.path, stored)
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_bytes(lake.read_bytes(fs, info.path))
                count += 1
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
        site = Path(context.root_directory) / "uncommitted" / "data_docs" / DATA_DOCS_SITE
        _upload_tree(settings, site, "quality", "data_docs")
    index = lake.display_uri(settings, "quality", "data_docs", "index.html")
    log.info("data docs rebuilt from %d validation result(s): %s", count, index)
    return index


# --- CLI ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m medallion.quality --write-suites`` (regenerate the committed context) or
    ``--build-docs`` (rebuild the data docs from the lake's stored results)."""
    parser = argparse.ArgumentParser(prog="python -m medallion.quality", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write-suites", action="store_true",
                       help="regenerate great_expectations/ (suites, validation definitions, checkpoints, yml)")
    group.add_argument("--build-docs", action="store_true", help="rebuild the data docs into the lake")
    parser.add_argument("--context-dir", default=None, help="GX context folder [GX_CONTEXT_DIR]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.context_dir:
        settings = settings.with_overrides(great_expectations_dir=args.context_dir)
    if args.write_suites:
        for rel in write_suites(settings.great_expectations_dir):
            print(Path(settings.great_expectations_dir) / rel)
    else:
        print(build_data_docs(settings))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
