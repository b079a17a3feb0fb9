"""The pandas engine's gold layer: the fact table and the business tables from silver Arrow tables.

Grouping with pandas, exact integer cents for money (:mod:`medallion.engines.pandas_arrow`);
the JSON documents are :mod:`medallion.engines.pandas_documents`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medallion import contract as C
from medallion.engines.pandas_arrow import cents_to_decimal, decimal_to_cents, div_half_up, ratio_2dp, to_date32, to_days

# --- gold ---------------------------------------------------------------------------------------------

def iso_calendar(days: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar attributes of day numbers (days since 1970-01-01).

    Returns int arrays ``year, month, quarter, iso_year, iso_week, iso_weekday`` (ISO 8601:
    Monday = 1, week 1 holds the year's first Thursday).
    """
    days = np.asarray(days, dtype=np.int64)
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    weekday = (days + 3) % 7 + 1  # 1970-01-01 was a Thursday
    thursday = days - (weekday - 1) + 3
    iso_year = thursday.astype("datetime64[D]").astype("datetime64[Y]")
    jan1 = iso_year.astype("datetime64[D]").astype(np.int64)
    iso_week = (thursday - jan1) // 7 + 1
    return {"year": year, "month": month, "quarter": (month - 1) // 3 + 1,
            "iso_year": iso_year.astype(np.int64) + 1970, "iso_week": iso_week, "iso_weekday": weekday}


def _labels(codes: np.ndarray, formatter) -> pa.Array:
    """Format each distinct integer code once, then expand to a string array."""
    unique, inverse = np.unique(codes, return_inverse=True)
    labels = pa.array([formatter(int(code)) for code in unique], type=pa.string())
    return labels.take(pa.array(inverse.astype(np.int32)))


def _sorted_codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode strings: (int64 code per row, labels) with codes in label order.

    Labels sort by code point, which is the UTF-8 byte order Spark sorts strings by.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    encoded = pc.dictionary_encode(values)
    labels = encoded.dictionary.to_pylist()
    order = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels))
    codes = rank[np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)] \
        if len(labels) else np.zeros(len(values), dtype=np.int64)
    return codes, [labels[i] for i in order]


@dataclass
class Fact:
    """fact_sales, built once and reused by every aggregate.

    ``frame`` holds numbers only (money in int64 cents, dates as int64 day numbers, ``product`` and
    ``country`` as codes into :attr:`products` / :attr:`countries`, ``client_row`` as the row of the
    client in :attr:`clients`); the strings stay in Arrow until a table is written.
    """

    frame: pd.DataFrame
    clients: pa.Table
    products: list[str]
    countries: list[str]


def build_fact(purchases: pa.Table, clients: pa.Table) -> Fact:
    """fact_sales: silver purchases inner-joined to silver clients on ``id_client``, with calendar columns.

    Frame columns: ``id_purchase, id_client, client_row, product, country, price, quantity, total,
    purchase_date, subscription_date, year_week_code`` (ISO year x 100 + week),
    ``year_month_code`` (year x 100 + month), ``week_ordinal`` and ``month_ordinal`` (consecutive
    calendar periods differ by 1). The other calendar columns of fact_sales are derived from
    ``purchase_date`` when the table is written (:func:`fact_table`).
    """
    client_ids = np.asarray(clients.column("id_client").to_numpy(), dtype=np.int64)
    row = pd.Index(client_ids).get_indexer(np.asarray(purchases.column("id_client").to_numpy(), dtype=np.int64))
    matched = row >= 0
    if not matched.all():  # silver guarantees every purchase has its client; an inner join drops others
        purchases = purchases.filter(pa.array(matched))
        row = row[matched]
    product, products = _sorted_codes(purchases.column("product"))
    client_country, countries = _sorted_codes(clients.column("country"))
    day = to_days(purchases.column("purchase_date"))
    subscription = to_days(clients.column("subscription_date"))[row]
    cal = iso_calendar(day)
    frame = pd.DataFrame({
        "id_purchase": np.asarray(purchases.column("id_purchase").to_numpy(), dtype=np.int64),
        "id_client": client_ids[row],
        "client_row": row.astype(np.int64),
        "product": product,
        "country": client_country[row],
        "price": decimal_to_cents(purchases.column("price")),
        "quantity": np.asarray(purchases.column("quantity").to_numpy(), dtype=np.int64),
        "total": decimal_to_cents(purchases.column("total")),
        "purchase_date": day,
        "subscription_date": subscription,
        "year_week_code": cal["iso_year"] * 100 + cal["iso_week"],
        "year_month_code": cal["year"] * 100 + cal["month"],
        # 1970-01-05 was a Monday: Monday-based week numbers; months counted from year 0.
        "week_ordinal": (day - (cal["iso_weekday"] - 1) - 4) // 7,
        "month_ordinal": cal["year"] * 12 + cal["month"] - 1,
    })
    return Fact(frame=frame, clients=clients, products=products, countries=countries)


