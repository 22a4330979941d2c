"""The generated sample (30,000 subscribers x 12 months) shows the domain's figures (domain.md).

Tolerances are wide enough for sampling noise at this size and narrow enough to catch a broken
mechanism (e.g. churn drawn without the ARPU effect, flea users paying, contacts unrelated to leaving).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.slow

WINDOW_START = pd.Timestamp("2025-11-01")
EXPORT_DAY = pd.Timestamp("2026-10-31")
N = 30000


@pytest.fixture(scope="module")
def arpu(sample: dict[str, pd.DataFrame]) -> pd.Series:
    """Mean monthly bill per subscriber with at least 3 bills."""
    bills = sample["bills"]
    grouped = bills.groupby("subscriber_id")["amount"]
    return grouped.mean()[grouped.size() >= 3]


@pytest.fixture(scope="module")
def leavers(sample: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Subscribers who left, with their ARPU over the (up to) 3 bill months before the month they left."""
    subs, bills = sample["subscribers"], sample["bills"]
    left = subs[subs["deactivation_date"].notna()].copy()
    left["left_month"] = left["deactivation_date"].dt.to_period("M").dt.to_timestamp()
    before = bills.merge(left[["subscriber_id", "left_month"]], on="subscriber_id")
    before = before[before["bill_month"] < before["left_month"]].sort_values("bill_month")
    left["arpu"] = left["subscriber_id"].map(
        before.groupby("subscriber_id").tail(3).groupby("subscriber_id")["amount"].mean()
    )
    types = sample["subscriber_types"].set_index("subscriber_id")
    return left.join(types, on="subscriber_id")


def _monthly_churn(subs: pd.DataFrame) -> pd.Series:
    """Share of the base active on each month's first day that left during the month."""
    rates = {}
    for start in pd.date_range(WINDOW_START, EXPORT_DAY, freq="MS"):
        end = start + pd.offsets.MonthBegin(1)
        active = (subs["activation_date"] < start) & (
            subs["deactivation_date"].isna() | (subs["deactivation_date"] >= start)
        )
        left = (subs["deactivation_date"] >= start) & (subs["deactivation_date"] < end)
        rates[start] = left.sum() / active.sum()
    return pd.Series(rates)


def test_arpu_is_near_50_with_a_long_tail(sample: dict[str, pd.DataFrame], arpu: pd.Series) -> None:
    # domain.md: average ARPU near 50 CNY; business and high-end subscribers pay several hundred.
    assert 45 <= sample["bills"]["amount"].mean() <= 62
    types = sample["subscriber_types"].set_index("subscriber_id")["true_type"]
    by_type = arpu.groupby(types.reindex(arpu.index)).median()
    assert by_type["business"] >= 200 and by_type["high_value"] >= 180
    assert by_type["loyal_low"] <= 30


