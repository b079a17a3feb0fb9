"""SparkSession construction for jobs, the benchmark and tests."""

from __future__ import annotations

from pyspark.sql import SparkSession

from medallion.config import Settings
from medallion.spark.conf import spark_conf


def build_session(app_name: str, settings: Settings, master: str | None = None) -> SparkSession:
    """Get or create a SparkSession with the project's configuration.

    Args:
        app_name: Application name shown in the Spark UI.
        settings: Pipeline settings (S3A settings are applied when the lake is on S3).
        master: Master URL. ``None`` keeps the one given by ``spark-submit --master`` (jobs);
            the benchmark and tests pass ``local[N]`` or ``spark://host:port``.
    """
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
