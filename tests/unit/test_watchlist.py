"""pipeline/watchlist.py on hand-built evidence: every signal, the two-or-more rule, the ARR
at risk and the sprint rank, with the figures worked out in the comments."""

from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.watchlist import account_watchlist

D = Decimal
MONEY = pl.Decimal(38, 6)
SEATS = pl.Decimal(18, 4)

# customer, segment, end ARR, usage prev/latest, seats two back/prev end/prev/latest,
# contraction, product churn, ARR scheduled to end, products held
ROWS = [
    # A: usage 1,000 -> 790 (below 800: down > 20 %), seats 10 -> 9: two risks -> intervention.
    ("A", "SMB", "12000", "1000", "790", "10", "10", "10", "9", "0", "0", "0", 1),
    # B: usage 1,000 -> 800 (exactly 20 % down: not more), a product churned (-500): one risk.
    ("B", "SMB", "9000", "1000", "800", "5", "5", "5", "5", "0", "-500", "0", 2),
    # C: 1,200.00 ARR scheduled to end, contraction 300: two risks; usage 100 -> 121 (up
    # more than 20 %: expansion) and seats 4 -> 5 -> 6 (up two quarters running).
    ("C", "Enterprise", "50000", "100", "121", "4", "5", "5", "6", "300", "0", "1200", 2),
    # D: usage 100 -> 120 (exactly 20 % up: not more); seats 5 -> 5 -> 6 (up once only);
    # single product in Enterprise, where 2 of 3 hold two or more: cross-sell candidate.
    ("D", "Enterprise", "20000", "100", "120", "5", "5", "5", "6", "0", "0", "0", 1),
    # E: single product in SMB, where 1 of 3 holds two or more: not a candidate; no usage.
    ("E", "SMB", "3000", "0", "0", "0", "0", "0", "0", "0", "0", "0", 1),
    # F: Enterprise, two products, nothing moving.
    ("F", "Enterprise", "70000", "0", "0", "2", "2", "2", "2", "0", "0", "0", 2),
]
COLUMNS = [
    "customer_id", "segment", "end_arr", "usage_arr_previous", "usage_arr_latest",
    "seats_two_quarters_back", "seats_previous_quarter_end", "seats_previous", "seats_latest",
    "contraction_arr_last_quarter", "product_churn_arr_last_quarter", "arr_scheduled_to_end",
    "products_held",
]  # fmt: skip


def evidence() -> pl.LazyFrame:
    frame = pl.DataFrame(ROWS, schema=COLUMNS, orient="row")
    money = ["end_arr", "usage_arr_previous", "usage_arr_latest", "contraction_arr_last_quarter",
             "product_churn_arr_last_quarter", "arr_scheduled_to_end"]  # fmt: skip
    seats = [c for c in COLUMNS if c.startswith("seats")]
    return frame.with_columns(
        *(pl.col(c).cast(MONEY) for c in money),
        *(pl.col(c).cast(SEATS) for c in seats),
        pl.col("products_held").cast(pl.Int32),
        snapshot_date=pl.lit(date(2026, 9, 30)),
        # No account_signals evidence here (test_signals_from_outside_billing has some).
        tickets_last_window=pl.lit(0, SEATS),
        tickets_window_before=pl.lit(0, SEATS),
        nps_previous=pl.lit(None, SEATS),
        nps_latest=pl.lit(None, SEATS),
        champion_change_date=pl.lit(None, pl.Date),
        competitor_mention_date=pl.lit(None, pl.Date),
    ).lazy()


def watchlist(size: int = 20) -> dict[str, dict]:
    frame = account_watchlist(evidence(), Decimal("0.20"), size).collect()
    return {row["customer_id"]: row for row in frame.iter_rows(named=True)}


def test_each_signal_and_the_counts():
    rows = watchlist()
    flags = ("usage_down", "seats_down", "contracted_last_quarter", "arr_ending_soon",
             "usage_up", "seats_up_two_quarters", "cross_sell_candidate")  # fmt: skip
    assert {c: tuple(rows[c][f] for f in flags) for c in rows} == {
        "A": (True, True, False, False, False, False, False),
        "B": (False, False, True, False, False, False, False),
        "C": (False, False, True, True, True, True, False),
        "D": (False, False, False, False, False, False, True),
        "E": (False, False, False, False, False, False, False),
        "F": (False, False, False, False, False, False, False),
    }
    assert {c: (rows[c]["risk_signals"], rows[c]["expansion_signals"]) for c in rows} == {
        "A": (2, 0), "B": (1, 0), "C": (2, 2), "D": (0, 1), "E": (0, 0), "F": (0, 0),
    }  # fmt: skip
    assert rows["D"]["segment_multi_product_share"] == 2 / 3
    assert rows["E"]["segment_multi_product_share"] == 1 / 3


