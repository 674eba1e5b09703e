"""`nrr adapt` end to end: a Stripe and a Salesforce export, hand-built in the connector's
own column layout (tests/fixtures/adapters/), adapted into one delivery and run.

The Stripe fixture (as Fivetran lands it), customer by customer, delivery 2025-12-31:
- cus_A -> CRM 001A (a child of 001P Acme Holdings in Salesforce): subscription sub_A
  trialing 2025-01-01 to 01-15, then active. Items: si_A1 Pro (100.00 USD/month) × 5 from
  01-01, deleted when the price was swapped on 07-01; si_A2 Enterprise (150.00) × 5 from 07-01;
  si_A3 Viewer, a free price (0) × 10. So: 500.00/month from 01-15 (the trial is free) to
  07-01, 750.00/month after; the free item carries nothing.
- cus_B -> 001B: sub_B from 02-01. si_B1 Platform Annual 1,200,000 JPY per year (JPY is a
  zero-decimal currency: 1200000 is yen, not cents); si_B2 API calls, metered at 2 JPY per
  call: 10,000 calls in September 2025 (4,000 + 6,000), 5,000 in December.
- cus_C -> 001C: sub_C from 01-01, Pro × 2 = 200.00/month; a coupon 25 % off, repeating for
  6 months from 01-01 (to 07-01): -50.00/month; on 10-15 it was set to cancel at the period
  end (current_period_end 11-01), and it ended then.
- cus_D -> 001D: only a trial (03-01 to 03-15), then canceled: no charge.
- cus_E -> 001E: sub_E from 04-01, 30.00 USD per week: 30 × 52 / 12 = 130.00 per month; a
  `once` coupon (a one-off 10.00 off one invoice): not recurring revenue, left out.
FX: 1 JPY = 0.0065 USD from 2025-01-01.
"""

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.adapters import ADAPTERS
from pipeline.cli import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
DELIVERY = "2025-12-31"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# The optional account_signals extract of the adapted delivery (the watchlist's signals from
# outside billing), with one broken row per reason after the good ones.
SIGNALS = """account_id,signal_date,signal_type,value,note,updated_at
001E,2025-09-15,support_tickets,4,,2025-12-31T00:00:00Z
001E,2025-12-10,support_tickets,7,,2025-12-31T00:00:00Z
001E,2025-06-01,nps,8,,2025-12-31T00:00:00Z
001E,2025-11-20,NPS,5,,2025-12-31T00:00:00Z
001A,2025-11-01,champion_change,,VP Data left,2025-12-31T00:00:00Z
001B,2025-12-01,competitor_mention,,Evaluating Rival,2025-12-31T00:00:00Z
,2025-12-01,nps,9,,2025-12-31T00:00:00Z
001E,2025-13-01,nps,9,,2025-12-31T00:00:00Z
001E,2025-12-01,churn_risk,1,,2025-12-31T00:00:00Z
001E,2025-12-01,nps,11,,2025-12-31T00:00:00Z
001Z,2025-12-01,nps,9,,2025-12-31T00:00:00Z
"""


@pytest.fixture(scope="module")
def adapted(tmp_path_factory):
    """stripe, then salesforce, adapted into one delivery (with the derived CRM kept aside
    from between the two), an FX file added, and the delivery run once."""
    root = tmp_path_factory.mktemp("adapted")
    extracts = root / "extracts"
    stripe = ["adapt", "stripe", str(FIXTURES / "stripe"), "--out", str(extracts)]
    assert main([*stripe, "--delivery", DELIVERY]) == EXIT_OK
    folder = extracts / DELIVERY
    derived = rows(folder / "crm_accounts.csv")
    salesforce = ["adapt", "salesforce", str(FIXTURES / "salesforce"), "--out", str(extracts)]
    assert main([*salesforce, "--delivery", DELIVERY]) == EXIT_OK
    (folder / "fx_rates.csv").write_text(
        "rate_date,currency,rate_to_reporting\n2025-01-01,JPY,0.0065\n"
    )
    (folder / "account_signals.csv").write_text(SIGNALS)
    code = main(["run", "--extracts", str(extracts), "--home", str(root / "home")])
    return folder, derived, root / "home", code


