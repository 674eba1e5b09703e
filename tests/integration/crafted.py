"""A tiny delivery whose every figure is computed by hand in the tests' comments.

Quarters FY2025-Q3 .. FY2026-Q3 (as of 2026-09-30), reporting currency USD.
- S (SMB): 10 seats x 100/month from 2025-07-01 (ARR 12,000); 12 seats from 2025-11-01
  (14,400); churns 2026-04-01. A one-time fee never counts.
- P (Enterprise, parent of P-1): Automation 3,000/quarter on P-1 (12,000), moved to P on
  2026-01-01 (nets out); Analytics 24,000/year from 2025-10-01 with a -2,400/year discount
  line that ends 2026-04-01 (a price motion).
- E (SMB): 1,000 EUR/month from 2025-07-01 (12,000 EUR); EUR rate 1.10 until 2025-12-15,
  then 1.20, then 1.00 from 2026-05-01.
"""

from pathlib import Path

CHARGES = """charge_id,account_id,product,plan,charge_type,quantity,amount,currency,billing_period_months,effective_start,effective_end,updated_at
S-1,S,Analytics,Pro,recurring,10,1000.00,USD,1,2025-07-01,2025-11-01,2025-11-01T09:00:00
S-2,S,Analytics,Pro,recurring,12,1200.00,USD,1,2025-11-01,2026-04-01,2026-04-01T09:00:00
S-3,S,Onboarding,Setup,one_time,1,500.00,USD,1,2025-07-01,2025-08-01,2025-07-01T09:00:00
P-A1,P-1,Automation,Standard,recurring,1,3000.00,USD,3,2025-07-01,2026-01-01,2026-01-01T09:00:00
P-A2,P,Automation,Standard,recurring,1,3000.00,USD,3,2026-01-01,,2026-01-01T09:00:00
P-B1,P,Analytics,Enterprise,recurring,20,24000.00,USD,12,2025-10-01,,2025-10-01T09:00:00
P-D1,P,Analytics,Discount,recurring,1,-2400.00,USD,12,2025-10-01,2026-04-01,2026-04-01T09:00:00
E-1,E,Analytics,Pro,recurring,10,1000.00,EUR,1,2025-07-01,,2025-07-01T09:00:00
"""

ACCOUNTS = """account_id,account_name,parent_account_id,segment,region,industry,csm_owner,updated_at
S,Small Co,,SMB,NA,Retail,Ana Silva,2026-09-30T02:00:00
P,Parent Group,,Enterprise,EMEA,Software,Kara Novak,2026-09-30T02:00:00
P-1,Parent Group Germany,P,Mid-Market,EMEA,Software,Liam Byrne,2026-09-30T02:00:00
E,Euro GmbH,,SMB,EMEA,Media,Ana Silva,2026-09-30T02:00:00
"""

RATES = """rate_date,currency,rate_to_reporting
2025-07-01,EUR,1.10
2025-12-15,EUR,1.20
2026-05-01,EUR,1.00
"""


def write_crafted_delivery(
    root: Path,
    name: str = "2026-09-30",
    extra_charges: str = "",
    names: dict[str, str] | None = None,
    charges: str = CHARGES,
) -> Path:
    """The delivery folder root/name; `names` renames accounts (CSV-quoted)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "billing_charges.csv").write_text(charges + extra_charges)
    lines = ACCOUNTS.splitlines()
    for account_id, account_name in (names or {}).items():
        quoted = '"' + account_name.replace('"', '""') + '"'
        lines = [
            ",".join([account_id, quoted, *line.split(",")[2:]])
            if line.split(",")[0] == account_id
            else line
            for line in lines
        ]
    (folder / "crm_accounts.csv").write_text("\n".join(lines) + "\n")
    (folder / "fx_rates.csv").write_text(RATES)
    return folder


def published(home: Path, sql: str) -> list[tuple]:
    """Rows of a query on the published report (reports/latest/marts.duckdb)."""
    import duckdb

    con = duckdb.connect(str(home / "reports" / "latest" / "marts.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def working(home: Path, sql: str) -> list[tuple]:
    """Rows of a query on the working warehouse (raw tables, quarantine, dbt models)."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()
