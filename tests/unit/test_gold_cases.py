"""The gold case table: small silver inputs and their gold values, worked out by hand, for every engine.

Each case builds the gold tables and documents of a few hand-made silver rows with the Spark
transforms and with the pandas engine and checks the same expected values (exact: money to the
cent, every 2-decimal value equal). Expected values are worked out in the comments next to them
(or recounted with the standard library), never taken from the code under test.
"""

from __future__ import annotations

import functools
import statistics
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
import pytest

from medallion.contract import RFM_SEGMENTS, SILVER_SCHEMAS
from medallion.metrics import SUMMARY_FIELDS, TABLE_KEYS

ENGINES = pytest.mark.parametrize("engine", ["pandas", "spark"])
#: As-of date of the cases whose values do not depend on it (calendar tables, distributions).
AS_OF_LATER = "2025-12-31"
SILVER_VERSIONS = {"clients": 3, "purchases": 4}


def d(text: str) -> date:
    return date.fromisoformat(text)


def m(text: str) -> Decimal:
    return Decimal(text)


class _Collected(dict):
    """Gold rows by table name, each table collected when first read."""

    def __init__(self, collect):
        super().__init__()
        self._collect = collect

    def __missing__(self, name: str) -> list[dict[str, Any]]:
        self[name] = rows = self._collect(name)
        return rows


class Gold:
    """One engine's gold tables (``tables[name]``: rows as dicts), ``distributions`` and ``summary``."""

    def __init__(self, tables, distributions, summary):
        self.tables, self._distributions, self._summary = tables, distributions, summary

    @functools.cached_property
    def distributions(self) -> dict[str, Any]:
        return self._distributions()

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        return self._summary()


_built: dict[tuple, Gold] = {}


def gold_of(engine: str, request, clients: list[tuple], purchases: list[tuple], as_of: str) -> Gold:
    """Every gold table and document of one engine from silver rows.

    ``clients``: (id_client, country, subscription_date); ``purchases``: (id_purchase, id_client,
    product, price, quantity, purchase_date), ``total = price x quantity`` as silver guarantees.
    Built once per engine and input (several cases read the same one); Spark computes only what a
    case reads.
    """
    key = (engine, repr(clients), repr(purchases), as_of)
    if key in _built:
        return _built[key]
    client_rows = [(cid, f"Client {cid}", f"c{cid}@example.com", d(sub), country) for cid, country, sub in clients]
    purchase_rows = [(pid, cid, product, m(price), qty, d(day), m(price) * qty, day[:7])
                     for pid, cid, product, price, qty, day in purchases]
    if engine == "pandas":
        from medallion.engines import pandas_engine as pe
        from medallion.engines.pandas_arrow import silver_arrow_schema

        def arrow(dataset, rows):
            schema = silver_arrow_schema(dataset)
            return pa.Table.from_pylist([dict(zip(schema.names, row)) for row in rows], schema=schema)

        tables, distributions, summary = pe.build_gold(arrow("purchases", purchase_rows), arrow("clients", client_rows),
                                                       as_of, "r-1", SILVER_VERSIONS)
        built = Gold({name: table.to_pylist() for name, table in tables.items()},
                     lambda: distributions, lambda: summary)
    else:
        from medallion.spark import gold_documents as gd
        from medallion.spark import gold_tables as gt

        spark = request.getfixturevalue("spark")

        def frame(dataset, rows):
            return spark.createDataFrame(rows, ", ".join(f"{c} {t}" for c, t in SILVER_SCHEMAS[dataset]))

        clients_df = frame("clients", client_rows)
        fact = gt.build_fact_sales(clients_df, frame("purchases", purchase_rows))
        frames = {
            "fact_sales": lambda: fact,
            "client_kpis": lambda: gt.client_kpis(fact, clients_df, as_of),
            "product_analytics": lambda: gt.product_analytics(gt.product_country_cube(fact)),
            "country_analytics": lambda: gt.country_analytics(gt.product_country_cube(fact)),
            "daily_sales": lambda: gt.daily_sales(gt.day_cube(fact)),
            "weekly_sales": lambda: gt.weekly_sales(gt.day_cube(fact)),
            "monthly_sales": lambda: gt.monthly_sales(gt.day_cube(fact)),
        }

        def summary():
            tables = {name: table.cache() for name, table in gt.gold_tables(fact, clients_df, as_of).items()}
            return gd.gold_summary(tables, run_id="r-1", as_of=as_of, silver_versions=SILVER_VERSIONS)

        built = Gold(_Collected(lambda name: sorted((row.asDict() for row in frames[name]().collect()),
                                                    key=lambda row: tuple(row[k] for k in TABLE_KEYS[name]))),
                     lambda: gd.statistical_distributions(fact), summary)
    _built[key] = built
    return built


def by_key(rows: list[dict], key: str) -> dict[Any, dict]:
    return {row[key]: row for row in rows}


def assert_rows(got: list[dict], rows: list[tuple], ddl: str) -> None:
    """``got`` holds exactly ``rows`` in the columns that ``ddl`` names (any row order)."""
    columns = [part.split()[0] for part in ddl.split(", ")]
    assert sorted((tuple(row[c] for c in columns) for row in got), key=lambda r: str(r[0])) == \
        sorted(rows, key=lambda r: str(r[0]))