def test_stripe_charges_follow_every_rule(adapted):
    folder, _, _, _ = adapted
    charges = {row["charge_id"]: row for row in rows(folder / "billing_charges.csv")}
    columns = list(rows(folder / "billing_charges.csv")[0])
    assert columns == [
        "charge_id", "account_id", "product", "plan", "charge_type", "quantity", "amount",
        "currency", "billing_period_months", "effective_start", "effective_end", "updated_at",
    ]  # fmt: skip
    picked = {
        charge_id: (
            row["account_id"], row["product"], row["plan"], row["charge_type"],
            Decimal(row["quantity"]), Decimal(row["amount"]), row["currency"],
            int(row["billing_period_months"]), row["effective_start"], row["effective_end"],
        )
        for charge_id, row in charges.items()
    }  # fmt: skip
    assert picked == {
        # The trial is free: Pro × 5 from the trial's end to the swap.
        "si_A1@2025-01-15": ("001A", "Analytics", "Pro", "recurring", Decimal(5), Decimal("500"),
                             "usd", 1, "2025-01-15", "2025-07-01"),
        # The swapped-in price, same product, same subscription: open.
        "si_A2@2025-07-01": ("001A", "Analytics", "Enterprise", "recurring", Decimal(5),
                             Decimal("750"), "usd", 1, "2025-07-01", ""),
        # Yearly: 12 months; zero-decimal JPY: 1200000 is 1,200,000 yen.
        "si_B1@2025-02-01": ("001B", "Platform", "Platform Annual", "recurring", Decimal(1),
                             Decimal("1200000"), "jpy", 12, "2025-02-01", ""),
        # Metered: each month's calls × 2 JPY, for that month.
        "si_B2@usage@2025-09-01": ("001B", "API", "API calls", "usage", Decimal(10000),
                                   Decimal("20000"), "jpy", 1, "2025-09-01", "2025-10-01"),
        "si_B2@usage@2025-12-01": ("001B", "API", "API calls", "usage", Decimal(5000),
                                   Decimal("10000"), "jpy", 1, "2025-12-01", "2026-01-01"),
        # Two versions of sub_C (the second scheduled to cancel at 11-01) are one window.
        "si_C1@2025-01-01": ("001C", "Analytics", "Pro", "recurring", Decimal(2), Decimal("200"),
                             "usd", 1, "2025-01-01", "2025-11-01"),
        # 25 % of 200.00 off for 6 months.
        "di_C1@si_C1@2025-01-01": ("001C", "Analytics", "Pro", "recurring", Decimal(2),
                                   Decimal("-50"), "usd", 1, "2025-01-01", "2025-07-01"),
        # Weekly 30.00 -> 130.00 a month.
        "si_E1@2025-04-01": ("001E", "Ops", "Weekly", "recurring", Decimal(1), Decimal("130"),
                             "usd", 1, "2025-04-01", ""),
    }  # fmt: skip


def test_without_a_crm_the_billing_customers_become_the_accounts(adapted):
    _, derived, _, _ = adapted
    assert [(r["account_id"], r["account_name"], r["parent_account_id"]) for r in derived] == [
        ("001A", "Acme", ""),
        ("001B", "Kyoto KK", ""),
        ("001C", "Crater Co", ""),
        ("001D", "Delta", ""),
        ("001E", "Echo Ltd", ""),
    ]


