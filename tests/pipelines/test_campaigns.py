"""Campaign evaluation on hand-built tables: exact churn rates and lift, maturity, and point in time."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.campaigns import CAMPAIGN, DESKS, OVERALL, campaign_members, campaign_report, campaign_summary
from tests.data_contracts.tables import subscribers as three_subscribers

DATA_END = date(2024, 5, 31)  # bills January to May 2024
AMOUNTS = {1: 100.0, 2: 50.0, 3: 40.0, 4: 30.0, 5: 80.0, 6: 20.0}  # every month: arpu_3m = the amount
MONTHS = pd.date_range("2024-01-01", "2024-05-01", freq="MS")


def _dates(*values: str | None) -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype="datetime64[ms]")


def subscribers(**left: str) -> pd.DataFrame:
    """Six postpaid lines active since 2023-01-15; `left` maps "s<id>" to a deactivation date."""
    one = three_subscribers().iloc[[0]]
    frame = pd.concat([one] * 6, ignore_index=True).assign(
        subscriber_id=range(1, 7), msisdn=[f"1380000000{i}" for i in range(1, 7)]
    )
    gone = [left.get(f"s{i}") for i in range(1, 7)]
    return frame.assign(
        deactivation_date=_dates(*gone),
        deactivation_reason=pd.Series(["voluntary" if g else None for g in gone], dtype="str"),
    )


def bills(after_campaign: float = 1.0) -> pd.DataFrame:
    """One bill a month per line; amounts from March on (the campaign month) times `after_campaign`."""
    rows = [
        (i, month, amount * (after_campaign if month.month >= 3 else 1.0))
        for i, amount in AMOUNTS.items()
        for month in MONTHS
    ]
    ids, months, amounts = zip(*rows, strict=True)
    n = len(rows)
    return pd.DataFrame(
        {
            "subscriber_id": list(ids),
            "bill_month": pd.Series(list(months), dtype="datetime64[ms]"),
            "amount": list(amounts),
            "base_fee": list(amounts),
            "voice_minutes": [100.0] * n,
            "data_mb": [1000.0] * n,
            "sms_count": [0] * n,
            "data_amount": [0.0] * n,
            "long_distance_amount": [0.0] * n,
            "roaming_amount": [0.0] * n,
            "value_added_amount": [0.0] * n,
        }
    )


def payments(frame: pd.DataFrame) -> pd.DataFrame:
    """Every bill paid in full on the 5th of the next month, due on the 15th."""
    return pd.DataFrame(
        {
            "subscriber_id": frame["subscriber_id"],
            "bill_month": frame["bill_month"],
            "due_date": (frame["bill_month"] + pd.DateOffset(months=1, days=14)).astype("datetime64[ms]"),
            "paid_date": (frame["bill_month"] + pd.DateOffset(months=1, days=4)).astype("datetime64[ms]"),
            "amount_paid": frame["amount"],
        }
    )


def contacts(*extra: tuple[int, str, str]) -> pd.DataFrame:
    """An inquiry of line 1 in February, plus `extra` (subscriber, time, reason) voice contacts."""
    rows = [(1, "2024-02-10 10:00", "inquiry"), *extra]
    return pd.DataFrame(
        {
            "contact_id": range(1, len(rows) + 1),
            "subscriber_id": [r[0] for r in rows],
            "contact_time": pd.Series(pd.to_datetime([r[1] for r in rows]), dtype="datetime64[ms]"),
            "channel": ["voice"] * len(rows),
            "reason": [r[2] for r in rows],
            "resolved": [False] * len(rows),
            "wait_seconds": [10.0] * len(rows),
            "handle_seconds": [100.0] * len(rows),
            "abandoned": [False] * len(rows),
        }
    )


def campaigns() -> pd.DataFrame:
    """2024-03-01, desk tariff: lines 1-4 treated, 5-6 control; 2024-05-15 (not matured by May's end): line 4."""
    return pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 4, 5, 6, 4],
            CAMPAIGN: _dates(*["2024-03-01"] * 6, "2024-05-15"),
            "desk": ["tariff"] * 7,
            "group": ["treated"] * 4 + ["control"] * 2 + ["treated"],
            "offer": ["discount"] * 7,
            "called_at": _dates("2024-03-02 10:00", "2024-03-02 11:00", None, "2024-03-03 10:00", None, None, None),
            "outcome": ["accepted", "declined", None, "no_answer", None, None, None],
        }
    )


# Line 1 (treated) leaves inside the horizon, line 2 (treated) after it, line 5 (control) on its last day
# (2024-04-30 = 2024-03-01 + 60 days), line 6 (control) on the campaign date itself (not after it).
LEFT = {"s1": "2024-03-10", "s2": "2024-05-15", "s5": "2024-04-30", "s6": "2024-03-01"}


def tables(left: dict[str, str] = LEFT, after_campaign: float = 1.0, *extra: tuple[int, str, str]) -> dict:
    people = subscribers(**left)
    made = bills(after_campaign)
    gone = made["subscriber_id"].map(people.set_index("subscriber_id")["deactivation_date"])
    made = made[~(made["bill_month"] > gone)].reset_index(drop=True)  # billed while active only
    return {
        "subscribers": people,
        "bills": made,
        "payments": payments(made),
        "contacts": contacts(*extra),
        "campaigns": campaigns(),
    }


def report(settings, given: dict) -> pd.DataFrame:
    members, _ = campaign_members(given, settings, DATA_END)
    return campaign_report(members, n_boot=200, seed=1)


