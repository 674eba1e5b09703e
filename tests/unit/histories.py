"""Build the retention inputs (movements, quarters, restated ARR) from plain ARR series.

One value per quarter, or per month with grain MONTH (calendar fiscal years from 2024).
Single currency: restating at a later rate changes nothing. The movement rules here are a
second, independent statement of metrics.md's table, used only by tests.
"""

from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.dbt_project import slice_dimensions
from pipeline.retention import QUARTER, SLICE_KEY, Grain, customer_slices

MONEY = pl.Decimal(38, 6)
# Every customer's value of the slice dimensions other than segment (the tests vary segment).
OTHER_SLICE_VALUE = "NA"


def quarters_frame(count: int) -> pl.DataFrame:
    rows = []
    for index in range(count):
        year, quarter = 2024 + index // 4, index % 4 + 1
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
        last = date.fromordinal(end.toordinal() - 1)
        rows.append(
            {
                "quarter_index": index,
                "fiscal_year": year,
                "fiscal_quarter": quarter,
                "quarter_label": f"FY{year}-Q{quarter}",
                "quarter_start": start,
                "quarter_end": last,
                "snapshot_date": last,
                "is_complete": True,
            }
        )
    return pl.DataFrame(rows)


def months_frame(count: int) -> pl.DataFrame:
    """int_fiscal_months of `count` calendar months from January 2024, all complete."""
    rows = []
    for index in range(count):
        year, month = 2024 + index // 12, index % 12 + 1
        following = date(year + (month == 12), month % 12 + 1, 1)
        last = date.fromordinal(following.toordinal() - 1)
        rows.append(
            {
                "month_index": index,
                "fiscal_year": year,
                "fiscal_month": month,
                "month_label": f"FY{year}-M{month:02d}",
                "month_start": date(year, month, 1),
                "month_end": last,
                "snapshot_date": last,
                "is_complete": True,
            }
        )
    return pl.DataFrame(rows)


def classify(start: Decimal, end: Decimal, had_arr_before: bool) -> str:
    if start == 0:
        return "reactivation" if had_arr_before else "new"
    if end == 0:
        return "churn"
    return "expansion" if end > start else "contraction" if end < start else "flat"


def history_frames(
    arr: dict[str, list], segments: dict[str, str] | None = None, grain: Grain = QUARTER
):
    """movements, periods, restated LazyFrames for ARR series (one value per period of the
    grain: quarters, or months)."""
    count = len(next(iter(arr.values())))
    quarters = quarters_frame(count) if grain == QUARTER else months_frame(count)
    labels = quarters[grain.label].to_list()
    movements, restated = [], []
    for customer, series in arr.items():
        series = [Decimal(str(v)) for v in series]
        positive = [i for i, v in enumerate(series) if v > 0]
        if not positive:
            continue
        cohort = labels[positive[0]]
        for index, end in enumerate(series):
            start = series[index - 1] if index else Decimal(0)
            if end > 0:
                pairs = [
                    (index, r)
                    for r in range(index, count)
                    if index == positive[0] or r == index + grain.lookback
                ]
                restated += [
                    {"customer_id": customer, "snapshot_index": s, "rate_index": r, "arr": end}
                    for s, r in pairs
                ]
            if start == 0 and end == 0:
                continue
            movement = classify(start, end, any(v > 0 for v in series[:index]))
            amounts = dict.fromkeys(
                ("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churn_arr"),
                Decimal(0),
            )
            if movement in ("new", "reactivation"):
                amounts[f"{movement}_arr"] = end
            elif movement == "expansion":
                amounts["expansion_arr"] = end - start
            elif movement == "contraction":
                amounts["contraction_arr"] = start - end
            elif movement == "churn":
                amounts["churn_arr"] = start
            movements.append(
                {
                    "customer_id": customer,
                    grain.label: labels[index],
                    "start_arr": start,
                    "end_arr": end,
                    "movement": movement,
                    **amounts,
                    grain.cohort: cohort,
                    **dict.fromkeys(slice_dimensions(), OTHER_SLICE_VALUE),
                    "segment": (segments or {}).get(customer),
                }
            )
    money = [
        "start_arr",
        "end_arr",
        "new_arr",
        "reactivation_arr",
        "expansion_arr",
        "contraction_arr",
        "churn_arr",
    ]
    movement_schema = {
        "customer_id": pl.String,
        grain.label: pl.String,
        "movement": pl.String,
        grain.cohort: pl.String,
        **dict.fromkeys(slice_dimensions(), pl.String),
        **{m: MONEY for m in money},
    }
    restated_schema = {
        "customer_id": pl.String,
        "snapshot_index": pl.Int64,
        "rate_index": pl.Int64,
        "arr": MONEY,
    }
    return (
        pl.DataFrame(movements, schema=movement_schema).lazy(),
        quarters.lazy(),
        pl.DataFrame(restated, schema=restated_schema).lazy(),
    )


def bridge_frame(movements: pl.LazyFrame, grain: Grain = QUARTER) -> pl.LazyFrame:
    """The bridge columns the reports read (fct_arr_bridge in dbt): movement amounts summed
    and customers counted per period and slice, all/all and each slice dimension."""
    return (
        movements.join(customer_slices(movements), on="customer_id")
        .group_by(grain.label, *SLICE_KEY)
        .agg(
            pl.col("start_arr", "expansion_arr", "contraction_arr", "churn_arr").sum(),
            starting_customers=(pl.col("start_arr") > 0).sum().cast(pl.Int64),
            churn_customers=(pl.col("movement") == "churn").sum().cast(pl.Int64),
        )
    )
