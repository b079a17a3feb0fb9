"""The Spark properties of the pipeline's jobs carry no S3 credential: spark-submit puts every one of
them on its command line, and the DAG's operators store them in Airflow's metadata database."""

from __future__ import annotations

from medallion.config import Settings
from medallion.spark.conf import spark_conf

ACCESS_KEY = "AKIAUNITTESTKEY7Q2Z"
SECRET_KEY = "unit/Secret+Key=4f8e1c9b"


def test_s3_lake_conf_names_the_environment_provider_and_holds_no_credential(monkeypatch):
    # As deployed: the credentials are in the environment too, where Spark reads them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    settings = Settings.from_env({"LAKE_ROOT": "s3://", "S3_ENDPOINT_URL": "http://minio:9000",
                                  "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                                  "AWS_REGION": "eu-west-3"})
    assert (settings.aws_access_key_id, settings.aws_secret_access_key) == (ACCESS_KEY, SECRET_KEY)

    conf = spark_conf(settings)
    for key, value in conf.items():
        for secret in (ACCESS_KEY, SECRET_KEY):
            assert secret not in key and secret not in value, key
    assert not [key for key in conf if key.endswith(("access.key", "secret.key", "session.token"))]
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"] == (
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider")
    assert (conf["spark.hadoop.fs.s3a.endpoint"], conf["spark.hadoop.fs.s3a.endpoint.region"]) == (
        "http://minio:9000", "eu-west-3")
