"""One settings object for the whole project, read from environment variables.

Every variable and its default is documented in ``.env.example``. Nothing else in the project
reads ``os.environ`` for pipeline settings: DAGs, Spark jobs, CLIs and tests build a
:class:`Settings` with :meth:`Settings.from_env` (or construct one directly in tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from medallion.contract import DEFAULT_ENCODING, FUTURE_DATE_POLICIES, source_encoding

#: The repository root (``include/medallion/config.py`` -> three levels up).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Environment variable declaring each dataset's source encoding.
ENCODING_VARIABLES = {"clients": "CLIENTS_ENCODING", "purchases": "PURCHASES_ENCODING"}


def _env_bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _encoding(value: str, name: str) -> str:
    try:
        return source_encoding(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _env_int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


@dataclass(frozen=True)
class Settings:
    """Pipeline settings.

    Attributes:
        lake_root: Root of the data lake. A local path (default ``<project>/data/lake``), or
            ``s3://`` to use one bucket per layer (``sources``, ``bronze``, ``silver``,
            ``gold``, ``quality``), optionally with ``lake_bucket_prefix`` in front of each name.
        lake_bucket_prefix: Prefix of every bucket name when ``lake_root`` is ``s3://``.
        s3_endpoint_url: S3 endpoint (MinIO, moto); empty for AWS itself.
        aws_access_key_id / aws_secret_access_key / aws_region: S3 credentials and region.
        spark_master: Master URL given to ``spark-submit`` by the CLIs and the benchmark.
        future_dates: ``reject`` (default) or ``cap`` (see :mod:`medallion.contract`).
        reject_threshold_pct: Highest rejected share, in percent of a table's input rows, that
            the silver gate accepts.
        mongo_database: MongoDB database that receives the gold layer.
        publish_fact_sales: Also publish ``fact_sales`` (one document per purchase).
        publish_force: Publish even when a newer logical date is already published.
        great_expectations_dir: The GX file context (read only at run time).
        retention_days: Run-date partitions of silver and gold kept by the lake maintenance, in
            days before the run date (a partition older than ``run date - retention_days`` is
            deleted); 0 keeps every run date.
        vacuum_retain_hours: Files that no table version younger than this still needs are
            removed by ``VACUUM`` (hours; Delta's default is 168, one week). Readers and
            time travel older than this may fail once their files are gone.
        clients_encoding / purchases_encoding: Character encoding of each source file, any name
            Python knows for one of ``contract.SOURCE_ENCODINGS``, stored as that name (``latin-1``
            becomes ``ISO-8859-1``). The bronze ingestion checks the whole file decodes with it and
            records it in the manifest; both silver engines read the file with it.
        mongo_uri: MongoDB that the REST API reads the published gold from (a read-only user in
            Docker); the pipeline itself publishes through Airflow's ``mongo_default`` connection.
        api_url: Base URL of the REST API, where the dashboard's Operational source reads.
        currency: ISO 4217 code shown next to every money value by the API, the dashboard and
            Metabase (the sources' prices carry no currency of their own).
    """

    lake_root: str = str(PROJECT_ROOT / "data" / "lake")
    lake_bucket_prefix: str = ""
    s3_endpoint_url: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = field(default="", repr=False)
    aws_region: str = "us-east-1"
    spark_master: str = "local[2]"
    future_dates: str = "reject"
    reject_threshold_pct: float = 20.0
    mongo_database: str = "analytics_gold"
    publish_fact_sales: bool = False
    publish_force: bool = False
    great_expectations_dir: str = str(PROJECT_ROOT / "great_expectations")
    retention_days: int = 0
    vacuum_retain_hours: int = 168
    clients_encoding: str = DEFAULT_ENCODING
    purchases_encoding: str = DEFAULT_ENCODING
    mongo_uri: str = field(default="mongodb://127.0.0.1:27017", repr=False)
    api_url: str = "http://127.0.0.1:8000"
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if self.future_dates not in FUTURE_DATE_POLICIES:
            raise ValueError(
                f"FUTURE_DATES must be one of {', '.join(FUTURE_DATE_POLICIES)}, got {self.future_dates!r}"
            )
        if not 0 <= self.reject_threshold_pct <= 100:
            raise ValueError(f"REJECT_THRESHOLD_PCT must be within 0..100, got {self.reject_threshold_pct}")
        if self.retention_days < 0:
            raise ValueError(f"RETENTION_DAYS must be 0 (keep every run date) or more, got {self.retention_days}")
        if self.vacuum_retain_hours < 0:
            raise ValueError(f"VACUUM_RETAIN_HOURS must be 0 or more, got {self.vacuum_retain_hours}")
        # A frozen dataclass: store the canonical names so manifests and readers see one spelling.
        for dataset in ENCODING_VARIABLES:
            name = f"{dataset}_encoding"
            object.__setattr__(self, name, _encoding(getattr(self, name), ENCODING_VARIABLES[dataset]))

    def encoding(self, dataset: str) -> str:
        """The declared encoding of ``dataset``'s source file (a ``contract.SOURCE_ENCODINGS`` name)."""
        return {"clients": self.clients_encoding, "purchases": self.purchases_encoding}[dataset]

    @property
    def is_s3(self) -> bool:
        """True when the lake lives on S3 (``lake_root`` starts with ``s3://``)."""
        return self.lake_root.startswith(("s3://", "s3a://"))

    def with_overrides(self, **changes: object) -> "Settings":
        """A copy with some fields changed (used by tests and CLIs)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Build settings from environment variables (``os.environ`` by default).

        Raises:
            ValueError: a variable holds a value outside its allowed range.
        """
        env = os.environ if environ is None else environ
        defaults = cls()

        def get(name: str, default: str) -> str:
            value = env.get(name)
            return default if value is None or value.strip() == "" else value.strip()

        lake_root = get("LAKE_ROOT", defaults.lake_root)
        if not lake_root.startswith(("s3://", "s3a://")):
            lake_root = str(Path(lake_root).expanduser().resolve())
        return cls(
            lake_root=lake_root,
            lake_bucket_prefix=get("LAKE_BUCKET_PREFIX", ""),
            s3_endpoint_url=get("S3_ENDPOINT_URL", ""),
            aws_access_key_id=get("AWS_ACCESS_KEY_ID", ""),
            aws_secret_access_key=get("AWS_SECRET_ACCESS_KEY", ""),
            aws_region=get("AWS_REGION", get("AWS_DEFAULT_REGION", defaults.aws_region)),
            spark_master=get("SPARK_MASTER", defaults.spark_master),
            future_dates=get("FUTURE_DATES", defaults.future_dates),
            reject_threshold_pct=float(get("REJECT_THRESHOLD_PCT", str(defaults.reject_threshold_pct))),
            mongo_database=get("MONGO_DATABASE", defaults.mongo_database),
            publish_fact_sales=_env_bool(env.get("PUBLISH_FACT_SALES"), defaults.publish_fact_sales),
            publish_force=_env_bool(env.get("PUBLISH_FORCE"), defaults.publish_force),
            great_expectations_dir=get("GX_CONTEXT_DIR", defaults.great_expectations_dir),
            retention_days=_env_int(get("RETENTION_DAYS", str(defaults.retention_days)), "RETENTION_DAYS"),
            vacuum_retain_hours=_env_int(get("VACUUM_RETAIN_HOURS", str(defaults.vacuum_retain_hours)),
                                         "VACUUM_RETAIN_HOURS"),
            clients_encoding=get("CLIENTS_ENCODING", DEFAULT_ENCODING),
            purchases_encoding=get("PURCHASES_ENCODING", DEFAULT_ENCODING),
            mongo_uri=get("MONGO_URI", defaults.mongo_uri),
            api_url=get("API_URL", defaults.api_url).rstrip("/"),
            currency=get("CURRENCY", defaults.currency).upper(),
        )
