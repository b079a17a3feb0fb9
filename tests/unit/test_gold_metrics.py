"""Unit tests of the Spark gold transforms (medallion.spark.gold) on tiny hand-built silver data.

Every expected value is worked out by hand in the comments next to it (or recounted with the
standard library), never taken from the code under test.
"""

from __future__ import annotations

import statistics
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from medallion.config import PROJECT_ROOT
from medallion.contract import GOLD_TABLES
from medallion.metrics import METRICS, RFM_SEGMENTS, SUMMARY_FIELDS, render_markdown, table_metrics
from medallion.spark import gold

CLIENTS_DDL = "id_client bigint, name string, email string, subscription_date date, country string"
PURCHASES_DDL = ("id_purchase bigint, id_client bigint, product string, price decimal(18,2), "
                 "quantity int, purchase_date date, total decimal(18,2), year_month string")


def d(text: str) -> date:
    return date.fromisoformat(text)


def m(text: str) -> Decimal:
    return Decimal(text)


def make_clients(spark, rows):
    """rows: (id_client, country, subscription_date) -> silver clients."""
    data = [(cid, f"Client {cid}", f"c{cid}@example.com", d(sub), country) for cid, country, sub in rows]
    return spark.createDataFrame(data, StructType.fromDDL(CLIENTS_DDL))


def make_purchases(spark, rows):
    """rows: (id_purchase, id_client, product, price, quantity, purchase_date) -> silver purchases
    (total = price * quantity, as silver guarantees)."""
    data = [(pid, cid, product, m(price), qty, d(day), m(price) * qty, day[:7])
            for pid, cid, product, price, qty, day in rows]
    return spark.createDataFrame(data, StructType.fromDDL(PURCHASES_DDL))


def fact_of(spark, clients, purchases):
    return gold.build_fact_sales(make_clients(spark, clients), make_purchases(spark, purchases))


def kpis_of(spark, clients, purchases, as_of):
    return gold.client_kpis(fact_of(spark, clients, purchases), make_clients(spark, clients), as_of)


def tables_of(spark, clients, purchases, as_of):
    return gold.gold_tables(fact_of(spark, clients, purchases), make_clients(spark, clients), as_of)


# --- fact_sales ---------------------------------------------------------------------------------

