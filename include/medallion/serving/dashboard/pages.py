"""The six pages of the dashboard, as the seed project had them, drawn from gold with Plotly.

Each page reads the source chosen in the sidebar (:func:`medallion.serving.dashboard.app.source`)
through :func:`data`, which caches each read for a minute per source and run date. No page computes
a metric that gold has: figures are gold's values, formatted (money with its currency).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from medallion.contract import RFM_SEGMENTS
from medallion.serving.dashboard.sources import GoldSource, last_days, money

#: Clients drawn in the Clients page's distributions (the largest spenders first): bounded, so a
#: page over millions of clients stays fast; counts and segments come from gold_summary (all clients).
CLIENT_SAMPLE = 5000


@st.cache_data(ttl=60, show_spinner=False)
def _cached(kind: str, key: tuple[str, str], args: tuple, _source: GoldSource) -> Any:
    return getattr(_source, kind)(*args)


def data(kind: str, *args: Any) -> Any:
    """``source.<kind>(*args)`` of the sidebar's source, cached per (source, run date)."""
    source = st.session_state["gold_source"]
    return _cached(kind, (source.name, source.run_date), args, source)


def _currency() -> str:
    return data("summary")["currency"]


def _header(title: str) -> None:
    source = st.session_state["gold_source"]
    st.title(title)
    st.caption(f"Source: {source.name} · run date {source.run_date} · money in {_currency()}")


def _money_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    shown = frame.copy()
    for column in columns:
        shown[column] = shown[column].map(lambda v: money(v, _currency()))
    return shown