# --- client_kpis --------------------------------------------------------------------------------


KPI_CLIENTS = [(1, "France", "2023-01-01"), (2, "Spain", "2023-06-01"), (3, "Italy", "2023-03-01"),
               (4, "UK", "2023-02-01"), (5, "USA", "2023-02-01")]  # client 5 never buys
KPI_PURCHASES = [
    (1, 1, "Mouse", "10.00", 2, "2024-01-01"),
    (2, 1, "Laptop", "100.00", 1, "2024-04-20"),
    (3, 2, "Phone", "300.00", 1, "2024-04-20"),
    (4, 3, "Mouse", "10.00", 1, "2024-01-15"),
    (5, 3, "Mouse", "10.01", 1, "2024-01-31"),
    (6, 4, "Laptop", "500.00", 2, "2023-12-01"),
]



@ENGINES
def test_client_kpis_values_recency_median_and_rfm_ties(engine, request):
    got = gold_of(engine, request, KPI_CLIENTS, KPI_PURCHASES, "2024-04-30").tables["client_kpis"]
    # As of 2024-04-30. Spent: c1 20.00+100.00 = 120.00, c2 300.00, c3 10.00+10.01 = 20.01,
    # c4 1000.00. Median of the even count 4 = (120.00 + 300.00) / 2 = 210.00 -> c2, c4 high value.
    # Lifetime (as-of - first purchase): c1 from 2024-01-01 = 31+29+31+29 = 120 days,
    # c2 10, c3 from 2024-01-15 = 106, c4 from 2023-12-01 = 151.
    # Frequency = n / max(days/30, 1): c1 2/4 = 0.5, c2 1/1 = 1.0, c3 2*30/106 = 0.566 -> 0.57,
    # c4 30/151 = 0.199 -> 0.2.
    # c3's average 20.01/2 = 10.005 rounds half-up to 10.01 (half-even would give 10.00).
    # Recency: c1 10, c2 10, c3 2024-01-31 -> 90 (still active: <= 90), c4 151.
    # R = ceil(5 * cume_dist) by recency descending (151, 90, 10, 10): c4 ceil(5/4) = 2,
    # c3 ceil(10/4) = 3, c1/c2 tie at cume_dist 4/4 -> 5.
    # F by total_purchases ascending (1, 1, 2, 2): c2/c4 ceil(5*2/4) = 3, c1/c3 5.
    # M by total_spent ascending (20.01, 120, 300, 1000): c3 2, c1 ceil(10/4) = 3, c2 ceil(15/4) = 4, c4 5.
    # FM = half-up((f+m)/2): c1 (5+3)/2 = 4, c2 3.5 -> 4, c3 3.5 -> 4, c4 4.
    # Segments: c1 R5 FM4 Champions, c2 Champions, c3 R3 FM4 Loyal Customers, c4 R2 FM4 At Risk.
    expected = (
        [
            (1, "France", 2, m("120.00"), m("60.00"), m("20.00"), m("100.00"), 3, d("2024-01-01"),
             d("2024-04-20"), 120, 0.5, 10, True, False, 5, 5, 3, "Champions"),
            (2, "Spain", 1, m("300.00"), m("300.00"), m("300.00"), m("300.00"), 1, d("2024-04-20"),
             d("2024-04-20"), 10, 1.0, 10, True, True, 5, 3, 4, "Champions"),
            (3, "Italy", 2, m("20.01"), m("10.01"), m("10.00"), m("10.01"), 2, d("2024-01-15"),
             d("2024-01-31"), 106, 0.57, 90, True, False, 3, 5, 2, "Loyal Customers"),
            (4, "UK", 1, m("1000.00"), m("1000.00"), m("1000.00"), m("1000.00"), 2, d("2023-12-01"),
             d("2023-12-01"), 151, 0.2, 151, False, True, 2, 3, 5, "At Risk"),
        ],
        "id_client bigint, country string, total_purchases bigint, total_spent decimal(18,2), "
        "avg_order_value decimal(18,2), min_order_value decimal(18,2), max_order_value decimal(18,2), "
        "total_quantity bigint, first_purchase_date date, last_purchase_date date, "
        "customer_lifetime_days int, purchase_frequency_per_month double, "
        "days_since_last_purchase int, is_active boolean, is_high_value boolean, r_score int, "
        "f_score int, m_score int, rfm_segment string",
    )
    assert_rows(got, *expected)


@ENGINES
def test_client_kpis_uses_the_run_date_not_the_wall_clock(engine, request):
    row = by_key(gold_of(engine, request, KPI_CLIENTS, KPI_PURCHASES, "2030-01-01").tables["client_kpis"], "id_client")[2]
    # 2024-04-20 -> 2030-01-01: 2024-04-20..2025-04-20 = 365, +4 years (one leap day, 2028) = 1826,
    # then 2029-04-20 -> 2030-01-01 = 256: total 2082 days.
    assert row["days_since_last_purchase"] == 2082
    assert row["is_active"] is False