def test_fact_sales_calendar_columns_and_tenure(spark):
    clients = [(1, "France", "2025-01-10"), (2, "Spain", "2020-01-01")]
    purchases = [
        (10, 1, "Mouse", "20.00", 2, "2024-12-30"),  # a Monday of ISO week 2025-W01
        (11, 2, "Laptop", "900.00", 1, "2021-01-03"),  # a Sunday of ISO week 2020-W53
        (12, 2, "Phone", "300.50", 1, "2024-06-15"),  # a Saturday of ISO week 2024-W24
    ]
    fact = fact_of(spark, clients, purchases)
    assert fact.columns == [metric.name for metric in table_metrics("fact_sales")]
    got = fact.select("id_purchase", "total", "country", "purchase_year", "purchase_month",
                      "purchase_quarter", "purchase_week", "purchase_day_of_week",
                      "purchase_day_name", "year_month", "year_week", "customer_tenure_days")
    expected = spark.createDataFrame(
        [
            # 2024-12-30 - 2025-01-10 = -11 days (bought before subscribing).
            (10, m("40.00"), "France", 2024, 12, 4, 1, 1, "Monday", "2024-12", "2025-W01", -11),
            # 2020-01-01 -> 2021-01-03: 366 (leap 2020) + 2 = 368 days.
            (11, m("900.00"), "Spain", 2021, 1, 1, 53, 7, "Sunday", "2021-01", "2020-W53", 368),
            # 2020-01-01 -> 2024-06-15: 366+365+365+365 = 1461 to 2024-01-01, + 166 = 1627 days.
            (12, m("300.50"), "Spain", 2024, 6, 2, 24, 6, "Saturday", "2024-06", "2024-W24", 1627),
        ],
        "id_purchase bigint, total decimal(18,2), country string, purchase_year int, "
        "purchase_month int, purchase_quarter int, purchase_week int, purchase_day_of_week int, "
        "purchase_day_name string, year_month string, year_week string, customer_tenure_days int",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


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


def test_calendar_labels_match_python_isocalendar(spark):
    # Zero padding of short years and week numbers, ISO week-years at both year ends, checked
    # against Python's date.isocalendar() for every day around each boundary.
    days = [date(999, 1, 1), date(999, 12, 31)]
    for year in (2015, 2020, 2021, 2024, 2026):
        days += [date.fromordinal(date(year, 1, 1).toordinal() + delta) for delta in range(-7, 8)]
    frame = spark.createDataFrame([(day,) for day in days], "day date")
    got = {row["day"]: (row["ym"], row["yw"]) for row in frame.select(
        "day", gold._year_month(F.col("day")).alias("ym"), gold._iso_year_week(F.col("day")).alias("yw")).collect()}
    expected = {day: (f"{day.year:04d}-{day.month:02d}",
                      f"{day.isocalendar()[0]:04d}-W{day.isocalendar()[1]:02d}") for day in days}
    assert got == expected
    assert got[date(2021, 1, 3)] == ("2021-01", "2020-W53")


def test_client_kpis_values_recency_median_and_rfm_ties(spark):
    got = kpis_of(spark, KPI_CLIENTS, KPI_PURCHASES, "2024-04-30").drop("name", "email", "subscription_date")
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
    expected = spark.createDataFrame(
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
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_client_kpis_uses_the_run_date_not_the_wall_clock(spark):
    row = kpis_of(spark, KPI_CLIENTS, KPI_PURCHASES, date(2030, 1, 1)).where("id_client = 2").first()
    # 2024-04-20 -> 2030-01-01: 2024-04-20..2025-04-20 = 365, +4 years (one leap day, 2028) = 1826,
    # then 2029-04-20 -> 2030-01-01 = 256: total 2082 days.
    assert row["days_since_last_purchase"] == 2082
    assert row["is_active"] is False


def test_rfm_scores_half_up_fm_and_strict_median(spark):
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
    kpis = kpis_of(spark, clients, purchases, as_of)
    got = {r["id_client"]: (r["days_since_last_purchase"], r["r_score"], r["f_score"], r["m_score"],
                            r["rfm_segment"], r["is_high_value"])
           for r in kpis.collect()}
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


@pytest.mark.parametrize("n", [1, 2, 3, 7, 23])
def test_rfm_score_is_ceil_5_cume_dist_with_ties(spark, n):
    # Many ties and every n mod 5: the score read from four cut-off values must equal
    # ceil(5 * c / n), c = values ordered at or before v (peers included), in integer arithmetic.
    values = [(i * 7) % 4 + (i % 3) for i in range(n)]  # 0..5, repeated
    frame = spark.createDataFrame([(v,) for v in values], "v int")
    for descending in (False, True):
        cutoffs = gold.order_statistics(frame, "v", gold._score_ranks(descending=descending))
        scored = frame.select("v", gold._score("v", *cutoffs, descending=descending).alias("s")).collect()
        for row in scored:
            c = sum(1 for w in values if (w >= row["v"] if descending else w <= row["v"]))
            assert row["s"] == -(-5 * c // n), (descending, row["v"], values)


def test_rfm_segment_rules_in_order(spark):
    cases = [  # (r, f, m, expected) with FM = half-up((f + m) / 2)
        (4, 4, 4, "Champions"),          # R>=4, FM 4
        (5, 3, 4, "Champions"),          # FM 3.5 -> 4
        (3, 5, 5, "Loyal Customers"),    # R 3 is not >= 4
        (4, 3, 3, "Loyal Customers"),    # FM 3 < 4, R >= 3 and FM >= 3
        (4, 2, 3, "Loyal Customers"),    # FM 2.5 -> 3
        (5, 1, 2, "Promising"),          # FM 1.5 -> 2
        (2, 5, 5, "At Risk"),
        (1, 2, 3, "At Risk"),            # FM 2.5 -> 3
        (2, 2, 2, "Hibernating"),
        (1, 1, 2, "Hibernating"),        # FM 1.5 -> 2
        (3, 2, 2, "Need Attention"),     # R 3, FM 2
        (3, 1, 3, "Need Attention"),
    ]
    df = spark.createDataFrame([c[:3] for c in cases], "r int, f int, m int")
    got = df.select("r", "f", "m", gold.rfm_segment(F.col("r"), F.col("f"), F.col("m")).alias("s")).collect()
    assert {(r["r"], r["f"], r["m"]): r["s"] for r in got} == {c[:3]: c[3] for c in cases}
    assert {c[3] for c in cases} == set(RFM_SEGMENTS)


# --- product and country analytics --------------------------------------------------------------

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


def test_product_analytics(spark):
    got = gold.product_analytics(gold.product_country_cube(fact_of(spark, SALES_CLIENTS, SALES_PURCHASES)))
    # Laptop: revenue 200+100+100+150+150+99 = 799.00 over 6 orders of 1 item; avg price
    # 799/6 = 133.1666 -> 133.17; 5 distinct clients. By country: Italy 400, Belgium 150 and
    # France 150 tie (Belgium first by name), Germany 99 is fourth and left out.
    # Mouse: 0.48 + 0.26*2 = 1.00 over 2 orders, 3 items; avg price (0.48+0.26)/2 = 0.37;
    # France 0.52 > Belgium 0.48.
    # Shares of 800.00 in units of 0.01 %: Laptop 9987.5, Mouse 12.5. Rounded down they add up to
    # 9999; the one missing unit goes to the largest remainder, a 0.5 tie won by name: Laptop.
    # So Laptop 99.88, Mouse 0.12, adding up to 100.00.
    expected = spark.createDataFrame(
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
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_country_analytics(spark):
    got = gold.country_analytics(gold.product_country_cube(fact_of(spark, SALES_CLIENTS, SALES_PURCHASES)))
    # Belgium 150.00+0.48 = 150.48 (2 orders, 1 client): share 150.48/800 = 18.81 exactly;
    # France 150.00+0.52 = 150.52 (2 orders, 3 items): aov 75.26, share 18.815;
    # Germany 99.00: share 12.375; Italy 400.00 over 3 orders of 2 clients: aov 133.333 -> 133.33,
    # per customer 200.00, share 50.0. Rounded down the shares add up to 99.99: the missing 0.01
    # goes to the largest remainder, France and Germany tie at 0.005 -> France (by name):
    # France 18.82, Germany 12.37 (half-up rounding would give 12.38 and a total of 100.01).
    expected = spark.createDataFrame(
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
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_market_shares_of_equal_thirds_add_up_to_100(spark):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01"), (3, "UK", "2023-01-01")]
    purchases = [(1, 1, "Mouse", "10.00", 1, "2024-01-01"), (2, 2, "Phone", "10.00", 1, "2024-01-01"),
                 (3, 3, "Tablet", "10.00", 1, "2024-01-01")]
    fact = fact_of(spark, clients, purchases)
    # Each exact share is 33.333...: rounded down 3 x 33.33 = 99.99; the remainders tie, so the
    # first key gets the missing 0.01.
    products = {r["product"]: r["market_share_pct"] for r in gold.product_analytics(gold.product_country_cube(fact)).collect()}
    assert products == {"Mouse": 33.34, "Phone": 33.33, "Tablet": 33.33}
    countries = {r["country"]: r["market_share_pct"] for r in gold.country_analytics(gold.product_country_cube(fact)).collect()}
    assert countries == {"France": 33.34, "Spain": 33.33, "UK": 33.33}


# --- temporal tables ----------------------------------------------------------------------------

def test_daily_sales_gap_filled_rolling_and_growth(spark):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [
        (1, 1, "Mouse", "60.00", 1, "2024-03-01"),
        (2, 2, "Mouse", "40.00", 1, "2024-03-01"),
        (3, 1, "Mouse", "50.00", 1, "2024-03-03"),
        (4, 1, "Mouse", "70.00", 1, "2024-03-10"),
        (5, 2, "Mouse", "35.00", 3, "2024-03-11"),
    ]
    got = gold.daily_sales(gold.day_cube(fact_of(spark, clients, purchases)))
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
    expected = spark.createDataFrame(
        [(d(day), m(rev), o, c, q, m(avg), oavg, g) for day, rev, o, c, q, avg, oavg, g in rows],
        "date date, total_revenue decimal(18,2), total_orders bigint, unique_customers bigint, "
        "total_quantity bigint, revenue_7day_avg decimal(18,2), orders_7day_avg double, "
        "revenue_growth_pct double",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_weekly_sales_iso_year_boundary_and_missing_week(spark):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [
        (1, 1, "Mouse", "40.00", 1, "2024-12-23"),   # Monday, 2024-W52
        (2, 2, "Mouse", "60.00", 1, "2024-12-29"),   # Sunday, 2024-W52
        (3, 1, "Mouse", "100.00", 1, "2024-12-30"),  # Monday, 2025-W01
        (4, 1, "Mouse", "50.01", 1, "2025-01-05"),   # Sunday, 2025-W01
        (5, 2, "Mouse", "10.00", 3, "2025-01-13"),   # Monday, 2025-W03 (W02 has no sales)
    ]
    got = gold.weekly_sales(gold.day_cube(fact_of(spark, clients, purchases)))
    # W52 100.00 (2 orders, 2 clients); W01 150.01 (2 orders, 1 client): aov 75.005 -> 75.01,
    # growth (150.01-100)/100 = 50.01; W03 30.00: previous calendar week W02 absent -> null.
    expected = spark.createDataFrame(
        [
            ("2024-W52", m("100.00"), 2, 2, 2, m("50.00"), None),
            ("2025-W01", m("150.01"), 2, 1, 2, m("75.01"), 50.01),
            ("2025-W03", m("30.00"), 1, 1, 3, m("30.00"), None),
        ],
        "year_week string, total_revenue decimal(18,2), total_orders bigint, unique_customers bigint, "
        "total_quantity bigint, avg_order_value decimal(18,2), revenue_growth_pct double",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_monthly_sales_growth_across_year_and_gap(spark):
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
    got = gold.monthly_sales(gold.day_cube(fact_of(spark, clients, purchases)))
    # Dec 120 (1 order, 1 client); Jan 150 (2, 2): growth revenue 30/120 = 25, orders 100,
    # clients 100; Feb 225 (3 orders, 1 client): aov 75, per client 225, revenue +50, orders +50,
    # clients -50; Apr 10: previous calendar month March is absent -> all growths null.
    expected = spark.createDataFrame(
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
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


# --- JSON documents -----------------------------------------------------------------------------

def half_up(value) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_statistical_distributions(spark):
    clients = [(1, "France", "2023-01-01"), (2, "Spain", "2023-01-01")]
    purchases = [  # totals 10.00, 20.00, 20.01, 39.99; quantities 1, 1, 3, 3; prices 10, 20, 6.67, 13.33
        (1, 1, "Mouse", "10.00", 1, "2024-01-01"),
        (2, 2, "Mouse", "20.00", 1, "2024-01-02"),
        (3, 1, "Phone", "6.67", 3, "2024-01-03"),
        (4, 2, "Phone", "13.33", 3, "2024-01-04"),
    ]
    got = gold.statistical_distributions(fact_of(spark, clients, purchases))
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


def test_exact_quantiles(spark):
    frame = spark.createDataFrame([(m(v),) for v in ("10.00", "10.00", "20.00", "40.00", "70.00")] + [(None,)],
                                  "v decimal(18,2)")
    # Sorted values 10, 10, 20, 40, 70 (the null is ignored), n = 5, h = 4q:
    # q=0.5 -> h=2 -> 20; q=0.25 -> h=1 -> 10 (both neighbours are the repeated 10);
    # q=0.9 -> h=3.6 -> 40 + 0.6 * 30 = 58; q=0.95 -> h=3.8 -> 40 + 0.8 * 30 = 64; q=0 -> 10; q=1 -> 70.
    got = gold.exact_quantiles(frame, "v", [0.5, 0.25, 0.9, 0.95, 0.0, 1.0])
    assert got == [m("20"), m("10"), m("58"), m("64"), m("10"), m("70")]
    # Two values: the median is their exact mean, 0.005 kept (no double rounding).
    pair = spark.createDataFrame([(m("0.01"),), (m("0.02"),)], "v decimal(18,2)")
    assert gold.exact_quantiles(pair, "v", [0.5]) == [m("0.015")]
    assert gold.exact_quantiles(frame.where("v IS NULL"), "v", [0.5, 0.9]) == [None, None]


def test_gold_summary(spark):
    # Cached so the summary's counts do not recompute every aggregate (run() reads the written files).
    tables = {name: table.cache()
              for name, table in tables_of(spark, SALES_CLIENTS, SALES_PURCHASES, "2024-05-31").items()}
    summary = gold.gold_summary(tables, run_id="r-1", as_of="2024-05-31",
                                silver_versions={"clients": 3, "purchases": 4})
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


# --- glossary consistency -----------------------------------------------------------------------

def test_every_gold_column_is_in_the_glossary_with_its_type(spark):
    tables = tables_of(spark, SALES_CLIENTS, SALES_PURCHASES, "2024-05-31")
    assert list(tables) == list(GOLD_TABLES)
    for name, table in tables.items():
        documented = [(metric.name, metric.type) for metric in table_metrics(name)]
        produced = [(field.name, field.dataType.simpleString()) for field in table.schema.fields]
        assert produced == documented, name


def test_glossary_documents_the_json_fields(spark):
    document = gold.statistical_distributions(fact_of(spark, SALES_CLIENTS, SALES_PURCHASES))
    for section, fields in document.items():
        documented = {metric.name for metric in table_metrics(f"statistical_distributions.{section}")}
        assert set(fields) == documented, section
    assert len({(metric.table, metric.name) for metric in METRICS}) == len(METRICS)


def test_docs_metrics_md_is_rendered_from_the_glossary():
    text = (PROJECT_ROOT / "docs" / "METRICS.md").read_text(encoding="utf-8")
    assert text == render_markdown(), "regenerate with: python -m medallion.metrics > docs/METRICS.md"


# --- reading silver -----------------------------------------------------------------------------

def test_run_without_silver_names_the_missing_document(spark, settings):
    with pytest.raises(FileNotFoundError) as error:
        gold.run(spark, settings, "2024-05-31", "r-1")
    assert "no committed silver output for run date 2024-05-31" in str(error.value)
    assert "silver/_documents/run_date=2024-05-31/quality_report.json is missing" in str(error.value)


def test_read_silver_rejects_a_retyped_column(spark, settings):
    from medallion.spark import delta

    clients = make_clients(spark, [(1, "France", "2023-01-01")]) \
        .withColumn("subscription_date", F.col("subscription_date").cast("string"))
    delta.commit_partition(clients, settings, "silver", "clients", "2024-05-31", {"run_id": "test"})
    with pytest.raises(ValueError, match=r"silver table clients: column 'subscription_date' "
                                         r"has type string, expected date"):
        gold.read_silver(spark, settings, "2024-05-31", "clients")
