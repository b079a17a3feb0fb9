"""The "Data quality" Airflow plugin: Airflow's plugins manager lists it, and its FastAPI app,
mounted by Airflow's own ``init_plugins`` beside the auth manager's login (``init_auth_manager``) and
served by uvicorn on a free port, answers over HTTP with the data docs from the lake (a clear 404
page before they are built) to a logged-in user only."""

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
    from airflow.api_fastapi.app import init_auth_manager, init_plugins

    # Airflow's own mounting of plugin apps under their url_prefix, then of the auth manager's app
    # (/auth: the login the UI uses), in the API server's order.
    app = FastAPI()
    init_plugins(app)
    init_auth_manager(app)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
""")

READER, READER_PASSWORD = "dq-reader", "dq-reader-password-5b1e"
NOT_AUTHENTICATED = b'{"detail":"Not authenticated"}'


def get(url: str, token: str | None = None, *, cookie: bool = True) -> tuple[int, str, bytes]:
    """GET ``url``; with ``token``, sent as the UI's ``_token`` cookie or as a Bearer header."""
    headers = {}
    if token is not None:
        headers = {"Cookie": f"_token={token}"} if cookie else {"Authorization": f"Bearer {token}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def login(server: str, username: str, password: str) -> str:
    """A JWT from the auth manager's ``POST /auth/token``, the call the UI's login form makes."""
    request = urllib.request.Request(f"{server}/auth/token", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.load(response)["access_token"]


@pytest.fixture()
def plugin_server(tmp_path, settings):
    """The plugin app and SimpleAuthManager's login on a free port; one user, ``READER``, role viewer."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({READER: READER_PASSWORD}))
    env = {
        **airflow_env(tmp_path, settings),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{READER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
    }
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            raise RuntimeError(f"plugin server exited: {process.stdout.read().decode()}")
        try:
            return get(f"{server}/data-quality/")[0] == 401
        except OSError:
            return False

    try:
        # Token checks look up revoked tokens in the metadata database; the server needs it only
        # then, so it is created while the server starts.
        migrated = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=env, capture_output=True,
                                  text=True, timeout=300)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        wait_until(up, timeout=120, what="the plugin app to answer")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_app_serves_the_data_docs_from_the_lake_to_logged_in_users_only(plugin_server, settings):
    base = f"{plugin_server}/data-quality"
    token = login(plugin_server, READER, READER_PASSWORD)

    status, content_type, body = get(f"{base}/", token)
    assert status == 404 and content_type.startswith("text/html")
    assert b"data docs have not been built yet" in body
    assert settings.lake_root.encode() in body

    # A real GX build (no validation results yet: the index lists the committed suites).
    index = quality.build_data_docs(settings)
    assert index == f"{settings.lake_root}/quality/data_docs/index.html"

    # Without a login, or with a forged token, nothing of the site is served.
    pages = ("/", "/index.html", "/expectations/gold_daily_sales.html",
             "/static/styles/data_docs_default_styles.css", "/no/such/page.html")
    forged = token.rsplit(".", 1)[0] + ".forged-signature"
    for page in pages:
        assert get(f"{base}{page}") == (401, "application/json", NOT_AUTHENTICATED), page
        assert get(f"{base}{page}", "not-a-jwt") == (403, "application/json", b'{"detail":"Invalid JWT token"}')
        assert get(f"{base}{page}", forged, cookie=False)[0] == 403, page

    # Logged in, with the UI's cookie or a Bearer header: the site.
    status, content_type, body = get(f"{base}/", token)
    assert (status, content_type.split(";")[0]) == (200, "text/html")
    page = body.decode()
    assert "<title>Data Docs created by Great Expectations</title>" in page
    for suite in ("bronze_clients", "silver_quality_report", "gold_daily_sales"):
        assert suite in page
    assert get(f"{base}/index.html", token)[2] == body
    assert get(f"{base}/", token, cookie=False) == (200, content_type, body)

    # A suite page linked from the index is served too, with its content type.
    status, content_type, body = get(f"{base}/expectations/gold_daily_sales.html", token)
    assert (status, content_type.split(";")[0]) == (200, "text/html")
    assert b"One row per calendar day from the first to the last purchase date" in body

    status, content_type, _ = get(f"{base}/static/styles/data_docs_default_styles.css", token)
    assert (status, content_type.split(";")[0]) == (200, "text/css")
    assert get(f"{base}/no/such/page.html", token)[0] == 404
    assert get(f"{base}/../../etc/passwd", token)[0] == 404
