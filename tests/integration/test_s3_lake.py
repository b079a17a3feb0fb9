"""The lake on a real S3 endpoint (moto's S3 server on loopback), as with MinIO in the Docker deployment.

* the S3A jars are fetched from Maven Central by ``scripts/fetch-jars.sh`` (the script the Dockerfile
  runs at build time) and match the Hadoop bundled with pyspark and hadoop-aws's own POM;
* :mod:`medallion.lake` writes and reads through ``pyarrow.fs`` on S3, checked object by object
  with boto3;
* a Spark job on the local standalone cluster (``scripts/cluster.sh``) reads and writes ``s3a://``
  with the settings of :func:`medallion.spark.conf.spark_conf`;
* bronze ingestion and the silver job run unchanged with ``LAKE_ROOT=s3://``.

Expected numbers are worked out by hand from the small inputs written here.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medallion import lake
from medallion.config import PROJECT_ROOT
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
    import pyarrow as pa

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

    # Run-date snapshots: committing the second attempt points readers at it and deletes the first.
    for attempt, run_id in (("attempt=aaaaaaaaaaaa", "r1"), ("attempt=bbbbbbbbbbbb", "r2")):
        lake.write_bytes(fs, lake.layer_path(settings, "gold", f"run_date={RUN_DATE}", attempt, "t", "part-0"), b"1")
        lake.commit_attempt(settings, "gold", RUN_DATE, attempt, {"run_id": run_id})
        assert lake.current_attempt(settings, "gold", RUN_DATE) == attempt
    assert lake.current_attempt(settings, "gold", RUN_DATE) == "attempt=bbbbbbbbbbbb"
    keys = [k for k in s3_server.keys("rt-gold") if not k.endswith("/")]
    assert keys == [f"run_date={RUN_DATE}/_current.json", f"run_date={RUN_DATE}/attempt=bbbbbbbbbbbb/t/part-0"]
    pointer = json.loads(client.get_object(Bucket="rt-gold", Key=f"run_date={RUN_DATE}/_current.json")["Body"].read())
    assert pointer == {"attempt": "attempt=bbbbbbbbbbbb", "run_id": "r2"}
    with pytest.raises(FileNotFoundError, match="s3://rt-gold/run_date=2026-01-01/_current.json"):
        lake.current_attempt(settings, "gold", "2026-01-01")


# --- Spark on the standalone cluster, reading and writing s3a:// -------------------------------------

SPARK_APP = '''
"""Reads s3a://<prefix>sources/spark-job/sales.csv, writes revenue per country to gold, reads it back."""
import json

from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion import lake
from medallion.config import Settings
from medallion.spark.session import build_session

settings = Settings.from_env()
spark = build_session("s3a-round-trip", settings)
schema = T.StructType([T.StructField("country", T.StringType()), T.StructField("amount", T.DecimalType(10, 2))])
sales = spark.read.csv(lake.spark_uri(settings, "sources", "spark-job", "sales.csv"), header=True, schema=schema)
out = lake.spark_uri(settings, "gold", "spark-job", "revenue_by_country")
sales.groupBy("country").agg(F.sum("amount").alias("revenue"), F.count("*").alias("sales")) \\
    .write.mode("overwrite").parquet(out)