def test_salesforce_accounts_keep_parents_slices_and_owner_names(adapted):
    folder, _, _, _ = adapted
    accounts = {row["account_id"]: row for row in rows(folder / "crm_accounts.csv")}
    assert "001X" not in accounts  # is_deleted
    assert [
        (
            a,
            r["account_name"],
            r["parent_account_id"],
            r["segment"],
            r["region"],
            r["industry"],
            r["csm_owner"],
        )
        for a, r in sorted(accounts.items())
    ] == [
        ("001A", "Acme", "001P", "Enterprise", "NA", "Manufacturing", "Ana Souza"),
        ("001B", "Kyoto KK", "", "Mid-Market", "APAC", "Software", "Ben Ito"),
        ("001C", "Crater Co", "", "SMB", "NA", "Retail", "Ben Ito"),
        ("001D", "Delta", "", "SMB", "EMEA", "Retail", "Ana Souza"),
        ("001E", "Echo Ltd", "", "SMB", "EMEA", "Media", "Ben Ito"),
        ("001P", "Acme Holdings", "", "Enterprise", "NA", "Manufacturing", "Ana Souza"),
    ]


def test_the_adapted_delivery_publishes_the_movements_computed_by_hand(adapted):
    _, _, home, code = adapted
    assert code == EXIT_OK
    con = duckdb.connect(str(home / "reports" / "latest" / "marts.duckdb"), read_only=True)
    found = con.execute(
        "select customer_id, quarter_label, movement, start_arr, end_arr, new_arr, "
        "expansion_arr, contraction_arr, churn_arr, tier_arr, price_arr, usage_arr, "
        "cross_sell_arr from fct_arr_movements where quarter_label like 'FY2025-%' "
        "and movement <> 'flat' order by 1, 2"
    ).fetchall()
    con.close()
    z = Decimal(0)
    assert [tuple(Decimal(v) if isinstance(v, Decimal) else v for v in row) for row in found] == [
        # 001B: 1,200,000 JPY a year × 0.0065 = 7,800.00.
        ("001B", "FY2025-Q1", "new", z, Decimal("7800"), Decimal("7800"), z, z, z, z, z, z, z),
        # September's usage: 20,000 JPY × 12 × 0.0065 = 1,560.00, a new product: cross-sell.
        ("001B", "FY2025-Q3", "expansion", Decimal("7800"), Decimal("9360"), z,
         Decimal("1560"), z, z, z, z, z, Decimal("1560")),
        # December's usage: 10,000 JPY × 12 × 0.0065 = 780.00: usage down 780.00.
        ("001B", "FY2025-Q4", "contraction", Decimal("9360"), Decimal("8580"), z, z,
         Decimal("780"), z, z, z, Decimal("-780"), z),
        # 001C: (200.00 - 50.00) × 12 = 1,800.00; the coupon ends: +600.00, a price motion.
        ("001C", "FY2025-Q1", "new", z, Decimal("1800"), Decimal("1800"), z, z, z, z, z, z, z),
        ("001C", "FY2025-Q3", "expansion", Decimal("1800"), Decimal("2400"), z, Decimal("600"),
         z, z, z, Decimal("600"), z, z),
        # Canceled at the period end, 11-01: churned by the Q4 snapshot.
        ("001C", "FY2025-Q4", "churn", Decimal("2400"), z, z, z, z, Decimal("2400"), z, z, z, z),
        # 001E: 130.00 × 12 = 1,560.00 from 04-01.
        ("001E", "FY2025-Q2", "new", z, Decimal("1560"), Decimal("1560"), z, z, z, z, z, z, z),
        # 001A rolls up to its Salesforce parent 001P: Pro × 5 × 12 = 6,000.00; the swap to
        # Enterprise is expansion on the same product (5 × 50.00 × 12 = 3,000.00, a tier
        # change), not a churn and a new customer.
        ("001P", "FY2025-Q1", "new", z, Decimal("6000"), Decimal("6000"), z, z, z, z, z, z, z),
        ("001P", "FY2025-Q3", "expansion", Decimal("6000"), Decimal("9000"), z, Decimal("3000"),
         z, z, Decimal("3000"), z, z, z),
    ]  # fmt: skip