def _year_week_label(code: int) -> str:
    return f"{code // 100:04d}-W{code % 100:02d}"


def _year_month_label(code: int) -> str:
    return f"{code // 100:04d}-{code % 100:02d}"


def _int32(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64).astype(np.int32), pa.int32())


def _int64_array(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64())


def fact_table(fact: Fact) -> pa.Table:
    """fact_sales as Arrow, columns and types as in :mod:`medallion.metrics`, sorted by (year_month, id_purchase)."""
    f = fact.frame
    month, ids = f["year_month_code"].to_numpy(), f["id_purchase"].to_numpy()
    # Silver purchases are stored in this order, so the sort (1.4 s at 10M rows) is usually not needed.
    in_order = bool(((month[1:] > month[:-1]) | ((month[1:] == month[:-1]) & (ids[1:] >= ids[:-1]))).all())
    order = slice(None) if in_order else np.lexsort((ids, month))

    def col(name):
        return f[name].to_numpy()[order]

    client_rows = pa.array(col("client_row"))
    day, subscription = col("purchase_date"), col("subscription_date")
    cal = iso_calendar(day)
    weekday = cal["iso_weekday"]
    return pa.table({
        "id_purchase": _int64_array(col("id_purchase")),
        "id_client": _int64_array(col("id_client")),
        "product": pa.array(fact.products, pa.string()).take(pa.array(col("product"))),
        "price": cents_to_decimal(col("price")),
        "quantity": _int32(col("quantity")),
        "total": cents_to_decimal(col("total")),
        "purchase_date": to_date32(day),
        "name": fact.clients.column("name").take(client_rows),
        "email": fact.clients.column("email").take(client_rows),
        "country": fact.clients.column("country").take(client_rows),
        "subscription_date": to_date32(subscription),
        "purchase_year": _int32(cal["year"]),
        "purchase_month": _int32(cal["month"]),
        "purchase_quarter": _int32(cal["quarter"]),
        "purchase_week": _int32(cal["iso_week"]),
        "purchase_day_of_week": _int32(weekday),
        "purchase_day_name": pa.array(C.DAY_NAMES, pa.string()).take(pa.array(weekday - 1)),
        "year_month": _labels(col("year_month_code"), _year_month_label),
        "year_week": _labels(col("year_week_code"), _year_week_label),
        "customer_tenure_days": _int32(day - subscription),
    })


def _scores(rank_le: np.ndarray, n: int) -> np.ndarray:
    """``ceil(S * k / n)`` on integers (S: ``RFM_SCORE_MAX``), ``k`` = rows whose goodness is <= this
    row's (cume_dist)."""
    return (C.RFM_SCORE_MAX * np.asarray(rank_le, dtype=np.int64) + n - 1) // n


