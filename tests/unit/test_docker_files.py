"""Static checks of the Docker deployment: Dockerfile, docker-compose.yaml, .env.example, docker/ scripts.

There is no Docker engine (nor a `docker compose` plugin) on the development machines and in CI, so the
compose file is validated against the Compose Specification JSON schema (../shared/schemas) instead of
`docker compose config`, and its content is checked here. The one-shot init scripts run against a
recording stand-in for their CLI (`mc`, `airflow`).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from medallion.config import PROJECT_ROOT
from medallion.lake import LAYERS

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yaml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
FETCH_JARS = PROJECT_ROOT / "scripts" / "fetch-jars.sh"
FETCH_DELTA_JARS = PROJECT_ROOT / "scripts" / "fetch-delta-jars.sh"
COMPOSE_SCHEMA = PROJECT_ROOT.parent / "shared" / "schemas" / "compose-spec.json"
VENV_BIN = Path(sys.executable).parent

AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer")
SPARK_SERVICES = ("spark-master", "spark-worker-1", "spark-worker-2")
# One-shot jobs: they run to completion, so a healthcheck has nothing to watch; dependants wait for
# `service_completed_successfully` instead.
ONE_SHOT_JOBS = ("minio-init", "airflow-init", "metabase-init")
# What users look at (include/medallion/serving), on the same image.
SERVING_SERVICES = ("api", "dashboard", "metabase-init")
EXPECTED_SERVICES = {"minio", "minio-init", "postgres", "mongodb", "metabase", *AIRFLOW_SERVICES,
                     *SPARK_SERVICES, *SERVING_SERVICES}

# ${VAR}, ${VAR:-default}, ${VAR-default}; `$$` is a literal dollar.
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")
_DEFAULTED_ONLY = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:-[^}]+\}$")
_CREDENTIAL_KEY = re.compile(r"(PASSWORD|PASS|SECRET|FERNET|_KEY|_KEY_ID|_USER|USERNAME)$")


def interpolate(value, env: dict[str, str] | None = None):
    """Compose-style substitution of ``${VAR:-default}`` (``env`` first, else the default)."""
    env = env or {}
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, op, default = match.group("name"), match.group("op"), match.group("default")
        current = env.get(name)
        if op == ":-":
            return current if current else default
        if op == "-":
            return default if current is None else current
        return current or ""

    return _VAR.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def resolved(compose) -> dict:
    """The compose document with every ${VAR:-default} replaced by its default (no .env)."""
    return interpolate(compose)


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    """Assignments in .env.example; commented ``# NAME=value`` lines are documented, not set."""
    documented: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            documented[match.group(1)] = match.group(2)
    return documented


def strings(node) -> list[str]:
    """Every string value in a parsed YAML document (comments are not values)."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "use the mapping form of `environment`"
    return {k: "" if v is None else str(v) for k, v in env.items()}


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG ([A-Z_]+)=(\S+)$", DOCKERFILE.read_text(), flags=re.M))


def dockerfile_env() -> dict[str, str]:
    """``NAME=value`` pairs of the Dockerfile's ``ENV`` instructions (one per line, ``\\`` continued)."""
    return dict(re.findall(r"^\s+(?:ENV )?([A-Z_]+)=(\S+?)(?: \\)?$", DOCKERFILE.read_text(), flags=re.M))


def dockerfile_stages() -> dict[str, str]:
    """Text of each build stage, by its ``AS`` name (the unnamed final stage is ``""``)."""
    parts = re.split(r"^(?=FROM )", DOCKERFILE.read_text(), flags=re.M)[1:]
    return {(re.match(r"FROM \S+(?: AS (\S+))?", part).group(1) or ""): part for part in parts}


def pipeline_settings_read() -> set[str]:
    """Environment variables read by the settings object and the Spark configuration."""
    include = PROJECT_ROOT / "include" / "medallion"
    read: set[str] = set()
    for module in (include / "config.py", include / "spark" / "conf.py"):
        read |= set(re.findall(r"""(?:get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""", module.read_text()))
    assert {"LAKE_ROOT", "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "SPARK_JARS", "RETENTION_DAYS",
            "DELTA_JARS_DIR"} <= read  # the scan works
    return read


def requirement_pin(name: str) -> str:
    pin = re.search(rf"^{re.escape(name)}==(\S+)$", (PROJECT_ROOT / "requirements.txt").read_text(), flags=re.M)
    assert pin, f"{name} is not pinned in requirements.txt"
    return pin.group(1)