@ENGINES
def test_rfm_scores_half_up_fm_and_strict_median(engine, request):
    # Five clients with distinct recency, frequency and spend: each score is the rank (n = 5).
    # Wanted (R, F, M): A (5,2,3), B (4,5,4), C (3,1,1), D (2,4,5), E (1,3,2).
    clients = [(cid, "France", "2023-01-01") for cid in range(1, 6)]
    as_of = "2024-06-30"
    purchases = []
    plan = {  # client: (number of purchases = F rank, unit price, last date)
        1: (2, "100.00", "2024-06-29"),  # A: 1 day ago, spend 200.00
        2: (5, "100.00", "2024-06-20"),  # B: 10 days, 500.00
        3: (1, "10.00", "2024-03-22"),   # C: 100 days, 10.00
        4: (4, "250.00", "2023-12-13"),  # D: 200 days, 1000.00
        5: (3, "20.00", "2023-09-04"),   # E: 300 days, 60.00
    }
    pid = 0
    for cid, (count, price, day) in plan.items():
        for _ in range(count):
            pid += 1
            purchases.append((pid, cid, "Mouse", price, 1, day))
    kpis = gold_of(engine, request, clients, purchases, as_of).tables["client_kpis"]
    got = {r["id_client"]: (r["days_since_last_purchase"], r["r_score"], r["f_score"], r["m_score"],
                            r["rfm_segment"], r["is_high_value"])
           for r in kpis}
    # FM: A (2+3)/2 = 2.5 -> 3 (half-up; half-even would give 2 and "Promising"), B 4.5 -> 5,
    # C 1, D 4.5 -> 5, E (3+2)/2 = 2.5 -> 3 (half-even would give "Hibernating").
    # Median spend of (10, 60, 200, 500, 1000) is 200.00: A equals it, so A is not high value.
    assert got == {
        1: (1, 5, 2, 3, "Loyal Customers", False),
        2: (10, 4, 5, 4, "Champions", True),
        3: (100, 3, 1, 1, "Need Attention", False),
        4: (200, 2, 4, 5, "At Risk", True),
        5: (300, 1, 3, 2, "At Risk", False),
    }



SALES_CLIENTS = [(1, "Belgium", "2023-01-01"), (2, "France", "2023-01-01"), (3, "Germany", "2023-01-01"),
                 (4, "Italy", "2023-01-01"), (5, "Italy", "2023-01-01")]
SALES_PURCHASES = [
    (1, 4, "Laptop", "200.00", 1, "2024-05-01"),
    (2, 5, "Laptop", "100.00", 1, "2024-05-01"),
    (3, 5, "Laptop", "100.00", 1, "2024-05-02"),
    (4, 1, "Laptop", "150.00", 1, "2024-05-02"),
    (5, 2, "Laptop", "150.00", 1, "2024-05-03"),
    (6, 3, "Laptop", "99.00", 1, "2024-05-03"),
    (7, 1, "Mouse", "0.48", 1, "2024-05-01"),
    (8, 2, "Mouse", "0.26", 2, "2024-05-03"),
]


@ENGINES
def test_product_analytics(engine, request):
    got = gold_of(engine, request, SALES_CLIENTS, SALES_PURCHASES, "2024-05-31").tables["product_analytics"]
    # Laptop: revenue 200+100+100+150+150+99 = 799.00 over 6 orders of 1 item; avg price
    # 799/6 = 133.1666 -> 133.17; 5 distinct clients. By country: Italy 400, Belgium 150 and
    # France 150 tie (Belgium first by name), Germany 99 is fourth and left out.
    # Mouse: 0.48 + 0.26*2 = 1.00 over 2 orders, 3 items; avg price (0.48+0.26)/2 = 0.37;
    # France 0.52 > Belgium 0.48.
    # Shares of 800.00 in units of 0.01 %: Laptop 9987.5, Mouse 12.5. Rounded down they add up to
    # 9999; the one missing unit goes to the largest remainder, a 0.5 tie won by name: Laptop.
    # So Laptop 99.88, Mouse 0.12, adding up to 100.00.
    expected = (
        [
            ("Laptop", 6, m("799.00"), m("133.17"), m("99.00"), m("200.00"), 6, 5, 1.0, 99.88,
             "Italy, Belgium, France"),
            ("Mouse", 3, m("1.00"), m("0.37"), m("0.26"), m("0.48"), 2, 2, 1.5, 0.12, "France, Belgium"),
        ],
        "product string, total_quantity_sold bigint, total_revenue decimal(18,2), "
        "avg_price decimal(18,2), min_price decimal(18,2), max_price decimal(18,2), "
        "total_orders bigint, unique_customers bigint, avg_quantity_per_order double, "
        "market_share_pct double, top_countries string",
    )
    assert_rows(got, *expected)


