"""Deterministic sample extracts: a realistic B2B SaaS billing and CRM history.

Each customer's story is drawn from its own random stream (seeded by the run seed and
the customer's index), so output does not depend on chunk size, and the same arguments
give the same bytes. Customers are written in chunks to keep memory flat at 1,000,000.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from pipeline.contracts import EXTRACT_COLUMNS

SEGMENTS = (
    ("SMB", 0.55, (3, 25)),
    ("Mid-Market", 0.33, (20, 150)),
    ("Enterprise", 0.12, (150, 1500)),
)
REGIONS = (("NA", 0.5), ("EMEA", 0.32), ("APAC", 0.18))
INDUSTRIES = ("Software", "Retail", "Healthcare", "Financial Services", "Manufacturing", "Media")
CSM_OWNERS = tuple(
    f"{first} {last}"
    for first, last in zip(
        (
            "Ana",
            "Ben",
            "Chloe",
            "Dev",
            "Elif",
            "Femi",
            "Greta",
            "Hiro",
            "Ines",
            "Jonas",
            "Kara",
            "Liam",
        ),
        (
            "Silva",
            "Okafor",
            "Martin",
            "Patel",
            "Yilmaz",
            "Adeyemi",
            "Berg",
            "Tanaka",
            "Costa",
            "Weber",
            "Novak",
            "Byrne",
        ),
        strict=True,
    )
)
COMPANY_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Aperture",
    "Massive",
    "Nakatomi",
)
COMPANY_SUFFIXES = ("Inc", "GmbH", "Ltd", "KK", "SA", "Group", "Labs", "Systems")

# Monthly list price per unit in USD.
ANALYTICS_PLANS = {"Starter": 30, "Pro": 60, "Enterprise": 110}
ADDONS = {"Automation": ("Standard", 500), "Support": ("Premium", 300)}
STORAGE_BASE_USD = {"SMB": 150, "Mid-Market": 900, "Enterprise": 5000}
ONBOARDING_FEE_USD = {"SMB": 500, "Mid-Market": 2500, "Enterprise": 15000}

# Starting rate (USD per unit) and drift of the reporting currencies' random walk.
FX_START = {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0069}
MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


@dataclass(frozen=True)
class GenerateOptions:
    out: Path
    customers: int = 3000
    seed: int = 42
    as_of: date = date(2026, 9, 30)
    years: int = 3
    file_format: str = "csv"
    chunk_customers: int = 20_000
    bad_rows: bool = True


def _month_start(d: date, months: int = 0) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _money(value: float, currency: str) -> str:
    quantum = Decimal(1).scaleb(-MINOR_UNITS[currency])
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def _pick(rng: random.Random, weighted: tuple) -> tuple:
    return rng.choices(weighted, weights=[w[1] for w in weighted])[0]


class _Ledger:
    """Collects one customer's charge segments; each change closes a segment and opens one."""

    def __init__(self, prefix: str, currency: str, period: int, fx: dict[str, float]):
        self.prefix = prefix
        self.currency = currency
        self.period = period
        self.fx = fx
        self.rows: list[list[str]] = []
        self.open: dict[tuple[str, str], list] = {}

    def _local(self, monthly_usd: float) -> str:
        return _money(monthly_usd * self.period / self.fx[self.currency], self.currency)

    def start(
        self,
        key: tuple[str, str],
        account: str,
        product: str,
        plan: str,
        quantity: int,
        monthly_usd: float,
        when: date,
        charge_type: str = "recurring",
    ) -> None:
        self.open[key] = [account, product, plan, charge_type, quantity, monthly_usd, when]

    def stop(self, key: tuple[str, str], when: date) -> None:
        account, product, plan, charge_type, quantity, monthly_usd, began = self.open.pop(key)
        self._emit(account, product, plan, charge_type, quantity, monthly_usd, began, when)

    def _emit(self, account, product, plan, charge_type, quantity, monthly_usd, began, ended):
        charge_id = f"{self.prefix}-{len(self.rows) + 1:03d}"
        updated = (ended or began) + timedelta(hours=9)
        self.rows.append(
            [
                charge_id,
                account,
                product,
                plan,
                charge_type,
                str(quantity),
                self._local(monthly_usd),
                self.currency,
                str(self.period if charge_type == "recurring" else 1),
                began.isoformat(),
                ended.isoformat() if ended else "",
                f"{updated.isoformat()}T09:00:00",
            ]
        )

    def one_off(self, account, product, plan, charge_type, quantity, total_usd, began, ended):
        saved, self.period = self.period, 1
        self._emit(account, product, plan, charge_type, quantity, total_usd, began, ended)
        self.period = saved

    def close_all(self, when: date | None) -> None:
        for key in list(self.open):
            if when is None:
                account, product, plan, charge_type, quantity, monthly_usd, began = self.open.pop(
                    key
                )
                self._emit(account, product, plan, charge_type, quantity, monthly_usd, began, None)
            else:
                self.stop(key, when)


