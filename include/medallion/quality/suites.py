"""The Great Expectations suites of the bronze, silver and gold gates, as code, and the committed context.

The GX file context lives in ``great_expectations/`` (``Settings.great_expectations_dir``) and is
**generated once and committed** (``python -m medallion.quality --write-suites``): one expectation
suite per layer and table (``expectations/<layer>_<table>.json``), one validation definition per
suite, one checkpoint per layer (``checkpoints/<layer>.json``), and ``great_expectations.yml`` with
the Spark data source (one DataFrame asset per suite) and the data-docs site.

Cross-table rules are handed to GX either as suite parameters computed once in Spark (for
example the fact table's total revenue, which every aggregate's revenue sum must equal), as
derived columns (``expected_total``, ``client_in_silver_clients``), or as a small DataFrame of
computed checks (the silver quality report), so that every rule shows up in the data docs (see
:mod:`medallion.quality.inputs`). A failed *critical* expectation fails the gate; *warning*
expectations (vocabulary checks) are logged and shown in the docs only.

Suites:

* bronze ``clients`` / ``purchases`` (the latest bronze version of the run date, read as strings):
  contract columns present (extra columns allowed), at least one row, row count equal to the
  manifest's ``data_rows``.
* silver ``clients`` / ``purchases``: built from the table's rules in
  :data:`medallion.contract.SILVER_RULES` (see :func:`_silver_expectations`): required columns not
  null, e-mails matching the pattern, dates <= run date, ``price`` >= 0 and ``quantity`` >= 1,
  ids (and e-mails) unique, every purchase's client in silver clients, ``total`` =
  round-half-up(``price`` x ``quantity``, 2); ``country`` / ``product`` in their vocabulary (warning).
* silver ``quality_report`` (one row per table from ``quality_report.json`` plus recounts):
  ``output_rows + rejected_rows = input_rows``; ``output_rows`` equals the rows of the silver
  table and ``rejected_rows`` the rows of its rejects table; the report's ``malformed_row`` count
  equals the ``malformed_row`` rows of the rejects table; ``rejected_pct`` <=
  ``Settings.reject_threshold_pct`` (percent, default 20); no ``malformed_row`` at all (warning:
  the source's producer writes broken CSV lines; the rejected-share check bounds how many).
* gold: keys not null and unique; money columns >= 0; ``market_share_pct`` of products and of
  countries sums to 100 +/- 0.01; total revenue of ``product_analytics``, ``country_analytics``,
  ``client_kpis``, ``daily_sales``, ``weekly_sales`` and ``monthly_sales`` equals
  ``fact_sales``'s, which equals ``overall_metrics.total_revenue`` of
  ``statistical_distributions.json`` (to the cent: bounds +/- half a cent); ``daily_sales`` has one
  row per calendar day from the first to the last purchase date (unique dates, first and last
  date equal to the fact table's, row count equal to the number of days); RFM scores in 1..5.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from medallion.contract import (
    DATASETS,
    EMAIL_PATTERN,
    MINIMUMS,
    PARSERS,
    RECOMPUTED,
    SILVER_RULES,
    SILVER_SCHEMAS,
    SOURCE_COLUMNS,
    VOCABULARIES,
)

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

#: Tolerance of a market-share sum around 100, in percentage points.
MARKET_SHARE_TOLERANCE_PCT = 0.01

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


# --- Suites ---------------------------------------------------------------------------------------


def _silver_expectations(dataset: str) -> list[Any]:
    """A silver table's expectations, one or more per rule of ``contract.SILVER_RULES[dataset]``.

    What a rule guarantees about the rows it keeps: ``present`` columns are not null, ``parses``
    e-mails match ``EMAIL_PATTERN`` (and a vocabulary column named by a ``parses`` rule is in its
    vocabulary), the ``not_future`` date is at most the run date, ``amount`` columns are at least
    their ``MINIMUMS``, ``unique`` columns are unique, ``known_client`` ids are in silver clients;
    every ``recomputed`` column equals its derived ``expected_<column>``. A vocabulary column no rule
    checks gets a *warning* expectation (unknown values are kept and counted).
    """
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    parsers = PARSERS[dataset]
    exps: list[Any] = [gxe.ExpectTableColumnsToMatchSet(column_set=[c for c, _ in SILVER_SCHEMAS[dataset]],
                                                         exact_match=False)]
    strict: set[str] = set()
    for rule in SILVER_RULES[dataset]:
        for column in rule.columns:
            if rule.check == "present":
                exps.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
            elif rule.check == "parses" and parsers[column] == "email":
                exps.append(gxe.ExpectColumnValuesToMatchRegex(column=column, regex=EMAIL_PATTERN))
            elif rule.check == "parses" and parsers[column] == "vocabulary":
                strict.add(column)
                exps.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(VOCABULARIES[column])))
            elif rule.check == "not_future":
                exps.append(gxe.ExpectColumnValuesToBeBetween(column=column, max_value={"$PARAMETER": "run_date"}))
            elif rule.check == "amount" and column in MINIMUMS:
                exps.append(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=MINIMUMS[column]))
            elif rule.check == "unique":
                exps.append(gxe.ExpectColumnValuesToBeUnique(column=column))
            elif rule.check == "known_client":
                exps.append(gxe.ExpectColumnValuesToBeInSet(
                    column="client_in_silver_clients", value_set=[True],
                    description="Every purchase's id_client exists in silver clients "
                                "(derived column: left join of purchases to silver clients)."))
    for column, factors in RECOMPUTED.items():
        if column in parsers:
            exps.append(gxe.ExpectColumnPairValuesToBeEqual(
                column_A=column, column_B=f"expected_{column}",
                description=f"{column} = {' x '.join(factors)} rounded half-up to cents "
                            f"(derived column expected_{column})."))
    for column, kind in parsers.items():
        if kind == "vocabulary" and column not in strict:
            exps.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(VOCABULARIES[column]),
                                                        severity=FailureSeverity.WARNING))
    return exps


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
    elif suite in ("silver_clients", "silver_purchases"):
        exps += _silver_expectations(table)
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
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="malformed_rows", column_B="malformed_in_rejects",
                description="quality_report.json rejects_by_reason.malformed_row equals the malformed_row "
                            "rows of the rejects table.",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="rejected_pct", min_value=0, max_value={"$PARAMETER": "reject_threshold_pct"},
                description="Rejected share (percent of input rows) at most REJECT_THRESHOLD_PCT; "
                            "above it the source is considered broken.",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="malformed_rows", min_value=0, max_value=0, severity=warning,
                description="No malformed line (field count different from the header's): any means "
                            "the source's producer writes broken CSV. Warning only: such rows are "
                            "rejects, bounded by the rejected-share check.",
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
        datasource = context.data_sources.add_spark(name=SPARK_DATASOURCE, persist=False)
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
# change medallion/quality/suites.py and run `python -m medallion.quality --write-suites`.
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
