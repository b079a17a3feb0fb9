"""Silver job: the latest bronze files of a run date -> typed, cleaned silver tables + quality report.

Usage (the master comes from ``spark-submit --master``)::

    spark-submit --master spark://host:7077 spark_jobs/silver_transformation.py \\
        --run-date 2026-11-29 --run-id manual__2026-11-29 [--future-dates reject|cap]

Settings (lake root, S3 endpoint, default future-date policy) come from the environment
(:meth:`medallion.config.Settings.from_env`). The rules and outputs are documented in
:mod:`medallion.spark.silver`. Exit status 0 on success; 1 with the error on stderr (e.g. the
bronze file of the date is missing: the message names it); 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from medallion.config import Settings
from medallion.contract import FUTURE_DATE_POLICIES


def _run_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None
    if len(text) != 10:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-date", required=True, type=_run_date, help="logical date YYYY-MM-DD")
    parser.add_argument("--run-id", required=True, help="pipeline run id, recorded in rejects and the report")
    parser.add_argument("--future-dates", choices=FUTURE_DATE_POLICIES, default=None,
                        help="reject (default: FUTURE_DATES or reject) or cap dates after the run date")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
        from medallion import bronze
        from medallion.contract import DATASETS

        for dataset in DATASETS:  # fail fast, before starting executors, when bronze is missing
            bronze.latest_version(settings, dataset, args.run_date)
        from medallion.spark import silver
        from medallion.spark.session import build_session

        spark = build_session(f"silver-{args.run_date}", settings)
        try:
            report = silver.run(spark, settings, args.run_date, args.run_id, args.future_dates)
        finally:
            spark.stop()
    except Exception as exc:  # the task log shows one clear line; the exit code fails the task
        print(f"silver_transformation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for table in ("clients", "purchases"):
        stats = report[table]
        print(f"silver {table:<9} input={stats['input_rows']} output={stats['output_rows']} "
              f"rejected={stats['rejected_rows']}")
    summary = report["summary"]
    print(f"data_quality_score={summary['data_quality_score']} run_date={summary['run_date']} "
          f"run_id={summary['run_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