def _segments(summary: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({"segment": RFM_SEGMENTS, "clients": [summary["rfm_segments"].get(s, 0) for s in RFM_SEGMENTS]})


def overview() -> None:
    _header("Overview")
    summary, stats = data("summary"), data("statistics")["overall_metrics"]
    currency = summary["currency"]
    kpi = st.columns(3)
    kpi[0].metric("Total revenue", money(summary["total_revenue"], currency))
    kpi[1].metric("Orders", f"{summary['total_orders']:,}")
    kpi[2].metric("Customers", f"{summary['total_customers']:,}")
    kpi = st.columns(3)
    kpi[0].metric("Average order value", money(stats["avg_order_value"], currency))
    kpi[1].metric("Active clients (bought in the last 90 days)", f"{summary['counts']['active_clients']:,}")
    kpi[2].metric("High-value clients (spent above the median)", f"{summary['counts']['high_value_clients']:,}")
    top = st.columns(3)
    product, country, client = summary["top_product"], summary["top_country"], summary["top_client"]
    for column, label, name, amount in (
            (top[0], "Top product", product["product"], product["total_revenue"]),
            (top[1], "Top country", country["country"], country["total_revenue"]),
            (top[2], "Top client", f"{client['name']} (#{client['id_client']})", client["total_spent"])):
        column.metric(label, name)
        column.caption(f"revenue {money(amount, currency)}")
    left, right = st.columns(2)
    segments = _segments(summary)
    left.plotly_chart(px.bar(segments, x="segment", y="clients", title="Clients per RFM segment"))
    recent = last_days(data("sales", "daily"), 30)
    right.plotly_chart(px.line(recent, x="date", y="total_revenue", markers=True,
                               title=f"Daily revenue, last 30 days ({currency})"))


def temporal() -> None:
    _header("Temporal analysis")
    currency = _currency()
    daily = data("sales", "daily")
    figure = go.Figure([go.Scatter(x=daily["date"], y=daily["total_revenue"], name="revenue", opacity=0.4),
                        go.Scatter(x=daily["date"], y=daily["revenue_7day_avg"], name="7-day average")])
    figure.update_layout(title=f"Daily revenue and its 7-day average ({currency})")
    st.plotly_chart(figure)
    left, right = st.columns(2)
    weekly, monthly = data("sales", "weekly"), data("sales", "monthly")
    left.plotly_chart(px.bar(weekly, x="year_week", y="total_revenue", title=f"Weekly revenue ({currency})"))
    right.plotly_chart(px.bar(monthly, x="year_month", y="total_revenue", title=f"Monthly revenue ({currency})"))
    growth = monthly.melt(id_vars="year_month", value_vars=["revenue_growth_pct", "orders_growth_pct",
                                                             "customers_growth_pct"], var_name="growth", value_name="percent")
    st.plotly_chart(px.line(growth, x="year_month", y="percent", color="growth", markers=True,
                            title="Month-over-month growth (%)"))
    st.dataframe(_money_columns(monthly, ["total_revenue", "avg_order_value", "avg_revenue_per_customer"]),
                 hide_index=True)


def clients() -> None:
    _header("Clients")
    summary = data("summary")
    currency = summary["currency"]
    segments = _segments(summary)
    left, right = st.columns(2)
    left.plotly_chart(px.pie(segments, names="segment", values="clients", title="RFM segments (all clients)"))
    top = data("clients", "total_spent", 10)
    right.subheader("Top 10 clients by lifetime value")
    right.dataframe(_money_columns(top[["id_client", "name", "country", "total_spent", "total_purchases",
                                        "avg_order_value", "purchase_frequency_per_month", "rfm_segment"]],
                                   ["total_spent", "avg_order_value"]), hide_index=True)
    sample = data("clients", "total_spent", CLIENT_SAMPLE)
    scope = "all clients" if len(sample) >= summary["total_customers"] else f"the {len(sample):,} largest spenders"
    left, right = st.columns(2)
    left.plotly_chart(px.histogram(sample, x="total_spent", nbins=40,
                                   title=f"Lifetime value ({currency}), {scope}"))
    right.plotly_chart(px.histogram(sample, x="purchase_frequency_per_month", nbins=40,
                                    title=f"Purchase frequency (orders per month), {scope}"))


def products() -> None:
    _header("Products")
    currency = _currency()
    table = data("products")
    left, right = st.columns(2)
    left.plotly_chart(px.bar(table, x="product", y="total_revenue", title=f"Revenue per product ({currency})"))
    right.plotly_chart(px.pie(table, names="product", values="market_share_pct", title="Market share (%)"))
    prices = go.Figure([go.Bar(x=table["product"], y=table[c], name=c.replace("_", " "))
                        for c in ("min_price", "avg_price", "max_price")])
    prices.update_layout(barmode="group", title=f"Unit price range ({currency})")
    left, right = st.columns(2)
    left.plotly_chart(prices)
    right.plotly_chart(px.bar(table, x="product", y="unique_customers", title="Unique customers per product"))
    st.dataframe(_money_columns(table, ["total_revenue", "avg_price", "min_price", "max_price"]), hide_index=True)


def geography() -> None:
    _header("Geography")
    currency = _currency()
    table = data("countries")
    left, right = st.columns(2)
    left.plotly_chart(px.bar(table, x="country", y="total_revenue", title=f"Revenue per country ({currency})"))
    right.plotly_chart(px.pie(table, names="country", values="market_share_pct", title="Market share (%)"))
    left, right = st.columns(2)
    left.plotly_chart(px.bar(table, x="country", y="avg_order_value", title=f"Average basket ({currency})"))
    right.plotly_chart(px.bar(table, x="country", y="unique_customers", title="Clients per country"))
    st.dataframe(_money_columns(table, ["total_revenue", "avg_order_value", "avg_revenue_per_customer"]),
                 hide_index=True)


def _box(name: str, section: dict[str, Any]) -> go.Box:
    # Gold keeps quartiles and extremes, not the values: the box is drawn from them.
    return go.Box(name=name, q1=[section["q25"]], median=[section["median"]], q3=[section["q75"]],
                  lowerfence=[section["min"]], upperfence=[section["max"]], mean=[section["mean"]])


def statistics() -> None:
    _header("Statistics")
    currency = _currency()
    stats = data("statistics")
    order_value, quantity, price = (stats["order_value_distribution"], stats["quantity_distribution"],
                                    stats["price_distribution"])
    left, right = st.columns(2)
    left.plotly_chart(go.Figure([_box("order value", order_value)],
                                layout={"title": f"Order value ({currency}): min, quartiles, max"}))
    percentiles = pd.DataFrame({"percentile": ["min", "25", "50", "75", "90", "95", "max"],
                                "order value": [order_value[k] for k in ("min", "q25", "median", "q75", "q90", "q95", "max")]})
    right.plotly_chart(px.line(percentiles, x="percentile", y="order value", markers=True,
                               title=f"Order value percentiles ({currency})"))
    rows = [{"distribution": name, **section} for name, section in
            (("order value", order_value), ("quantity", quantity), ("unit price", price))]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.subheader("Overall")
    st.dataframe(pd.DataFrame([stats["overall_metrics"]]), hide_index=True)


#: (title, url path, page function) of the six pages, in the sidebar's order.
PAGES = (("Overview", "overview", overview), ("Temporal analysis", "temporal", temporal),
         ("Clients", "clients", clients), ("Products", "products", products),
         ("Geography", "geography", geography), ("Statistics", "statistics", statistics))
