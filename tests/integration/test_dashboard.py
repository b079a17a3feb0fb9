"""The six dashboard pages in headless Chromium, for both sources, over a real API, wire server and lake.

Streamlit runs as ``python -m medallion.serving.dashboard`` on a free port, reading the REST API
(Operational) and the ``served_gold`` lake (Lake); Playwright drives Debian's ``chromium``. Each page
must render its charts with no exception or error box, and the Overview must show gold_summary's total
revenue, orders and customers (read here from the lake document, formatted as the page formats them).
A screenshot of each page (Operational) goes to ``DASHBOARD_SCREENSHOTS`` (default: a temporary folder;
``docs/screenshots`` refreshes the README's pictures).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from medallion import lake
from tests.conftest import free_port
from tests.integration.conftest import start_api, start_server

pytestmark = pytest.mark.integration

BROWSER = os.environ.get("BROWSER_PATH", "/usr/bin/chromium")
PAGES = ("overview", "temporal", "clients", "products", "geography", "statistics")
TITLES = {"overview": "Overview", "temporal": "Temporal analysis", "clients": "Clients", "products": "Products",
          "geography": "Geography", "statistics": "Statistics"}
#: Plotly charts each page draws.
CHARTS = {"overview": 2, "temporal": 4, "clients": 3, "products": 4, "geography": 4, "statistics": 2}


@pytest.fixture(scope="module")
def dashboard(served_gold, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    settings, run_date = served_gold
    logs = tmp_path_factory.mktemp("dashboard")
    api_url, api = start_api({"MONGO_URI": settings.mongo_uri, "MONGO_DATABASE": settings.mongo_database},
                             logs / "api.log")
    url, streamlit = start_server(
        [sys.executable, "-m", "medallion.serving.dashboard", "--port", str(free_port())],
        {"API_URL": api_url, "LAKE_ROOT": settings.lake_root, "CURRENCY": "EUR"}, logs / "dashboard.log",
        "/_stcore/health")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        yield page, url, settings, run_date
        browser.close()
    for process in (streamlit, api):
        process.terminate()
        process.wait(timeout=30)


def _open(page, url: str, path: str, query: str) -> str:
    """Load a page and wait until its title and every chart are drawn; return the page's text."""
    # The default page (Overview) lives at the root.
    page.goto(f"{url}/{'' if path == 'overview' else path}?{query}")
    page.get_by_role("heading", name=TITLES[path], exact=True, level=1).wait_for(timeout=60_000)
    charts = page.locator(".js-plotly-plot .main-svg")
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {CHARTS[path]}",
                           timeout=60_000)
    charts.first.wait_for(timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]
    assert "Page not found" not in page.inner_text("body")
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, page.inner_text("body")[:2000]
    return page.inner_text("body")


@pytest.mark.parametrize("source", ["operational", "lake"])
def test_every_page_renders_and_the_overview_equals_gold_summary(dashboard, source):
    page, url, settings, run_date = dashboard
    summary = lake.read_document(settings, "gold", run_date, "gold_summary")
    query = f"source={source}" + (f"&run_date={run_date}" if source == "lake" else "")
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS", "")) if os.environ.get("DASHBOARD_SCREENSHOTS") else None
    for path in PAGES:
        text = _open(page, url, path, query)
        assert f"run date {run_date}" in text, text[:1000]
        assert ("Source: Operational" if source == "operational" else "Source: Lake") in text
        if path == "overview":
            assert f"EUR {summary['total_revenue']:,.2f}" in text, text[:2000]
            assert f"{summary['total_orders']:,}" in text and f"{summary['total_customers']:,}" in text
            top = summary["top_product"]
            assert top["product"] in text and f"EUR {top['total_revenue']:,.2f}" in text
        if shots is not None and source == "operational":
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"dashboard-{path}.png"), full_page=True)


def test_an_unreachable_api_is_a_message_not_a_traceback(dashboard, tmp_path):
    page, _, settings, _ = dashboard
    closed = free_port()
    url, streamlit = start_server(
        [sys.executable, "-m", "medallion.serving.dashboard", "--port", str(free_port())],
        {"API_URL": f"http://127.0.0.1:{closed}", "LAKE_ROOT": settings.lake_root}, tmp_path / "dashboard.log",
        "/_stcore/health")
    try:
        page.goto(f"{url}/?source=operational")
        error = page.locator('[data-testid="stAlertContentError"]')
        error.wait_for(timeout=60_000)
        assert f"the REST API at http://127.0.0.1:{closed} does not answer" in error.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        streamlit.terminate()
        streamlit.wait(timeout=30)
