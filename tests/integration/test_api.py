"""The REST API over a real MongoDB wire server, served by uvicorn on a free port, asked over HTTP.

Expected values are read from the gold Delta tables with ``deltalake`` (not through the code under
test) and compared with what the API answers: money to the cent, every row of each table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from medallion import lake
from tests.conftest import free_port
from tests.integration.conftest import start_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(served_gold, tmp_path_factory):
    settings, run_date = served_gold
    url, process = start_api({"MONGO_URI": settings.mongo_uri, "MONGO_DATABASE": settings.mongo_database,
                           "CURRENCY": "EUR"}, tmp_path_factory.mktemp("api") / "api.log")
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client, settings, run_date
    process.terminate()
    process.wait(timeout=30)


def gold(settings, table: str, run_date: str) -> list[dict]:
    """The run date's rows of a gold table, read with deltalake, JSON-like (money as float, dates ISO)."""
    data = DeltaTable(lake.delta_uri(settings, "gold", table)).to_pyarrow_table()
    data = data.filter(pc.equal(data.column("run_date"), pa.scalar(dt.date.fromisoformat(run_date))))
    rows = data.drop_columns(["run_date"]).to_pylist()
    return [{k: float(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, dt.date) else v
             for k, v in row.items()} for row in rows]


def test_summary_equals_the_committed_gold(api):
    client, settings, run_date = api
    body = client.get("/api/v1/summary").json()
    summary = lake.read_document(settings, "gold", run_date, "gold_summary")
    kpis = gold(settings, "client_kpis", run_date)
    facts = DeltaTable(lake.delta_uri(settings, "gold", "fact_sales")).to_pyarrow_table(columns=["total"])
    revenue = sum(facts.column("total").to_pylist(), Decimal(0))
    assert (body["total_revenue"], body["total_orders"], body["total_customers"]) == (
        float(revenue), facts.num_rows, len(kpis))
    assert {k: body[k] for k in summary} == summary
    assert (body["run_date"], body["run_id"], body["currency"]) == (run_date, "manual__served", "EUR")
    assert body["published_at"].endswith("Z")


