"""Gold job: committed silver rows → fact table, KPIs, aggregates → gold gate → Delta commit.

    spark-submit [--master spark://host:7077] spark_jobs/gold_aggregation.py \
        --run-date YYYY-MM-DD --run-id ID [--logical-date D] [--run-started TIMESTAMP]

Reads the committed silver rows of the run date, builds the seven gold tables and the
statistics, validates them with the gold gate and only then replaces the run date's partition
of each gold table (Delta Lake) and writes ``statistical_distributions.json`` and
``gold_summary.json``; then it deletes the files of the run that no commit names (lost executors'
and failed attempts' output written since ``--run-started``): :func:`medallion.spark.gold.run`. Settings come from the environment
(:meth:`medallion.config.Settings.from_env`). Exit codes: :mod:`medallion.spark.job` (0
committed, 1 failed, 2 bad input such as no committed silver for the date, 3 the gate failed and
nothing was committed).
"""

from __future__ import annotations

import json
import sys

from medallion.spark import job


def main(argv: list[str] | None = None) -> int:
    args = job.parser(__doc__.splitlines()[0]).parse_args(argv)

    def body(spark, settings):
        from medallion.spark import gold

        return gold.run(spark, settings, args.run_date, args.run_id, logical_date=args.logical_date,
                        run_started=args.run_started)

    def silver_committed(settings):
        from medallion import lake

        lake.read_document(settings, "silver", args.run_date, "quality_report")

    code, summary = job.run_job("gold_aggregation", args.run_date, body, precheck=silver_committed)
    if summary is not None:
        print(f"gold_aggregation {args.run_date} (run {args.run_id}): "
              + json.dumps({"tables": summary["tables"], "top_product": summary["top_product"],
                            "versions": summary["commit"]["table_versions"]}, sort_keys=True))
    return code


if __name__ == "__main__":
    job.configure_logging()
    sys.exit(main())