def test_legacy_plans_and_a_subscription_without_history(tmp_path):
    """`plan` instead of `price`, `subscription` instead of `subscription_history`: sub_C's
    current version is canceled (ended 2025-11-01): without history its paid life is start
    to ended_at; sub_A's trial (to 01-15) is still left out. The legacy plan carries the
    same amounts as the prices."""
    source = tmp_path / "stripe"
    shutil.copytree(FIXTURES / "stripe", source)
    prices = rows(source / "price.csv")
    (source / "price.csv").unlink()
    with (source / "plan.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "id",
                "product_id",
                "nickname",
                "currency",
                "amount",
                "interval",
                "interval_count",
                "usage_type",
            ]
        )
        legacy = ("id", "product_id", "nickname", "currency", "unit_amount", "recurring_interval")
        for p in prices:
            out.writerow(
                [*(p[c] for c in legacy), p["recurring_interval_count"], p["recurring_usage_type"]]
            )
    history = rows(source / "subscription_history.csv")
    (source / "subscription_history.csv").unlink()
    current = [r for r in history if r["_fivetran_end"] == ""]
    with (source / "subscription.csv").open("w", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=list(current[0]))
        out.writeheader()
        out.writerows(current)
    assert (
        main(["adapt", "stripe", str(source), "--out", str(tmp_path / "x"), "--delivery", DELIVERY])
        == EXIT_OK
    )
    charges = {r["charge_id"]: r for r in rows(tmp_path / "x" / DELIVERY / "billing_charges.csv")}
    assert (
        charges["si_C1@2025-01-01"]["amount"],
        charges["si_C1@2025-01-01"]["effective_end"],
    ) == (
        "200.000000",
        "2025-11-01",
    )
    assert charges["si_A1@2025-01-15"]["amount"] == "500.000000"
    assert charges["si_B1@2025-02-01"]["billing_period_months"] == "12"
    assert not any(r["account_id"] == "001D" for r in charges.values())  # trial only


def test_a_missing_table_or_column_is_named(tmp_path, capsys):
    source = tmp_path / "stripe"
    shutil.copytree(FIXTURES / "stripe", source)
    (source / "product.csv").unlink()
    out = ["--out", str(tmp_path / "x"), "--delivery", DELIVERY]
    assert main(["adapt", "stripe", str(source), *out]) == EXIT_REJECTED
    assert "product.csv/.parquet is missing" in capsys.readouterr().err

    shutil.copy(FIXTURES / "stripe" / "product.csv", source)
    item = source / "subscription_item.csv"
    item.write_text(item.read_text().replace("plan_id", "price"))
    assert main(["adapt", "stripe", str(source), *out]) == EXIT_REJECTED
    assert f"{item}: column plan_id is missing" in capsys.readouterr().err
    assert not (tmp_path / "x" / DELIVERY / "billing_charges.csv").exists()


def test_unknown_source_and_missing_folder_are_usage_errors(tmp_path, capsys):
    out = ["--out", str(tmp_path), "--delivery", DELIVERY]
    with pytest.raises(SystemExit) as exit_info:
        main(["adapt", "quickbooks", str(tmp_path), *out])
    assert exit_info.value.code == EXIT_USAGE
    assert main(["adapt", "stripe", str(tmp_path / "absent"), *out]) == EXIT_USAGE
    assert "no such folder" in capsys.readouterr().err


def test_adapt_help_lists_every_source(capsys):
    with pytest.raises(SystemExit):
        main(["adapt", "--help"])
    text = capsys.readouterr().out
    for name in ADAPTERS:
        assert name in text


def movements(home: Path) -> list[tuple]:
    """Every non-flat FY2025 movement: customer, quarter, movement, start, end, and the
    new, expansion, contraction, churn, seat, tier and price ARR."""
    con = duckdb.connect(str(home / "reports" / "latest" / "marts.duckdb"), read_only=True)
    found = con.execute(
        "select customer_id, quarter_label, movement, start_arr, end_arr, new_arr, "
        "expansion_arr, contraction_arr, churn_arr, seat_arr, tier_arr, price_arr "
        "from fct_arr_movements where quarter_label like 'FY2025-%' and movement <> 'flat' "
        "order by 1, 2"
    ).fetchall()
    con.close()
    return found