def test_top_fifth_of_subscribers_carries_most_revenue(sample: dict[str, pd.DataFrame], arpu: pd.Series) -> None:
    # domain.md 二八原理: a small top tier carries most of the revenue.
    revenue = sample["bills"].groupby("subscriber_id")["amount"].sum().reindex(arpu.sort_values(ascending=False).index)
    top = revenue.iloc[: len(revenue) // 5].sum() / revenue.sum()
    assert 0.55 <= top <= 0.75


def test_tenure_spans_days_to_fifteen_years_and_the_base_stays_stable(sample: dict[str, pd.DataFrame]) -> None:
    subs = sample["subscribers"]
    initial = subs[subs["activation_date"] < WINDOW_START]
    tenure_days = (WINDOW_START - initial["activation_date"]).dt.days
    assert len(initial) == N
    assert tenure_days.min() <= 31 and tenure_days.max() >= 10 * 365 and tenure_days.max() <= 15.1 * 365
    joined = subs.loc[subs["activation_date"] >= WINDOW_START, "activation_date"].dt.to_period("M").value_counts()
    assert len(joined) == 12 and joined.min() > 0
    for start in pd.date_range(WINDOW_START, EXPORT_DAY, freq="MS"):
        active = (subs["activation_date"] < start) & (
            subs["deactivation_date"].isna() | (subs["deactivation_date"] >= start)
        )
        assert abs(active.sum() / N - 1) < 0.05


def test_monthly_churn_is_within_the_configured_range(sample: dict[str, pd.DataFrame], generator_settings) -> None:
    # domain.md: mobile churn of roughly 1-3% of the base a month.
    low, high = generator_settings.monthly_churn_range
    rates = _monthly_churn(sample["subscribers"])
    assert rates.between(low, high).all(), rates


def test_most_churners_are_low_arpu(leavers: pd.DataFrame) -> None:
    # domain.md: subscribers with ARPU < 50 CNY made up 87% of churners.
    known = leavers["arpu"].dropna()
    assert len(known) > 3000
    assert 0.80 <= (known < 50).mean() <= 0.93


def test_most_churned_revenue_is_not_low_arpu(leavers: pd.DataFrame) -> None:
    # domain.md: most churn volume is low-value; most churned revenue is not.
    known = leavers["arpu"].dropna()
    assert known[known >= 50].sum() / known.sum() > 0.5


def test_flea_users_leave_unpaid_and_for_non_payment(sample: dict[str, pd.DataFrame], leavers: pd.DataFrame) -> None:
    fleas = leavers[leavers["is_flea"]]
    assert (fleas["deactivation_reason"] == "non_payment").mean() >= 0.8
    subs = sample["subscribers"].join(sample["subscriber_types"].set_index("subscriber_id"), on="subscriber_id")
    early = subs[subs["is_flea"] & (subs["activation_date"] < EXPORT_DAY - pd.Timedelta(days=150))]
    assert len(early) > 100 and early["deactivation_date"].notna().mean() >= 0.75
    lifetime = (fleas["deactivation_date"] - fleas["activation_date"]).dt.days
    assert lifetime.median() <= 130  # within a few months of joining


def test_flea_users_are_told_apart_by_payments_not_by_arpu(sample: dict[str, pd.DataFrame], arpu: pd.Series) -> None:
    # domain.md: flea users and loyal low-ARPU customers differ in payment history, never ARPU alone.
    payments = sample["payments"]
    due = payments[payments["due_date"] < EXPORT_DAY]
    unpaid = due["paid_date"].isna() | (due["paid_date"] > EXPORT_DAY)
    history = pd.DataFrame(
        {"bills": due.groupby("subscriber_id").size(), "unpaid": unpaid.groupby(due["subscriber_id"]).sum()}
    )
    types = sample["subscriber_types"].set_index("subscriber_id")
    frame = history.join(types).join(arpu.rename("arpu")).dropna(subset=["arpu"])
    flea = frame["is_flea"]
    payment_rule = (frame["unpaid"] >= 2) & (frame["unpaid"] == frame["bills"])
    assert (flea & payment_rule).sum() / payment_rule.sum() >= 0.7  # precision
    assert (flea & payment_rule).sum() / flea.sum() >= 0.7  # recall
    arpu_rule = frame["arpu"] >= frame.loc[flea, "arpu"].median()
    assert (flea & arpu_rule).sum() / arpu_rule.sum() <= 0.3  # many non-fleas spend as much
    loyal = frame[frame["true_type"] == "loyal_low"]
    assert (loyal["unpaid"] == 0).mean() >= 0.98


def test_loyal_low_arpu_lines_rarely_leave(sample: dict[str, pd.DataFrame]) -> None:
    subs = sample["subscribers"].join(sample["subscriber_types"].set_index("subscriber_id"), on="subscriber_id")
    initial = subs[subs["activation_date"] < WINDOW_START]
    left = initial["deactivation_date"].notna().groupby(initial["true_type"]).mean()
    assert left["loyal_low"] < 0.5 * left["casual"]
    assert left["loyal_low"] < initial["deactivation_date"].notna().mean()


def test_non_payment_follows_the_suspension_rule(sample: dict[str, pd.DataFrame], generator_settings) -> None:
    subs, payments = sample["subscribers"], sample["payments"]
    cut = subs[subs["deactivation_reason"] == "non_payment"][["subscriber_id", "deactivation_date"]]
    owed = payments.merge(cut, on="subscriber_id")
    owed = owed[
        (owed["due_date"] < owed["deactivation_date"])
        & (owed["paid_date"].isna() | (owed["paid_date"] > owed["deactivation_date"]))
    ]
    counts = owed.groupby("subscriber_id").size().reindex(cut["subscriber_id"], fill_value=0)
    assert len(cut) > 100
    assert (counts >= generator_settings.suspend_after_unpaid_bills).all()


def test_most_pay_on_time_some_late_some_in_arrears(sample: dict[str, pd.DataFrame]) -> None:
    payments = sample["payments"]
    assert (payments["due_date"].dt.day == 20).all()
    assert (payments["due_date"].dt.to_period("M") == payments["bill_month"].dt.to_period("M") + 1).all()
    due = payments[payments["due_date"] < EXPORT_DAY - pd.Timedelta(days=60)]
    on_time = due["paid_date"] <= due["due_date"]
    late = due["paid_date"] > due["due_date"]
    never = due["paid_date"].isna()
    assert on_time.mean() >= 0.85
    assert 0.01 <= late.mean() <= 0.12
    assert 0.002 <= never.mean() <= 0.05


def test_complaints_and_cancel_intents_rise_before_voluntary_leaving(sample: dict[str, pd.DataFrame]) -> None:
    subs, contacts = sample["subscribers"], sample["contacts"]
    left = subs[
        (subs["deactivation_reason"] == "voluntary")
        & (subs["deactivation_date"] >= WINDOW_START + pd.Timedelta(days=120))
    ]
    window = contacts.merge(left[["subscriber_id", "deactivation_date"]], on="subscriber_id")
    window = window[window["contact_time"] >= window["deactivation_date"] - pd.Timedelta(days=90)]
    stayers = subs[subs["deactivation_date"].isna() & (subs["activation_date"] < WINDOW_START)]
    base = contacts[contacts["subscriber_id"].isin(stayers["subscriber_id"])]
    base = base[base["contact_time"] >= EXPORT_DAY - pd.Timedelta(days=90)]
    for reason, factor in (("complaint", 3.0), ("cancel_intent", 5.0)):
        before = (window["reason"] == reason).sum() / len(left)
        usual = (base["reason"] == reason).sum() / len(stayers)
        assert before > factor * usual, reason
    contacts_before = len(window[window["channel"] != "outbound"]) / len(left)
    contacts_usual = len(base[base["channel"] != "outbound"]) / len(stayers)
    assert contacts_before > 1.5 * contacts_usual


def test_contacts_look_like_a_contact_centre(sample: dict[str, pd.DataFrame]) -> None:
    contacts = sample["contacts"]
    assert set(contacts["reason"]) == {
        "inquiry",
        "billing",
        "complaint",
        "fault",
        "cancel_intent",
        "plan_change",
        "retention_call",
    }
    outbound = contacts["channel"] == "outbound"
    assert ((contacts["reason"] == "retention_call") == outbound).all()
    voice = contacts[contacts["channel"] == "voice"]
    assert voice["wait_seconds"].median() <= 20 and 0.02 <= voice["abandoned"].mean() <= 0.15
    assert (contacts.loc[contacts["channel"] != "voice", "wait_seconds"] == 0).all()
    assert (contacts.loc[contacts["abandoned"], "handle_seconds"] == 0).all()
    per_month = len(contacts) / len(sample["bills"])
    assert 0.1 <= per_month <= 0.5
    ordered = contacts.sort_values(["subscriber_id", "contact_time"])
    gap = ordered.groupby("subscriber_id")["contact_time"].diff()
    assert (gap <= pd.Timedelta(days=7)).mean() > 0.03  # repeat contacts happen


def test_lists_brands_and_plans(sample: dict[str, pd.DataFrame], arpu: pd.Series) -> None:
    subs = sample["subscribers"].set_index("subscriber_id")
    flags = subs["list_flag"].value_counts(normalize=True, dropna=False)
    assert 0.002 <= flags["red"] <= 0.03 and 0.0005 <= flags["black"] <= 0.02
    assert 0.02 <= subs["do_not_contact"].mean() <= 0.15
    red = arpu.reindex(subs.index[subs["list_flag"] == "red"]).dropna()
    assert red.median() >= 150
    by_brand = arpu.groupby(subs["brand"].reindex(arpu.index)).median()
    assert by_brand["gotone"] > 2 * by_brand["easyown"]
    birth = subs.groupby("brand")["birth_year"].median()
    assert birth["mzone"] > birth["easyown"]
    assert (subs.loc[subs["contract_type"] == "prepaid", "plan"].str.startswith("prepaid")).all()
    assert (subs.loc[subs["segment"] == "business", "plan"].str.startswith("business")).all()


def test_spend_trajectories_follow_the_latent_type(sample: dict[str, pd.DataFrame]) -> None:
    bills = sample["bills"]
    full = bills[bills.groupby("subscriber_id")["bill_month"].transform("size") == 12]
    first = full[full["bill_month"] < "2026-02-01"].groupby("subscriber_id")["data_mb"].mean()
    last = full[full["bill_month"] >= "2026-08-01"].groupby("subscriber_id")["data_mb"].mean()
    ratio = last / first
    types = sample["subscriber_types"].set_index("subscriber_id")["true_type"]
    by_type = pd.Series(np.log(ratio.to_numpy()), index=ratio.index).groupby(types.reindex(ratio.index)).median()
    assert by_type["growing"] > 0.2 and by_type["declining"] < -0.2 and abs(by_type["loyal_low"]) < 0.1


def test_truth_is_calibrated_and_ranks_the_leavers(sample: dict[str, pd.DataFrame]) -> None:
    truth, subs = sample["churn_probability"], sample["subscribers"].set_index("subscriber_id")
    left = subs["deactivation_date"].reindex(truth["subscriber_id"]).to_numpy()
    month_end = (truth["as_of"] + pd.offsets.MonthEnd(1)).to_numpy()
    churned = ~pd.isna(left) & (left <= month_end)
    frame = truth.assign(churned=churned)[truth["as_of"] < EXPORT_DAY]
    by_month = frame.groupby("as_of")[["p_churn_next_month", "churned"]].mean()
    assert (by_month["p_churn_next_month"] - by_month["churned"]).abs().max() < 0.004
    assert roc_auc_score(frame["churned"], frame["p_churn_next_month"]) > 0.8
