"""The one case table of the silver contract: every engine is tested against these rows.

Each case is a raw source row (strings as read; ``None`` is an empty field) and the reason it must
be rejected with, or ``None`` when silver keeps it. The expected silver rows and statistics of each
table were worked out by hand from :mod:`medallion.contract`; the comments say why.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

RUN_DATE = "2026-11-29"
#: The silver clients the purchase cases are checked against (``orphan_client``).
KNOWN_CLIENTS = (1, 2)

CLIENT_CASES = [
    (("1", "Ann \t Lee", " Ann@Example.com ", "2024-01-02", " france "), None),  # 1 trimmed, collapsed, lower, France
    (("2", "Bob", "  ", "2024-01-02", "Spain"), "missing_value"),              # 2 blank e-mail
    ((None, "Bob", "bob@example.com", "2024-01-01", "Spain"), "missing_value"),  # 3
    (("x3", "Cy", "cy@example.com", "2024-01-02", "Spain"), "invalid_id"),     # 4 not digits
    (("0", "Di", "di@example.com", "2024-01-02", "Spain"), "invalid_id"),      # 5 not positive
    (("9223372036854775808", "Bo", "bo@example.com", "2024-01-02", "Spain"), "invalid_id"),  # 6 2**63
    (("5", "Ed", "ed@example.com", "2024-02-30", "Spain"), "invalid_date"),    # 7 no 30 February
    (("6", "Fay", "fay@example.com", "2026-11-30", "Spain"), "future_date"),   # 8 the day after the run date
    (("7", "Gus", "gus@example", "2024-01-02", "Spain"), "invalid_email"),     # 9 no top-level domain
    (("1", "Ann Again", "other@example.com", "2024-01-02", "Spain"), "duplicate_id"),  # 10 id of row 1
    (("9", "Hal", "ANN@example.com", "2024-01-02", "Spain"), "duplicate_email"),  # 11 e-mail of row 1
    (("1", "Dup Bad", "bad-email", "2024-01-02", "Spain"), "invalid_email"),   # 12 duplicate id too: earlier rule wins
    (("11", "Ivy", "ivy@example.com", "2026-11-29", "Atlantis"), None),        # 13 the run date itself; unknown country
    (("\t12 ", "Jo", "jo@example.com", "31/12/2023", "uk"), None),             # 14 dd/MM/yyyy
    (("13", "Kim", "kim@example.com", "2023/05/06", "USA"), None),             # 15 yyyy/MM/dd
    (("14", "Lea", "lea@example.com", "2023-05-06T23:59:59", "usa"), None),    # 16 timestamp: date part
    (("15", "Max", "max@example.com", "2023-05-06 10:00:00", "USA"), "invalid_date"),  # 17 no accepted format
    (("16", "Ned", "ned@example.com", "not a date", "Italy"), "invalid_date"),  # 18
    (("16", "Olga", "olga@example.com", "2022-02-28", "ITALY"), None),         # 19 first *valid* row of id 16
    (("007", "\tAmy\n  Lu ", "amy@example.com", "2024-03-04T10:11:12", " Narnia "), None),  # 20 id 7: row 9 was invalid
]

#: Silver clients kept from CLIENT_CASES (id_client, name, email, subscription_date, country), by id.
CLIENTS_KEPT = [
    (1, "Ann Lee", "ann@example.com", dt.date(2024, 1, 2), "France"),
    (7, "Amy Lu", "amy@example.com", dt.date(2024, 3, 4), "Narnia"),
    (11, "Ivy", "ivy@example.com", dt.date(2026, 11, 29), "Atlantis"),
    (12, "Jo", "jo@example.com", dt.date(2023, 12, 31), "UK"),
    (13, "Kim", "kim@example.com", dt.date(2023, 5, 6), "USA"),
    (14, "Lea", "lea@example.com", dt.date(2023, 5, 6), "USA"),
    (16, "Olga", "olga@example.com", dt.date(2022, 2, 28), "Italy"),
]

CLIENTS_STATS = {
    "input_rows": 20,
    "output_rows": 7,
    "rejected_rows": 13,
    "rejects_by_reason": {"malformed_row": 0, "missing_value": 2, "invalid_id": 3, "invalid_date": 3,
                          "future_date": 1, "invalid_email": 2, "duplicate_id": 1, "duplicate_email": 1},
    "null_values": {"id_client": 1, "name": 0, "email": 1, "subscription_date": 0, "country": 0},
    "total_recalculated": 0,
    "future_dates": 1,
    "unknown_values": {"country": 2},  # Atlantis, Narnia
}

PURCHASE_CASES = [
    (("1", "1", " laptop ", "12.345", "2", "2025-01-01", "24.69"), None),    # 1 12.35 x 2 = 24.70: recalculated
    (("2", "2", "Mouse", "10", "3", "2025/02/03", "30"), None),              # 2 30 equals 30.00
    (("3", "1", "Phone", "5.5", "1", "03/04/2025", ""), None),               # 3 missing total: recalculated
    (("4", "1", "Phone", "5.5", "1", "2025-04-03T10:11:12", "abc"), None),   # 4 total not a number: recalculated
    (("5", "1", "", "5", "1", "2025-01-01", "5"), "missing_value"),          # 5
    (("6", "-1", "Mouse", "5", "1", "2025-01-01", "5"), "invalid_id"),       # 6
    (("7", "1", "Mouse", "five", "1", "2025-01-01", "5"), "invalid_number"),  # 7
    (("8", "1", "Mouse", "5", "1.5", "2025-01-01", "7.5"), "invalid_number"),  # 8 quantity not an integer
    (("9", "1", "Mouse", "-5", "1", "2025-01-01", "-5"), "invalid_amount"),  # 9 price < 0
    (("10", "1", "Mouse", "5", "0", "2025-01-01", "0"), "invalid_amount"),   # 10 quantity < 1
    (("11", "1", "Mouse", "5", "1", "2025-13-01", "5"), "invalid_date"),     # 11 month 13
    (("12", "1", "Mouse", "5", "1", "2026-12-01", "5"), "future_date"),      # 12
    (("1", "2", "Mouse", "5", "1", "2025-01-01", "5"), "duplicate_id"),      # 13 id of row 1
    (("14", "99", "Mouse", "5", "1", "2025-01-01", "5"), "orphan_client"),   # 14 client 99 is not in silver
    (("1", "99", "Mouse", "5", "1", "2025-01-01", "5"), "duplicate_id"),     # 15 duplicate is checked before orphan
    (("16", "2", "Gizmo", "0.005", "4", "2025-01-31", "0.04"), None),        # 16 0.005 -> 0.01 half-up; unknown product
    (("18", "1", "MOUSE", "+2.50", "+2", "2025-01-01", "5.0"), None),        # 17 signs; 5.0 equals 5.00
    (("19", "1", "Mouse", "9999999999999999", "100", "2025-01-01", None), "invalid_amount"),  # 18 total > DECIMAL(18,2)
    (("20", "2", "Mouse", "10.005", "3", "2025-01-02", None), None),         # 19 10.01 x 3 = 30.03: recalculated
    (("0021", "2", "Mouse", "0.125", "2", "2025-01-02", "0.26"), None),      # 20 id 21; 0.125 -> 0.13; 0.26 equal
    (("22", "1", "Mouse", None, "1", "2025-01-01", None), "missing_value"),  # 21
    (("23", "1", "Mouse", "1.00", "1", "2025-02-29", None), "invalid_date"),  # 22 2025 is not a leap year
]

#: Silver purchases kept from PURCHASE_CASES (id_purchase, id_client, product, price, quantity,
#: purchase_date, total, year_month), by id.
PURCHASES_KEPT = [
    (1, 1, "Laptop", D("12.35"), 2, dt.date(2025, 1, 1), D("24.70"), "2025-01"),
    (2, 2, "Mouse", D("10.00"), 3, dt.date(2025, 2, 3), D("30.00"), "2025-02"),
    (3, 1, "Phone", D("5.50"), 1, dt.date(2025, 4, 3), D("5.50"), "2025-04"),
    (4, 1, "Phone", D("5.50"), 1, dt.date(2025, 4, 3), D("5.50"), "2025-04"),
    (16, 2, "Gizmo", D("0.01"), 4, dt.date(2025, 1, 31), D("0.04"), "2025-01"),
    (18, 1, "Mouse", D("2.50"), 2, dt.date(2025, 1, 1), D("5.00"), "2025-01"),
    (20, 2, "Mouse", D("10.01"), 3, dt.date(2025, 1, 2), D("30.03"), "2025-01"),
    (21, 2, "Mouse", D("0.13"), 2, dt.date(2025, 1, 2), D("0.26"), "2025-01"),
]

PURCHASES_STATS = {
    "input_rows": 22,
    "output_rows": 8,
    "rejected_rows": 14,
    "rejects_by_reason": {"malformed_row": 0, "missing_value": 2, "invalid_id": 1, "invalid_number": 2,
                          "invalid_amount": 3, "invalid_date": 2, "future_date": 1, "duplicate_id": 2,
                          "orphan_client": 1},
    "null_values": {"id_purchase": 0, "id_client": 0, "product": 1, "price": 1, "quantity": 0,
                    "purchase_date": 0, "total": 5},
    "total_recalculated": 4,  # rows 1, 3, 4, 19
    "future_dates": 1,
    "unknown_values": {"product": 1},  # Gizmo
}

CASES = {"clients": (CLIENT_CASES, CLIENTS_KEPT, CLIENTS_STATS),
         "purchases": (PURCHASE_CASES, PURCHASES_KEPT, PURCHASES_STATS)}