def adapt_and_run(root: Path, sources: list[str], fx: str | None = None) -> tuple[Path, int]:
    extracts = root / "extracts"
    for source in sources:
        argv = ["adapt", source, str(FIXTURES / source), "--out", str(extracts)]
        assert main([*argv, "--delivery", DELIVERY]) == EXIT_OK
    if fx:
        (extracts / DELIVERY / "fx_rates.csv").write_text(fx)
    return extracts / DELIVERY, main(
        ["run", "--extracts", str(extracts), "--home", str(root / "home")]
    )


def test_zuora_and_hubspot_end_to_end(tmp_path):
    """Zuora (tests/fixtures/adapters/zuora), HubSpot companies as the CRM, 1 EUR = 1.10 USD:
    - account 2c9a01 (crm_id 9001, a HubSpot child of 9000): charge C-00000001 at 10 seats,
      MRR 1,000.00 from 2025-01-01; an amendment on 07-01 made segment 2 at 12 seats, MRR
      1,200.00 (version 1 still shows segment 1 open-ended: the newer copy wins); a launch
      discount C-00000002 at MRR -100.00 until 04-01;
    - account 2c9a03 (9004): Analytics seats from 2025-04-01: 5 (MRR 500.00), 6 from 08-01
      (600.00), 8 from 11-01 (800.00) until 2026-02-15; Storage at MRR 200.00, open;
    - account 2c9a02 (9002): Storage at MRR 500.00 EUR until 10-01; a one-time onboarding fee
      and an unrated usage charge (no MRR) carry no ARR."""
    folder, code = adapt_and_run(
        tmp_path,
        ["zuora", "hubspot"],
        "rate_date,currency,rate_to_reporting\n2025-01-01,EUR,1.10\n",
    )
    assert code == EXIT_OK
    charges = rows(folder / "billing_charges.csv")
    assert [(r["charge_id"], r["quantity"], r["amount"], r["effective_end"]) for r in charges] == [
        ("C-00000001#1", "10.0000", "1000.000000", "2025-07-01"),
        ("C-00000001#2", "12.0000", "1200.000000", ""),
        ("C-00000002#1", "1.0000", "-100.000000", "2025-04-01"),
        ("C-00000003#1", "1.0000", "500.000000", "2025-10-01"),
        ("C-00000006#1", "5.0000", "500.000000", "2025-08-01"),
        ("C-00000006#2", "6.0000", "600.000000", "2025-11-01"),
        ("C-00000006#3", "8.0000", "800.000000", "2026-02-15"),
        ("C-00000007#1", "1.0000", "200.000000", ""),
    ]
    accounts = {r["account_id"]: r for r in rows(folder / "crm_accounts.csv")}
    assert sorted(accounts) == ["9000", "9001", "9002", "9004"]  # 9003 is deleted
    assert (accounts["9001"]["parent_account_id"], accounts["9001"]["csm_owner"]) == (
        "9000",
        "Cleo Park",
    )
    assert (accounts["9002"]["segment"], accounts["9002"]["region"]) == ("Mid-Market", "EMEA")
    z = Decimal(0)
    assert movements(tmp_path / "home") == [
        # (1,000.00 - 100.00) × 12 = 10,800.00; the discount ends: +1,200.00, a price motion;
        # the amendment adds 2 seats at 1,200.00 a seat a year: +2,400.00 seat expansion.
        ("9000", "FY2025-Q1", "new", z, Decimal("10800"), Decimal("10800"), z, z, z, z, z, z),
        ("9000", "FY2025-Q2", "expansion", Decimal("10800"), Decimal("12000"), z,
         Decimal("1200"), z, z, z, z, Decimal("1200")),
        ("9000", "FY2025-Q3", "expansion", Decimal("12000"), Decimal("14400"), z,
         Decimal("2400"), z, z, Decimal("2400"), z, z),
        # 500.00 EUR × 12 × 1.10 = 6,600.00 USD, ended 10-01.
        ("9002", "FY2025-Q1", "new", z, Decimal("6600"), Decimal("6600"), z, z, z, z, z, z),
        ("9002", "FY2025-Q4", "churn", Decimal("6600"), z, z, z, z, Decimal("6600"), z, z, z),
        # (500.00 + 200.00) × 12 = 8,400.00; a seat more: 7,200.00 / 6 ... (6 - 5) × 6,000.00
        # / 5 = 1,200.00; two more: (8 - 6) × 7,200.00 / 6 = 2,400.00, both seat expansion.
        ("9004", "FY2025-Q2", "new", z, Decimal("8400"), Decimal("8400"), z, z, z, z, z, z),
        ("9004", "FY2025-Q3", "expansion", Decimal("8400"), Decimal("9600"), z,
         Decimal("1200"), z, z, Decimal("1200"), z, z),
        ("9004", "FY2025-Q4", "expansion", Decimal("9600"), Decimal("12000"), z,
         Decimal("2400"), z, z, Decimal("2400"), z, z),
    ]  # fmt: skip
    # The watchlist at 2025-12-31: 9004's seats (its products' quantities: Analytics 5 -> 6 ->
    # 8, plus Storage's 1) rose at both of the last two snapshots (6 -> 7 -> 9):
    # seats_up_two_quarters, so it leads the sprint; its Analytics charge ends on
    # 2026-02-15, within 90 days: 800.00 × 12 = 9,600.00 scheduled to end (one risk signal,
    # no intervention: that ARR is its ARR at risk). 9000: seats 12 -> 12 at the last two
    # snapshots, nothing ending: no signal. Without an account_signals file the signals from
    # outside billing are all false.
    con = duckdb.connect(
        str(tmp_path / "home" / "reports" / "latest" / "marts.duckdb"), read_only=True
    )
    watch = con.execute(
        "select customer_id, seats_two_quarters_back, seats_previous_quarter_end, "
        "seats_previous, seats_latest, seats_up_two_quarters, seats_down, "
        "arr_scheduled_to_end, first_scheduled_end, arr_ending_soon, risk_signals, "
        "needs_intervention, arr_at_risk, expansion_signals, sprint_rank, "
        "tickets_up or nps_drop or champion_changed or competitor_mentioned "
        "from rpt_account_watchlist order by customer_id"
    ).fetchall()
    con.close()
    assert watch == [
        ("9000", Decimal(10), Decimal(12), Decimal(12), Decimal(12), False, False, z, None,
         False, 0, False, z, 0, None, False),
        ("9004", Decimal(6), Decimal(7), Decimal(7), Decimal(9), True, False, Decimal("9600"),
         date(2026, 2, 15), True, 1, False, Decimal("9600"), 1, 1, False),
    ]  # fmt: skip


