"""A billing extract that failed: the latest bill month missing or cut short, or the export ending a month earlier."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.monitoring import folder, input_counts, monitor_night, recent_inputs, shard_counts, training_reference
from tests.pipelines.test_monitoring import bills, scored

OCTOBER_END = date(2026, 10, 31)
NO_LEAVERS = pd.DataFrame({"subscriber_id": [], "deactivation_date": []})


@pytest.fixture
def guarded(settings):
    """The packaged settings with the latest-period share written out, so tuning the default does not move tests."""
    monitoring = settings.monitoring
    share = {"latest_period_share": 0.9, "latest_day_share": 0.5, "latest_day_min_rows": 100}
    guardrail = monitoring.guardrail.model_copy(update=share)
    return settings.model_copy(update={"monitoring": monitoring.model_copy(update={"guardrail": guardrail})})


def monthly_bills(september: int, october: int) -> pd.DataFrame:
    """`september` and `october` bills, one a subscriber, as the shard's validated bills table."""
    return bills([50.0] * (september + october), ["2026-09-01"] * september + ["2026-10-01"] * october)


def test_a_shard_counts_its_latest_bill_month_and_the_month_before_without_a_reference() -> None:
    counted = input_counts(recent_inputs({"bills": monthly_bills(5, 3)}, OCTOBER_END), None)
    assert counted is not None
    assert [(c.name, c.role, c.categories, c.counts) for c in counted.columns] == [
        ("bills.bill_month", "period", ("2026-09", "2026-10"), (5, 3, 0, 0))
    ]


