"""The lake on a real S3 endpoint (moto's S3 server on loopback), as with MinIO in the Docker deployment.

* the S3A jars are fetched from Maven Central by ``scripts/fetch-jars.sh`` (the script the Dockerfile
  runs at build time) and match the Hadoop bundled with pyspark and hadoop-aws's own POM;
* :mod:`medallion.lake` writes and reads through ``pyarrow.fs`` on S3, and :mod:`medallion.tables`
  commits and reads Delta tables there with ``deltalake``, checked object by object with boto3;
* the whole DAG with ``LAKE_ROOT=s3://`` (Spark on the local cluster writing Delta tables through
  ``s3a://``, with Delta Lake's jars and the S3A jars on one classpath) is the end-to-end tier's
  ``test_pipeline_on_a_dirty_generated_sample_with_the_lake_on_s3``.

Expected numbers are worked out by hand from the small inputs written here.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medallion import lake, tables
from medallion.config import PROJECT_ROOT
from tests.conftest import TEST_ACCESS_KEY, TEST_SECRET_KEY
from tests.s3_server import FETCH_JARS, S3AJars, s3_server, s3a_jars  # noqa: F401  (pytest fixtures)

RUN_DATE = "2026-11-29"
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def _pyspark_hadoop_version() -> str:
    import pyspark

    names = [p.name for p in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar")]
    assert len(names) == 1, names
    return re.match(r"hadoop-client-api-(.+)\.jar$", names[0]).group(1)


def _maven_repo() -> Path:
    """The local Maven repository scripts/fetch-jars.sh used (MAVEN_REPO_LOCAL, else mvn's default)."""
    return Path(os.environ.get("MAVEN_REPO_LOCAL") or Path.home() / ".m2" / "repository")


def _read_parquet_objects(server, bucket: str, prefix: str):
    """A table read from the Parquet parts under ``prefix``, downloaded with boto3 (not via the lake code)."""
    client = server.client()
    parts = [k for k in server.keys(bucket, prefix) if k.endswith(".parquet")]
    assert parts, f"no Parquet part under s3://{bucket}/{prefix}"
    tables = [pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in parts]
    return pa.concat_tables(tables)


# --- the S3A jars -------------------------------------------------------------------------------------

def test_fetched_s3a_jars_match_pyspark_hadoop_and_the_hadoop_aws_pom(s3a_jars: S3AJars):
    hadoop = _pyspark_hadoop_version()
    names = {p.name for p in s3a_jars.paths}
    assert f"hadoop-aws-{hadoop}.jar" in names
    # The AWS SDK v2 bundle version that hadoop-aws declares: its POM's dependency, whose version is
    # the property aws-java-sdk-v2.version of the parent hadoop-project POM (read from the local Maven
    # repository that mvn filled).
    repo = _maven_repo() / "org" / "apache" / "hadoop"
    aws_pom = ET.parse(repo / "hadoop-aws" / hadoop / f"hadoop-aws-{hadoop}.pom").getroot()
    deps = [(d.findtext("m:groupId", namespaces=POM_NS), d.findtext("m:artifactId", namespaces=POM_NS),
             d.findtext("m:scope", namespaces=POM_NS)) for d in aws_pom.iterfind("m:dependencies/m:dependency", POM_NS)]
    assert ("software.amazon.awssdk", "bundle", "compile") in deps
    parent = ET.parse(repo / "hadoop-project" / hadoop / f"hadoop-project-{hadoop}.pom").getroot()
    sdk_version = parent.findtext("m:properties/m:aws-java-sdk-v2.version", namespaces=POM_NS)
    assert sdk_version and f"bundle-{sdk_version}.jar" in names
    assert sorted(n for n in names if n.startswith("bundle-")) == [f"bundle-{sdk_version}.jar"]
    # ...which is the version pinned for the Docker build.
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f"ARG AWS_SDK_BUNDLE_VERSION={sdk_version}\n" in dockerfile
    assert all(p.is_file() and p.stat().st_size > 0 for p in s3a_jars.paths)

    # Idempotent: a second run finds the complete fetch and lists the same jars.
    again = subprocess.run(["bash", str(FETCH_JARS), str(s3a_jars.directory)], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr
    assert "already fetched" in again.stderr
    assert again.stdout.strip().split(",") == [str(p) for p in s3a_jars.paths]


def test_fetch_jars_refuses_a_bundle_version_that_the_pom_does_not_declare(tmp_path, s3a_jars: S3AJars):
    done = subprocess.run(["bash", str(FETCH_JARS), str(tmp_path / "jars")], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "AWS_SDK_BUNDLE_VERSION": "2.0.0"})
    assert done.returncode == 1
    bundle = next(p.name for p in s3a_jars.paths if p.name.startswith("bundle-"))
    assert f"depends on AWS SDK {bundle}" in done.stderr and "not the pinned bundle-2.0.0.jar" in done.stderr
    # Checked before copying: nothing was copied.
    assert list((tmp_path / "jars").iterdir()) == []


# --- medallion.lake on S3 through pyarrow.fs ---------------------------------------------------------

def test_lake_round_trip_on_s3(s3_server):
    settings = s3_server.settings(lake_bucket_prefix="rt-")
    assert s3_server.create_layer_buckets(settings) == [f"rt-{layer}" for layer in lake.LAYERS]
    fs = lake.filesystem(settings)
    client = s3_server.client()

    csv = b"id_client,name\n1,Ada\n2,Grace\n"
    path = lake.layer_path(settings, "sources", "landing", "clients.csv")
    assert path == "rt-sources/landing/clients.csv"
    assert lake.spark_uri(settings, "sources", "landing", "clients.csv") == "s3a://rt-sources/landing/clients.csv"
    lake.write_bytes(fs, path, csv)
    assert client.get_object(Bucket="rt-sources", Key="landing/clients.csv")["Body"].read() == csv
    assert lake.read_bytes(fs, path) == csv
    assert lake.is_file(fs, path) and lake.exists(fs, path)
    assert not lake.exists(fs, lake.layer_path(settings, "sources", "landing", "missing.csv"))

    doc = {"rows": 2, "name": "clients", "sha": "x"}
    json_path = lake.layer_path(settings, "quality", "report.json")
    lake.write_json(fs, json_path, doc)
    stored = client.get_object(Bucket="rt-quality", Key="report.json")["Body"].read()
    assert stored == b'{\n  "name": "clients",\n  "rows": 2,\n  "sha": "x"\n}\n'
    assert lake.read_json(fs, json_path) == doc
    with pytest.raises(FileNotFoundError, match="rt-quality/nothing.json"):
        lake.read_json(fs, lake.layer_path(settings, "quality", "nothing.json"))

    # Documents of a run date: at <layer>/_documents/run_date=D/<name>.json.
    where = lake.write_document(settings, "gold", RUN_DATE, "gold_summary", {"fact_rows": 2})
    assert where == f"s3://rt-gold/_documents/run_date={RUN_DATE}/gold_summary.json"
    stored = client.get_object(Bucket="rt-gold", Key=f"_documents/run_date={RUN_DATE}/gold_summary.json")
    assert json.loads(stored["Body"].read()) == {"fact_rows": 2}
    assert lake.read_document(settings, "gold", RUN_DATE, "gold_summary") == {"fact_rows": 2}
    with pytest.raises(FileNotFoundError) as missing:
        lake.read_document(settings, "gold", "2026-01-01", "gold_summary")
    assert str(missing.value) == ("no committed gold output for run date 2026-01-01: "
                                  "s3://rt-gold/_documents/run_date=2026-01-01/gold_summary.json is missing")


def _delta_log(server, bucket: str, table: str) -> list[list[dict]]:
    """The JSON commits of a Delta table's ``_delta_log`` in version order, read with boto3."""
    client = server.client()
    keys = [k for k in server.keys(bucket, f"{table}/_delta_log/") if k.endswith(".json")]
    assert [k.rsplit("/", 1)[1] for k in keys] == [f"{v:020d}.json" for v in range(len(keys))]
    return [[json.loads(line) for line in client.get_object(Bucket=bucket, Key=k)["Body"].read().splitlines()]
            for k in keys]


def test_delta_tables_on_s3_with_deltalake(s3_server):
    """Commits of run-date partitions to a Delta table on S3 (``deltalake``, the storage options of
    :func:`medallion.tables.storage_options`), checked in the bucket with boto3."""
    settings = s3_server.settings(lake_bucket_prefix="dl-")
    s3_server.create_layer_buckets(settings)
    assert tables.storage_options(settings) == {
        "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY, "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ALLOW_HTTP": "true"}

    def rows(*pairs):
        return pa.table({"country": [c for c, _ in pairs], "revenue": pa.array([Decimal(r) for _, r in pairs],
                                                                               pa.decimal128(18, 2))})

    run_started = datetime.now(timezone.utc) - timedelta(seconds=2)  # S3 keeps whole seconds
    first = rows(("France", "12.50"), ("Spain", "5.25"))
    assert tables.write_snapshot(settings, "gold", "country_analytics", RUN_DATE, first, {"run_id": "r1"}) == 0
    assert tables.write_snapshot(settings, "gold", "country_analytics", "2026-11-30", rows(("USA", "7.75")),
                                 {"run_id": "r2"}) == 1
    # a re-run of RUN_DATE replaces that partition only
    assert tables.write_snapshot(settings, "gold", "country_analytics", RUN_DATE,
                                 rows(("France", "12.50"), ("Spain", "5.25"), ("Italy", "3.00")),
                                 {"run_id": "r3"}) == 2

    current_rows = tables.read_snapshot(settings, "gold", "country_analytics", RUN_DATE).to_pylist()
    assert sorted(current_rows, key=lambda row: row["country"]) == [
        {"country": "France", "revenue": Decimal("12.50")}, {"country": "Italy", "revenue": Decimal("3.00")},
        {"country": "Spain", "revenue": Decimal("5.25")}]
    assert tables.read_snapshot(settings, "gold", "country_analytics", "2026-11-30").column("country").to_pylist() == ["USA"]
    commit = tables.last_commit(settings, "gold", "country_analytics")
    assert (commit["version"], commit["metadata"]) == (2, {"run_id": "r3"})

    # In the bucket: three commits, the last one removing RUN_DATE's first file and adding one.
    log = _delta_log(s3_server, "dl-gold", "country_analytics")
    assert len(log) == 3
    adds = [[a["add"] for a in actions if "add" in a] for actions in log]
    removes = [[a["remove"]["path"] for a in actions if "remove" in a] for actions in log]
    assert [[a["partitionValues"] for a in added] for added in adds] == [
        [{"run_date": RUN_DATE}], [{"run_date": "2026-11-30"}], [{"run_date": RUN_DATE}]]
    assert removes == [[], [], [adds[0][0]["path"]]]
    data_keys = [k for k in s3_server.keys("dl-gold", "country_analytics/") if k.endswith(".parquet")]
    assert sorted(k.split("/", 1)[1] for k in data_keys) == sorted(a["path"] for added in adds for a in added)
    # The files a reader needs (per the log) are the current ones: read them with boto3 + pyarrow.
    current = _read_parquet_objects(s3_server, "dl-gold", f"country_analytics/{adds[2][0]['path']}")
    assert current.column("country").to_pylist() == ["France", "Spain", "Italy"]
    assert tables.snapshot_files(settings, "gold", "country_analytics", RUN_DATE) == [
        f"dl-gold/country_analytics/{adds[2][0]['path']}"]

    # A file of the run that no commit names goes; every committed one (the replaced one too) stays.
    s3_server.client().put_object(Bucket="dl-gold", Key=f"country_analytics/run_date={RUN_DATE}/part-00000-lost.parquet",
                                  Body=b"lost!")
    assert tables.remove_orphans(settings, "gold", "country_analytics", RUN_DATE, run_started) == {"files": 1, "bytes": 5}
    assert sorted(k.split("/", 1)[1] for k in s3_server.keys("dl-gold", "country_analytics/")
                  if k.endswith(".parquet")) == sorted(a["path"] for added in adds for a in added)
