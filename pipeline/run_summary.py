"""The closing summary of `nrr run`: the headline figures, read from the published report.

Read from the report's Parquet files (not marts.duckdb, which a BI tool may hold open), so
the summary shows what was published, nothing recomputed. Money is the marts' exact DECIMAL
formatted with thousands separators; ratios are shown as percentages. No Dagster import.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

PAGE = "nrr_report.html"
WORKBOOK = "nrr_report.xlsx"


@dataclass(frozen=True)
class QuarterFigures:
    quarter: str
    nrr: float | None
    grr: float | None
    ttm_nrr: float | None
    ttm_grr: float | None
    end_arr: Decimal | None
    ending_customers: int | None


@dataclass(frozen=True)
class RunSummary:
    folder: Path
    as_of: str
    delivery: str
    currency: str
    headline: QuarterFigures | None  # the latest complete quarter (the workbook's headline)
    previous: QuarterFigures | None  # the quarter before it
    quarantined_rows: int
    quarantined_arr: Decimal
    restatements: int

    @property
    def page(self) -> Path:
        return self.folder / PAGE

    @property
    def workbook(self) -> Path:
        return self.folder / WORKBOOK


QUARTERS_SQL = """
    select q.quarter_label, q.is_complete, q.nrr, q.grr, q.ttm_nrr, q.ttm_grr,
           b.end_arr, b.ending_customers
    from read_parquet(?) as q
    left join read_parquet(?) as b
      on b.quarter_label = q.quarter_label and b.dimension = 'all'
    where q.dimension = 'all'
    order by q.quarter_start
"""


def read_summary(folder: Path) -> RunSummary:
    """The summary of the report in `folder` (e.g. reports/latest, resolved)."""
    folder = Path(folder).resolve()

    def parquet(name: str) -> str:
        return str(folder / f"{name}.parquet")

    con = duckdb.connect()
    try:
        rows = con.execute(
            QUARTERS_SQL, [parquet("rpt_nrr_quarterly"), parquet("fct_arr_bridge")]
        ).fetchall()
        quarantined_rows, quarantined_arr = con.execute(
            "select count(*), coalesce(sum(arr_at_stake), 0) from read_parquet(?)",
            [parquet("quarantine")],
        ).fetchone()
        restatements = con.execute(
            "select count(*) from read_parquet(?)", [parquet("restatements")]
        ).fetchone()[0]
        recorded = dict(
            con.execute(
                "select name, value from read_parquet(?)", [parquet("report_settings")]
            ).fetchall()
        )
    finally:
        con.close()
    quarters = [QuarterFigures(r[0], *r[2:]) for r in rows]
    complete = [q for q, r in zip(quarters, rows, strict=True) if r[1]]
    # The headline quarter is the latest complete one, as in the workbook and the page.
    candidates = complete or quarters
    headline = candidates[-1] if candidates else None
    previous = None
    if headline is not None:
        index = quarters.index(headline)
        previous = quarters[index - 1] if index > 0 else None
    return RunSummary(
        folder=folder,
        as_of=recorded.get("as_of", ""),
        delivery=recorded.get("delivery_date", ""),
        currency=recorded.get("reporting_currency", ""),
        headline=headline,
        previous=previous,
        quarantined_rows=int(quarantined_rows),
        quarantined_arr=Decimal(quarantined_arr),
        restatements=int(restatements),
    )


def percent(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:.1f} %"


def change(ratio: float | None, before: float | None) -> str:
    """'+20.0 pts' (percentage points) against the previous quarter, or '' when unknown."""
    if ratio is None or before is None:
        return ""
    return f"{(ratio - before) * 100:+.1f} pts"


def money(amount: Decimal | None, currency: str) -> str:
    """Exact, cents kept: '1,234,567.89 USD'."""
    if amount is None:
        return "n/a"
    return f"{amount.quantize(Decimal('0.01')):,} {currency}".strip()


def _with_change(label: str, ratio: float | None, before: float | None, quarter: str) -> str:
    delta = change(ratio, before)
    return f"{label} {percent(ratio)}" + (f" ({delta} on {quarter})" if delta else "")


def summary_lines(summary: RunSummary) -> list[str]:
    """The summary as the terminal shows it (paths relative to the working directory when
    they are under it)."""
    h, p = summary.headline, summary.previous
    lines = [f"Report as of {summary.as_of} (delivery {summary.delivery})"]
    if h is None:
        lines.append("  No quarter to report.")
    else:
        before = p.quarter if p else ""
        lines += [
            f"  TTM NRR {percent(h.ttm_nrr)}   TTM GRR {percent(h.ttm_grr)}   ({h.quarter})",
            f"  {h.quarter}: "
            + _with_change("NRR", h.nrr, p.nrr if p else None, before)
            + "   "
            + _with_change("GRR", h.grr, p.grr if p else None, before),
            f"  Ending ARR {money(h.end_arr, summary.currency)}, "
            f"{h.ending_customers or 0:,} customers",
        ]
    lines += [
        f"  Quarantined {summary.quarantined_rows:,} rows, "
        f"ARR {money(summary.quarantined_arr, summary.currency)}",
        f"  Restatements of earlier reports: {summary.restatements:,}",
        f"  Page:     {_shown(summary.page)}",
        f"  Workbook: {_shown(summary.workbook)}",
    ]
    return lines


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