def night_without(settings, reference, september: int, october: int, as_of: date = OCTOBER_END, data_end=None):
    """Monitor a night whose shards read `september` and `october` bills (split over two shards)."""
    frame, _ = scored(300, seed=3)
    shards = [
        monthly_bills(september - september // 2, october - october // 2),
        monthly_bills(september // 2, october // 2),
    ]
    inputs = [input_counts(recent_inputs({"bills": b}, as_of), reference) for b in shards]
    counts = [shard_counts(frame, reference)]
    scores = frame[["subscriber_id", "churn_score", "tier"]]
    end = data_end or as_of
    return monitor_night(settings, as_of, end, "7", reference, counts, inputs, scores, NO_LEAVERS, 30)


@pytest.mark.parametrize("with_reference", [True, False])
def test_a_latest_bill_month_with_no_rows_stops_the_night_naming_the_column_and_figures(
    guarded, with_reference: bool
) -> None:
    """Given October's bills missing from the export (the billing extract failed, everything else arrived)."""
    frame, recent = scored(400, seed=1)
    reference = training_reference(frame, ["arpu_3m"], {}, recent, guarded) if with_reference else None
    night = night_without(guarded, reference, 40, 0)
    message = (
        "bills.bill_month: 0 rows for 2026-10 tonight, 0% of the 40 for 2026-09 (at least 90%, "
        "guardrail.latest_period_share): the latest month is missing or cut short"
    )
    assert night.blocked == f"inputs look like a broken export, not publishing: {message}"
    recorded = pd.read_parquet(folder(guarded, "history") / f"{OCTOBER_END}.parquet")
    refusal = recorded[recorded["level"] == "guardrail"]
    assert refusal[["subject", "metric", "against", "value", "baseline"]].to_dict("records") == [
        {
            "subject": "bills.bill_month",
            "metric": "latest_period",
            "against": "previous month",
            "value": 0.0,
            "baseline": 40.0,
        }
    ]


def test_a_latest_bill_month_cut_to_70_percent_stops_the_night_and_a_full_one_publishes(guarded) -> None:
    cut = night_without(guarded, None, 40, 28)
    assert "28 rows for 2026-10 tonight, 70% of the 40 for 2026-09" in cut.blocked
    full = night_without(guarded, None, 40, 39)
    assert full.blocked == ""
    row = full.rows[full.rows["metric"] == "latest_period"]
    assert row[["value", "baseline", "level"]].to_dict("records") == [{"value": 39.0, "baseline": 40.0, "level": "ok"}]


def test_an_export_that_ends_a_month_before_the_last_nights_stops_the_night(guarded) -> None:
    """Given a night on a full export, then one whose October bills are gone: left to the export's data end (the
    scheduled nightly's as-of), it would run as of September's end with every column as usual and publish."""
    assert night_without(guarded, None, 40, 40).blocked == ""
    earlier = night_without(guarded, None, 40, 40, as_of=date(2026, 9, 30))  # 2026-09 counted against 2026-08
    message = (
        "bills.bill_month: tonight's export ends on 2026-09-30, 31 days before the 2026-10-31 of the export the "
        "night of 2026-10-31 read: a month it held is missing"
    )
    assert message in earlier.blocked
    assert earlier.rows.loc[earlier.rows["metric"] == "data_end", "value"].tolist() == [31.0]


def test_replaying_an_earlier_night_on_the_same_export_is_not_refused(guarded) -> None:
    assert night_without(guarded, None, 40, 40).blocked == ""
    replay = night_without(guarded, None, 40, 40, as_of=date(2026, 10, 15), data_end=OCTOBER_END)
    assert replay.blocked == "" and "data_end" not in set(replay.rows["metric"])
    again = night_without(guarded, None, 40, 40)  # tonight rerun on the same export
    assert again.blocked == ""


def test_a_refused_night_is_no_baseline_so_the_short_export_stays_refused(guarded) -> None:
    """Given the full night of 10-31, then two refused nights on an export without October (as of 09-30)."""
    assert night_without(guarded, None, 40, 40).blocked == ""
    for _ in range(2):
        refused = night_without(guarded, None, 40, 40, as_of=date(2026, 9, 30))
        assert "night of 2026-10-31 read: a month it held is missing" in refused.blocked
    assert sorted(p.stem for p in folder(guarded, "periods").glob("*.json")) == ["2026-10-31"]


def daily_contacts(per_day: int, days: int, missing: tuple[date, ...] = ()) -> pd.DataFrame:
    """`per_day` contacts on each of the `days` days up to 10-31 (at 10:00 + one minute per contact), none on the
    `missing` days, and one after the as-of date (never counted)."""
    first = pd.Timestamp(OCTOBER_END) - pd.Timedelta(days=days - 1)
    times = [
        first + pd.Timedelta(days=d, hours=10, minutes=m)
        for d in range(days)
        if (first + pd.Timedelta(days=d)).date() not in missing
        for m in range(per_day)
    ]
    times.append(pd.Timestamp("2026-11-01 09:00"))
    return pd.DataFrame({"subscriber_id": range(len(times)), "contact_time": times, "wait_seconds": 10.0})


def night_with_contacts(settings, contacts: pd.DataFrame):
    """Monitor 10-31 with October's bills whole and `contacts` split over two shards."""
    frame, _ = scored(300, seed=3)
    halves = [contacts.iloc[::2], contacts.iloc[1::2]]
    inputs = [
        input_counts(recent_inputs({"bills": monthly_bills(20, 20), "contacts": c}, OCTOBER_END), None) for c in halves
    ]
    scores = frame[["subscriber_id", "churn_score", "tier"]]
    return monitor_night(settings, OCTOBER_END, OCTOBER_END, "7", None, [None], inputs, scores, NO_LEAVERS, 30)


def test_a_contacts_extract_that_stopped_two_days_early_stops_the_night(guarded) -> None:
    """Given 150 contacts a day for 30 days but none on the last two (10-30, 10-31): 30 days of contact columns
    look as usual, only the days' counts show the extract stopped."""
    night = night_with_contacts(guarded, daily_contacts(150, 30, missing=(date(2026, 10, 30), OCTOBER_END)))
    message = (
        "contacts.contact_time: 0 rows on 2026-10-30 (Fri) tonight, 0% of the 150 on 2026-10-23; 0 rows on "
        "2026-10-31 (Sat) tonight, 0% of the 150 on 2026-10-24 (at least 50% of the same weekday a week before, "
        "guardrail.latest_day_share): the latest days are missing or cut short"
    )
    assert night.blocked == f"inputs look like a broken export, not publishing: {message}"
    assert not list(folder(guarded, "periods").glob("*.json"))  # a refused night is no baseline


def test_whole_contacts_and_a_small_base_publish(guarded) -> None:
    whole = night_with_contacts(guarded, daily_contacts(150, 30))
    assert whole.blocked == ""
    row = whole.rows[whole.rows["metric"] == "latest_days"]
    assert row[["subject", "value", "baseline", "level"]].to_dict("records") == [
        {"subject": "contacts.contact_time", "value": 150.0, "baseline": 150.0, "level": "ok"}
    ]
    small = night_with_contacts(guarded, daily_contacts(99, 30, missing=(OCTOBER_END,)))  # under 100 a day: noise
    assert small.blocked == ""