@ENGINES
def test_country_analytics(engine, request):
    got = gold_of(engine, request, SALES_CLIENTS, SALES_PURCHASES, "2024-05-31").tables["country_analytics"]
    # Belgium 150.00+0.48 = 150.48 (2 orders, 1 client): share 150.48/800 = 18.81 exactly;
    # France 150.00+0.52 = 150.52 (2 orders, 3 items): aov 75.26, share 18.815;
    # Germany 99.00: share 12.375; Italy 400.00 over 3 orders of 2 clients: aov 133.333 -> 133.33,
    # per customer 200.00, share 50.0. Rounded down the shares add up to 99.99: the missing 0.01
    # goes to the largest remainder, France and Germany tie at 0.005 -> France (by name):
    # France 18.82, Germany 12.37 (half-up rounding would give 12.38 and a total of 100.01).
    expected = (
        [
            ("Belgium", m("150.48"), 1, 2, 2, m("75.24"), m("150.48"), 18.81),
            ("France", m("150.52"), 1, 2, 3, m("75.26"), m("150.52"), 18.82),
            ("Germany", m("99.00"), 1, 1, 1, m("99.00"), m("99.00"), 12.37),
            ("Italy", m("400.00"), 2, 3, 3, m("133.33"), m("200.00"), 50.0),
        ],
        "country string, total_revenue decimal(18,2), unique_customers bigint, total_orders bigint, "
        "total_quantity bigint, avg_order_value decimal(18,2), avg_revenue_per_customer decimal(18,2), "
        "market_share_pct double",
    )
    assert_rows(got, *expected)


@ENGINES
def test_market_shares_of_equal_thirds_add_up_to_100(engine, request):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01"), (3, "UK", "2023-01-01")]
    purchases = [(1, 1, "Mouse", "10.00", 1, "2024-01-01"), (2, 2, "Phone", "10.00", 1, "2024-01-01"),
                 (3, 3, "Tablet", "10.00", 1, "2024-01-01")]
    tables = gold_of(engine, request, clients, purchases, "2024-01-31").tables
    # Each exact share is 33.333...: rounded down 3 x 33.33 = 99.99; the remainders tie, so the
    # first key gets the missing 0.01.
    products = {r["product"]: r["market_share_pct"] for r in tables["product_analytics"]}
    assert products == {"Mouse": 33.34, "Phone": 33.33, "Tablet": 33.33}
    countries = {r["country"]: r["market_share_pct"] for r in tables["country_analytics"]}
    assert countries == {"France": 33.34, "Spain": 33.33, "UK": 33.33}


# --- temporal tables ----------------------------------------------------------------------------


@ENGINES
def test_daily_sales_gap_filled_rolling_and_growth(engine, request):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [
        (1, 1, "Mouse", "60.00", 1, "2024-03-01"),
        (2, 2, "Mouse", "40.00", 1, "2024-03-01"),
        (3, 1, "Mouse", "50.00", 1, "2024-03-03"),
        (4, 1, "Mouse", "70.00", 1, "2024-03-10"),
        (5, 2, "Mouse", "35.00", 3, "2024-03-11"),
    ]
    got = gold_of(engine, request, clients, purchases, AS_OF_LATER).tables["daily_sales"]
    # Revenue per day 100, 0, 50, 0 x6, 70, 105. Trailing 7-day mean over the days that exist:
    # 03-01 100/1, 03-02 100/2, 03-03 150/3, 03-04 150/4 = 37.50, 03-05 150/5, 03-06 150/6,
    # 03-07 150/7 = 21.43, 03-08 (03-02..08) 50/7 = 7.14, 03-09 50/7, 03-10 (03-04..10) 70/7,
    # 03-11 (03-05..11) 175/7 = 25.00. Orders 2, 0, 1, 0.., 1, 1: 2/1, 2/2, 3/3, 3/4, 3/5, 3/6,
    # 3/7 = 0.43, 1/7 = 0.14 (x3), 2/7 = 0.29.
    # Growth vs previous day: 03-02 -100, then null after every zero day, 03-11 (105-70)/70 = 50.
    rows = [
        ("2024-03-01", "100.00", 2, 2, 2, "100.00", 2.0, None),
        ("2024-03-02", "0.00", 0, 0, 0, "50.00", 1.0, -100.0),
        ("2024-03-03", "50.00", 1, 1, 1, "50.00", 1.0, None),
        ("2024-03-04", "0.00", 0, 0, 0, "37.50", 0.75, -100.0),
        ("2024-03-05", "0.00", 0, 0, 0, "30.00", 0.6, None),
        ("2024-03-06", "0.00", 0, 0, 0, "25.00", 0.5, None),
        ("2024-03-07", "0.00", 0, 0, 0, "21.43", 0.43, None),
        ("2024-03-08", "0.00", 0, 0, 0, "7.14", 0.14, None),
        ("2024-03-09", "0.00", 0, 0, 0, "7.14", 0.14, None),
        ("2024-03-10", "70.00", 1, 1, 1, "10.00", 0.14, None),
        ("2024-03-11", "105.00", 1, 1, 3, "25.00", 0.29, 50.0),
    ]
    expected = (
        [(d(day), m(rev), o, c, q, m(avg), oavg, g) for day, rev, o, c, q, avg, oavg, g in rows],
        "date date, total_revenue decimal(18,2), total_orders bigint, unique_customers bigint, "
        "total_quantity bigint, revenue_7day_avg decimal(18,2), orders_7day_avg double, "
        "revenue_growth_pct double",
    )
    assert_rows(got, *expected)