back = {r["country"]: [str(r["revenue"]), r["sales"]] for r in spark.read.parquet(out).collect()}
print("RESULT " + json.dumps({"uri": out, "rows": back, "fs": spark._jsc.hadoopConfiguration().get("fs.s3a.impl")}))
spark.stop()
'''


def test_spark_job_on_the_cluster_reads_and_writes_s3a(s3_server, s3a_jars, spark_cluster, tmp_path, monkeypatch):
    settings = s3_server.settings(lake_bucket_prefix="spark-")
    s3_server.create_layer_buckets(settings)
    sales = "country,amount\nFrance,10.50\nSpain,4.25\nFrance,2.00\nUSA,7.75\nSpain,1.00\n"
    s3_server.client().put_object(Bucket="spark-sources", Key="spark-job/sales.csv", Body=sales.encode())
    app = tmp_path / "s3a_round_trip.py"
    app.write_text(SPARK_APP)

    for key, value in s3a_jars.env().items():  # read by spark_conf() when submit() builds --conf
        monkeypatch.setenv(key, value)
    done = spark_cluster.submit(str(app), settings=settings, extra_env={**s3_server.env(settings), **s3a_jars.env()},
                                timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["uri"] == "s3a://spark-gold/spark-job/revenue_by_country"
    assert result["fs"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    # France 10.50 + 2.00, Spain 4.25 + 1.00, USA 7.75.
    assert result["rows"] == {"France": ["12.50", 2], "Spain": ["5.25", 2], "USA": ["7.75", 1]}

    # The objects are really in the gold bucket: read them back with boto3 + pyarrow, without Spark.
    table = _read_parquet_objects(s3_server, "spark-gold", "spark-job/revenue_by_country/")
    got = {c: (r, n) for c, r, n in zip(*(table.column(x).to_pylist() for x in ("country", "revenue", "sales")))}
    assert got == {"France": (Decimal("12.50"), 2), "Spain": (Decimal("5.25"), 2), "USA": (Decimal("7.75"), 1)}
    assert "spark-job/revenue_by_country/_SUCCESS" in s3_server.keys("spark-gold")
    # The jars came from the classpath (SPARK_EXTRA_CLASSPATH): nothing was downloaded or copied into
    # the executors' work dirs.
    copied = [p for p in spark_cluster.run_dir.rglob("*.jar")]
    assert copied == []
    assert "spark.jars.packages" not in done.stderr


# --- bronze ingestion + the silver job with LAKE_ROOT=s3:// -------------------------------------------

CLIENTS_CSV = """id_client,name,email,subscription_date,country
1,Alice Martin,alice@example.com,2024-01-15,France
2,Bob Stone,bob@example.com,2024-02-20,Spain
3,Chloe Dubois,chloe@example.com,2024-03-05,USA
4,Dan Broken,not-an-email,2024-04-01,France
"""
PURCHASES_CSV = """id_purchase,id_client,product,price,quantity,purchase_date,total
10,1,Laptop,1200.50,1,2025-01-10,1200.50
11,2,Mouse,25.25,4,2025-02-11,101.00
12,3,Phone,799.99,2,2025-03-12,1599.98
13,99,Mouse,20.00,1,2025-03-13,20.00
"""


def test_bronze_ingest_and_silver_job_with_the_lake_on_s3(s3_server, s3a_jars, spark_cluster, monkeypatch):
    from medallion.bronze import ingest

    settings = s3_server.settings(lake_bucket_prefix="pipe-")
    s3_server.create_layer_buckets(settings)
    client = s3_server.client()
    client.put_object(Bucket="pipe-sources", Key="clients.csv", Body=CLIENTS_CSV.encode())
    client.put_object(Bucket="pipe-sources", Key="purchases.csv", Body=PURCHASES_CSV.encode())

    result = ingest(settings, RUN_DATE, "s3-test-run")
    assert {d: r["status"] for d, r in result["datasets"].items()} == {"clients": "ingested", "purchases": "ingested"}
    bronze_keys = s3_server.keys("pipe-bronze")
    for dataset, text in (("clients", CLIENTS_CSV), ("purchases", PURCHASES_CSV)):
        folder = f"{dataset}/ingest_date={RUN_DATE}"
        assert f"{folder}/{dataset}.csv" in bronze_keys and f"{folder}/_manifest.json" in bronze_keys
        stored = client.get_object(Bucket="pipe-bronze", Key=f"{folder}/{dataset}.csv")["Body"].read()
        assert stored == text.encode()  # byte-for-byte
        manifest = json.loads(client.get_object(Bucket="pipe-bronze", Key=f"{folder}/_manifest.json")["Body"].read())
        assert manifest["data_rows"] == 4

    for key, value in s3a_jars.env().items():
        monkeypatch.setenv(key, value)
    done = spark_cluster.submit("silver_transformation.py", "--run-date", RUN_DATE, "--run-id", "s3-test-run",
                                settings=settings, timeout=900,
                                extra_env={**s3_server.env(settings), **s3a_jars.env()})
    assert done.returncode == 0, done.stderr[-4000:]

    silver_keys = s3_server.keys("pipe-silver")
    pointer_key = f"run_date={RUN_DATE}/_current.json"
    assert pointer_key in silver_keys
    attempt = json.loads(client.get_object(Bucket="pipe-silver", Key=pointer_key)["Body"].read())["attempt"]
    base = f"run_date={RUN_DATE}/{attempt}"
    report = json.loads(client.get_object(Bucket="pipe-silver", Key=f"{base}/quality_report.json")["Body"].read())
    # Client 4 has an invalid e-mail; purchase 13 belongs to client 99, who does not exist.
    assert (report["clients"]["input_rows"], report["clients"]["output_rows"]) == (4, 3)
    assert report["clients"]["rejects_by_reason"]["invalid_email"] == 1
    assert (report["purchases"]["input_rows"], report["purchases"]["output_rows"]) == (4, 3)
    assert report["purchases"]["rejects_by_reason"]["orphan_client"] == 1

    clients = _read_parquet_objects(s3_server, "pipe-silver", f"{base}/clients/")
    assert sorted(clients.column("id_client").to_pylist()) == [1, 2, 3]
    purchases = _read_parquet_objects(s3_server, "pipe-silver", f"{base}/purchases/")
    assert sorted(purchases.column("id_purchase").to_pylist()) == [10, 11, 12]
    # 1200.50 x 1 + 25.25 x 4 + 799.99 x 2 = 1200.50 + 101.00 + 1599.98
    assert sum(purchases.column("total").to_pylist()) == Decimal("2901.48")
    rejects = _read_parquet_objects(s3_server, "pipe-silver", f"{base}/_rejects/purchases/")
    assert rejects.num_rows == 1