def test_two_or_more_risk_signals_need_intervention_and_put_the_arr_at_risk():
    rows = watchlist()
    assert [c for c in rows if rows[c]["needs_intervention"]] == ["A", "C"]
    # A and C: all their ARR; the others: their ARR scheduled to end (none here).
    assert {c: rows[c]["arr_at_risk"] for c in rows} == {
        "A": D("12000"), "B": D(0), "C": D("50000"), "D": D(0), "E": D(0), "F": D(0),
    }  # fmt: skip


def test_the_sprint_ranks_by_expansion_signals_then_arr_within_its_size():
    rows = watchlist()
    # C has two expansion signals, D one; nobody else has any.
    assert {c: rows[c]["sprint_rank"] for c in rows} == {
        "A": None, "B": None, "C": 1, "D": 2, "E": None, "F": None,
    }  # fmt: skip
    rows = watchlist(size=1)
    assert [c for c in rows if rows[c]["sprint_rank"] is not None] == ["C"]


def test_the_page_shows_each_slice_its_customers_to_act_on():
    from pipeline.page import _watchlist_of_slice

    frame = account_watchlist(
        evidence().with_columns(csm_owner=pl.lit("Ana"), region=pl.lit(None, pl.String)),
        Decimal("0.20"),
        20,
    ).collect()
    # A and C need intervention (C's 50,000.00 at risk first); D is in the sprint only.
    assert _watchlist_of_slice(frame, "all", "all")["customer_id"].to_list() == ["C", "A", "D"]
    assert _watchlist_of_slice(frame, "segment", "SMB")["customer_id"].to_list() == ["A"]
    assert _watchlist_of_slice(frame, "csm_owner", "Ana").height == 3
    # Customers without a region are the blank slice ('').
    assert _watchlist_of_slice(frame, "region", "").height == 3


def test_signals_from_outside_billing():
    """Tickets 7 after 4 (up 75 %: more than 50 %) and 6 after 4 (exactly 50 %: not more);
    NPS 8 -> 6 (passive to detractor) and 7 -> 7; a champion change; a competitor mention.
    On F (nothing from billing): tickets, NPS and champion are three risk signals."""
    extra = pl.DataFrame(
        {
            "customer_id": ["E", "F"],
            "tickets_last_window": [D(6), D(7)],
            "tickets_window_before": [D(4), D(4)],
            "nps_previous": [D(7), D(8)],
            "nps_latest": [D(7), D(6)],
            "champion_change_date": [None, date(2026, 8, 1)],
            "competitor_mention_date": [date(2026, 9, 1), None],
        },
        schema_overrides={
            c: SEATS
            for c in ("tickets_last_window", "tickets_window_before", "nps_previous", "nps_latest")
        },
    ).lazy()
    base = evidence().drop(
        "tickets_last_window", "tickets_window_before", "nps_previous", "nps_latest",
        "champion_change_date", "competitor_mention_date",
    )  # fmt: skip
    joined = base.join(extra, on="customer_id", how="left").with_columns(
        pl.col("tickets_last_window", "tickets_window_before").fill_null(D(0))
    )
    rows = {
        r["customer_id"]: r
        for r in account_watchlist(joined, D("0.20"), 20).collect().iter_rows(named=True)
    }
    flags = ("tickets_up", "nps_drop", "champion_changed", "competitor_mentioned")
    assert tuple(rows["E"][f] for f in flags) == (False, False, False, True)
    assert tuple(rows["F"][f] for f in flags) == (True, True, True, False)
    assert (rows["E"]["risk_signals"], rows["E"]["needs_intervention"]) == (1, False)
    assert (rows["F"]["risk_signals"], rows["F"]["needs_intervention"]) == (3, True)
    assert rows["F"]["arr_at_risk"] == D("70000")