@ENGINES
def test_weekly_sales_iso_year_boundary_and_missing_week(engine, request):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [
        (1, 1, "Mouse", "40.00", 1, "2024-12-23"),   # Monday, 2024-W52
        (2, 2, "Mouse", "60.00", 1, "2024-12-29"),   # Sunday, 2024-W52
        (3, 1, "Mouse", "100.00", 1, "2024-12-30"),  # Monday, 2025-W01
        (4, 1, "Mouse", "50.01", 1, "2025-01-05"),   # Sunday, 2025-W01
        (5, 2, "Mouse", "10.00", 3, "2025-01-13"),   # Monday, 2025-W03 (W02 has no sales)
    ]
    got = gold_of(engine, request, clients, purchases, AS_OF_LATER).tables["weekly_sales"]
    # W52 100.00 (2 orders, 2 clients); W01 150.01 (2 orders, 1 client): aov 75.005 -> 75.01,
    # growth (150.01-100)/100 = 50.01; W03 30.00: previous calendar week W02 absent -> null.
    expected = (
        [
            ("2024-W52", m("100.00"), 2, 2, 2, m("50.00"), None),
            ("2025-W01", m("150.01"), 2, 1, 2, m("75.01"), 50.01),
            ("2025-W03", m("30.00"), 1, 1, 3, m("30.00"), None),
        ],
        "year_week string, total_revenue decimal(18,2), total_orders bigint, unique_customers bigint, "
        "total_quantity bigint, avg_order_value decimal(18,2), revenue_growth_pct double",
    )
    assert_rows(got, *expected)


@ENGINES
def test_monthly_sales_growth_across_year_and_gap(engine, request):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [
        (1, 1, "Mouse", "120.00", 1, "2023-12-15"),
        (2, 1, "Mouse", "100.00", 1, "2024-01-02"),
        (3, 2, "Mouse", "50.00", 1, "2024-01-31"),
        (4, 1, "Mouse", "100.00", 1, "2024-02-01"),
        (5, 1, "Mouse", "100.00", 1, "2024-02-10"),
        (6, 1, "Mouse", "25.00", 1, "2024-02-29"),
        (7, 1, "Mouse", "10.00", 1, "2024-04-01"),  # March has no sales
    ]
    got = gold_of(engine, request, clients, purchases, AS_OF_LATER).tables["monthly_sales"]
    # Dec 120 (1 order, 1 client); Jan 150 (2, 2): growth revenue 30/120 = 25, orders 100,
    # clients 100; Feb 225 (3 orders, 1 client): aov 75, per client 225, revenue +50, orders +50,
    # clients -50; Apr 10: previous calendar month March is absent -> all growths null.
    expected = (
        [
            ("2023-12", m("120.00"), 1, 1, 1, m("120.00"), m("120.00"), None, None, None),
            ("2024-01", m("150.00"), 2, 2, 2, m("75.00"), m("75.00"), 25.0, 100.0, 100.0),
            ("2024-02", m("225.00"), 3, 1, 3, m("75.00"), m("225.00"), 50.0, 50.0, -50.0),
            ("2024-04", m("10.00"), 1, 1, 1, m("10.00"), m("10.00"), None, None, None),
        ],
        "year_month string, total_revenue decimal(18,2), total_orders bigint, unique_customers bigint, "
        "total_quantity bigint, avg_order_value decimal(18,2), avg_revenue_per_customer decimal(18,2), "
        "revenue_growth_pct double, orders_growth_pct double, customers_growth_pct double",
    )
    assert_rows(got, *expected)



def half_up(value) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@ENGINES
def test_statistical_distributions(engine, request):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [  # totals 10.00, 20.00, 20.01, 39.99; quantities 1, 1, 3, 3; prices 10, 20, 6.67, 13.33
        (1, 1, "Mouse", "10.00", 1, "2024-01-01"),
        (2, 2, "Mouse", "20.00", 1, "2024-01-02"),
        (3, 1, "Phone", "6.67", 3, "2024-01-03"),
        (4, 2, "Phone", "13.33", 3, "2024-01-04"),
    ]
    got = gold_of(engine, request, clients, purchases, "2024-01-31").distributions
    totals = [10.00, 20.00, 20.01, 39.99]
    prices = [10.00, 20.00, 6.67, 13.33]
    # Linear interpolation at position p * (n - 1) = 3p of the sorted values:
    # median 1.5 -> (20.00 + 20.01) / 2 = 20.005 -> 20.01 (half-up; half-even gives 20.00),
    # q25 0.75 -> 10 + 0.75 * 10 = 17.50, q75 2.25 -> 20.01 + 0.25 * 19.98 = 25.005 -> 25.01,
    # q90 2.7 -> 20.01 + 0.7 * 19.98 = 33.996 -> 34.00, q95 2.85 -> 20.01 + 0.85 * 19.98 = 36.993 -> 36.99.
    assert got["order_value_distribution"] == {
        "mean": 22.5,  # 90.00 / 4
        "median": 20.01, "q25": 17.5, "q75": 25.01, "q90": 34.0, "q95": 36.99,
        "std": half_up(statistics.stdev(totals)),  # sample std (ddof = 1)
        "min": 10.0, "max": 39.99,
    }
    assert half_up(statistics.stdev(totals)) == 12.58
    # Quantities 1, 1, 3, 3: 1 and 3 both appear twice -> mode is the smaller, 1.
    assert got["quantity_distribution"] == {"mean": 2.0, "median": 2.0, "mode": 1, "min": 1, "max": 3}
    # Prices sorted 6.67, 10.00, 13.33, 20.00: median (10.00 + 13.33) / 2 = 11.665 -> 11.67,
    # mean 50.00 / 4 = 12.50.
    assert got["price_distribution"] == {
        "mean": 12.5, "median": 11.67, "std": half_up(statistics.stdev(prices)), "min": 6.67, "max": 20.0,
    }
    assert got["overall_metrics"] == {
        "total_revenue": 90.0, "total_orders": 4, "total_customers": 2, "total_products": 2,
        "total_countries": 2, "avg_order_value": 22.5, "avg_items_per_order": 2.0,  # 8 items / 4
    }



