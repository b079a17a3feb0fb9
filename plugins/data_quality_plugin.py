"""Airflow 3 plugin: the Great Expectations data docs, one click from the Airflow UI.

* ``fastapi_apps``: a FastAPI app mounted by the API server under ``/data-quality``. It serves
  the site that ``medallion.quality.build_data_docs`` (the DAG's ``build_data_docs`` task)
  copies to ``$LAKE_ROOT/quality/data_docs/``; ``/data-quality/`` answers with its
  ``index.html``. Before the first build it answers 404 with a page saying so.
* ``external_views``: a "Data quality" entry in the UI navigation (Browse menu) that shows that
  app inside the Airflow UI.

The files are read through :mod:`medallion.lake` (``pyarrow.fs``) rather than Starlette's
``StaticFiles``: in Docker the lake is on S3/MinIO and the API server does not share a disk with
the worker that built the docs; the same code then serves a local lake and an S3 one. Settings
(``LAKE_ROOT`` and S3 credentials) are read from the environment on each request, so nothing is
read at import.

Airflow does not authenticate the apps that plugins mount, so this one does it itself with Airflow's
own FastAPI dependency (``requires_authenticated``): the pages show samples of unexpected values
(e.g. invalid e-mail addresses). A request needs the JWT of a logged-in user, either the ``_token``
cookie the Airflow UI sets at login (what the "Data quality" view sends) or an
``Authorization: Bearer`` header (a token from ``POST /auth/token``); any logged-in user may read.
Without one the app answers 401, with an invalid or forged token 403, and serves nothing.
"""

from __future__ import annotations

import html
import mimetypes
import posixpath

from airflow.api_fastapi.core_api.security import requires_authenticated
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response

URL_PREFIX = "/data-quality"

_NOT_BUILT = """<!doctype html>
<html><head><meta charset="utf-8"><title>Data quality: no data docs yet</title></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>Data quality</h1>
<p>The Great Expectations data docs have not been built yet.</p>
<p>They are rebuilt by the <code>build_data_docs</code> task at the end of every pipeline run
(failed runs too), or by hand with <code>python -m medallion.quality --build-docs</code>, and are
read from <code>{where}</code>.</p>
</body></html>
"""


def create_app() -> FastAPI:
    """The FastAPI app serving ``$LAKE_ROOT/quality/data_docs/`` (see the module docstring).

    ``GET /<path>`` returns the file with a content type guessed from its name; a folder path
    returns its ``index.html``. Paths leaving the site (``..``) and missing files answer 404.
    Every route first requires a logged-in Airflow user (401 without a token, 403 with an invalid one).
    """
    app = FastAPI(title="Data quality (Great Expectations data docs)", docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[Depends(requires_authenticated())])

    @app.get("/", include_in_schema=False)
    @app.get("/{path:path}", include_in_schema=False)
    def serve(path: str = "") -> Response:
        from medallion import lake
        from medallion.config import Settings

        settings = Settings.from_env()
        rel = posixpath.normpath(path) if path else "."
        if rel.startswith("..") or rel.startswith("/"):
            raise HTTPException(status_code=404, detail="not found")
        fs = lake.filesystem(settings)
        target = lake.layer_path(settings, "quality", "data_docs", rel) if rel != "." else \
            lake.layer_path(settings, "quality", "data_docs")
        if not lake.is_file(fs, target):
            if lake.exists(fs, target) and lake.is_file(fs, posixpath.join(target, "index.html")):
                if path and not path.endswith("/"):
                    return RedirectResponse(url=f"{posixpath.basename(path)}/", status_code=307)
                target = posixpath.join(target, "index.html")
                rel = posixpath.join(rel, "index.html")
            elif rel == ".":
                where = lake.display_uri(settings, "quality", "data_docs", "index.html")
                return HTMLResponse(_NOT_BUILT.format(where=html.escape(where)), status_code=404)
            else:
                raise HTTPException(status_code=404, detail=f"{rel} not found in the data docs")
        media_type = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        return Response(content=lake.read_bytes(fs, target), media_type=media_type)

    return app


class DataQualityPlugin(AirflowPlugin):
    """Registers the data-docs app and its "Data quality" navigation entry."""

    name = "data_quality"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Data quality docs"}]
    external_views = [
        {
            "name": "Data quality",
            # Relative to the UI's base URL (works behind a reverse proxy with a base path).
            "href": f"{URL_PREFIX.lstrip('/')}/",
            "url_route": "data-quality",
            "destination": "nav",
            "category": "browse",
        }
    ]
