"""What every spark-submit application of the pipeline shares: arguments, logging, exit codes.

Exit codes (the DAG's Spark tasks tell them apart, see ``plugins/medallion_operators.py``):

* ``0`` success: the layer is committed;
* ``1`` any other failure (lost executors, storage errors, bugs): worth a retry;
* ``2`` bad input or arguments (missing bronze file or silver snapshot, wrong columns): a retry
  fails the same way;
* ``3`` a quality gate failed: nothing of the layer was committed; the message names the gate
  and each failed expectation.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import date
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


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every layer job takes (``--run-date``, ``--run-id``,
    ``--logical-date``); bad arguments exit with code 2."""
    parsed = argparse.ArgumentParser(description=description)
    parsed.add_argument("--run-date", required=True, type=_iso_date,
                        help="as-of date of the run (YYYY-MM-DD): the partition it replaces")
    parsed.add_argument("--run-id", required=True, help="pipeline run id (Airflow run_id), recorded in the commits")
    parsed.add_argument("--logical-date", type=_optional_iso_date, default=None,
                        help="Airflow logical date, recorded in the commits; empty or absent (a run "
                             "without a logical date): the run date")
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


def run_job(name: str, run_date: str, body: Callable[[Any, Any], dict[str, Any]],
            precheck: Callable[[Any], Any] | None = None) -> tuple[int, dict[str, Any] | None]:
    """Run ``body(spark, settings)`` in a Spark session named after the job; map failures to exit codes.

    ``precheck(settings)`` runs first, without Spark: a job whose input is missing fails in a
    second instead of after starting a driver and executors.

    Returns:
        ``(exit code, body's result or None)``; on failure the reason is printed on stderr.
    """
    from medallion.bronze import BronzeError
    from medallion.config import Settings
    from medallion.quality import GateFailed

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
    except GateFailed as failure:
        print(f"{name} {run_date}: {failure}", file=sys.stderr)
        return EXIT_GATE_FAILED, None
    except (BronzeError, FileNotFoundError, ValueError) as error:
        print(f"{name} {run_date} cannot run: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT, None
    except Exception as error:  # noqa: BLE001 - any other failure: a non-zero exit the task may retry
        print(f"{name} {run_date} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED, None
    log.info("%s %s committed in %.1f s", name, run_date, time.perf_counter() - began)
    return EXIT_OK, result
