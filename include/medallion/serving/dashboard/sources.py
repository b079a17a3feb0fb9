"""Where the dashboard reads gold: the REST API (Operational) or the lake (Lake), with one interface.

Both sources give the same values for the same run: money as 2-decimal floats (the API's publish
rounding of decimal(18,2) is exact to the cent, and the lake's decimals are converted the same way),
dates as ``datetime.date``. Frames have the gold tables' columns (``docs/METRICS.md``).

* :class:`ApiSource` -- the newest published run, through ``GET /api/v1/...`` (:mod:`medallion.serving.api`).
* :class:`LakeSource` -- the committed gold of one run date, read directly
  (:func:`medallion.tables.read_snapshot`, :func:`medallion.lake.read_document`).

Client KPIs can be millions of rows: :meth:`GoldSource.clients` returns at most ``limit`` rows in a
given order (the API pages through at most ``limit`` rows), and every client count the pages show
comes from ``gold_summary``, which covers all clients.

Errors: :class:`SourceError` with a message naming the source and what failed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol

import httpx
import pandas as pd
import pyarrow as pa

from medallion import lake
from medallion.config import Settings
from medallion.tables import read_snapshot

GRAINS = {"daily": "daily_sales", "weekly": "weekly_sales", "monthly": "monthly_sales"}
_API_PAGE = 500


class SourceError(RuntimeError):
    """The source could not be read (the message says which and where)."""


class GoldSource(Protocol):
    name: str
    run_date: str

    def summary(self) -> dict[str, Any]: ...
    def statistics(self) -> dict[str, Any]: ...
    def products(self) -> pd.DataFrame: ...
    def countries(self) -> pd.DataFrame: ...
    def sales(self, grain: str) -> pd.DataFrame: ...
    def clients(self, sort: str, limit: int) -> pd.DataFrame: ...


def _frame(rows: list[dict[str, Any]] | pa.Table) -> pd.DataFrame:
    if isinstance(rows, pa.Table):
        rows = rows.drop_columns([c for c in ("run_date",) if c in rows.column_names]).to_pylist()
    converted = [{k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()} for row in rows]
    frame = pd.DataFrame(converted)
    for column in ("date", "subscription_date", "first_purchase_date", "last_purchase_date"):
        if column in frame and len(frame):
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


class ApiSource:
    """The newest published run, read from the REST API at ``base_url``."""

    name = "Operational"

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self.run_date = self.summary()["run_date"]

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        try:
            answer = self._http.get(f"/api/v1/{path}", params=params)
        except httpx.HTTPError as error:
            raise SourceError(f"the REST API at {self.base_url} does not answer ({type(error).__name__}): "
                              "start it with `make dashboard`, or set API_URL") from None
        if answer.status_code != 200:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            raise SourceError(f"the REST API at {self.base_url} answered {answer.status_code} to /api/v1/{path}: {detail}")
        return answer.json()

    def summary(self) -> dict[str, Any]:
        return self._get("summary")

    def statistics(self) -> dict[str, Any]:
        return self._get("statistics")

    def products(self) -> pd.DataFrame:
        return _frame(self._get("products")["items"])

    def countries(self) -> pd.DataFrame:
        return _frame(self._get("countries")["items"])

    def sales(self, grain: str) -> pd.DataFrame:
        return _frame(self._get(f"sales/{grain}")["items"])

    def clients(self, sort: str, limit: int) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        page = 1
        while len(rows) < limit:
            size = min(_API_PAGE, limit - len(rows))
            body = self._get("clients", sort=sort, order="desc", page=page, page_size=size)
            rows += body["items"]
            if len(body["items"]) < size:
                break
            page += 1
        return _frame(rows)


class LakeSource:
    """The committed gold of ``run_date`` (default: the newest committed one) in ``settings``' lake."""

    name = "Lake"

    def __init__(self, settings: Settings, run_date: str | None = None):
        self.settings = settings
        dates = committed_run_dates(settings)
        if not dates:
            raise SourceError(f"no committed gold run in {lake.display_uri(settings, 'gold')}: run the pipeline "
                              "(make demo) or set LAKE_ROOT")
        if run_date is not None and run_date not in dates:
            raise SourceError(f"run date {run_date} has no committed gold in {lake.display_uri(settings, 'gold')}; "
                              f"committed: {', '.join(dates[:10])}")
        self.run_date = run_date or dates[0]

    def _table(self, table: str) -> pd.DataFrame:
        try:
            return _frame(read_snapshot(self.settings, "gold", table, self.run_date))
        except (OSError, ValueError) as error:
            raise SourceError(f"gold table {table} of run date {self.run_date} could not be read: {error}") from None

    def summary(self) -> dict[str, Any]:
        return {**lake.read_document(self.settings, "gold", self.run_date, "gold_summary"),
                "run_date": self.run_date, "currency": self.settings.currency}

    def statistics(self) -> dict[str, Any]:
        return lake.read_document(self.settings, "gold", self.run_date, "statistical_distributions")

    def products(self) -> pd.DataFrame:
        return self._table("product_analytics")

    def countries(self) -> pd.DataFrame:
        return self._table("country_analytics")

    def sales(self, grain: str) -> pd.DataFrame:
        return self._table(GRAINS[grain])

    def clients(self, sort: str, limit: int) -> pd.DataFrame:
        frame = self._table("client_kpis")
        return frame.sort_values([sort, "id_client"], ascending=[False, True], kind="stable").head(limit) \
            .reset_index(drop=True)


def committed_run_dates(settings: Settings) -> list[str]:
    """Run dates with committed gold (a ``gold_summary`` document), newest first."""
    return lake.document_run_dates(settings, "gold", "gold_summary")


def money(value: float | Decimal | None, currency: str) -> str:
    """``EUR 1,234.56`` (two decimals, thousands separators); an em dash for a missing value."""
    return "—" if value is None else f"{currency} {float(value):,.2f}"


def last_days(daily: pd.DataFrame, days: int) -> pd.DataFrame:
    """The last ``days`` calendar days of ``daily_sales`` (the table has every day, zeros included)."""
    if daily.empty:
        return daily
    end = max(daily["date"])
    return daily[daily["date"] > end - dt.timedelta(days=days)]