def test_chargebee_end_to_end_with_the_crm_derived(tmp_path):
    """Chargebee (tests/fixtures/adapters/chargebee), no CRM extract:
    - cb_c1 Nimbus: Team Monthly 25.00 × 3 seats and the SSO addon, 60.00 every 2 months, from
      2025-01-01; a one-time setup charge is not recurring revenue;
    - cb_c2: still in trial: nothing;
    - cb_c3 Pulse: Business, 1,800.00 every 18 months, from 04-01, non-renewing: ends at the
      current term's end, 11-15."""
    folder, code = adapt_and_run(tmp_path, ["chargebee"])
    assert code == EXIT_OK
    charges = rows(folder / "billing_charges.csv")
    assert [
        (r["charge_id"], r["amount"], r["billing_period_months"], r["effective_end"])
        for r in charges
    ] == [
        ("cb_s1:ip_sso_usd_2m", "60.000000", "2", ""),
        ("cb_s1:ip_team_usd_m", "75.000000", "1", ""),
        ("cb_s3:ip_biz_usd_18m", "1800.000000", "18", "2025-11-15"),
    ]
    assert [(r["account_id"], r["account_name"]) for r in rows(folder / "crm_accounts.csv")] == [
        ("cb_c1", "Nimbus"),
        ("cb_c2", "Omar Diaz"),
        ("cb_c3", "Pulse"),
    ]
    z = Decimal(0)
    assert movements(tmp_path / "home") == [
        # 75.00 × 12 + 60.00 × 12 / 2 = 900.00 + 360.00.
        ("cb_c1", "FY2025-Q1", "new", z, Decimal("1260"), Decimal("1260"), z, z, z, z, z, z),
        # 1,800.00 × 12 / 18 = 1,200.00.
        ("cb_c3", "FY2025-Q2", "new", z, Decimal("1200"), Decimal("1200"), z, z, z, z, z, z),
        ("cb_c3", "FY2025-Q4", "churn", Decimal("1200"), z, z, z, z, Decimal("1200"), z, z, z),
    ]  # fmt: skip