def test_clients_filter_sort_and_pages(api):
    client, settings, run_date = api
    rows = gold(settings, "client_kpis", run_date)
    champions = sorted((r for r in rows if r["rfm_segment"] == "Champions" and r["country"] == "Italy"),
                       key=lambda r: (-r["total_spent"], r["id_client"]))
    assert champions
    first = client.get("/api/v1/clients", params={"segment": "Champions", "country": "Italy", "page_size": 3}).json()
    assert first["total"] == len(champions) and (first["page"], first["page_size"]) == (1, 3)
    assert first["items"] == champions[:3]
    pages = [client.get("/api/v1/clients", params={"segment": "Champions", "country": "Italy", "page": n,
                                                   "page_size": 3}).json()["items"]
             for n in range(1, (len(champions) + 2) // 3 + 1)]
    assert [row for page in pages for row in page] == champions
    past = client.get("/api/v1/clients", params={"segment": "Champions", "country": "Italy", "page": 1000}).json()
    assert past["items"] == [] and past["total"] == len(champions)

    everyone = client.get("/api/v1/clients", params={"page_size": 500, "sort": "id_client", "order": "asc"}).json()
    assert everyone["total"] == len(rows) and everyone["items"] == sorted(rows, key=lambda r: r["id_client"])[:500]
    inactive = client.get("/api/v1/clients", params={"active": "false", "page_size": 1}).json()
    assert inactive["total"] == sum(1 for r in rows if not r["is_active"])

    one = rows[17]
    assert client.get(f"/api/v1/clients/{one['id_client']}").json() == one


def test_products_countries_and_series_equal_gold(api):
    client, settings, run_date = api
    assert client.get("/api/v1/products").json()["items"] == gold(settings, "product_analytics", run_date)
    by_share = client.get("/api/v1/countries", params={"sort": "market_share_pct", "order": "desc"}).json()
    countries = gold(settings, "country_analytics", run_date)
    assert by_share["items"] == sorted(countries, key=lambda r: (-r["market_share_pct"], r["country"]))
    assert round(sum(r["market_share_pct"] for r in by_share["items"]), 2) == 100.0

    daily = client.get("/api/v1/sales/daily", params={"start": "2026-03-01", "end": "2026-03-31"}).json()
    assert daily["items"] == [r for r in gold(settings, "daily_sales", run_date) if r["date"].startswith("2026-03")]
    assert len(daily["items"]) == 31 and daily["grain"] == "daily"
    # 2026-03-01 is a Sunday (ISO week 2026-W09), 2026-03-31 a Tuesday (2026-W14).
    weekly = client.get("/api/v1/sales/weekly", params={"start": "2026-03-01", "end": "2026-03-31"}).json()["items"]
    assert [r["year_week"] for r in weekly] == [f"2026-W{w:02d}" for w in range(9, 15)]
    assert weekly == [r for r in gold(settings, "weekly_sales", run_date) if "2026-W09" <= r["year_week"] <= "2026-W14"]
    monthly = client.get("/api/v1/sales/monthly").json()["items"]
    assert monthly == gold(settings, "monthly_sales", run_date)


def test_documents_and_publish_log(api):
    client, settings, run_date = api
    stats = client.get("/api/v1/statistics").json()
    expected = lake.read_document(settings, "gold", run_date, "statistical_distributions")
    assert {k: stats[k] for k in expected} == expected and stats["currency"] == "EUR"
    quality = client.get("/api/v1/quality").json()
    assert quality["summary"] == lake.read_document(settings, "silver", run_date, "quality_report")["summary"]
    log = client.get("/api/v1/publish-log", params={"limit": 5}).json()["items"]
    assert [(e["run_id"], e["status"], e["run_date"]) for e in log] == [("manual__served", "success", run_date)]
    assert log[0]["collections"]["client_kpis"] == len(gold(settings, "client_kpis", run_date))
    assert client.get("/docs").status_code == 200
    assert "/api/v1/clients" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/api/v1/clients", {"page_size": 501}, "page_size: Input should be less than or equal to 500"),
    ("/api/v1/clients", {"page": 0}, "page: Input should be greater than or equal to 1"),
    ("/api/v1/clients", {"sort": "password"}, "sort: unknown column 'password' of client_kpis; one of: id_client"),
    ("/api/v1/clients", {"segment": "VIP"}, "segment: unknown RFM segment 'VIP'; one of: Champions, Loyal Customers"),
    ("/api/v1/clients", {"order": "up"}, "order: Input should be 'asc' or 'desc'"),
    ("/api/v1/clients", {"active": "maybe"}, "active: Input should be a valid boolean"),
    ("/api/v1/sales/hourly", {}, "grain: 'hourly' is not one of daily, weekly, monthly"),
    ("/api/v1/sales/daily", {"start": "2026-02-30"}, "start: '2026-02-30' is not a date (YYYY-MM-DD)"),
    ("/api/v1/sales/daily", {"start": "2026-03-02", "end": "2026-03-01"}, "start 2026-03-02 is after end 2026-03-01"),
    ("/api/v1/publish-log", {"limit": 101}, "limit: Input should be less than or equal to 100"),
])
def test_bad_parameters_are_422_with_a_message(api, path, params, message):
    answer = api[0].get(path, params=params)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(message), answer.json()


def test_missing_rows_are_404(api):
    client = api[0]
    assert client.get("/api/v1/clients/99999999").json() == {
        "detail": "no client 99999999 in the published client_kpis"}
    assert client.get("/api/v1/clients/99999999").status_code == 404


def test_nothing_published_is_404_and_no_mongodb_is_503(served_gold, tmp_path):
    settings, _ = served_gold
    empty_url, empty = start_api({"MONGO_URI": settings.mongo_uri, "MONGO_DATABASE": "nothing_published"},
                              tmp_path / "empty.log")
    closed = free_port()
    down_url, down = start_api({"MONGO_URI": f"mongodb://reader:s3cret@127.0.0.1:{closed}/?authSource=admin"},
                            tmp_path / "down.log")
    try:
        answer = httpx.get(f"{empty_url}/api/v1/summary", timeout=30)
        assert answer.status_code == 404
        assert answer.json()["detail"].startswith("nothing is published in database nothing_published yet")
        for path in ("/api/v1/health", "/api/v1/summary", "/api/v1/clients"):
            answer = httpx.get(f"{down_url}{path}", timeout=30)
            assert answer.status_code == 503, path
            assert answer.json()["detail"].startswith(f"MongoDB at 127.0.0.1:{closed} is unreachable")
            assert "s3cret" not in answer.text
    finally:
        for process in (empty, down):
            process.terminate()
            process.wait(timeout=30)
