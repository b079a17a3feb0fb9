"""Silver job: bronze gate → typed, cleaned silver tables → silver gate → Delta commit.

    spark-submit [--master spark://host:7077] spark_jobs/silver_transformation.py \
        --run-date 2026-11-29 --run-id manual__2026-11-29 [--logical-date D] [--run-started TIMESTAMP] \
        [--future-dates reject|cap]

Reads the latest bronze files of the run date, validates them with the bronze gate, applies the
silver rules, validates the result with the silver gate and only then replaces the run date's
partition of ``silver/clients``, ``silver/purchases`` and their rejects tables (Delta Lake) and
writes ``quality_report.json``; then it deletes the files of the run that no commit names (lost
executors' and failed attempts' output written since ``--run-started``):
:func:`medallion.spark.silver.run`. Settings come from the
environment (:meth:`medallion.config.Settings.from_env`). Exit codes: :mod:`medallion.spark.job`
(0 committed, 1 failed, 2 bad input, 3 a gate failed and nothing was committed).
"""

from __future__ import annotations

import sys

from medallion.contract import FUTURE_DATE_POLICIES
from medallion.spark import job


def main(argv: list[str] | None = None) -> int:
    parser = job.parser(__doc__.splitlines()[0])
    parser.add_argument("--future-dates", choices=FUTURE_DATE_POLICIES, default=None,
                        help="reject (default: FUTURE_DATES or reject) or cap dates after the run date")
    args = parser.parse_args(argv)

    def body(spark, settings):
        from medallion.spark import silver

        return silver.run(spark, settings, args.run_date, args.run_id, args.future_dates,
                          logical_date=args.logical_date, run_started=args.run_started)

    def bronze_exists(settings):
        from medallion import bronze
        from medallion.contract import DATASETS

        for dataset in DATASETS:
            bronze.latest_version(settings, dataset, args.run_date)

    code, report = job.run_job("silver_transformation", args.run_date, body, precheck=bronze_exists)
    if report is not None:
        for table in ("clients", "purchases"):
            stats = report[table]
            print(f"silver {table:<9} input={stats['input_rows']} output={stats['output_rows']} "
                  f"rejected={stats['rejected_rows']}")
        summary = report["summary"]
        print(f"data_quality_score={summary['data_quality_score']} run_date={summary['run_date']} "
              f"run_id={summary['run_id']} versions={report['commit']['table_versions']}")
    return code


if __name__ == "__main__":
    job.configure_logging()
    sys.exit(main())
