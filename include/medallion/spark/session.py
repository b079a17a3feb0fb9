"""SparkSession construction for jobs, the benchmark and tests."""

from __future__ import annotations

from pyspark.sql import SparkSession

from medallion.config import Settings
from medallion.spark.conf import check_delta_jars, spark_conf


def build_session(app_name: str, settings: Settings, master: str | None = None) -> SparkSession:
    """Get or create a SparkSession with the project's configuration.

    Args:
        app_name: Application name shown in the Spark UI.
        settings: Pipeline settings (S3A settings are applied when the lake is on S3). The S3
            credentials come from the environment, not from ``settings``
            (:data:`medallion.spark.conf.S3_CREDENTIALS_PROVIDER`): in-process, from this
            process's environment when its first session started the JVM; on a standalone cluster,
            also from each worker's environment.
        master: Master URL. ``None`` keeps the one given by ``spark-submit --master`` (jobs);
            the benchmark and tests pass ``local[N]`` or ``spark://host:port``.

    Raises:
        FileNotFoundError: the Delta Lake jars are missing (the message says how to fetch them).
        RuntimeError: the driver JVM was started without them on its classpath.
    """
    check_delta_jars()
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    conf = spark_conf(settings)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        spark.sparkContext._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")
    except Exception as error:  # noqa: BLE001 - py4j wraps the ClassNotFoundException
        spark.stop()
        # A classpath only applies when the driver JVM starts: spark-submit must get it.
        raise RuntimeError(
            "Delta Lake is not on the Spark driver's classpath: start spark-submit with "
            f"--conf spark.driver.extraClassPath={conf['spark.driver.extraClassPath']} --conf "
            f"spark.executor.extraClassPath={conf['spark.executor.extraClassPath']} (the DAG passes "
            "medallion.spark.conf.spark_conf to SparkSubmitOperator)") from error
    return spark
