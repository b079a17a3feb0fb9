"""Quality gate: validate one layer of the lake with its Great Expectations suites.

    spark-submit spark_jobs/quality_gate.py --layer bronze|silver|gold --run-date YYYY-MM-DD --run-id ID

Reads the layer's tables for the run date (bronze: the latest bronze version; silver and gold:
the committed run-date snapshot), validates each with its committed suite
(:mod:`medallion.quality`), stores the results in the lake for the data docs, and logs every
failed expectation with its column, ``unexpected_count`` and a few unexpected values.

Exit codes: 0 when no critical expectation failed (warnings are logged only), 1 when at least one
critical expectation failed, 2 when the layer could not be read (the message names the file).
Settings come from the environment (:meth:`medallion.config.Settings.from_env`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from medallion import quality
from medallion.config import Settings
from medallion.spark.session import build_session

log = logging.getLogger("quality_gate")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Great Expectations gate of one medallion layer")
    parser.add_argument("--layer", required=True, choices=quality.LAYER_NAMES)
    parser.add_argument("--run-date", required=True, help="logical date of the run, YYYY-MM-DD")
    parser.add_argument("--run-id", required=True, help="pipeline run id (Airflow run_id)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Own handler on the project's loggers: GX and pyspark reconfigure the root logger on import.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("medallion", "quality_gate"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    settings = Settings.from_env()
    spark = build_session(f"quality_gate_{args.layer}", settings)
    spark.sparkContext.setLogLevel("WARN")  # keep the task log to the gate's own findings
    try:
        result = quality.run_gate(spark, settings, args.layer, args.run_date, args.run_id)
    except (FileNotFoundError, ValueError, quality.QualityGateError) as exc:
        # BronzeError is a ValueError; every message names the missing or unreadable file.
        log.error("gate %s for %s could not read its input: %s", args.layer, args.run_date, exc)
        return 2
    finally:
        spark.stop()
    if not result.passed:
        log.error("gate %s FAILED for run date %s: %d critical expectation(s) failed; see the data docs",
                  args.layer, args.run_date, len(result.critical_failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
