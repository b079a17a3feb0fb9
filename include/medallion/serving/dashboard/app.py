"""The Streamlit entry point: the sidebar's source selector and the six pages (``streamlit run`` this file).

Sidebar: **Operational** reads the REST API at ``API_URL`` (the newest published run), **Lake**
reads the committed gold of the chosen run date under ``LAKE_ROOT``. The choice can also come from
the URL (``?source=lake&run_date=YYYY-MM-DD``), so a view can be linked. A source that cannot be
read shows its error on the page and stops there.
"""

from __future__ import annotations

import streamlit as st

from medallion.config import Settings
from medallion.serving.dashboard.pages import PAGES
from medallion.serving.dashboard.sources import ApiSource, LakeSource, SourceError, committed_run_dates

SOURCES = ("Operational", "Lake")


def _choose(settings: Settings):
    wanted = st.query_params.get("source", "operational").capitalize()
    choice = st.sidebar.radio("Source", SOURCES, index=SOURCES.index(wanted) if wanted in SOURCES else 0,
                              help="Operational: the REST API over MongoDB (the newest published run). "
                                   "Lake: the committed gold tables of a run date.")
    st.query_params["source"] = choice.lower()
    if choice == "Operational":
        st.sidebar.caption(f"API: {settings.api_url}")
        return ApiSource(settings.api_url)
    dates = committed_run_dates(settings)
    if not dates:
        return LakeSource(settings)  # raises SourceError naming the lake
    wanted_date = st.query_params.get("run_date", dates[0])
    run_date = st.sidebar.selectbox("Run date", dates, index=dates.index(wanted_date) if wanted_date in dates else 0)
    st.query_params["run_date"] = run_date
    st.sidebar.caption(f"Lake: {settings.lake_root}")
    return LakeSource(settings, run_date)


def main() -> None:
    st.set_page_config(page_title="medallion · gold", layout="wide")
    pages = st.navigation([st.Page(function, title=title, url_path=path, default=path == "overview")
                           for title, path, function in PAGES])
    settings = Settings.from_env()
    try:
        st.session_state["gold_source"] = _choose(settings)
    except SourceError as error:
        st.error(str(error))
        st.stop()
    try:
        pages.run()
    except SourceError as error:
        st.error(str(error))


main()