def fx_path(seed: int, first: date, as_of: date) -> dict[date, dict[str, float]]:
    """Daily rates as a bounded random walk, one stream per run seed."""
    rng = random.Random(f"{seed}-fx")
    level = dict(FX_START)
    rates: dict[date, dict[str, float]] = {}
    day = first
    while day <= as_of:
        for currency in level:
            level[currency] *= 1 + rng.gauss(0, 0.004)
            level[currency] = min(
                max(level[currency], FX_START[currency] * 0.8), FX_START[currency] * 1.2
            )
        rates[day] = dict(level)
        day += timedelta(days=1)
    return rates


def _customer(
    index: int, opts: GenerateOptions, window_start: date, fx_by_month: dict[date, dict[str, float]]
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    rng = random.Random(f"{opts.seed}-{index}")
    last_loss: date | None = None
    parent_id = f"A{index:07d}"
    segment, _, (seat_lo, seat_hi) = _pick(rng, SEGMENTS)
    region = _pick(rng, REGIONS)[0]
    if region == "NA":
        currency = "USD"
    elif region == "EMEA":
        currency = rng.choices(("EUR", "GBP"), weights=(7, 3))[0]
    else:
        currency = rng.choices(("JPY", "USD"), weights=(1, 1))[0]
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
    csm = rng.choice(CSM_OWNERS)
    updated = f"{opts.as_of.isoformat()}T02:00:00"
    accounts = [[parent_id, name, "", segment, region, rng.choice(INDUSTRIES), csm, updated]]
    children = []
    if segment != "SMB" and rng.random() < 0.3:
        for child in range(1, rng.randint(2, 3) + 1):
            child_id = f"{parent_id}-{child}"
            children.append(child_id)
            accounts.append(
                [
                    child_id,
                    f"{name} ({child})",
                    parent_id,
                    segment,
                    rng.choice(REGIONS)[0],
                    accounts[0][5],
                    rng.choice(CSM_OWNERS),
                    updated,
                ]
            )
    holders = children or [parent_id]

    months_in_window = opts.years * 12
    start_month = rng.randrange(0, months_in_window)
    began = _month_start(window_start, start_month)
    if rng.random() < 0.3:
        began = began.replace(day=15)
    period = rng.choices((1, 3, 12, 24, 36), weights=(40, 15, 35, 6, 4))[0]
    rate_month = fx_by_month[_month_start(began)]
    ledger = _Ledger(parent_id, currency, period, rate_month)

    ledger.one_off(
        holders[0],
        "Onboarding",
        "Setup",
        "one_time",
        1,
        ONBOARDING_FEE_USD[segment],
        began,
        _month_start(began, 1),
    )
    if began.day != 1 and rng.random() < 0.08:
        # Starts and ends inside one quarter: never seen at a snapshot.
        ledger.start(
            ("Analytics", "main"),
            holders[0],
            "Analytics",
            "Starter",
            seat_lo,
            ANALYTICS_PLANS["Starter"] * seat_lo,
            began,
        )
        ledger.close_all(began + timedelta(days=30))
        return accounts, ledger.rows, []  # never billed: nothing to signal

    plan = rng.choices(list(ANALYTICS_PLANS), weights=(5, 4, 1))[0]
    seats = rng.randint(seat_lo, seat_hi)
    price_factor = 1.0
    state = {"seats": seats, "plan": plan}

    def open_analytics(when: date) -> None:
        monthly = ANALYTICS_PLANS[state["plan"]] * price_factor * state["seats"]
        ledger.start(
            ("Analytics", "main"),
            holders[0],
            "Analytics",
            state["plan"],
            state["seats"],
            monthly,
            when,
        )

    open_analytics(began)
    if rng.random() < 0.25:
        discount = -0.1 * ANALYTICS_PLANS[plan] * seats
        ledger.start(
            ("Analytics", "discount"), holders[0], "Analytics", "Discount", 1, discount, began
        )
    if rng.random() < 0.2:
        ledger.start(
            ("Support", "main"), holders[-1], "Support", "Premium", 1, ADDONS["Support"][1], began
        )
    uses_storage = rng.random() < 0.2
    storage_level = STORAGE_BASE_USD[segment] * rng.uniform(0.5, 1.5)

    month = began
    churned_until: date | None = None
    step = max(period, 3) if period <= 12 else 12
    checkpoints = 0
    while True:
        month = _month_start(month, 1) if uses_storage else _month_start(month, step)
        if month > opts.as_of:
            break
        if churned_until is not None:
            if month >= churned_until:
                churned_until = None
                state["seats"] = max(seat_lo, state["seats"] // 2)
                open_analytics(month)
            continue
        if uses_storage and ("Analytics", "main") in ledger.open:
            storage_level *= rng.uniform(0.85, 1.2)
            nxt = _month_start(month, 1)
            ledger.one_off(
                holders[0],
                "Storage",
                "Metered",
                "usage",
                1,
                storage_level,
                month,
                None if nxt > opts.as_of else nxt,
            )
        checkpoints += 1
        if uses_storage and checkpoints % step:
            continue
        roll = rng.random()
        if roll < 0.05 and ("Analytics", "main") in ledger.open:
            last_loss = month
            ledger.close_all(month)
            if rng.random() < 0.4:
                churned_until = _month_start(month, rng.choice((6, 9, 12)))
            else:
                break
        elif roll < 0.30:
            change = rng.choice((-1, 1, 1, 2)) * max(1, state["seats"] // 10)
            if change < 0:
                last_loss = month
            state["seats"] = max(1, state["seats"] + change)
            ledger.stop(("Analytics", "main"), month)
            open_analytics(month)
        elif roll < 0.40:
            plans = list(ANALYTICS_PLANS)
            step_by = rng.choice((-1, 1, 1))
            if step_by < 0:
                last_loss = month
            position = plans.index(state["plan"]) + step_by
            state["plan"] = plans[min(max(position, 0), len(plans) - 1)]
            ledger.stop(("Analytics", "main"), month)
            open_analytics(month)
        elif roll < 0.50:
            price_factor *= rng.choice((1.03, 1.05, 1.07))
            ledger.stop(("Analytics", "main"), month)
            open_analytics(month)
        elif roll < 0.60 and ("Automation", "main") not in ledger.open:
            ledger.start(
                ("Automation", "main"),
                rng.choice(holders),
                "Automation",
                "Standard",
                1,
                ADDONS["Automation"][1],
                month,
            )
        elif roll < 0.66 and ("Automation", "main") in ledger.open:
            ledger.stop(("Automation", "main"), month)
        elif roll < 0.70 and ("Automation", "main") in ledger.open and len(holders) > 1:
            # Moves between two accounts of one customer: nets out under the parent.
            account = ledger.open[("Automation", "main")][0]
            ledger.stop(("Automation", "main"), month)
            other = [h for h in holders if h != account][0]
            ledger.start(
                ("Automation", "main"),
                other,
                "Automation",
                "Standard",
                1,
                ADDONS["Automation"][1],
                month,
            )
        if ("Analytics", "discount") in ledger.open and month >= _month_start(began, 12):
            ledger.stop(("Analytics", "discount"), month)
    if churned_until is None:
        ledger.close_all(None)
    at_risk = last_loss is not None and last_loss >= _month_start(opts.as_of, -6)
    return accounts, ledger.rows, _signals(index, opts, parent_id, at_risk)


# The generated account_signals: what a support desk, an NPS survey and a CRM would record.
# Customers who lost seats, a plan tier or churned in the last six months mostly show it
# beforehand (tickets rising, NPS falling, the champion leaving, a competitor mentioned);
# the others rarely. A stream of its own: the billing rows stay byte for byte the same.
def _signals(index: int, opts: GenerateOptions, account: str, at_risk: bool) -> list[list[str]]:
    rng = random.Random(f"{opts.seed}-{index}-signals")
    stamp = f"{opts.as_of.isoformat()}T06:00:00Z"
    rows = []
    for back in range(6):  # monthly ticket counts, the last six months
        day = _month_start(opts.as_of, -back)
        recent = back < 3
        base = rng.randint(0, 3)
        tickets = base + (rng.randint(3, 8) if at_risk and recent else 0)
        if tickets:
            rows.append([account, day.isoformat(), "support_tickets", str(tickets), "", stamp])
    for back, recent in ((7, False), (1, True)):  # two NPS surveys
        day = _month_start(opts.as_of, -back)
        score = rng.randint(2, 6) if at_risk and recent else rng.randint(7, 10)
        rows.append([account, day.isoformat(), "nps", str(score), "", stamp])
    for kind, chance in (("champion_change", 0.35), ("competitor_mention", 0.3)):
        if rng.random() < (chance if at_risk else 0.03):
            day = _month_start(opts.as_of, -rng.randint(0, 2))
            rows.append([account, day.isoformat(), kind, "", f"generated {kind}", stamp])
    return rows


def _bad_rows(opts: GenerateOptions) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """A few broken rows that carry no ARR: the demo shows a quarantine without blocking."""
    stamp = f"{opts.as_of.isoformat()}T02:00:00"
    crm = [
        ["A0000000", "Orphan Holdings", "A9999999", "SMB", "NA", "Retail", CSM_OWNERS[0], stamp],
    ]
    charges = [
        [
            "BAD-001",
            "A0000001",
            "Onboarding",
            "Setup",
            "one_time",
            "1",
            "n/a",
            "USD",
            "1",
            "2024-02-30",
            "",
            stamp,
        ],
    ]
    first_day = opts.as_of.replace(day=1)
    fx = [[first_day.isoformat(), "EUR", "-1"]]
    return crm, charges, fx


class _Writer:
    """Appends rows to CSV or Parquet (one row group per chunk), all columns as text."""

    def __init__(self, path: Path, columns: tuple[str, ...], file_format: str):
        self.columns = columns
        self.file_format = file_format
        self.path = path.with_suffix(f".{file_format}")
        self._parquet = None
        if file_format == "csv":
            self._handle = self.path.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._handle, lineterminator="\n")
            self._csv.writerow(columns)

    def write(self, rows: list[list[str]]) -> None:
        if not rows:
            return
        if self.file_format == "csv":
            self._csv.writerows(rows)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {c: [r[i] or None for r in rows] for i, c in enumerate(self.columns)},
            schema=pa.schema([(c, pa.string()) for c in self.columns]),
        )
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._parquet.write_table(table)

    def close(self) -> None:
        if self.file_format == "csv":
            self._handle.close()
        elif self._parquet is not None:
            self._parquet.close()


def _chunks(total: int, size: int) -> Iterator[range]:
    for first in range(0, total, size):
        yield range(first + 1, min(first + size, total) + 1)


def generate(opts: GenerateOptions) -> Path:
    """Write one delivery folder OUT/<as_of>/ and return its path."""
    if opts.file_format not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, got {opts.file_format!r}")
    delivery = opts.out / opts.as_of.isoformat()
    delivery.mkdir(parents=True, exist_ok=True)
    window_start = _month_start(opts.as_of, -opts.years * 12 + 1)
    rates = fx_path(opts.seed, window_start, opts.as_of)
    fx_by_month = {day: {"USD": 1.0, **r} for day, r in rates.items() if day.day == 1}

    writers = {
        name: _Writer(delivery / name, cols, opts.file_format)
        for name, cols in EXTRACT_COLUMNS.items()
    }
    try:
        for block in _chunks(opts.customers, opts.chunk_customers):
            crm_rows, charge_rows, signal_rows = [], [], []
            for index in block:
                accounts, charges, signals = _customer(index, opts, window_start, fx_by_month)
                crm_rows.extend(accounts)
                charge_rows.extend(charges)
                signal_rows.extend(signals)
            writers["crm_accounts"].write(crm_rows)
            writers["billing_charges"].write(charge_rows)
            writers["account_signals"].write(signal_rows)
        writers["fx_rates"].write(
            [
                [day.isoformat(), currency, f"{rate:.8f}"]
                for day, by_currency in rates.items()
                for currency, rate in by_currency.items()
            ]
        )
        if opts.bad_rows:
            for name, rows in zip(
                ("crm_accounts", "billing_charges", "fx_rates"), _bad_rows(opts), strict=True
            ):
                writers[name].write(rows)
    finally:
        for writer in writers.values():
            writer.close()
    return delivery
