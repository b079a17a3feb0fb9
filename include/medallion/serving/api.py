"""The read-only REST API over the gold layer published in MongoDB (FastAPI).

Every answer comes from the newest successful publish (:func:`medallion.publish.newest_published`)
in database ``MONGO_DATABASE`` of ``MONGO_URI``: the gold collections hold that run's rows and
``reports`` its documents. Values are the published ones (money rounded to cents, as in gold), made
JSON-friendly: dates ``YYYY-MM-DD``, timestamps ISO 8601 UTC, no ``_id``.

==========================================  ==========================================================
``GET /api/v1/health``                      ``{"status": "ok"}`` when MongoDB answers
``GET /api/v1/summary``                     gold_summary fields at top level + ``run_date``, ``run_id``,
                                            ``published_at``, ``currency``; 404 when nothing is published
``GET /api/v1/clients``                     client_kpis, filters ``segment``, ``country``, ``active``;
                                            ``sort`` (a column), ``order`` asc|desc, ``page`` (from 1),
                                            ``page_size`` 1..500 -> ``items``, ``page``, ``page_size``,
                                            ``total`` (matching rows)
``GET /api/v1/clients/{id_client}``         one client_kpis row; 404 when absent
``GET /api/v1/products``, ``/countries``    every row of product_analytics / country_analytics, ``sort``,
                                            ``order``
``GET /api/v1/sales/{grain}``               daily_sales / weekly_sales / monthly_sales; ``start``, ``end``
                                            (``YYYY-MM-DD``): daily by ``date``, weekly by the ISO weeks and
                                            monthly by the months of start and end
``GET /api/v1/statistics``                  the run's statistical_distributions document
``GET /api/v1/quality``                     the run's silver quality_report document
``GET /api/v1/publish-log``                 publish attempts, newest first, ``limit`` 1..100
==========================================  ==========================================================

List answers are ``{"items": [...], "run_date": D, "currency": C, ...}``. Errors are
``{"detail": message}``: 422 for a bad parameter (naming the allowed values), 404 for a missing row
or publish, 503 when MongoDB does not answer. OpenAPI docs at ``/docs``.

Run: ``python -m medallion.serving.api [--host 127.0.0.1] [--port 8000]`` (uvicorn); ``MONGO_URI``,
``MONGO_DATABASE`` and ``CURRENCY`` from the environment (:class:`medallion.config.Settings`). In
Docker it connects as the read-only MongoDB user.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any, Literal

import pymongo
import pymongo.errors
from pymongo.uri_parser import parse_uri
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from medallion.config import Settings
from medallion.contract import RFM_SEGMENTS
from medallion.metrics import PRIMARY_KEYS, table_metrics
from medallion.publish import PUBLISH_LOG_COLLECTION, REPORTS_COLLECTION, newest_published

MAX_PAGE_SIZE = 500
MAX_LOG_ENTRIES = 100
GRAINS = {"daily": "daily_sales", "weekly": "weekly_sales", "monthly": "monthly_sales"}


def _columns(table: str) -> tuple[str, ...]:
    return tuple(metric.name for metric in table_metrics(table))


def _json_value(value: Any, dates: frozenset[str] = frozenset(), name: str = "") -> Any:
    """A MongoDB value as JSON: the ``dates`` fields ``YYYY-MM-DD`` (published as midnight UTC), other
    datetimes ISO 8601 UTC, ``_id`` dropped."""
    if isinstance(value, dt.datetime):
        if name in dates:
            return value.date().isoformat()
        return value.replace(tzinfo=dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _json_value(item, dates, key) for key, item in value.items() if key != "_id"}
    if isinstance(value, list):
        return [_json_value(item, dates, name) for item in value]
    return value


def _row(table: str, document: dict[str, Any]) -> dict[str, Any]:
    return _json_value(document, _DATE_COLUMNS[table])


_DATE_COLUMNS = {table: frozenset(m.name for m in table_metrics(table) if m.type == "date") for table in PRIMARY_KEYS}


def _sort_spec(table: str, sort: str | None, order: str) -> list[tuple[str, int]]:
    key = PRIMARY_KEYS[table]
    column = sort or key
    if column not in _columns(table):
        raise HTTPException(422, f"sort: unknown column {column!r} of {table}; one of: {', '.join(_columns(table))}")
    direction = pymongo.DESCENDING if order == "desc" else pymongo.ASCENDING
    # The key breaks ties, so pages are stable.
    return [(column, direction)] + ([(key, pymongo.ASCENDING)] if column != key else [])


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _range_filter(grain: str, start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
    def label(day: dt.date) -> Any:
        if grain == "daily":
            return dt.datetime(day.year, day.month, day.day)
        if grain == "weekly":
            year, week, _ = day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{day.year}-{day.month:02d}"

    column = PRIMARY_KEYS[GRAINS[grain]]
    bounds = {}
    if start is not None:
        bounds["$gte"] = label(start)
    if end is not None:
        bounds["$lte"] = label(end)
    return {column: bounds} if bounds else {}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over ``settings.mongo_uri`` / ``settings.mongo_database`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    client = pymongo.MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000)
    db = client[settings.mongo_database]
    where = ", ".join(f"{host}:{port}" for host, port in parse_uri(settings.mongo_uri)["nodelist"])
    app = FastAPI(title="medallion gold API", version="1",
                  description="Read-only access to the gold layer published in MongoDB by the medallion pipeline. "
                              f"Money in {settings.currency}.")

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, error: RequestValidationError) -> JSONResponse:
        # One readable sentence per bad parameter instead of pydantic's error objects.
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in error.errors()]
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    @app.exception_handler(pymongo.errors.PyMongoError)
    async def mongo_unavailable(request: Request, error: pymongo.errors.PyMongoError) -> JSONResponse:
        # Connection errors only name host and port: never the URI, which may hold credentials.
        kind = "unreachable" if isinstance(error, pymongo.errors.ConnectionFailure) else "failing"
        return JSONResponse({"detail": f"MongoDB at {where} is {kind}: {type(error).__name__}"}, status_code=503)

    def published() -> dict[str, Any]:
        entry = newest_published(db)
        if entry is None:
            raise HTTPException(404, f"nothing is published in database {settings.mongo_database} yet: "
                                     "run the pipeline (publish_gold) first")
        return entry

    def report(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
        entry = published()
        found = db[REPORTS_COLLECTION].find_one({"run_id": entry["run_id"], "kind": kind})
        if found is None:
            raise HTTPException(404, f"run {entry['run_id']} published no {kind} report")
        return entry, found["document"]

    def listing(table: str, query: dict[str, Any], sort: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
        entry = published()
        items = [_row(table, row) for row in db[table].find(query, sort=sort)]
        return {"items": items, "run_date": entry["run_date"], "currency": settings.currency, **extra}

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        client.admin.command("ping")
        return {"status": "ok"}

    @app.get("/api/v1/summary")
    def summary() -> dict[str, Any]:
        entry, document = report("gold_summary")
        return {**_json_value(document), "run_date": entry["run_date"], "run_id": entry["run_id"],
                "published_at": _json_value(entry["finished_at"]), "currency": settings.currency}

    @app.get("/api/v1/clients")
    def clients(segment: str | None = None, country: str | None = None, active: bool | None = None,
                sort: str = "total_spent", order: Literal["asc", "desc"] = "desc",
                page: int = Query(1, ge=1),
                page_size: int = Query(50, ge=1, le=MAX_PAGE_SIZE,
                                       description=f"rows per page, at most {MAX_PAGE_SIZE}")) -> dict[str, Any]:
        if segment is not None and segment not in RFM_SEGMENTS:
            raise HTTPException(422, f"segment: unknown RFM segment {segment!r}; one of: {', '.join(RFM_SEGMENTS)}")
        query = {name: value for name, value in
                 (("rfm_segment", segment), ("country", country), ("is_active", active)) if value is not None}
        entry = published()
        order_by = _sort_spec("client_kpis", sort, order)
        rows = db["client_kpis"].find(query, sort=order_by, skip=(page - 1) * page_size, limit=page_size)
        return {"items": [_row("client_kpis", row) for row in rows], "page": page, "page_size": page_size,
                "total": db["client_kpis"].count_documents(query), "run_date": entry["run_date"],
                "currency": settings.currency}

    @app.get("/api/v1/clients/{id_client}")
    def client_by_id(id_client: int = Path(ge=1)) -> dict[str, Any]:
        published()
        row = db["client_kpis"].find_one({"_id": id_client})
        if row is None:
            raise HTTPException(404, f"no client {id_client} in the published client_kpis")
        return _row("client_kpis", row)

    @app.get("/api/v1/products")
    def products(sort: str | None = None, order: Literal["asc", "desc"] = "asc") -> dict[str, Any]:
        return listing("product_analytics", {}, _sort_spec("product_analytics", sort, order))

    @app.get("/api/v1/countries")
    def countries(sort: str | None = None, order: Literal["asc", "desc"] = "asc") -> dict[str, Any]:
        return listing("country_analytics", {}, _sort_spec("country_analytics", sort, order))

    @app.get("/api/v1/sales/{grain}")
    def sales(grain: str, start: str | None = None, end: str | None = None) -> dict[str, Any]:
        if grain not in GRAINS:
            raise HTTPException(422, f"grain: {grain!r} is not one of {', '.join(GRAINS)}")
        first, last = _day(start, "start"), _day(end, "end")
        if first is not None and last is not None and first > last:
            raise HTTPException(422, f"start {first} is after end {last}")
        table = GRAINS[grain]
        return listing(table, _range_filter(grain, first, last), _sort_spec(table, None, "asc"), grain=grain)

    @app.get("/api/v1/statistics")
    def statistics() -> dict[str, Any]:
        entry, document = report("statistical_distributions")
        return {**_json_value(document), "run_date": entry["run_date"], "currency": settings.currency}

    @app.get("/api/v1/quality")
    def quality() -> dict[str, Any]:
        entry, document = report("quality_report")
        return {**_json_value(document), "run_date": entry["run_date"]}

    @app.get("/api/v1/publish-log")
    def publish_log(limit: int = Query(20, ge=1, le=MAX_LOG_ENTRIES)) -> dict[str, Any]:
        rows = db[PUBLISH_LOG_COLLECTION].find({}, sort=[("started_at", pymongo.DESCENDING)], limit=limit)
        return {"items": [_json_value(row) for row in rows]}

    app.state.mongo_client = client
    return app


def main(argv: list[str] | None = None) -> int:
    """``python -m medallion.serving.api``: serve the API with uvicorn."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m medallion.serving.api", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on [127.0.0.1]")
    parser.add_argument("--port", type=int, default=8000, help="TCP port [8000]")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
