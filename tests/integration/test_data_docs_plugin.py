"""The "Data quality" Airflow plugin: Airflow's plugins manager lists it, and its FastAPI app,
mounted by Airflow's own ``init_plugins`` and served by uvicorn on a free port, answers over HTTP
with the data docs from the lake (a clear 404 page before they are built)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest

from medallion import quality
from medallion.config import PROJECT_ROOT, Settings
from tests.conftest import VENV_BIN, free_port, wait_until

PLUGINS = PROJECT_ROOT / "plugins"


def airflow_env(tmp_path, settings: Settings) -> dict[str, str]:
    home = tmp_path / "airflow-home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "LAKE_ROOT": settings.lake_root,
    }


def test_plugins_manager_lists_the_plugin(tmp_path, settings):
    listed = subprocess.run([str(VENV_BIN / "airflow"), "plugins", "--output", "json"],
                            env=airflow_env(tmp_path, settings), capture_output=True, text=True, timeout=180)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    plugin = plugins["data_quality"]
    assert plugin["source"] == "$PLUGINS_FOLDER/data_quality_plugin.py"
    assert plugin["fastapi_apps"] == [
        {"app": "fastapi.applications.FastAPI", "url_prefix": "/data-quality", "name": "Data quality docs"}]
    assert plugin["external_views"] == [{"name": "Data quality", "href": "data-quality/", "url_route": "data-quality",
                                         "destination": "nav", "category": "browse"}]


SERVER = textwrap.dedent("""
    import sys
    import uvicorn
    from fastapi import FastAPI
    from airflow.api_fastapi.app import init_plugins

    app = FastAPI()
    init_plugins(app)  # Airflow's own mounting of plugin apps under their url_prefix
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
""")


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


@pytest.fixture()
def plugin_server(tmp_path, settings):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=airflow_env(tmp_path, settings),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/data-quality"

    def up():
        if process.poll() is not None:
            raise RuntimeError(f"plugin server exited: {process.stdout.read().decode()}")
        try:
            return get(f"{base}/")[0] in (200, 404)
        except OSError:
            return False

    try:
        wait_until(up, timeout=120, what="the plugin app to answer")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_app_serves_the_data_docs_from_the_lake(plugin_server, settings):
    status, content_type, body = get(f"{plugin_server}/")
    assert status == 404 and content_type.startswith("text/html")
    assert b"data docs have not been built yet" in body
    assert settings.lake_root.encode() in body

    # A real GX build (no validation results yet: the index lists the committed suites).
    index = quality.build_data_docs(settings)
    assert index == f"{settings.lake_root}/quality/data_docs/index.html"

    status, content_type, body = get(f"{plugin_server}/")
    assert (status, content_type.split(";")[0]) == (200, "text/html")
    page = body.decode()
    assert "<title>Data Docs created by Great Expectations</title>" in page
    for suite in ("bronze_clients", "silver_quality_report", "gold_daily_sales"):
        assert suite in page
    assert get(f"{plugin_server}/index.html")[2] == body

    # A suite page linked from the index is served too, with its content type.
    status, content_type, body = get(f"{plugin_server}/expectations/gold_daily_sales.html")
    assert (status, content_type.split(";")[0]) == (200, "text/html")
    assert b"One row per calendar day from the first to the last purchase date" in body

    status, content_type, _ = get(f"{plugin_server}/static/styles/data_docs_default_styles.css")
    assert (status, content_type.split(";")[0]) == (200, "text/css")
    assert get(f"{plugin_server}/no/such/page.html")[0] == 404
    assert get(f"{plugin_server}/../../etc/passwd")[0] == 404
