"""A real S3 endpoint on loopback for integration and end-to-end tests, and the S3A jars.

moto's standalone server (``moto_server`` from the ``moto[server]`` pin) runs as a child process on a
free loopback port and speaks the S3 REST protocol over HTTP, like MinIO in the Docker deployment.
Tests reach it through a socket only: ``pyarrow.fs`` (the lake I/O), Spark's S3A connector and boto3
(the independent recount of objects).

Use the session-scoped fixtures by importing them into a test module (or listing this module in a
top-level ``pytest_plugins``)::

    from tests.s3_server import s3_server, s3a_jars  # noqa: F401  (pytest fixtures)

* ``s3_server`` -> :class:`S3Server`: ``settings()`` gives :class:`~medallion.config.Settings` with
  ``lake_root="s3://"`` on this endpoint, ``create_layer_buckets()`` makes the layer buckets,
  ``env()`` gives the environment variables a subprocess (spark-submit, ``airflow dags test``) needs,
  ``keys(bucket)`` lists the objects with boto3. Its credentials are ``tests.conftest.TEST_ACCESS_KEY``
  / ``TEST_SECRET_KEY``, which the ``spark_cluster`` workers also have in their environment: Spark
  reads S3 credentials from there, never from its configuration.
* ``s3a_jars`` -> :class:`S3AJars`: the jars fetched by ``scripts/fetch-jars.sh`` (Maven Central, cached
  in ``.cache/jars``); ``env()`` gives ``SPARK_EXTRA_CLASSPATH`` so the driver and executors load them
  from disk (``spark.jars`` would copy the 640 MB AWS SDK bundle into every executor's work dir).
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from medallion.config import PROJECT_ROOT, Settings
from medallion.lake import LAYERS
from tests.conftest import TEST_ACCESS_KEY, TEST_SECRET_KEY, free_port, wait_until

TEST_REGION = "us-east-1"

FETCH_JARS = PROJECT_ROOT / "scripts" / "fetch-jars.sh"
JARS_CACHE = PROJECT_ROOT / ".cache" / "jars"


class S3Server:
    """A running ``moto_server`` child process on ``127.0.0.1:<port>``."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "moto_server.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self._answers, timeout=60, what=f"moto_server on {self.endpoint_url}", interval=0.2)
        except Exception:
            self.stop()
            raise

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"moto_server exited with {self.process.returncode}: {self.log_path.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def settings(self, **overrides: object) -> Settings:
        """Settings with the lake on this endpoint (one bucket per layer), other fields default."""
        base = Settings(
            lake_root="s3://",
            s3_endpoint_url=self.endpoint_url,
            aws_access_key_id=TEST_ACCESS_KEY,
            aws_secret_access_key=TEST_SECRET_KEY,
            aws_region=TEST_REGION,
        )
        return base.with_overrides(**overrides) if overrides else base

    def env(self, settings: Settings | None = None) -> dict[str, str]:
        """Environment variables that make ``Settings.from_env()`` in a subprocess use this endpoint."""
        s = settings or self.settings()
        return {
            "LAKE_ROOT": s.lake_root,
            "LAKE_BUCKET_PREFIX": s.lake_bucket_prefix,
            "S3_ENDPOINT_URL": s.s3_endpoint_url,
            "AWS_ACCESS_KEY_ID": s.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": s.aws_secret_access_key,
            "AWS_REGION": s.aws_region,
            "AWS_DEFAULT_REGION": s.aws_region,
        }

    def client(self):
        """A boto3 S3 client on this endpoint (independent of the project's lake code)."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=TEST_REGION,
            aws_access_key_id=TEST_ACCESS_KEY, aws_secret_access_key=TEST_SECRET_KEY,
        )

    def create_layer_buckets(self, settings: Settings | None = None) -> list[str]:
        """Create the bucket of every lake layer (``<prefix><layer>``); returns their names."""
        prefix = (settings or self.settings()).lake_bucket_prefix
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        names = [f"{prefix}{layer}" for layer in LAYERS]
        for name in names:
            if name not in existing:
                client.create_bucket(Bucket=name)
        return names

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in ``bucket`` under ``prefix``, sorted."""
        paginator = self.client().get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(found)

    def stop(self) -> None:
        """Stop the server process (by its pid) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self._log.close()


@dataclass(frozen=True)
class S3AJars:
    """The S3A jars fetched from Maven Central by ``scripts/fetch-jars.sh``."""

    directory: Path
    paths: tuple[Path, ...]

    @property
    def classpath(self) -> str:
        """``SPARK_EXTRA_CLASSPATH`` value (``<dir>/*``): the jars join the driver and executor
        classpath from disk, nothing is copied into executor work dirs."""
        return f"{self.directory}/*"

    def env(self) -> dict[str, str]:
        """Environment variables that make :func:`medallion.spark.conf.spark_conf` use these jars."""
        return {"SPARK_EXTRA_CLASSPATH": self.classpath, "SPARK_JARS": "", "SPARK_JARS_PACKAGES": ""}


def fetch_s3a_jars(dest: Path | None = None, timeout: float = 1800) -> S3AJars:
    """Run ``scripts/fetch-jars.sh`` (idempotent; cached in ``.cache/jars``) and return its jars.

    Raises:
        RuntimeError: the script failed (its stderr is in the message).
    """
    args = ["bash", str(FETCH_JARS)] + ([str(dest)] if dest else [])
    done = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/fetch-jars.sh failed ({done.returncode}):\n{done.stderr[-5000:]}")
    paths = tuple(Path(p) for p in done.stdout.strip().splitlines()[-1].split(","))
    return S3AJars(directory=paths[0].parent, paths=paths)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 server on a free loopback port for the whole session, stopped afterwards."""
    server = S3Server(tmp_path_factory.mktemp("s3-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3a_jars() -> S3AJars:
    """The S3A jars (hadoop-aws + AWS SDK v2 bundle + their runtime dependencies), fetched once."""
    return fetch_s3a_jars()