def client_kpis(fact: Fact, as_of_day: int) -> pd.DataFrame:
    """client_kpis (issue 4) as a frame sorted by id_client; money in cents, dates as day numbers.

    Recency/lifetime are days before the as-of date; ``is_high_value`` compares total_spent with the
    median over these clients exactly (cents); RFM scores are ``ceil(5 x cume_dist)`` over
    ascending goodness (recency: fewer days is better; ties share a score), segments as in the issue.
    """
    kpis = fact.frame.groupby("id_client", sort=True).agg(
        client_row=("client_row", "first"),
        total_purchases=("id_purchase", "size"), total_spent=("total", "sum"),
        min_order_value=("total", "min"), max_order_value=("total", "max"),
        total_quantity=("quantity", "sum"), first_purchase_date=("purchase_date", "min"),
        last_purchase_date=("purchase_date", "max"), subscription_date=("subscription_date", "first"),
    ).reset_index()
    count = kpis["total_purchases"].to_numpy(np.int64)
    spent = kpis["total_spent"].to_numpy(np.int64)
    kpis["avg_order_value"] = div_half_up(spent, count)
    lifetime = as_of_day - kpis["first_purchase_date"].to_numpy(np.int64)
    kpis["customer_lifetime_days"] = lifetime
    # total_purchases / max(lifetime / 30, 1) = 30 * total_purchases / max(lifetime, 30)
    kpis["purchase_frequency_per_month"] = ratio_2dp(30 * count, np.maximum(lifetime, 30))
    recency = as_of_day - kpis["last_purchase_date"].to_numpy(np.int64)
    kpis["days_since_last_purchase"] = recency
    kpis["is_active"] = recency <= C.ACTIVE_DAYS
    n = len(spent)
    if n:
        ordered = np.sort(spent)
        twice_median = 2 * ordered[n // 2] if n % 2 else ordered[n // 2 - 1] + ordered[n // 2]
        kpis["is_high_value"] = 2 * spent > twice_median
        r = _scores(pd.Series(recency).rank(method="max", ascending=False).to_numpy(), n)
        f = _scores(pd.Series(count).rank(method="max").to_numpy(), n)
        m = _scores(pd.Series(spent).rank(method="max").to_numpy(), n)
    else:
        kpis["is_high_value"] = np.zeros(0, dtype=bool)
        r = f = m = np.zeros(0, dtype=np.int64)
    fm = (f + m + 1) // 2
    kpis["r_score"], kpis["f_score"], kpis["m_score"] = r, f, m
    kpis["rfm_segment"] = np.select(
        [(r >= rule.r_min) & (r <= rule.r_max) & (fm >= rule.fm_min) for rule in C.RFM_SEGMENT_RULES],
        [rule.segment for rule in C.RFM_SEGMENT_RULES], default=None)
    return kpis


def client_kpis_table(kpis: pd.DataFrame, fact: Fact) -> pa.Table:
    """client_kpis as Arrow (columns and types as in :mod:`medallion.metrics`)."""
    rows = pa.array(kpis["client_row"].to_numpy(np.int64))
    return pa.table({
        "id_client": _int64_array(kpis["id_client"]),
        "name": fact.clients.column("name").take(rows),
        "email": fact.clients.column("email").take(rows),
        "country": fact.clients.column("country").take(rows),
        "subscription_date": to_date32(kpis["subscription_date"].to_numpy()),
        "total_purchases": _int64_array(kpis["total_purchases"]),
        "total_spent": cents_to_decimal(kpis["total_spent"].to_numpy()),
        "avg_order_value": cents_to_decimal(kpis["avg_order_value"].to_numpy()),
        "min_order_value": cents_to_decimal(kpis["min_order_value"].to_numpy()),
        "max_order_value": cents_to_decimal(kpis["max_order_value"].to_numpy()),
        "total_quantity": _int64_array(kpis["total_quantity"]),
        "first_purchase_date": to_date32(kpis["first_purchase_date"].to_numpy()),
        "last_purchase_date": to_date32(kpis["last_purchase_date"].to_numpy()),
        "customer_lifetime_days": _int32(kpis["customer_lifetime_days"]),
        "purchase_frequency_per_month": pa.array(kpis["purchase_frequency_per_month"].to_numpy(), pa.float64()),
        "days_since_last_purchase": _int32(kpis["days_since_last_purchase"]),
        "is_active": pa.array(kpis["is_active"].to_numpy(bool), pa.bool_()),
        "is_high_value": pa.array(kpis["is_high_value"].to_numpy(bool), pa.bool_()),
        "r_score": _int32(kpis["r_score"]),
        "f_score": _int32(kpis["f_score"]),
        "m_score": _int32(kpis["m_score"]),
        "rfm_segment": pa.array(kpis["rfm_segment"].to_numpy(), pa.string()),
    })


#: Largest (keys x clients) boolean matrix used to count distinct clients per key (bytes).
_BITMAP_CELLS = 256 * 2**20


def _distinct_clients(frame: pd.DataFrame, key: str, clients: int) -> pd.Series:
    """Exact number of distinct clients per value of the integer column ``key`` (sorted index).

    ``clients`` is the number of client rows (``client_row`` is in ``0 .. clients - 1``). With few
    keys a keys x clients boolean matrix is marked (no hashing, no sort); otherwise the
    (key, client) pairs are packed into one int64 and hash-deduplicated.
    """
    keys = frame[key].to_numpy(np.int64)
    rows = frame["client_row"].to_numpy(np.int64)
    if not len(keys):
        return pd.Series([], dtype=np.int64)
    low = int(keys.min())
    span = int(keys.max()) - low + 1
    present = np.flatnonzero(np.bincount(keys - low, minlength=span))
    if span * clients <= _BITMAP_CELLS:
        seen = np.zeros((span, clients), dtype=bool)
        seen[keys - low, rows] = True
        per_key = seen.sum(axis=1)
    else:
        packed = pd.unique((keys - low) * clients + rows)
        per_key = np.bincount(packed // clients, minlength=span)
    return pd.Series(per_key[present], index=present + low)


def _sums(frame: pd.DataFrame, key: str, clients: int) -> pd.DataFrame:
    """Per ``key`` (sorted): revenue and price sums (cents), orders, quantity, distinct clients."""
    sums = frame.groupby(key, sort=True).agg(
        total_revenue=("total", "sum"), total_orders=("id_purchase", "size"),
        total_quantity=("quantity", "sum"), price_sum=("price", "sum"),
        min_price=("price", "min"), max_price=("price", "max"))
    sums["unique_customers"] = _distinct_clients(frame, key, clients)
    return sums.reset_index()


def _share(revenue: np.ndarray, total: int, rounding: str = C.MARKET_SHARE_ROUNDING) -> np.ndarray:
    """Percent shares of ``revenue`` (cents, rows in key order) in ``total``, rounded to 0.01 by ``rounding``.

    ``largest_remainder`` (``contract.ROUNDING_POLICIES``): each share is its exact value rounded
    down to 0.01, then the rows with the largest remainders (ties by key, i.e. row order) get 0.01
    more until the shares add up to exactly 100.00; ``half_up``: each share on its own. All in
    integers: the exact share in 0.01 % is ``10000 * revenue / total``. NaN (null) for every row
    when ``total`` is 0.
    """
    revenue = np.asarray(revenue, dtype=np.int64)
    if total == 0:
        return np.full(len(revenue), np.nan)
    if rounding == "half_up":
        return div_half_up(revenue * 10000, total) / 100.0
    if rounding != "largest_remainder":
        raise ValueError(f"unknown rounding {rounding!r}; one of {', '.join(C.ROUNDING_POLICIES)}")
    floor, remainder = np.divmod(revenue * 10000, total)
    missing = 10000 - int(floor.sum())
    by_remainder = np.lexsort((np.arange(len(revenue)), -remainder))
    floor[by_remainder[:missing]] += 1
    return floor / 100.0


def product_analytics(fact: Fact) -> pa.Table:
    """product_analytics (issue 4): per product, money exact, shares of total revenue in percent."""
    frame = fact.frame
    agg = _sums(frame, "product", fact.clients.num_rows)
    orders = agg["total_orders"].to_numpy(np.int64)
    revenue = agg["total_revenue"].to_numpy(np.int64)
    quantity = agg["total_quantity"].to_numpy(np.int64)
    by_country = frame.groupby(["product", "country"], sort=True)["total"].sum().reset_index()
    by_country = by_country.sort_values(["product", "total", "country"], ascending=[True, False, True],
                                        kind="stable")
    top = by_country.groupby("product", sort=True).head(3)
    labels = np.array(fact.countries, dtype=object)
    top_countries = pd.Series(labels[top["country"].to_numpy()], index=top["product"].to_numpy()) \
        .groupby(level=0, sort=True).agg(", ".join)
    return pa.table({
        "product": pa.array([fact.products[c] for c in agg["product"]], pa.string()),
        "total_quantity_sold": _int64_array(quantity),
        "total_revenue": cents_to_decimal(revenue),
        "avg_price": cents_to_decimal(div_half_up(agg["price_sum"].to_numpy(np.int64), orders)),
        "min_price": cents_to_decimal(agg["min_price"].to_numpy(np.int64)),
        "max_price": cents_to_decimal(agg["max_price"].to_numpy(np.int64)),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(agg["unique_customers"]),
        "avg_quantity_per_order": pa.array(ratio_2dp(quantity, orders), pa.float64()),
        "market_share_pct": pa.array(_share(revenue, int(revenue.sum())), pa.float64()),
        "top_countries": pa.array(top_countries.reindex(agg["product"]).to_numpy(), pa.string()),
    })


def country_analytics(fact: Fact) -> pa.Table:
    """country_analytics (issue 4): per client country, averages half-up to cents, share in percent."""
    agg = _sums(fact.frame, "country", fact.clients.num_rows)
    revenue = agg["total_revenue"].to_numpy(np.int64)
    orders = agg["total_orders"].to_numpy(np.int64)
    customers = agg["unique_customers"].to_numpy(np.int64)
    return pa.table({
        "country": pa.array([fact.countries[c] for c in agg["country"]], pa.string()),
        "total_revenue": cents_to_decimal(revenue),
        "unique_customers": _int64_array(customers),
        "total_orders": _int64_array(orders),
        "total_quantity": _int64_array(agg["total_quantity"]),
        "avg_order_value": cents_to_decimal(div_half_up(revenue, orders)),
        "avg_revenue_per_customer": cents_to_decimal(div_half_up(revenue, customers)),
        "market_share_pct": pa.array(_share(revenue, int(revenue.sum())), pa.float64()),
    })


def _growth(values: np.ndarray, ordinal: np.ndarray | None = None) -> np.ndarray:
    """Percent change vs the previous period, 2 decimals half-up, as float64 (NaN = null).

    Rows are sorted periods; ``ordinal`` numbers the calendar periods (consecutive periods differ by
    1). The growth is null when the previous calendar period has no row (first row, or a gap in
    ``ordinal``) or its value is 0.
    """
    values = np.asarray(values, dtype=np.int64)
    previous = np.concatenate([[0], values[:-1]]) if len(values) else values
    if ordinal is not None and len(values):
        ordinal = np.asarray(ordinal, dtype=np.int64)
        adjacent = np.concatenate([[False], ordinal[1:] - ordinal[:-1] == 1])
        previous = np.where(adjacent, previous, 0)
    return ratio_2dp(values - previous, previous, scale=100)


def _nullable(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.float64(), from_pandas=True)


def daily_sales(fact: Fact) -> pa.Table:
    """daily_sales (issue 4): every calendar day from the first to the last purchase date.

    Days without sales are zeros. ``revenue_7day_avg`` (cents, half-up) and ``orders_7day_avg``
    (2 decimals) average the trailing 7 calendar days including the day, over fewer days at the start
    (pandas ``rolling(7, min_periods=1)``). ``revenue_growth_pct`` is vs the previous day, null when
    that day's revenue is zero or there is none.
    """
    sums = _sums(fact.frame, "purchase_date", fact.clients.num_rows)
    if len(sums):
        first, last = int(sums["purchase_date"].iloc[0]), int(sums["purchase_date"].iloc[-1])
        calendar = pd.DataFrame({"purchase_date": np.arange(first, last + 1, dtype=np.int64)})
        sums = calendar.merge(sums, on="purchase_date", how="left").fillna(0)
    revenue = sums["total_revenue"].to_numpy(np.int64)
    orders = sums["total_orders"].to_numpy(np.int64)
    window = np.minimum(np.arange(1, len(sums) + 1), 7).astype(np.int64)

    def trailing(values):
        cumulative = np.concatenate([[0], np.cumsum(values)])
        idx = np.arange(1, len(values) + 1)
        return cumulative[idx] - cumulative[np.maximum(idx - 7, 0)]

    return pa.table({
        "date": to_date32(sums["purchase_date"].to_numpy(np.int64)),
        "total_revenue": cents_to_decimal(revenue),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(sums["unique_customers"]),
        "total_quantity": _int64_array(sums["total_quantity"]),
        "revenue_7day_avg": cents_to_decimal(div_half_up(trailing(revenue), window)),
        "orders_7day_avg": pa.array(ratio_2dp(trailing(orders), window), pa.float64()),
        "revenue_growth_pct": _nullable(_growth(revenue)),
    })


def weekly_sales(fact: Fact) -> pa.Table:
    """weekly_sales (issue 4): per ISO week with sales (``YYYY-Www``); growth vs the previous calendar ISO week."""
    sums = _sums(fact.frame, "week_ordinal", fact.clients.num_rows)
    codes = fact.frame.groupby("week_ordinal", sort=True)["year_week_code"].first().to_numpy()
    revenue = sums["total_revenue"].to_numpy(np.int64)
    orders = sums["total_orders"].to_numpy(np.int64)
    return pa.table({
        "year_week": pa.array([_year_week_label(int(c)) for c in codes], pa.string()),
        "total_revenue": cents_to_decimal(revenue),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(sums["unique_customers"]),
        "total_quantity": _int64_array(sums["total_quantity"]),
        "avg_order_value": cents_to_decimal(div_half_up(revenue, orders)),
        "revenue_growth_pct": _nullable(_growth(revenue, sums["week_ordinal"])),
    })


def monthly_sales(fact: Fact) -> pa.Table:
    """monthly_sales (issue 4): per ``YYYY-MM`` with sales; growth of revenue, orders and customers
    vs the previous calendar month (null when that month has no row or a zero base)."""
    sums = _sums(fact.frame, "month_ordinal", fact.clients.num_rows)
    months = sums["month_ordinal"].to_numpy(np.int64)
    revenue = sums["total_revenue"].to_numpy(np.int64)
    orders = sums["total_orders"].to_numpy(np.int64)
    customers = sums["unique_customers"].to_numpy(np.int64)
    return pa.table({
        "year_month": pa.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months], pa.string()),
        "total_revenue": cents_to_decimal(revenue),
        "total_orders": _int64_array(orders),
        "unique_customers": _int64_array(customers),
        "total_quantity": _int64_array(sums["total_quantity"]),
        "avg_order_value": cents_to_decimal(div_half_up(revenue, orders)),
        "avg_revenue_per_customer": cents_to_decimal(div_half_up(revenue, customers)),
        "revenue_growth_pct": _nullable(_growth(revenue, months)),
        "orders_growth_pct": _nullable(_growth(orders, months)),
        "customers_growth_pct": _nullable(_growth(customers, months)),
    })
