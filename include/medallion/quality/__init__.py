"""Great Expectations quality gates for the bronze, silver and gold layers, and their data docs.

* :mod:`medallion.quality.suites`: the suites as code and the committed GX file context
  (``great_expectations/``, regenerated with ``python -m medallion.quality --write-suites``).
* :mod:`medallion.quality.inputs`: what each gate validates, built from a job's staged DataFrames.
* :mod:`medallion.quality.gate`: :func:`audit` (write–audit–publish: validate before the commit,
  store the results, raise :class:`GateFailed`), results and failure messages.
* :mod:`medallion.quality.docs`: the data docs site, rebuilt after every run.

Where each gate runs: the bronze and silver gates in the silver job (bronze right after Spark
reads the bronze files, before any transform; silver before the silver commit), the gold gate in
the gold job before the gold commit. Only Python modules here; pyspark is imported inside the
functions that need it.
"""

from medallion.quality.docs import build_data_docs, data_docs_path
from medallion.quality.gate import (
    ExpectationOutcome,
    GateFailed,
    GateNotEvaluated,
    GateResult,
    QualityGateError,
    SuiteInput,
    audit,
    check_suite,
    evaluate,
    gate_result_path,
    log_result,
    run_name,
    validate,
    validate_suite,
    working_context,
)
from medallion.quality.suites import (
    GOLD_MONEY_COLUMNS,
    GOLD_REVENUE_COLUMNS,
    LAYER_NAMES,
    LAYER_SUITES,
    MARKET_SHARE_TOLERANCE_PCT,
    SUITE_KEYS,
    write_suites,
)

__all__ = [
    "ExpectationOutcome", "GOLD_MONEY_COLUMNS", "GOLD_REVENUE_COLUMNS", "GateFailed", "GateNotEvaluated",
    "GateResult", "LAYER_NAMES", "LAYER_SUITES", "MARKET_SHARE_TOLERANCE_PCT", "QualityGateError", "SUITE_KEYS",
    "SuiteInput", "audit", "build_data_docs", "check_suite", "data_docs_path", "evaluate", "gate_result_path",
    "log_result", "run_name", "validate", "validate_suite", "working_context", "write_suites",
]