@ENGINES
def test_gold_summary(engine, request):
    summary = gold_of(engine, request, SALES_CLIENTS, SALES_PURCHASES, "2024-05-31").summary
    # 8 purchases from 2024-05-01 to 2024-05-03 by 5 clients, 2 products, 4 countries.
    # Spend: c1 150.48, c2 150.52, c3 99.00, c4 200.00, c5 200.00 -> top client tie: id 4 first.
    # Recency 28-30 days: everyone active. Median spend 150.52 -> high value: c4, c5.
    assert summary["run_id"] == "r-1" and summary["as_of_date"] == "2024-05-31"
    assert summary["silver_versions"] == {"clients": 3, "purchases": 4}
    # Every field is in the glossary, in its order (run() adds "commit" once the tables are committed).
    assert [*summary, "commit"] == [name for name, _ in SUMMARY_FIELDS]
    assert summary["fact_sales"] == {"rows": 8, "first_purchase_date": "2024-05-01",
                                     "last_purchase_date": "2024-05-03"}
    # 150.48 + 150.52 + 99.00 + 200.00 + 200.00 (the clients' spend above).
    assert (summary["total_revenue"], summary["total_orders"], summary["total_customers"]) == (800.0, 8, 5)
    assert summary["counts"] == {"clients": 5, "products": 2, "countries": 4, "active_clients": 5,
                                 "high_value_clients": 2}
    assert sum(summary["rfm_segments"].values()) == 5
    assert list(summary["rfm_segments"]) == list(RFM_SEGMENTS)
    # Both ISO weeks / months: 2024-05-01..03 is one week (W18) and one month.
    assert summary["temporal_records"] == {"daily_sales": 3, "weekly_sales": 1, "monthly_sales": 1}
    assert summary["top_product"] == {"product": "Laptop", "total_revenue": 799.0}
    assert summary["top_country"] == {"country": "Italy", "total_revenue": 400.0}
    assert summary["top_client"] == {"id_client": 4, "name": "Client 4", "total_spent": 200.0}
    assert summary["tables"] == {"fact_sales": 8, "client_kpis": 5, "product_analytics": 2,
                                 "country_analytics": 4, "daily_sales": 3, "weekly_sales": 1,
                                 "monthly_sales": 1}


# --- a small month of sales (every table and document, hand-worked) --------------------------------

SMALL_CLIENTS = [(1, "France", "2024-12-01"), (2, "Spain", "2024-12-02"), (3, "Germany", "2025-01-15"),
                 (4, "Spain", "2024-01-01")]
SMALL_PURCHASES = [
    (1, 1, "Laptop", "10.00", 1, "2025-01-01"),
    (2, 1, "Mouse", "5.00", 2, "2025-01-02"),
    (3, 2, "Mouse", "5.00", 1, "2025-01-02"),
    (4, 3, "Laptop", "20.00", 1, "2025-01-10"),
    (5, 4, "Mouse", "0.01", 1, "2025-01-10"),
    (6, 4, "Mouse", "0.04", 1, "2025-01-10"),
]
SMALL_AS_OF = "2025-01-31"


def small(engine, request) -> tuple:
    """(tables, statistical_distributions, gold_summary) of the small month."""
    built = gold_of(engine, request, SMALL_CLIENTS, SMALL_PURCHASES, SMALL_AS_OF)
    return built.tables, built.distributions, built.summary


@ENGINES
def test_small_fact_sales_calendar_columns(engine, request):
    gold = small(engine, request)
    fact = {row["id_purchase"]: row for row in gold[0]["fact_sales"]}
    first = fact[1]  # 2025-01-01 is a Wednesday in ISO week 2025-W01
    assert (first["purchase_year"], first["purchase_month"], first["purchase_quarter"]) == (2025, 1, 1)
    assert (first["purchase_week"], first["purchase_day_of_week"], first["purchase_day_name"]) == (1, 3, "Wednesday")
    assert (first["year_month"], first["year_week"]) == ("2025-01", "2025-W01")
    assert first["customer_tenure_days"] == 31          # 2025-01-01 - 2024-12-01
    assert fact[4]["customer_tenure_days"] == -5        # bought 2025-01-10, subscribed 2025-01-15
    assert fact[4]["year_week"] == "2025-W02" and fact[4]["purchase_day_name"] == "Friday"
    assert fact[2]["name"] == "Client 1" and fact[3]["country"] == "Spain"


