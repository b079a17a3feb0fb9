"""What every spark-submit application of the pipeline shares: arguments, logging, exit codes.

Exit codes (the DAG's Spark tasks tell them apart, see :mod:`medallion.operators`):

* ``0`` success: the layer is committed;
* ``1`` any other failure (lost executors or blocks beyond Spark's own task and stage retries,
  a master or storage that refuses connections, a gate that could not be evaluated because of
  them, bugs): worth a retry;
* ``2`` bad input or arguments (missing bronze file or silver snapshot, wrong columns): a retry
  fails the same way;
* ``3`` a quality gate failed: nothing of the layer was committed; the message names the gate
  and each failed expectation.

A lost executor alone does not fail a job: Spark runs its tasks again on the other executors and
recomputes its persisted blocks from their lineage.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_GATE_FAILED = 0, 1, 2, 3


def _iso_date(text: str) -> str:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None
    if value.isoformat() != text:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}")
    return text


def _optional_iso_date(text: str) -> str | None:
    return _iso_date(text) if text else None


def _aware_timestamp(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO timestamp with a time zone, got {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected an ISO timestamp with a time zone, got {text!r}")
    return value


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every layer job takes (``--run-date``, ``--run-id``,
    ``--logical-date``, ``--run-started``); bad arguments exit with code 2."""
    parsed = argparse.ArgumentParser(description=description)
    parsed.add_argument("--run-date", required=True, type=_iso_date,
                        help="as-of date of the run (YYYY-MM-DD): the partition it replaces")
    parsed.add_argument("--run-id", required=True, help="pipeline run id (Airflow run_id), recorded in the commits")
    parsed.add_argument("--logical-date", type=_optional_iso_date, default=None,
                        help="Airflow logical date, recorded in the commits; empty or absent (a run "
                             "without a logical date): the run date")
    parsed.add_argument("--run-started", type=_aware_timestamp, default=None,
                        help="when the pipeline run began, ISO timestamp with a time zone (Airflow's "
                             "dag_run.start_date): uncommitted files written since then in the run "
                             "date's partitions are removed after the commit (empty or absent: the job's start)")
    return parsed


def configure_logging() -> None:
    """Log the project's INFO messages to stderr (the Airflow task log) with a time stamp.

    Called by each job script when it runs as a program (not when a test calls its ``main``).

    Own handler on the project's logger: GX and pyspark reconfigure the root logger on import.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("medallion")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def exit_code(error: BaseException) -> int:
    """The exit code of a job that raised ``error`` (module docstring).

    Bad input is what the project's own checks raise (``BronzeError``, ``FileNotFoundError`` naming
    a missing input, ``ValueError`` such as a wrong column). An error that Spark or py4j raised is
    never bad input, whatever its Python type (PySpark's ``PySparkValueError`` is a ``ValueError``):
    it says the cluster failed.
    """
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    from medallion.bronze import BronzeError
    from medallion.quality import GateFailed

    if isinstance(error, GateFailed):
        return EXIT_GATE_FAILED
    if isinstance(error, (PySparkException, Py4JError)):
        return EXIT_FAILED
    if isinstance(error, (BronzeError, FileNotFoundError, ValueError)):
        return EXIT_BAD_INPUT
    return EXIT_FAILED


def run_job(name: str, run_date: str, body: Callable[[Any, Any], dict[str, Any]],
            precheck: Callable[[Any], Any] | None = None) -> tuple[int, dict[str, Any] | None]:
    """Run ``body(spark, settings)`` in a Spark session named after the job; map failures to exit codes.

    ``precheck(settings)`` runs first, without Spark: a job whose input is missing fails in a
    second instead of after starting a driver and executors.

    Returns:
        ``(exit code, body's result or None)``; on failure the reason is printed on stderr.
    """
    from medallion.config import Settings

    log = logging.getLogger(f"medallion.{name}")
    began = time.perf_counter()
    try:
        settings = Settings.from_env()
        if precheck is not None:
            precheck(settings)
        from medallion.spark.session import build_session

        spark = build_session(f"{name} {run_date}", settings)
        spark.sparkContext.setLogLevel("WARN")
        try:
            result = body(spark, settings)
        finally:
            spark.stop()
    except Exception as error:  # noqa: BLE001 - every failure becomes an exit code the task acts on
        code = exit_code(error)
        if code == EXIT_GATE_FAILED:
            print(f"{name} {run_date}: {error}", file=sys.stderr)
        elif code == EXIT_BAD_INPUT:
            print(f"{name} {run_date} cannot run: {type(error).__name__}: {error}", file=sys.stderr)
        else:
            print(f"{name} {run_date} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return code, None
    log.info("%s %s committed in %.1f s", name, run_date, time.perf_counter() - began)
    return EXIT_OK, result