def test_the_watchlist_of_the_adapted_delivery(adapted):
    """rpt_account_watchlist on the Stripe delivery at 2025-12-31 (FY2025-Q4), by hand:
    - 001B: usage ARR 1,560.00 at the Q3 snapshot (September's calls) -> 780.00 (December's):
      down 50 %, more than 20 %: usage_down; its Q4 contraction 780.00:
      contracted_last_quarter; a competitor mentioned on 12-01 (within 90 days). Three risk
      signals: needs intervention, all its ARR at risk: 7,800.00 + 780.00 = 8,580.00.
    - 001E: 7 tickets in the 90 days to 12-31 (12-10) against 4 in the 90 days before (09-15):
      up 75 %, more than 50 %: tickets_up; NPS 8 (06-01) -> 5 (11-20, type `NPS`): nps_drop.
      Two risk signals: needs intervention, 1,560.00 at risk.
    - 001P: its child 001A's champion left on 11-01: champion_changed, one signal.
    - 001C churned in Q4: not on the list. No expansion signal anywhere: the sprint is empty.
    The five broken signal rows are quarantined, one per reason, and carry no ARR."""
    _, _, home, code = adapted
    assert code == EXIT_OK
    con = duckdb.connect(str(home / "reports" / "latest" / "marts.duckdb"), read_only=True)
    found = con.execute(
        "select customer_id, end_arr, usage_down, contracted_last_quarter, tickets_up, "
        "tickets_last_window, tickets_window_before, nps_drop, nps_previous, nps_latest, "
        "champion_changed, competitor_mentioned, risk_signals, needs_intervention, "
        "arr_at_risk, sprint_rank from rpt_account_watchlist order by customer_id"
    ).fetchall()
    quarantined = con.execute(
        "select row_number, reason, arr_at_stake from quarantine "
        "where extract = 'account_signals' order by row_number"
    ).fetchall()
    con.close()
    z = Decimal(0)
    assert found == [
        ("001B", Decimal("8580"), True, True, False, z, z, False, None, None, False, True, 3,
         True, Decimal("8580"), None),
        ("001E", Decimal("1560"), False, False, True, Decimal(7), Decimal(4), True, Decimal(8),
         Decimal(5), False, False, 2, True, Decimal("1560"), None),
        ("001P", Decimal("9000"), False, False, False, z, z, False, None, None, True, False, 1,
         False, z, None),
    ]  # fmt: skip
    assert quarantined == [
        (7, "missing_account_id", z),
        (8, "bad_date", z),
        (9, "bad_signal_type", z),
        (10, "bad_value", z),
        (11, "unknown_account", z),
    ]