@ENGINES
def test_small_client_kpis_rfm_with_ties_and_half_up_average(engine, request):
    gold = small(engine, request)
    kpis = {row["id_client"]: row for row in gold[0]["client_kpis"]}
    assert [kpis[c]["total_spent"] for c in (1, 2, 3, 4)] == [Decimal("20.00"), Decimal("5.00"), Decimal("20.00"),
                                                              Decimal("0.05")]
    assert kpis[4]["avg_order_value"] == Decimal("0.03")     # 0.05 / 2 = 0.025 -> half-up
    assert (kpis[4]["min_order_value"], kpis[4]["max_order_value"]) == (Decimal("0.01"), Decimal("0.04"))
    assert kpis[1]["total_quantity"] == 3
    # as-of 2025-01-31: recency 29, 29, 21, 21; lifetime 30, 29, 21, 21
    assert [kpis[c]["days_since_last_purchase"] for c in (1, 2, 3, 4)] == [29, 29, 21, 21]
    assert [kpis[c]["customer_lifetime_days"] for c in (1, 2, 3, 4)] == [30, 29, 21, 21]
    assert [kpis[c]["purchase_frequency_per_month"] for c in (1, 2, 3, 4)] == [2.0, 1.0, 1.0, 2.0]
    assert all(kpis[c]["is_active"] for c in (1, 2, 3, 4))
    # median of [0.05, 5.00, 20.00, 20.00] = 12.50 -> high value: 20.00 only
    assert [kpis[c]["is_high_value"] for c in (1, 2, 3, 4)] == [True, False, True, False]
    # R: recency 29 has 2 of 4 rows as bad or worse -> ceil(2.5) = 3; recency 21 -> 5
    # F: counts 2,1,1,2 -> <= 2: 4 rows -> 5; <= 1: 2 rows -> 3
    # M: 20.00 -> 4 rows -> 5; 5.00 -> 2 -> 3; 0.05 -> 1 -> ceil(1.25) = 2
    assert [(kpis[c]["r_score"], kpis[c]["f_score"], kpis[c]["m_score"]) for c in (1, 2, 3, 4)] == [
        (3, 5, 5), (3, 3, 3), (5, 3, 5), (5, 5, 2)]
    # FM = 5, 3, 4, round_half_up(3.5) = 4
    assert [kpis[c]["rfm_segment"] for c in (1, 2, 3, 4)] == ["Loyal Customers", "Loyal Customers", "Champions",
                                                              "Champions"]


@ENGINES
def test_small_product_and_country_analytics(engine, request):
    gold = small(engine, request)
    products = {row["product"]: row for row in gold[0]["product_analytics"]}
    laptop, mouse = products["Laptop"], products["Mouse"]
    assert (laptop["total_quantity_sold"], laptop["total_revenue"], laptop["avg_price"]) == (2, Decimal("30.00"),
                                                                                           Decimal("15.00"))
    assert (laptop["total_orders"], laptop["unique_customers"], laptop["avg_quantity_per_order"]) == (2, 2, 1.0)
    assert laptop["top_countries"] == "Germany, France"
    # Mouse: prices 5, 5, 0.01, 0.04 -> mean 2.5125 -> 2.51; quantity 5 over 4 orders -> 1.25
    assert (mouse["avg_price"], mouse["min_price"], mouse["max_price"]) == (Decimal("2.51"), Decimal("0.01"),
                                                                          Decimal("5.00"))
    assert (mouse["total_revenue"], mouse["unique_customers"], mouse["avg_quantity_per_order"]) == (
        Decimal("15.05"), 3, 1.25)
    assert mouse["top_countries"] == "France, Spain"     # France 10.00, Spain 5.00 + 0.05
    # shares of 45.05: 30.00 -> 66.5927 -> 66.59; 15.05 -> 33.4073 -> 33.41
    assert (laptop["market_share_pct"], mouse["market_share_pct"]) == (66.59, 33.41)
    countries = {row["country"]: row for row in gold[0]["country_analytics"]}
    spain = countries["Spain"]
    assert (spain["total_revenue"], spain["unique_customers"], spain["total_orders"], spain["total_quantity"]) == (
        Decimal("5.05"), 2, 3, 3)
    assert (spain["avg_order_value"], spain["avg_revenue_per_customer"]) == (Decimal("1.68"), Decimal("2.53"))
    # Largest remainder over 45.05: exact 44.3951 %, 44.3951 %, 11.2097 % -> floors 44.39 + 44.39 + 11.20
    # = 99.98, two 0.01 to give: Spain (remainder .97) first, then France over Germany (tie .51, by name).
    assert [countries[c]["market_share_pct"] for c in ("France", "Germany", "Spain")] == [44.4, 44.39, 11.21]


