"""spark-submit application: build the gold layer of a run date from its silver snapshot.

    spark-submit [--master spark://host:7077] spark_jobs/gold_aggregation.py \
        --run-date YYYY-MM-DD --run-id ID

Reads the committed silver snapshot of the run date under ``$LAKE_ROOT/silver`` and writes and
commits ``$LAKE_ROOT/gold/run_date=YYYY-MM-DD/`` (the seven gold tables as Parquet,
``statistical_distributions.json`` and ``gold_summary.json``); the work is done by
:func:`medallion.spark.gold.run`. Settings come from the environment
(:meth:`medallion.config.Settings.from_env`). Exit status 0 on success; 1 with the error on
stderr on failure (e.g. no silver snapshot for the date: the message names the missing path);
2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def _run_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--run-date must be YYYY-MM-DD, got {text!r}") from error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-date", required=True, type=_run_date,
                        help="logical date of the run (YYYY-MM-DD), used as today")
    parser.add_argument("--run-id", required=True, help="pipeline run id recorded in the gold output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from medallion.config import Settings
    from medallion.spark.gold import run
    from medallion.spark.session import build_session

    settings = Settings.from_env()
    spark = build_session(f"gold_aggregation {args.run_date}", settings)
    try:
        summary = run(spark, settings, args.run_date, args.run_id)
    except Exception as error:  # noqa: BLE001 - report any failure as a non-zero exit
        print(f"gold_aggregation failed for run date {args.run_date}: {type(error).__name__}: {error}",
              file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(f"gold_aggregation {args.run_date} (run {args.run_id}): "
          + json.dumps({"tables": summary["tables"], "top_product": summary["top_product"]}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