def test_churn_rates_lift_and_value_saved_are_exact(settings) -> None:
    """Given treated 1 of 4 left and control 1 of 2, when reported, then lift 0.25 and value saved 720 CNY."""
    margin = settings.retention.value_at_risk.margin_share * settings.retention.value_at_risk.remaining_months
    assert margin == 12.0  # value if lost = arpu_3m x 0.5 x 24

    table = report(settings, tables())

    row = table[table["level"] == CAMPAIGN].iloc[0]
    assert (row["n_treated"], row["n_control"]) == (4, 2)
    assert (row["churn_rate_treated"], row["churn_rate_control"]) == (0.25, 0.5)
    assert row["lift"] == 0.25
    assert row["relative_lift"] == 0.5
    assert row["customers_saved"] == 1.0
    assert row["value_saved"] == pytest.approx((80.0 * 12 / 2 - 100.0 * 12 / 4) * 4)  # 720
    assert row["lift_low"] <= row["lift"] <= row["lift_high"]


def test_only_matured_campaigns_are_evaluated_the_others_listed(settings) -> None:
    members, pending = campaign_members(tables(), settings, DATA_END)

    assert set(members[CAMPAIGN]) == {pd.Timestamp("2024-03-01")}
    assert members.set_index("subscriber_id")["tier"].to_dict() == {
        1: "high", 2: "mid", 3: "low", 4: "low", 5: "mid", 6: "low"
    }  # fmt: skip  # value score ranks of the 6 lines as of 2024-02-29: top 20%, next 30%, the rest
    assert members.set_index("subscriber_id")["value"].to_dict() == {i: a * 12 for i, a in AMOUNTS.items()}
    assert pending[[CAMPAIGN, "desk", "members"]].to_dict("records") == [
        {CAMPAIGN: pd.Timestamp("2024-05-15"), "desk": "tariff", "members": 1}
    ]
    assert pending["matures_on"].iloc[0] == pd.Timestamp("2024-07-14")


def test_levels_are_breakdown_desks_campaigns_overall(settings) -> None:
    table = report(settings, tables())

    assert list(dict.fromkeys(table["level"])) == ["campaign_date x desk x tier x offer", DESKS, CAMPAIGN, OVERALL]
    breakdown = table[table["level"] == "campaign_date x desk x tier x offer"]
    assert breakdown["n_treated"].sum() == 4 and breakdown["n_control"].sum() == 2
    tiers = list(breakdown["tier"])
    assert tiers == sorted(tiers, key=["high", "mid", "low", "unknown"].index)


def test_a_departure_after_the_horizon_or_a_bill_or_contact_after_the_campaign_date_changes_nothing(settings) -> None:
    """Given line 3 leaving the day after the horizon, bills from the campaign month on x10 and complaints
    from the campaign date on, when reported, then every number (tiers and values too) is as before."""
    before = report(settings, tables())
    later = {**LEFT, "s3": "2024-05-01"}
    complaints = ((3, "2024-03-01 09:00", "complaint"), (5, "2024-03-05 12:00", "cancel_intent"))

    after = report(settings, tables(later, 10.0, *complaints))

    pd.testing.assert_frame_equal(after, before)


def test_a_bill_before_the_campaign_date_does_change_the_value(settings) -> None:
    """The test above can fail: the same change one month earlier (February on) moves the value saved."""
    given = tables()
    changed = given["bills"].assign(
        amount=given["bills"]["amount"].where(given["bills"]["bill_month"] < pd.Timestamp("2024-02-01"), 1000.0)
    )
    before = report(settings, given)

    after = report(settings, {**given, "bills": changed, "payments": payments(changed)})

    assert (
        after.loc[after["level"] == CAMPAIGN, "value_saved"].iloc[0]
        != before.loc[before["level"] == CAMPAIGN, "value_saved"].iloc[0]
    )


def test_summary_names_the_latest_matured_campaign_json_ready(settings) -> None:
    import json

    summary = campaign_summary(report(settings, tables()))

    assert summary["matured_campaigns"] == 1
    assert summary["latest_campaign_date"] == "2024-03-01"
    assert summary["latest"]["lift"] == 0.25
    assert summary["latest"]["desks"]["tariff"]["n_control"] == 2
    assert summary["all_matured"]["customers_saved"] == 1.0
    json.dumps(summary, allow_nan=False)


def test_summary_without_a_matured_campaign(settings) -> None:
    members, _ = campaign_members(tables(), settings, date(2024, 4, 29))

    summary = campaign_summary(campaign_report(members))

    assert summary == {"matured_campaigns": 0, "latest_campaign_date": None, "latest": None, "all_matured": None}


def test_the_nightly_summary_takes_the_latest_report_written_up_to_its_date(settings) -> None:
    from pipelines.campaigns import latest_summary
    from pipelines.run_summary import _campaign_lines

    assert "no campaign report yet" in latest_summary(settings, date(2024, 6, 30))["note"]
    folder = settings.paths.resolve(settings.paths.reports) / "campaigns"
    folder.mkdir(parents=True)
    table = report(settings, tables())
    table.to_parquet(folder / "campaign_report_2024-05-31.parquet", index=False)
    table.iloc[0:0].to_parquet(folder / "campaign_report_2024-07-31.parquet", index=False)  # after the night
    summary = latest_summary(settings, date(2024, 6, 30))
    assert summary["data_end"] == "2024-05-31" and summary["latest"]["lift"] == 0.25
    text = "\n".join(_campaign_lines(summary))
    assert "- campaign of 2024-03-01: churn 25.0% called vs 50.0% control; lift 25.00% (" in text