def pyspark_hadoop_version() -> str:
    """The Hadoop client bundled with the installed pyspark, read from its jar file names."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    api = {re.match(r"hadoop-client-api-(.+)\.jar$", p.name).group(1) for p in jars.glob("hadoop-client-api-*.jar")}
    runtime = {re.match(r"hadoop-client-runtime-(.+)\.jar$", p.name).group(1)
               for p in jars.glob("hadoop-client-runtime-*.jar")}
    assert len(api) == 1 and api == runtime, (api, runtime)
    return api.pop()


# --- docker-compose.yaml ------------------------------------------------------------------------------

def test_compose_file_is_valid_against_the_compose_specification(compose, resolved):
    import jsonschema

    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    for document, label in ((compose, "as written"), (resolved, "after ${VAR:-default} substitution")):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], f"docker-compose.yaml {label}:\n" + "\n".join(errors)
    # A misspelt key must not pass: the schema rejects unknown service keys.
    broken = {"services": {"x": {"image": "busybox", "helthcheck": {}}}}
    assert list(validator.iter_errors(broken)), "the schema accepted an unknown key"


def test_compose_defines_the_airflow_3_topology(compose):
    assert set(compose["services"]) == EXPECTED_SERVICES
    commands = {name: compose["services"][name].get("command") for name in AIRFLOW_SERVICES}
    assert commands["airflow-apiserver"] == ["api-server"]
    assert commands["airflow-scheduler"] == ["scheduler"]
    assert commands["airflow-dag-processor"] == ["dag-processor"]
    assert commands["airflow-triggerer"] == ["triggerer"]
    assert commands["airflow-init"] == ["bash", "/opt/airflow/docker/airflow-init.sh"]
    for name in AIRFLOW_SERVICES:
        assert environment(compose["services"][name])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name


def test_airflow_and_spark_services_run_the_same_image_build(compose):
    services = compose["services"]
    builds = {name: (services[name].get("image"), json.dumps(services[name].get("build"), sort_keys=True))
              for name in (*AIRFLOW_SERVICES, *SPARK_SERVICES, *SERVING_SERVICES)}
    assert len(set(builds.values())) == 1, builds
    image, build = next(iter(builds.values()))
    assert json.loads(build) == {"context": ".", "dockerfile": "Dockerfile"}
    assert (PROJECT_ROOT / "Dockerfile").is_file()
    # Nothing else is built from this repository.
    others = [n for n in services if n not in builds and "build" in services[n]]
    assert others == []


def test_every_long_running_service_has_a_healthcheck_and_init_jobs_are_awaited(compose):
    services = compose["services"]
    for name, service in services.items():
        if name in ONE_SHOT_JOBS:
            assert "healthcheck" not in service, f"{name} is a one-shot job"
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"} and len(check["test"]) > 1, name
    awaited = {dep for s in services.values() for dep, c in s.get("depends_on", {}).items()
               if c["condition"] == "service_completed_successfully"}
    # Nothing needs Metabase's provisioning to have finished.
    assert awaited == {"minio-init", "airflow-init"}


def test_dependencies_use_conditions_that_can_be_met(compose):
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must use the long form with conditions"
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if dep in ONE_SHOT_JOBS:
                assert spec == {"condition": "service_completed_successfully"}, (name, dep)
            else:
                assert spec == {"condition": "service_healthy"}, (name, dep)
    # The Airflow services wait for the database and the migration; the scheduler (where the Spark
    # drivers run) also for the lake buckets, MongoDB and the Spark master; workers for the master.
    for name in AIRFLOW_SERVICES[1:]:
        assert {"postgres", "airflow-init"} <= set(services[name]["depends_on"]), name
    assert {"minio-init", "mongodb", "spark-master", "airflow-apiserver"} <= set(
        services["airflow-scheduler"]["depends_on"])
    for worker in SPARK_SERVICES[1:]:
        assert services[worker]["depends_on"] == {"spark-master": {"condition": "service_healthy"}}
    assert services["metabase"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["minio-init"]["depends_on"] == {"minio": {"condition": "service_healthy"}}


def test_restart_policies_and_named_volumes(compose):
    services = compose["services"]
    declared = set(compose["volumes"])
    used: set[str] = set()
    for name, service in services.items():
        expected = "on-failure:3" if name in ONE_SHOT_JOBS else "unless-stopped"
        assert service.get("restart") == expected, name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert volume.endswith(":ro"), f"{name}: bind mounts of repository files are read-only"
                assert (PROJECT_ROOT / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"
    data = {"minio": "/data", "postgres": "/var/lib/postgresql/data", "mongodb": "/data/db"}
    for name, path in data.items():
        assert any(v.endswith(f":{path}") and not v.startswith("./") for v in services[name]["volumes"]), name


def test_host_ports_are_the_documented_ones_without_collisions(resolved):
    published: dict[int, tuple[str, int]] = {}
    for name, service in resolved["services"].items():
        for mapping in service.get("ports", []):
            host, container = (int(p) for p in mapping.split(":"))
            assert host not in published, f"host port {host} used by {published[host][0]} and {name}"
            published[host] = (name, container)
    assert published == {
        8080: ("airflow-apiserver", 8080),
        8090: ("spark-master", 8090),
        9000: ("minio", 9000),
        9001: ("minio", 9001),
        3000: ("metabase", 3000),
        27017: ("mongodb", 27017),
        8000: ("api", 8000),
        8501: ("dashboard", 8501),
    }


def test_serving_services_run_the_project_modules_as_read_only_users(resolved):
    import importlib.util

    services = resolved["services"]
    for name, module in (("api", "medallion.serving.api"), ("dashboard", "medallion.serving.dashboard"),
                         ("metabase-init", "medallion.serving.metabase")):
        command = services[name]["command"]
        assert command[:3] == ["python", "-m", module] and importlib.util.find_spec(module), name
    mongo = environment(services["mongodb"])
    minio = environment(services["minio-init"])
    api = environment(services["api"])
    assert api["MONGO_URI"] == (f"mongodb://{mongo['MONGO_READER_USER']}:{mongo['MONGO_READER_PASSWORD']}"
                                "@mongodb:27017/?authSource=admin")
    dashboard = environment(services["dashboard"])
    assert dashboard["API_URL"] == "http://api:8000" and dashboard["LAKE_ROOT"] == "s3://"
    assert (dashboard["AWS_ACCESS_KEY_ID"], dashboard["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_READER_USER"], minio["MINIO_READER_PASSWORD"])
    metabase = environment(services["metabase-init"])
    assert (metabase["MONGO_READER_USER"], metabase["MONGO_READER_PASSWORD"]) == (
        mongo["MONGO_READER_USER"], mongo["MONGO_READER_PASSWORD"])
    # No serving service holds a credential that can write.
    writers = {mongo["MONGO_APP_PASSWORD"], mongo["MONGO_INITDB_ROOT_PASSWORD"], minio["MINIO_PIPELINE_PASSWORD"],
               minio["MINIO_ROOT_PASSWORD"]}
    for name in SERVING_SERVICES:
        values = json.dumps(environment(services[name]))
        assert not any(secret in values for secret in writers), name
    # Healthchecks ask the endpoints the modules serve.
    assert "http://127.0.0.1:8000/api/v1/health" in services["api"]["healthcheck"]["test"][-1]
    assert "http://127.0.0.1:8501/_stcore/health" in services["dashboard"]["healthcheck"]["test"][-1]
    assert services["metabase-init"]["depends_on"]["metabase"] == {"condition": "service_healthy"}


def test_the_three_connections_are_defined_for_every_airflow_service(compose, resolved):
    mongo_env = environment(resolved["services"]["mongodb"])
    minio_init_env = environment(resolved["services"]["minio-init"])
    for name in AIRFLOW_SERVICES:
        env = environment(resolved["services"][name])
        spark = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
        assert spark == {"conn_type": "spark", "host": "spark://spark-master", "port": 7077,
                         "extra": {"deploy-mode": "client", "spark-binary": "spark-submit"}}, name
        aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
        assert aws["conn_type"] == "aws" and aws["extra"]["endpoint_url"] == "http://minio:9000", name
        # The pipeline user created by minio-init, never MinIO's root user.
        assert (aws["login"], aws["password"]) == (minio_init_env["MINIO_PIPELINE_USER"],
                                                   minio_init_env["MINIO_PIPELINE_PASSWORD"])
        assert aws["login"] != minio_init_env["MINIO_ROOT_USER"]
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (aws["login"], aws["password"])
        mongo = json.loads(env["AIRFLOW_CONN_MONGO_DEFAULT"])
        assert mongo["conn_type"] == "mongo" and (mongo["host"], mongo["port"]) == ("mongodb", 27017), name
        assert (mongo["login"], mongo["password"]) == (mongo_env["MONGO_APP_USER"], mongo_env["MONGO_APP_PASSWORD"])
        assert mongo["login"] != mongo_env["MONGO_INITDB_ROOT_USERNAME"]
        assert mongo["schema"] == env["MONGO_DATABASE"] == mongo_env["MONGO_DATABASE"] == "analytics_gold"
        assert mongo["extra"] == {"authSource": "admin"}
        # The lake on MinIO, one bucket per layer.
        assert (env["LAKE_ROOT"], env["S3_ENDPOINT_URL"]) == ("s3://", "http://minio:9000")
    # Spark reads the S3 credentials from the environment only: the workers start the executors with
    # theirs, so they hold the pipeline user's too.
    for name in SPARK_SERVICES[1:]:
        env = environment(resolved["services"][name])
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
            minio_init_env["MINIO_PIPELINE_USER"], minio_init_env["MINIO_PIPELINE_PASSWORD"]), name
    # An override in .env reaches the connection JSON (substitution inside the JSON string).
    custom = interpolate(compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_MONGO_DEFAULT"],
                         {"MONGO_APP_PASSWORD": "s3cr3t"})
    assert json.loads(custom)["password"] == "s3cr3t"


def test_credentials_appear_only_as_defaulted_variables(compose):
    """Every credential is a ``${VAR:-dev-default}``: in env values, URLs and connection JSON."""
    problems = []
    for name, service in compose["services"].items():
        for key, raw in environment(service).items():
            if _CREDENTIAL_KEY.search(key) and not _DEFAULTED_ONLY.match(raw):
                problems.append(f"{name}.{key}={raw!r}")
            # user:password@ in a URL: each part must be one whole ${VAR:-default}.
            found = [m.group(0) for m in _VAR.finditer(raw)]
            masked = _VAR.sub(lambda m: f"\x01{found.index(m.group(0))}\x02", raw)
            for user, password in re.findall(r"://([^:/@]+):([^@]+)@", masked):
                for part in (user, password):
                    whole = re.fullmatch(r"\x01(\d+)\x02", part)
                    if not whole or not _DEFAULTED_ONLY.match(found[int(whole.group(1))]):
                        problems.append(f"{name}.{key}: URL credential {part!r}")
            if key.startswith("AIRFLOW_CONN_"):
                conn = json.loads(raw)
                for field in ("login", "password"):
                    if field in conn and not _DEFAULTED_ONLY.match(conn[field]):
                        problems.append(f"{name}.{key}.{field}={conn[field]!r}")
    assert problems == []
    # Every variable substitution carries a dev default (":-"), so an empty .env still starts.
    substitutions = [m for value in strings(compose) for m in _VAR.finditer(value.replace("$$", ""))]
    assert len(substitutions) > 50
    bare = [m.group(0) for m in substitutions if m.group("op") != ":-" and m.group("name") != "LAKE_BUCKET_PREFIX"]
    assert bare == []
    text = COMPOSE_FILE.read_text()
    # Outside ${...} forms, no password or secret default appears anywhere in the file (comments included).
    without_vars = _VAR.sub("", text)
    secrets = {m.group("default") for m in _VAR.finditer(text)
               if re.search(r"PASSWORD|SECRET|FERNET", m.group("name")) and m.group("default")}
    assert len(secrets) >= 8, f"too few secret defaults found ({secrets}): the check would prove nothing"
    leaked = sorted(s for s in secrets if s in without_vars)
    assert leaked == []


def test_jwt_secret_api_key_and_fernet_key_are_shared_by_all_airflow_services(compose, resolved):
    from cryptography.fernet import Fernet

    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
        raw = {environment(compose["services"][n])[key] for n in AIRFLOW_SERVICES}
        assert len(raw) == 1 and raw != {""}, (key, raw)
    resolved_env = environment(resolved["services"]["airflow-apiserver"])
    Fernet(resolved_env["AIRFLOW__CORE__FERNET_KEY"].encode())  # a valid key, or this raises
    assert len(resolved_env["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 32


def test_compose_defaults_equal_env_example_and_every_variable_is_documented(compose, env_example):
    defaults: dict[str, set[str]] = {}
    for match in (m for value in strings(compose) for m in _VAR.finditer(value.replace("$$", ""))):
        defaults.setdefault(match.group("name"), set()).add(match.group("default") or "")
    undocumented = sorted(set(defaults) - set(env_example))
    assert undocumented == []
    mismatched = {name: (values, env_example[name]) for name, values in defaults.items()
                  if values != {env_example[name]}}
    assert mismatched == {}


def test_env_example_documents_every_setting_the_pipeline_reads(env_example):
    """Every variable read by the settings object and the Spark configuration is in .env.example."""
    from medallion.config import Settings

    read = pipeline_settings_read()
    assert sorted(read - set(env_example)) == []
    assert env_example["LAKE_ROOT"] == "s3://" and env_example["MONGO_DATABASE"] == "analytics_gold"
    # The lake maintenance settings show the settings object's defaults; the Delta jars folder is a
    # commented local default (the image sets its own).
    defaults = Settings()
    assert env_example["RETENTION_DAYS"] == str(defaults.retention_days) == "0"
    assert env_example["VACUUM_RETAIN_HOURS"] == str(defaults.vacuum_retain_hours) == "168"
    assert "# DELTA_JARS_DIR=<project>/.cache/jars/delta" in ENV_EXAMPLE.read_text().splitlines()
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored


def test_every_pipeline_setting_reaches_the_airflow_services_and_the_spark_workers(compose, resolved):
    """Each variable the pipeline reads is passed by compose or set by the image (none forgotten)."""
    from medallion.config import Settings

    read = pipeline_settings_read()
    image = set(dockerfile_env())
    # Alternatives with no value in Docker: AWS_REGION is set, and the image's SPARK_EXTRA_CLASSPATH
    # replaces SPARK_JARS / SPARK_JARS_PACKAGES.
    unset_on_purpose = {"AWS_DEFAULT_REGION", "SPARK_JARS", "SPARK_JARS_PACKAGES"}
    assert unset_on_purpose <= read
    # Read only by the serving services (API, dashboard, Metabase provisioning), not by the pipeline.
    serving_only = {"MONGO_URI", "API_URL", "CURRENCY"}
    assert serving_only <= read
    for name in (*AIRFLOW_SERVICES, *SPARK_SERVICES[1:]):
        env = environment(compose["services"][name])
        assert sorted(read - set(env) - image - unset_on_purpose - serving_only) == [], name
        assert {"RETENTION_DAYS", "VACUUM_RETAIN_HOURS"} <= set(env), name
    # The defaults are the settings object's, and the deployment's settings parse (lake on MinIO).
    env = environment(resolved["services"]["airflow-scheduler"])
    defaults = Settings()
    assert (env["RETENTION_DAYS"], env["VACUUM_RETAIN_HOURS"]) == (
        str(defaults.retention_days), str(defaults.vacuum_retain_hours))
    deployed = Settings.from_env(env)
    assert deployed.is_s3 and deployed.s3_endpoint_url == "http://minio:9000"
    assert (deployed.retention_days, deployed.vacuum_retain_hours) == (0, 168)
    # An override in .env reaches the services.
    raw = compose["services"]["airflow-scheduler"]["environment"]
    overridden = {k: interpolate(raw[k], {"RETENTION_DAYS": "30", "VACUUM_RETAIN_HOURS": "24"})
                  for k in ("RETENTION_DAYS", "VACUUM_RETAIN_HOURS")}
    assert overridden == {"RETENTION_DAYS": "30", "VACUUM_RETAIN_HOURS": "24"}


def test_spark_services_run_the_shared_spark_node_script(compose, resolved):
    services = resolved["services"]
    assert services["spark-master"]["command"] == ["/opt/airflow/scripts/spark-node.sh", "master"]
    for worker in SPARK_SERVICES[1:]:
        assert services[worker]["command"] == ["/opt/airflow/scripts/spark-node.sh", "worker"]
        env = environment(services[worker])
        assert env["SPARK_MASTER_URL"] == "spark://spark-master:7077"
        assert env["SPARK_WORKER_HOST"] == worker
        assert env["SPARK_WORKER_DIR"] == "/opt/airflow/spark-work"
        assert any(v.endswith(":/opt/airflow/spark-work") for v in services[worker]["volumes"])
    master_env = environment(services["spark-master"])
    assert (master_env["SPARK_MASTER_HOST"], master_env["SPARK_MASTER_PORT"]) == ("spark-master", "7077")
    # The image puts the repository's scripts/ at /opt/airflow/scripts, and the local cluster
    # (`make cluster-up`) starts its daemons with the very same script.
    assert re.search(r"^COPY --chown=\S+ scripts/ /opt/airflow/scripts/$", DOCKERFILE.read_text(), flags=re.M)
    script = PROJECT_ROOT / "scripts" / "spark-node.sh"
    assert os.access(script, os.X_OK)
    assert '"$here/spark-node.sh"' in (PROJECT_ROOT / "scripts" / "cluster.sh").read_text()


def test_spark_master_healthcheck_matches_the_masters_json(resolved):
    """The master healthcheck's grep accepts Spark's real /json/ answer and rejects a STANDBY one."""
    test = resolved["services"]["spark-master"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    pattern = re.search(r"grep -q '(.+)'$", test[1]).group(1).replace('\\"', '"')
    # Spark's master writes its status with json4s pretty-printing: `"status" : "ALIVE"`.
    alive = '{\n  "url" : "spark://spark-master:7077",\n  "workers" : [ ],\n  "status" : "ALIVE"\n}'
    standby = alive.replace("ALIVE", "STANDBY")
    grep = lambda text: subprocess.run(["grep", "-q", pattern], input=text, text=True).returncode  # noqa: E731
    assert (grep(alive), grep(standby)) == (0, 1)


# --- Dockerfile ---------------------------------------------------------------------------------------

def test_dockerfile_passes_hadolint():
    hadolint = VENV_BIN / "hadolint"
    done = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # The linter does find problems when there are some (the check is live).
    bad = subprocess.run([str(hadolint), "--no-color", "-"], input="FROM debian\nRUN apt-get install curl\n",
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "DL3006" in bad.stdout


def test_dockerfile_base_java_user_and_project():
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert froms == ["maven:3.9.11-eclipse-temurin-17"] * 2 + ["apache/airflow:3.3.2-python3.11"]
    assert list(dockerfile_stages()) == ["s3a-jars", "delta-jars", ""]
    assert froms[-1] == f"apache/airflow:{requirement_pin('apache-airflow')}-python3.11"
    assert "openjdk-17-jre-headless" in text
    env = dockerfile_env()
    assert env["JAVA_HOME"] == "/usr/lib/jvm/java-17"
    assert env["SPARK_HOME"] == "/home/airflow/.local/lib/python3.11/site-packages/pyspark"
    assert env["SPARK_EXTRA_CLASSPATH"] == '"/opt/s3a-jars/*"'
    assert env["DELTA_JARS_DIR"] == "/opt/delta-jars"
    users = re.findall(r"^USER (\S+)$", text, flags=re.M)
    assert users[-1] == "50000", "the image must end as the non-root airflow user"
    assert "pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt" in text
    assert "pip install --no-cache-dir --no-deps -e /opt/airflow" in text
    for folder in ("dags", "plugins", "spark_jobs", "great_expectations", "include", "scripts"):
        assert re.search(rf"^COPY --chown=airflow:0 {folder}/ /opt/airflow/{folder}/$", text, flags=re.M), folder
    # No secret is baked into the image.
    names = re.findall(r"^(?:ARG|ENV)\s+([A-Z_]+)", text, flags=re.M) + list(env)
    assert [n for n in names if re.search(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|FERNET", n)] == []


def test_s3a_jar_versions_match_the_hadoop_bundled_with_pyspark():
    from medallion.spark.conf import HADOOP_AWS_PACKAGE

    hadoop = pyspark_hadoop_version()
    args = dockerfile_args()
    assert args["HADOOP_AWS_VERSION"] == hadoop
    assert HADOOP_AWS_PACKAGE == f"org.apache.hadoop:hadoop-aws:{hadoop}"
    script = FETCH_JARS.read_text()
    assert f'hadoop_aws_version="${{HADOOP_AWS_VERSION:-{hadoop}}}"' in script
    assert f'bundle_version="${{AWS_SDK_BUNDLE_VERSION:-{args["AWS_SDK_BUNDLE_VERSION"]}}}"' in script
    # The jars are fetched by that script, at build time, by coordinates, with those versions.
    text = DOCKERFILE.read_text()
    assert "COPY scripts/fetch-jars.sh /tmp/fetch-jars.sh" in text
    assert re.search(r'HADOOP_AWS_VERSION="\$\{HADOOP_AWS_VERSION\}" AWS_SDK_BUNDLE_VERSION="\$\{AWS_SDK_BUNDLE_VERSION\}"', text)
    assert "COPY --from=s3a-jars --chown=root:root /opt/s3a-jars /opt/s3a-jars" in text


def test_delta_jars_are_baked_in_with_the_versions_of_requirements_txt(tmp_path):
    """The Delta build args equal the pins, the jar stage runs fetch-delta-jars.sh, the build checks the jars."""
    from importlib.metadata import version

    from medallion.spark.conf import check_delta_jars, delta_jar_names

    args = dockerfile_args()
    spark_line = ".".join(requirement_pin("pyspark").split(".")[:2])
    assert (args["DELTA_VERSION"], args["SPARK_LINE"]) == (requirement_pin("delta-spark"), spark_line)
    assert (args["DELTA_VERSION"], args["SPARK_LINE"]) == (version("delta-spark"),
                                                           ".".join(version("pyspark").split(".")[:2]))
    # The stage re-declares both args (a global ARG is empty inside a stage that does not), passes them
    # to the script (so it needs no Python in the Maven image) and is copied into the final image.
    stages = dockerfile_stages()
    stage = stages["delta-jars"]
    assert re.search(r"^ARG DELTA_VERSION$", stage, flags=re.M) and re.search(r"^ARG SPARK_LINE$", stage, flags=re.M)
    assert "COPY scripts/fetch-delta-jars.sh /tmp/fetch-delta-jars.sh" in stage
    assert re.search(r'^RUN DELTA_VERSION="\$\{DELTA_VERSION\}" SPARK_LINE="\$\{SPARK_LINE\}" \\?\s*'
                     r"bash /tmp/fetch-delta-jars.sh /opt/delta-jars", stage, flags=re.M)
    final = stages[""]
    assert "COPY --from=delta-jars --chown=root:root /opt/delta-jars /opt/delta-jars" in final
    # The build's last check: the jars in DELTA_JARS_DIR are exactly those of the installed pip packages.
    last_run = re.findall(r"^RUN .*?(?<!\\)$", final, flags=re.M | re.S)[-1]
    assert "check_delta_jars()" in last_run and "from medallion.spark.conf import" in last_run

    # What the stage produces is what that check expects: the script, run as the stage runs it (both
    # versions given, no Python, no mvn), accepts a folder holding exactly delta_jar_names(), and
    # removes a jar of another version from it.
    folder = tmp_path / "delta-jars"
    folder.mkdir()
    for name in delta_jar_names():
        (folder / name).write_bytes(b"jar")
    stale = folder / "delta-storage-0.0.1.jar"
    stale.write_bytes(b"old")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkdir", "rm"):
        (bin_dir / tool).symlink_to(Path("/bin") / tool if (Path("/bin") / tool).exists() else Path("/usr/bin") / tool)
    env = {"PATH": str(bin_dir), "DELTA_VERSION": args["DELTA_VERSION"], "SPARK_LINE": args["SPARK_LINE"],
           "PYTHON": str(tmp_path / "no-python")}
    done = subprocess.run(["/bin/bash", str(FETCH_DELTA_JARS), str(folder)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already in" in done.stderr and not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(delta_jar_names())
    check_delta_jars({"DELTA_JARS_DIR": str(folder)})


# --- docker/ init scripts -----------------------------------------------------------------------------

def _recording_cli(folder: Path, name: str, body: str) -> Path:
    """An executable ``name`` in ``folder`` that appends its arguments to ``calls.log`` then runs ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{folder}/calls.log"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_minio_init_creates_prefixed_buckets_versioning_and_least_privilege_users(tmp_path):
    bin_dir = tmp_path / "bin"
    # The stand-in copies the policy files it is given, and says "already attached" on attach, as mc does
    # on a re-run.
    _recording_cli(bin_dir, "mc", f"""
case "$*" in
  "admin policy create lake medallion-pipeline "*) cp "$6" "{tmp_path}/policy.json" ;;
  "admin policy create lake medallion-reader "*) cp "$6" "{tmp_path}/reader-policy.json" ;;
  "admin policy attach"*) echo "mc: <ERROR> policy is already attached"; exit 1 ;;
esac""")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MINIO_ROOT_USER": "root-user", "MINIO_ROOT_PASSWORD": "root-pass",
           "MINIO_PIPELINE_USER": "pipe-user", "MINIO_PIPELINE_PASSWORD": "pipe-pass",
           "MINIO_READER_USER": "read-user", "MINIO_READER_PASSWORD": "read-pass",
           "LAKE_BUCKET_PREFIX": "dev-", "TMPDIR": str(tmp_path)}
    done = subprocess.run(["sh", str(PROJECT_ROOT / "docker" / "minio" / "init.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = (bin_dir / "calls.log").read_text().splitlines()
    assert calls[0] == "mc alias set lake http://minio:9000 root-user root-pass"
    assert calls[1:6] == [f"mc mb --ignore-existing lake/dev-{layer}" for layer in LAYERS]
    assert calls[6] == "mc version enable lake/dev-bronze"
    assert calls[8] == "mc admin user add lake pipe-user pipe-pass"
    assert calls[9] == "mc admin policy attach lake medallion-pipeline --user pipe-user"
    policy = json.loads((tmp_path / "policy.json").read_text())
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {f"arn:aws:s3:::dev-{layer}" for layer in LAYERS} | {
        f"arn:aws:s3:::dev-{layer}/*" for layer in LAYERS}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert not any("*" in a or a.startswith("admin:") or "Bucket" in a and a.startswith(("s3:Create", "s3:Delete"))
                   for a in actions), actions
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket"} <= actions
    # The dashboard's reader: list and get on silver and gold, nothing else.
    assert calls[11:13] == ["mc admin user add lake read-user read-pass",
                            "mc admin policy attach lake medallion-reader --user read-user"]
    reader = json.loads((tmp_path / "reader-policy.json").read_text())
    assert {(a, r) for s in reader["Statement"] for a in s["Action"] for r in s["Resource"]} == {
        (action, f"arn:aws:s3:::dev-{layer}") for action in ("s3:GetBucketLocation", "s3:ListBucket")
        for layer in ("silver", "gold")} | {("s3:GetObject", f"arn:aws:s3:::dev-{layer}/*") for layer in ("silver", "gold")}
    assert list(tmp_path.glob("medallion-*-policy.*")) == []  # temporary files removed

    # Any other attach error fails the job.
    _recording_cli(bin_dir, "mc", """case "$*" in "admin policy attach"*) echo "mc: <ERROR> no such user"; exit 1 ;; esac""")
    failed = subprocess.run(["sh", str(PROJECT_ROOT / "docker" / "minio" / "init.sh")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "no such user" in failed.stderr


def test_airflow_init_migrates_and_writes_the_admin_password(tmp_path):
    bin_dir = tmp_path / "bin"
    _recording_cli(bin_dir, "airflow", 'case "$1" in version) echo 3.3.2 ;; esac')
    passwords = tmp_path / "config" / "passwords.json"
    passwords.parent.mkdir()
    passwords.write_text(json.dumps({"viewer": "kept"}) + "\n")
    env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
           "AIRFLOW_ADMIN_USERNAME": "boss", "AIRFLOW_ADMIN_PASSWORD": 'p"w\\d',
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    script = PROJECT_ROOT / "docker" / "airflow-init.sh"
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (bin_dir / "calls.log").read_text().splitlines() == ["airflow db migrate", "airflow version"]
    assert json.loads(passwords.read_text()) == {"viewer": "kept", "boss": 'p"w\\d'}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    missing = subprocess.run(["bash", str(script)], env={**env, "AIRFLOW_ADMIN_PASSWORD": ""},
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "AIRFLOW_ADMIN_PASSWORD is not set" in missing.stderr


def test_postgres_and_mongodb_init_scripts_create_the_least_privilege_users(resolved):
    pg = (PROJECT_ROOT / "docker" / "postgres" / "init-metabase.sh").read_text()
    assert 'CREATE ROLE :"mb_user" LOGIN PASSWORD :\'mb_password\';' in pg
    assert 'CREATE DATABASE :"mb_db" OWNER :"mb_user";' in pg
    pg_env = environment(resolved["services"]["postgres"])
    mb_env = environment(resolved["services"]["metabase"])
    assert (mb_env["MB_DB_TYPE"], mb_env["MB_DB_HOST"]) == ("postgres", "postgres")
    assert (mb_env["MB_DB_DBNAME"], mb_env["MB_DB_USER"], mb_env["MB_DB_PASS"]) == (
        pg_env["METABASE_DB_NAME"], pg_env["METABASE_DB_USER"], pg_env["METABASE_DB_PASSWORD"])
    assert mb_env["MB_DB_USER"] != pg_env["POSTGRES_USER"]
    js = (PROJECT_ROOT / "docker" / "mongodb" / "init-users.js").read_text()
    assert 'roles: [{ role: "readWrite", db: process.env.MONGO_DATABASE }]' in js
    assert 'roles: [{ role: "read", db: process.env.MONGO_DATABASE }]' in js


def test_image_classpath_setting_replaces_the_runtime_jar_download(monkeypatch):
    """The image's SPARK_EXTRA_CLASSPATH and DELTA_JARS_DIR put the baked jars on both classpaths; no
    Maven download."""
    from medallion.config import Settings
    from medallion.spark.conf import DELTA_CONF, HADOOP_AWS_PACKAGE, spark_conf

    s3 = Settings(lake_root="s3://", s3_endpoint_url="http://minio:9000", aws_access_key_id="k",
                  aws_secret_access_key="s")
    for name in ("SPARK_JARS", "SPARK_JARS_PACKAGES", "SPARK_EXTRA_CLASSPATH", "DELTA_JARS_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert spark_conf(s3)["spark.jars.packages"] == HADOOP_AWS_PACKAGE  # without the image's settings

    image = dockerfile_env()
    monkeypatch.setenv("SPARK_EXTRA_CLASSPATH", image["SPARK_EXTRA_CLASSPATH"].strip('"'))
    monkeypatch.setenv("DELTA_JARS_DIR", image["DELTA_JARS_DIR"])
    conf = spark_conf(s3)
    assert conf["spark.driver.extraClassPath"] == conf["spark.executor.extraClassPath"] == (
        "/opt/delta-jars/*:/opt/s3a-jars/*")
    assert {k: conf[k] for k in DELTA_CONF} == DELTA_CONF
    assert "spark.jars.packages" not in conf and "spark.jars" not in conf
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