@ENGINES
def test_small_daily_sales_gap_filled_rolling_window_and_growth(engine, request):
    gold = small(engine, request)
    daily = gold[0]["daily_sales"]
    assert [row["date"] for row in daily] == [date(2025, 1, d) for d in range(1, 11)]
    assert [row["total_revenue"] for row in daily] == [Decimal("10.00"), Decimal("15.00")] + [Decimal("0.00")] * 7 \
        + [Decimal("20.05")]
    assert [row["total_orders"] for row in daily] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 3]
    # trailing 7 days, fewer at the start: 10/1, 25/2, 25/3, 25/4, 25/5, 25/6, 25/7, 15/7, 0/7, 20.05/7
    assert [str(row["revenue_7day_avg"]) for row in daily] == [
        "10.00", "12.50", "8.33", "6.25", "5.00", "4.17", "3.57", "2.14", "0.00", "2.86"]
    assert [row["orders_7day_avg"] for row in daily] == [1.0, 1.5, 1.0, 0.75, 0.6, 0.5, 0.43, 0.29, 0.0, 0.43]
    growth = [row["revenue_growth_pct"] for row in daily]
    assert growth[:3] == [None, 50.0, -100.0]
    assert all(g is None for g in growth[3:])          # previous day had zero revenue


@ENGINES
def test_small_weekly_and_monthly_sales(engine, request):
    gold = small(engine, request)
    weekly = gold[0]["weekly_sales"]
    assert [row["year_week"] for row in weekly] == ["2025-W01", "2025-W02"]
    assert [row["total_revenue"] for row in weekly] == [Decimal("25.00"), Decimal("20.05")]
    assert [row["avg_order_value"] for row in weekly] == [Decimal("8.33"), Decimal("6.68")]
    assert [row["unique_customers"] for row in weekly] == [2, 2]
    assert [row["revenue_growth_pct"] for row in weekly] == [None, -19.8]   # (20.05 - 25) / 25
    monthly = gold[0]["monthly_sales"]
    assert len(monthly) == 1 and monthly[0]["year_month"] == "2025-01"
    assert (monthly[0]["total_revenue"], monthly[0]["unique_customers"], monthly[0]["avg_revenue_per_customer"]) == (
        Decimal("45.05"), 4, Decimal("11.26"))
    assert monthly[0]["revenue_growth_pct"] is None


@ENGINES
def test_small_statistical_distributions(engine, request):
    gold = small(engine, request)
    stats = gold[1]
    totals = [Decimal(x) for x in ("10.00", "10.00", "5.00", "20.00", "0.01", "0.04")]
    order = stats["order_value_distribution"]
    # sorted 0.01 0.04 5 10 10 20: median (5+10)/2; q25 at 1.25 -> 0.04 + 0.25 * 4.96; q90 at 4.5; q95 at 4.75
    assert (order["mean"], order["median"], order["q25"], order["q75"], order["q90"], order["q95"]) == (
        7.51, 7.5, 1.28, 10.0, 15.0, 17.5)
    assert (order["min"], order["max"]) == (0.01, 20.0)
    assert order["std"] == round(float(statistics.stdev(totals)), 2)
    quantity = stats["quantity_distribution"]
    assert quantity == {"mean": 1.17, "median": 1.0, "mode": 1, "min": 1, "max": 2}
    price = stats["price_distribution"]
    assert price["mean"] == 6.68        # 40.05 / 6 = 6.675 -> half-up
    assert (price["median"], price["min"], price["max"]) == (5.0, 0.01, 20.0)
    prices = [Decimal(x) for x in ("10.00", "5.00", "5.00", "20.00", "0.01", "0.04")]
    assert price["std"] == round(float(statistics.stdev(prices)), 2)
    assert stats["overall_metrics"] == {"total_revenue": 45.05, "total_orders": 6, "total_customers": 4,
                                        "total_products": 2, "total_countries": 3, "avg_order_value": 7.51,
                                        "avg_items_per_order": 1.17}


@ENGINES
def test_small_gold_summary(engine, request):
    gold = small(engine, request)
    summary = gold[2]
    assert summary["fact_sales"] == {"rows": 6, "first_purchase_date": "2025-01-01",
                                     "last_purchase_date": "2025-01-10"}
    assert summary["counts"] == {"clients": 4, "products": 2, "countries": 3, "active_clients": 4,
                                 "high_value_clients": 2}
    assert summary["rfm_segments"] == {"Champions": 2, "Loyal Customers": 2, "Promising": 0, "At Risk": 0,
                                       "Hibernating": 0, "Need Attention": 0}
    assert summary["top_product"] == {"product": "Laptop", "total_revenue": 30.0}
    assert summary["top_country"] == {"country": "France", "total_revenue": 20.0}    # tie with Germany: by name
    assert summary["top_client"] == {"id_client": 1, "name": "Client 1", "total_spent": 20.0}  # tie with 3: by id
    assert summary["temporal_records"] == {"daily_sales": 10, "weekly_sales": 2, "monthly_sales": 1}
    assert summary["tables"]["fact_sales"] == 6 and summary["silver_versions"] == SILVER_VERSIONS
    assert (summary["run_id"], summary["as_of_date"]) == ("r-1", SMALL_AS_OF)
