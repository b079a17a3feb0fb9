"""Running a quality gate: validate what a job is about to commit, store the results, fail loudly.

Write–audit–publish: a layer job stages its output (cached DataFrames), calls :func:`audit` with
the layer's inputs (:mod:`medallion.quality.inputs`), and commits only when it returns. On a
critical failure :func:`audit` still stores the validation results in the lake (for the data
docs) and the gate's summary (:func:`gate_result_path`), logs every failed expectation, and raises
:class:`GateFailed`, whose message names the gate and each failed expectation.

**The committed GX context is never written at run time.** GX's file context writes store ids,
``config_variables.yml`` and its ``uncommitted/`` folders on open, so every job and every docs
build copies the committed files into a fresh temporary folder and opens *that* copy
(:func:`working_context`); concurrent jobs therefore cannot corrupt ``great_expectations.yml``.
Validation results are copied to the lake (``quality/validations/``, GX's own store layout) so
that :func:`medallion.quality.docs.build_data_docs` - which runs in another process, possibly on
another machine, and needs no Spark - renders every run's results.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from medallion import lake
from medallion.config import Settings
from medallion.quality.suites import COMMITTED_ENTRIES, LOGGED_UNEXPECTED_VALUES, RESULT_FORMAT, SUITE_KEYS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

log = logging.getLogger("medallion.quality")

#: Result format of the first validation of every suite: success per expectation and observed
#: aggregates only. The detailed formats query the unexpected rows of every expectation, passing
#: ones included, which made a gate several times slower.
QUICK_RESULT_FORMAT: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}


class QualityGateError(RuntimeError):
    """A layer could not be validated (missing input, unreadable report, unknown layer)."""


class GateNotEvaluated(QualityGateError):
    """A gate could not judge the data: every critical expectation it failed raised instead of
    measuring (a lost Spark executor or connection, a storage error). A retry may pass; the
    message names the gate and the errors."""


class GateFailed(RuntimeError):
    """A gate found at least one critical expectation failed: nothing of the layer was committed.

    Attributes:
        result: the :class:`GateResult`; ``str(error)`` names the gate, the run date and each
            failed critical expectation (suite, expectation, column, unexpected count, values).
    """

    def __init__(self, result: "GateResult"):
        self.result = result
        lines = [f"gate_{result.layer} FAILED for run date {result.run_date}: "
                 f"{len(result.critical_failures)} critical expectation(s) failed, nothing was committed"]
        lines += [f"  - {failure.message()}" for failure in result.critical_failures]
        super().__init__("\n".join(lines))


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

    @property
    def evaluated(self) -> bool:
        """False when every critical failure is an expectation that raised instead of measuring
        the data (GX records a Spark failure as the expectation's error): no verdict on the data."""
        return not self.critical_failures or not all(f.error for f in self.critical_failures)

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


@dataclass
class SuiteInput:
    """What one validation needs: the DataFrame and the values of the suite's parameters."""

    frame: "DataFrame"
    parameters: dict[str, Any] = field(default_factory=dict)


# --- Validating -------------------------------------------------------------------------------


def run_name(layer: str, run_date: str, run_id: str) -> str:
    """GX run name of a gate: ``<layer>__<run_date>__<run_id>`` with path-unsafe characters as ``_``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", f"{layer}__{run_date}__{run_id}")


def validate(context: Any, layer: str, inputs: dict[str, SuiteInput], run_date: str, run_id: str,
             run_time: datetime | None = None) -> GateResult:
    """Run the validation definitions of checkpoint ``layer``, each on its own DataFrame.

    GX's ``Checkpoint.run`` passes one set of batch parameters to every validation definition,
    but each table is its own DataFrame, so the checkpoint's definitions are run one by one with
    one shared run id (:func:`check_suite`); the results are stored in the context's validation
    results store.

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
        outcome = check_suite(definition, inputs[suite], checkpoint.result_format, gx_run_id,
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


def check_suite(definition: Any, suite_input: SuiteInput, result_format: Any = None, run_id: Any = None,
                checkpoint_id: str | None = None) -> Any:
    """:func:`validate_suite` with :data:`QUICK_RESULT_FORMAT` first, then, only if the suite failed,
    again with ``result_format`` (default :data:`RESULT_FORMAT`), whose result replaces the quick one
    in the validation results store (same key): the data docs and the failure messages show the
    unexpected values of a failed suite, and a passing suite costs one cheap pass."""
    outcome = validate_suite(definition, suite_input, QUICK_RESULT_FORMAT, run_id, checkpoint_id)
    if outcome.success:
        return outcome
    return validate_suite(definition, suite_input, result_format, run_id, checkpoint_id)


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


def audit(context: Any, settings: Settings, layer: str, inputs: dict[str, SuiteInput], run_date: str,
          run_id: str) -> GateResult:
    """The audit of write–audit–publish: validate ``inputs`` with checkpoint ``layer`` before a commit.

    Stores the GX validation results in ``quality/validations/`` (read by the data docs build)
    and the gate's summary (run id, pass/fail, failures, time) at :func:`gate_result_path`, logs
    every failed expectation, and returns the result when no critical expectation failed.

    Raises:
        GateFailed: a critical expectation failed (the results are stored first).
        GateNotEvaluated: every critical failure is an expectation that raised (GX records a
            Spark failure as the expectation's error): not a verdict on the data, worth a retry.
        QualityGateError: a suite of the checkpoint has no input.
    """
    result = validate(context, layer, inputs, run_date, run_id)
    validations = _validations_dir(context)
    _upload_tree(settings, validations, "quality", "validations")
    shutil.rmtree(validations, ignore_errors=True)  # uploaded: the next gate of the job uploads only its own
    summary = {**result.to_json(), "run_id": run_id,
               "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    lake.write_json(lake.filesystem(settings), gate_result_path(settings, layer, run_date), summary)
    log_result(result)
    if not result.passed:
        if not result.evaluated:
            errors = sorted({failure.error for failure in result.critical_failures})
            raise GateNotEvaluated(f"gate_{layer} for run date {run_date} could not be evaluated, nothing was "
                                   f"committed: {len(result.critical_failures)} critical expectation(s) raised: "
                                   + "; ".join(errors))
        raise GateFailed(result)
    return result
