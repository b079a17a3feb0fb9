# syntax=docker/dockerfile:1.7
# One image for every Airflow service (api-server, scheduler, dag-processor, triggerer, init) and for the
# Spark master and workers, so the Spark driver (in the Airflow scheduler, deploy-mode client) and the
# executors share Python, pyspark, the S3A and Delta Lake jars and the project code.
#
#   docker compose build            (docker-compose.yaml builds it once for all services)
#   docker build -t medallion-platform:local .
#
# No secrets: credentials come from the environment at run time (.env -> docker-compose.yaml).

# hadoop-aws must equal the hadoop-client-api/runtime jars bundled with the pinned pyspark (4.1.3 ships
# hadoop-client-*-3.4.2.jar); the AWS SDK v2 bundle is the version hadoop-aws 3.4.2's POM depends on.
# scripts/fetch-jars.sh fails the build if the POM says otherwise; tests/unit/test_docker_files.py checks
# both against the installed pyspark.
ARG HADOOP_AWS_VERSION=3.4.2
ARG AWS_SDK_BUNDLE_VERSION=2.29.52
# Delta Lake for Spark: DELTA_VERSION must equal the delta-spark pin in requirements.txt (its Python API
# calls into these jars) and SPARK_LINE the pinned pyspark's major.minor (Delta publishes one
# delta-spark_<line>_2.13 artifact per Spark line). The last RUN below fails the build if the jars and the
# pip packages disagree; tests/unit/test_docker_files.py and tests/unit/test_dependencies.py check both
# against requirements.txt.
ARG DELTA_VERSION=4.4.0
ARG SPARK_LINE=4.1

# --- Stage 1: the S3A jars, fetched at build time from Maven Central by coordinates ----------------------
FROM maven:3.9.11-eclipse-temurin-17 AS s3a-jars
ARG HADOOP_AWS_VERSION
ARG AWS_SDK_BUNDLE_VERSION
COPY scripts/fetch-jars.sh /tmp/fetch-jars.sh
RUN HADOOP_AWS_VERSION="${HADOOP_AWS_VERSION}" AWS_SDK_BUNDLE_VERSION="${AWS_SDK_BUNDLE_VERSION}" \
        bash /tmp/fetch-jars.sh /opt/s3a-jars \
    && rm -rf /root/.m2

# --- Stage 2: the Delta Lake jars (delta-spark + delta-storage), fetched the same way ------------------
# Both versions are given, so scripts/fetch-delta-jars.sh needs no Python here.
FROM maven:3.9.11-eclipse-temurin-17 AS delta-jars
ARG DELTA_VERSION
ARG SPARK_LINE
COPY scripts/fetch-delta-jars.sh /tmp/fetch-delta-jars.sh
RUN DELTA_VERSION="${DELTA_VERSION}" SPARK_LINE="${SPARK_LINE}" bash /tmp/fetch-delta-jars.sh /opt/delta-jars \
    && rm -rf /root/.m2

# --- Stage 3: Airflow + Java 17 + pyspark + the project -------------------------------------------------
FROM apache/airflow:3.3.2-python3.11

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The base image's users: root (0) for system packages, airflow (50000, group 0) for everything else.
USER 0
# Java 17 runtime for Spark (Debian bookworm's OpenJDK; the base image is bookworm-slim). Versions are not
# pinned: Debian replaces them with security updates and removes the old ones from the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && ln -sfn "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" /usr/lib/jvm/java-17 \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

COPY --from=s3a-jars --chown=root:root /opt/s3a-jars /opt/s3a-jars
COPY --from=delta-jars --chown=root:root /opt/delta-jars /opt/delta-jars

# Folders that the compose file mounts named volumes on: created here so the volumes inherit the
# airflow user's ownership.
RUN mkdir -p /opt/airflow/spark-work /opt/airflow/config /opt/airflow/great_expectations/uncommitted \
    && chown -R airflow:0 /opt/airflow/spark-work /opt/airflow/config /opt/airflow/great_expectations

USER 50000

ENV JAVA_HOME=/usr/lib/jvm/java-17 \
    SPARK_HOME=/home/airflow/.local/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/home/airflow/.local/bin/python \
    SPARK_EXTRA_CLASSPATH="/opt/s3a-jars/*" \
    DELTA_JARS_DIR=/opt/delta-jars \
    SPARK_JOBS_DIR=/opt/airflow/spark_jobs \
    GX_CONTEXT_DIR=/opt/airflow/great_expectations \
    SPARK_WORKER_DIR=/opt/airflow/spark-work

# The pinned dependencies (the base image already has apache-airflow 3.3.2, which constraints.txt pins too).
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt

# The project, installed editable from /opt/airflow so medallion.config.PROJECT_ROOT is /opt/airflow
# (the repository layout: dags/, plugins/, spark_jobs/, great_expectations/ beside include/).
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 include/ /opt/airflow/include/
RUN pip install --no-cache-dir --no-deps -e /opt/airflow

COPY --chown=airflow:0 scripts/ /opt/airflow/scripts/
COPY --chown=airflow:0 docker/airflow-init.sh /opt/airflow/docker/airflow-init.sh
COPY --chown=airflow:0 spark_jobs/ /opt/airflow/spark_jobs/
COPY --chown=airflow:0 great_expectations/ /opt/airflow/great_expectations/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/

# Fail the build, not the first DAG run, if Java, pyspark, the S3A jars or the project are missing, or if the
# Delta Lake jars in DELTA_JARS_DIR are not exactly those of the installed delta-spark and pyspark (a build-arg
# that disagrees with requirements.txt stops here).
RUN java -version \
    && python -c "import pyspark, medallion.config, medallion.spark.conf; print('pyspark', pyspark.__version__)" \
    && for jar in "${SPARK_HOME}"/jars/hadoop-client-api-*.jar; do hadoop="${jar##*/hadoop-client-api-}"; done \
    && test -f "/opt/s3a-jars/hadoop-aws-${hadoop%.jar}.jar" \
    && python -c "from medallion.spark.conf import check_delta_jars, delta_jar_names; check_delta_jars(); print('delta jars', *delta_jar_names())"

WORKDIR /opt/airflow
