"""Spark configuration shared by every job, the benchmark and the Airflow DAG.

Pure Python (no pyspark import): the DAG passes :func:`spark_conf` to ``SparkSubmitOperator(conf=...)``
and :func:`medallion.spark.session.build_session` applies the same dict, so S3A and tuning settings
live in one place.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path

from medallion.config import PROJECT_ROOT, Settings

#: hadoop-aws must equal the Hadoop client bundled with the pinned pyspark (hadoop-client-api-3.4.2).
HADOOP_AWS_PACKAGE = "org.apache.hadoop:hadoop-aws:3.4.2"

#: How S3A gets the S3 credentials: from the environment (``AWS_ACCESS_KEY_ID``,
#: ``AWS_SECRET_ACCESS_KEY``, optionally ``AWS_SESSION_TOKEN``) of each JVM that opens the lake, that is
#: the driver (the process running spark-submit or :func:`medallion.spark.session.build_session`) and
#: every executor, which a standalone worker starts with the worker's own environment. Keys set as
#: Spark properties would be on spark-submit's command line, in the driver's process list and in
#: Airflow's serialized DAG, rendered fields and task logs.
S3_CREDENTIALS_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"

#: Spark settings that turn Delta Lake on. One partition for the Delta log's state: the log of a
#: pipeline table is a few small files, and Delta's default of 50 made every commit a 50-task job.
DELTA_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.databricks.delta.snapshotPartitions": "1",
}


def delta_jar_names() -> tuple[str, str]:
    """File names of the Delta Lake jars that match the installed ``delta-spark`` and ``pyspark``.

    Delta publishes one ``delta-spark_<spark major.minor>_2.13`` artifact per Spark line, with the
    same version as the ``delta-spark`` pip package; ``delta-storage`` comes with it.
    """
    delta = version("delta-spark")
    spark_line = ".".join(version("pyspark").split(".")[:2])
    return f"delta-spark_{spark_line}_2.13-{delta}.jar", f"delta-storage-{delta}.jar"


def delta_jars_dir(environ: dict[str, str] | None = None) -> Path:
    """Folder of the Delta Lake jars: ``DELTA_JARS_DIR``, else ``<project>/.cache/jars/delta``
    (where ``make install`` puts them with ``scripts/fetch-delta-jars.sh``)."""
    env = os.environ if environ is None else environ
    configured = env.get("DELTA_JARS_DIR", "").strip()
    return Path(configured) if configured else PROJECT_ROOT / ".cache" / "jars" / "delta"


def check_delta_jars(environ: dict[str, str] | None = None) -> None:
    """Raise when the Delta Lake jars of the installed ``delta-spark`` are not in :func:`delta_jars_dir`.

    Raises:
        FileNotFoundError: a jar is missing; the message names it and how to fetch it.
    """
    folder = delta_jars_dir(environ)
    expected = delta_jar_names()
    missing = [name for name in expected if not (folder / name).is_file()]
    others = sorted(p.name for p in folder.glob("delta-*.jar") if p.name not in expected)
    if others:
        raise FileNotFoundError(f"{folder} (DELTA_JARS_DIR) holds Delta Lake jars of another version: "
                                f"{', '.join(others)}; it must hold exactly {', '.join(expected)}")
    if missing:
        raise FileNotFoundError(
            f"Delta Lake jar(s) {', '.join(missing)} not found in {folder} (DELTA_JARS_DIR): they must match "
            f"the installed delta-spark {version('delta-spark')} and pyspark {version('pyspark')}; fetch them "
            f"with `make install` or `scripts/fetch-delta-jars.sh {folder}`")


def spark_conf(settings: Settings, *, python: str | None = None) -> dict[str, str]:
    """Spark properties for a pipeline job.

    Args:
        settings: Pipeline settings (the S3 endpoint and region are taken from here; the S3
            credentials never are: Spark reads them from the environment, see
            :data:`S3_CREDENTIALS_PROVIDER`, so the result holds no secret).
        python: Interpreter for Python workers (default: this interpreter), so driver and
            executors share the same environment and library.

    Delta Lake is always on (:data:`DELTA_CONF`); its jars (:func:`delta_jars_dir`) are put on the
    driver and executor classpath, so every node needs them at the same path (the Docker image
    bakes them in; the local cluster runs from this checkout).

    Environment knobs: ``SPARK_SHUFFLE_PARTITIONS`` [8, two per core of the default cluster],
    ``SPARK_JARS`` (comma-separated local jars, e.g. the S3A jars baked into the Docker image) and
    ``SPARK_JARS_PACKAGES`` (Maven coordinates; default ``hadoop-aws`` when the lake is on S3 and no
    jars are given), ``SPARK_EXTRA_CLASSPATH`` (jars present on every node, e.g. ``/opt/s3a-jars/*``
    in the Docker image or the cache of ``scripts/fetch-jars.sh``: put on the driver and executor
    classpath as they are, never copied into executor work dirs as ``spark.jars`` are; counts as
    "jars given" for the ``hadoop-aws`` default).
    """
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8"),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "static",
        # Broadcast a join side estimated up to 64 MiB (default 10): the 2M silver clients (41 MiB
        # of Parquet, ~200 MiB in memory per executor) join the 10M purchases without a shuffle.
        "spark.sql.autoBroadcastJoinThreshold": "64m",
        "spark.sql.parquet.compression.codec": "snappy",
        "spark.pyspark.python": python or os.environ.get("PYSPARK_PYTHON", sys.executable),
        "spark.ui.showConsoleProgress": "false",
        # Without it Spark 4 reads CSV only in UTF-8/16/32, US-ASCII or ISO-8859-1; sources may also be
        # windows-1252 or ISO-8859-15 (contract.SOURCE_ENCODINGS), charsets every JDK has.
        "spark.sql.legacy.javaCharsets": "true",
        **DELTA_CONF,
    }
    jars = os.environ.get("SPARK_JARS", "").strip()
    packages = os.environ.get("SPARK_JARS_PACKAGES", "").strip()
    classpath = os.environ.get("SPARK_EXTRA_CLASSPATH", "").strip()
    if jars:
        conf["spark.jars"] = jars
    delta_classpath = f"{delta_jars_dir()}/*"
    conf["spark.driver.extraClassPath"] = f"{delta_classpath}:{classpath}" if classpath else delta_classpath
    conf["spark.executor.extraClassPath"] = conf["spark.driver.extraClassPath"]
    if settings.is_s3:
        if not jars and not packages and not classpath:
            packages = HADOOP_AWS_PACKAGE
        conf.update(
            {
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.endpoint.region": settings.aws_region,
                "spark.hadoop.fs.s3a.aws.credentials.provider": S3_CREDENTIALS_PROVIDER,
                "spark.hadoop.fs.s3a.committer.magic.enabled": "false",
            }
        )
        if settings.s3_endpoint_url:
            conf["spark.hadoop.fs.s3a.endpoint"] = settings.s3_endpoint_url
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
                settings.s3_endpoint_url.startswith("https://")).lower()
    if packages:
        conf["spark.jars.packages"] = packages
    return conf


def submit_resources(environ: dict[str, str] | None = None) -> dict[str, str | int]:
    """Driver and executor resources for ``spark-submit``, from the environment.

    ``SPARK_DRIVER_MEMORY`` [2g], ``SPARK_EXECUTOR_MEMORY`` [3g], ``SPARK_EXECUTOR_CORES`` [1] and
    ``SPARK_TOTAL_EXECUTOR_CORES`` [2]: one executor per worker of the default two-worker cluster on
    a 2-core, 24 GiB machine. Keys match ``SparkSubmitOperator`` arguments.
    """
    env = os.environ if environ is None else environ
    return {
        "driver_memory": env.get("SPARK_DRIVER_MEMORY", "2g"),
        "executor_memory": env.get("SPARK_EXECUTOR_MEMORY", "3g"),
        "executor_cores": int(env.get("SPARK_EXECUTOR_CORES", "1")),
        "total_executor_cores": int(env.get("SPARK_TOTAL_EXECUTOR_CORES", "2")),
    }
