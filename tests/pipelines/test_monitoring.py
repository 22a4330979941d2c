"""The nightly's monitoring: recent input columns, shard counts, drift and guardrails, matured nights, records."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from models.drift import merge_counts
from pipelines.database import create_db_engine
from pipelines.monitoring import (
    folder,
    input_counts,
    keep_baseline,
    matured_nights,
    monitor_night,
    recent_inputs,
    shard_counts,
    tonight_counts,
    training_reference,
)
from pipelines.monitoring_record import series
from pipelines.publish import record_monitoring

AS_OF = date(2026, 9, 30)


def bills(amounts: list[float], months: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subscriber_id": np.arange(1, len(amounts) + 1),
            "bill_id": np.arange(101, 101 + len(amounts)),
            "bill_month": pd.to_datetime(months),
            "amount": amounts,
            "data_amount": [a / 4 for a in amounts],
        }
    )


def test_recent_inputs_take_the_latest_bill_month_and_30_days_of_contacts_never_the_future() -> None:
    tables = {
        "bills": bills([10.0, 20.0, 30.0, 99.0], ["2026-08-01", "2026-09-01", "2026-09-01", "2026-10-01"]),
        "contacts": pd.DataFrame(
            {
                "contact_id": [1, 2, 3, 4],
                "subscriber_id": [1, 2, 3, 4],
                "contact_time": pd.to_datetime(
                    ["2026-08-15 10:00", "2026-09-10 10:00", "2026-09-30 23:59", "2026-10-01 00:00"]
                ),
                "wait_seconds": [5.0, 6.0, 7.0, 999.0],
            }
        ),
    }
    recent = recent_inputs(tables, AS_OF)
    assert list(recent) == ["bills", "contacts", "periods", "days"]
    days = [str(date(2026, 9, 17) + timedelta(days=i)) for i in range(14)]  # two weeks up to the as-of date
    assert recent["days"].to_dict("records") == [  # the contact at 10-01 00:00 is after the as-of day
        {"column": "contacts.contact_time", "days": days, "rows": [0] * 13 + [1]}
    ]
    assert recent["bills"].to_dict("list") == {"bills.amount": [20.0, 30.0], "bills.data_amount": [5.0, 7.5]}
    assert recent["periods"].to_dict("records") == [  # the latest month's bills against the month before's
        {"column": "bills.bill_month", "previous": "2026-08", "latest": "2026-09", "previous_rows": 1, "latest_rows": 2}
    ]
    assert recent["contacts"].to_dict("list") == {"contacts.wait_seconds": [6.0, 7.0]}  # ids left out
    # The day before September's last day its bill is not known yet (features.windows): August's are the latest.
    before = recent_inputs(tables, date(2026, 9, 29))
    assert before["bills"].to_dict("list") == {"bills.amount": [10.0], "bills.data_amount": [2.5]}


def test_contact_cells_are_tonights_inbound_contacts_by_region_and_reason(settings) -> None:
    mix = settings.monitoring.contact_mix
    assert mix is not None and mix.segment == "region"
    subscribers = pd.DataFrame({"subscriber_id": [1, 2, 3], "region": ["Shenzhen", "Guangzhou", None]})
    contacts = pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 1, 2],
            "contact_time": pd.to_datetime(
                ["2026-09-30 08:00", "2026-09-30 09:00", "2026-09-30 10:00", "2026-09-29 23:59", "2026-10-01 00:00"]
            ),
            "channel": ["voice", "outbound", "app", "voice", "voice"],
            "reason": ["cancel_intent", "retention_call", "billing", "inquiry", "inquiry"],
        }
    )
    tables = {"subscribers": subscribers, "contacts": contacts}
    tonight = recent_inputs(tables, AS_OF, mix, 1)["contact_mix"]
    assert tonight["contact_mix.region_reason"].tolist() == ["Shenzhen|cancel_intent", "unknown|billing"]
    two_days = recent_inputs(tables, AS_OF, mix, 2)["contact_mix"]
    assert len(two_days) == 3  # the 29th's call too; outbound never, the 1st of October not yet


def scored(n: int, seed: int, zero_data: bool = False) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A night of `n` scored subscribers and their recent bills."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "subscriber_id": np.arange(n),
            "arpu_3m": rng.gamma(4.0, 20.0, n),
            "churn_score": rng.beta(1.0, 15.0, n),
            "tier": rng.choice(["high", "mid", "low"], n, p=[0.2, 0.3, 0.5]),
            "lifecycle_stage": rng.choice(["growth", "stable", "warning"], n),
        }
    )
    data = np.zeros(n) if zero_data else rng.gamma(1.0, 5.0, n)
    recent = {"bills": pd.DataFrame({"bills.amount": frame["arpu_3m"] + data, "bills.data_amount": data})}
    return frame, recent


@pytest.fixture
def reference(settings):
    frame, recent = scored(4000, seed=1)
    return training_reference(frame, ["arpu_3m"], {"roc_auc": 0.8}, recent, settings)


def test_reference_holds_features_score_mixes_and_input_columns(reference) -> None:
    roles = {c.name: c.role for c in reference.columns}
    assert roles == {
        "arpu_3m": "feature",
        "churn_score": "score",
        "tier": "mix",
        "lifecycle_stage": "mix",
        "bills.amount": "input",
        "bills.data_amount": "input",
    }
    assert reference.metrics == {"roc_auc": 0.8}


def test_two_shards_counted_apart_add_up_to_the_whole(reference) -> None:
    frame, recent = scored(3000, seed=2)
    halves = [slice(0, 1234), slice(1234, 3000)]
    scored_parts = [c for h in halves if (c := shard_counts(frame.iloc[h], reference))]
    input_parts = [c for h in halves if (c := input_counts({"bills": recent["bills"].iloc[h]}, reference))]
    whole_scored, whole_inputs = shard_counts(frame, reference), input_counts(recent, reference)
    assert len(scored_parts) == len(input_parts) == 2 and whole_scored and whole_inputs
    whole = tonight_counts(reference, [whole_scored], [whole_inputs])
    merged = tonight_counts(reference, scored_parts, input_parts)
    assert [(c.name, c.counts, c.zeros, c.minimum, c.maximum) for c in merged.columns] == [
        (c.name, c.counts, c.zeros, c.minimum, c.maximum) for c in whole.columns
    ]
    assert [c.value_sum for c in merged.columns] == pytest.approx([c.value_sum for c in whole.columns], rel=1e-12)
    assert [c.name for c in whole.columns] == [c.name for c in reference.columns]
    assert merge_counts(input_parts).column("bills.amount").rows == 3000


def night_inputs(reference, day: date, zero_data: bool = False, leavers: pd.DataFrame | None = None) -> tuple:
    """Return monitor_night's arguments after the model version and reference: one shard's counts, scores, ..."""
    frame, recent = scored(3000, seed=day.toordinal(), zero_data=zero_data)
    return (
        [shard_counts(frame, reference)],
        [input_counts(recent, reference)],
        frame[["subscriber_id", "churn_score", "tier"]],
        leavers if leavers is not None else pd.DataFrame({"subscriber_id": [], "deactivation_date": []}),
        300,
    )


def night(settings, reference, day: date, zero_data: bool = False, leavers: pd.DataFrame | None = None):
    # the data ends on the night scored, as in a nightly run
    return monitor_night(settings, day, day, "7", reference, *night_inputs(reference, day, zero_data, leavers))


def test_a_clean_night_records_drift_against_reference_and_yesterday_and_an_estimate(settings, reference) -> None:
    first = night(settings, reference, AS_OF)
    second = night(settings, reference, AS_OF + timedelta(days=1))
    assert first.blocked == second.blocked == ""
    kinds = second.rows.groupby(["kind", "against"]).size().to_dict()
    assert set(kinds) == {("drift", "reference"), ("drift", "yesterday"), ("estimate", "calibrated scores")}
    assert ("drift", "yesterday") not in set(first.rows.groupby(["kind", "against"]).size().to_dict())
    estimate = second.rows[(second.rows["kind"] == "estimate") & (second.rows["subject"] == "all")]
    assert set(estimate["metric"]) == {"roc_auc", "precision_at_k", "recall_at_k", "churn_rate"}
    assert (estimate["low"] <= estimate["value"]).all() and (estimate["value"] <= estimate["high"]).all()
    written = pd.read_parquet(folder(settings, "history") / f"{AS_OF + timedelta(days=1)}.parquet")
    assert len(written) == len(second.rows)


def test_a_night_is_compared_with_the_closest_phase_and_not_with_yesterday_across_a_phase_change(settings) -> None:
    """Given a reference whose 2026-09-23 phase has every ARPU doubled (a calendar effect, say)."""
    frame, recent = scored(4000, seed=1)
    doubled = frame.assign(arpu_3m=frame["arpu_3m"] * 2)
    phases = {date(2026, 9, 23): (doubled, recent)}
    reference = training_reference(frame, ["arpu_3m"], {"roc_auc": 0.8}, recent, settings, phases)
    assert list(reference.phases) == ["2026-09-23"]

    def on(day: date, factor: float):
        tonight, inputs = scored(3000, seed=day.toordinal())
        tonight = tonight.assign(arpu_3m=tonight["arpu_3m"] * factor)
        empty = pd.DataFrame({"subscriber_id": [], "deactivation_date": []})
        counts, raw = [shard_counts(tonight, reference)], [input_counts(inputs, reference)]
        return monitor_night(settings, day, day, "7", reference, counts, raw, tonight, empty, 300)

    first = on(AS_OF, 2.0)
    assert first.note == "drift against the reference's phase of 2026-09-23 (the closest of the validation month)"
    psi = first.rows[(first.rows["metric"] == "psi") & (first.rows["subject"] == "arpu_3m")]
    assert psi["value"].max() < 0.1 and first.alerts.empty
    second = on(AS_OF + timedelta(days=1), 1.0)  # back to the month end's phase: no comparison with yesterday
    assert second.note == "" and second.alerts.empty
    assert set(second.rows["against"]) == {"reference", "calibrated scores"}
    third = on(AS_OF + timedelta(days=2), 1.0)  # same phase as yesterday: compared
    assert "yesterday" in set(third.rows["against"])


def test_a_column_exported_as_zero_blocks_the_night_and_is_named(settings, reference) -> None:
    result = night(settings, reference, AS_OF, zero_data=True)
    assert result.blocked.startswith("inputs look like a broken export, not publishing: bills.data_amount: 100% zero")
    assert "arpu_3m" not in result.blocked
    assert (folder(settings, "history") / f"{AS_OF}.parquet").is_file()  # the evidence is kept


def test_a_refused_night_is_no_baseline_the_next_night_is_compared_with_the_last_good_one(settings, reference) -> None:
    """Given a good night, a night refused for a column exported as zero, then a good night again."""
    good = night(settings, reference, AS_OF)
    refused = night(settings, reference, AS_OF + timedelta(days=1), zero_data=True)
    after = night(settings, reference, AS_OF + timedelta(days=2))
    assert good.blocked == after.blocked == "" and refused.blocked
    assert sorted(p.stem for p in folder(settings, "counts").glob("*.json")) == [str(AS_OF), str(AS_OF + timedelta(2))]
    yesterday = after.rows[(after.rows["against"] == "yesterday") & (after.rows["subject"] == "bills.data_amount")]
    assert not yesterday.empty and (yesterday["level"] == "ok").all()  # against the good night: no jump back from 0
    assert after.alerts.empty


def test_a_night_kept_by_its_caller_is_a_baseline_only_once_kept(settings, reference) -> None:
    """The nightly monitors with keep=False and keeps the night after its publish step succeeded."""
    counts, inputs, scores, leavers, listed = night_inputs(reference, AS_OF)
    first = monitor_night(settings, AS_OF, AS_OF, "7", reference, counts, inputs, scores, leavers, listed, keep=False)
    assert not list(folder(settings, "counts").glob("*.json")) and first.baseline is not None
    assert not list(folder(settings, "periods").glob("*.json"))
    second = night(settings, reference, AS_OF + timedelta(days=1))
    assert "yesterday" not in set(second.rows["against"])  # the unkept night is no baseline
    keep_baseline(settings, first.baseline)
    assert sorted(p.stem for p in folder(settings, "periods").glob("*.json")) == [str(AS_OF), str(AS_OF + timedelta(1))]
    third = night(settings, reference, AS_OF + timedelta(days=2))
    assert "yesterday" in set(third.rows["against"])


def test_a_night_is_judged_once_its_horizon_has_passed_with_the_estimate_made_that_night(settings, reference) -> None:
    horizon = settings.churn.horizon_days
    night(settings, reference, AS_OF)
    scores = pd.read_parquet(folder(settings, "scores") / f"{AS_OF}.parquet")
    assert matured_nights(settings, AS_OF + timedelta(days=horizon - 1)) == []
    assert matured_nights(settings, AS_OF + timedelta(days=horizon)) == [AS_OF]
    # the 300 riskiest leave within the horizon; one leaves the day after it, one left on AS_OF itself
    riskiest = scores.nlargest(302, "churn_score")["subscriber_id"].to_numpy()
    days = [AS_OF + timedelta(days=5)] * 300 + [AS_OF + timedelta(days=horizon + 1), AS_OF]
    leavers = pd.DataFrame({"subscriber_id": riskiest, "deactivation_date": pd.to_datetime(days)})
    later = night(settings, reference, AS_OF + timedelta(days=horizon), leavers=leavers)
    realised = later.rows[(later.rows["kind"] == "realised") & (later.rows["subject"] == "all")].set_index("metric")
    assert realised["as_of"].dt.date.unique().tolist() == [AS_OF]
    assert realised.loc["churn_rate", "value"] == pytest.approx(300 / 3000)
    assert realised.loc["precision_at_k", "value"] == 1.0  # the list (k = 300) is exactly who left
    assert realised.loc["churn_rate", "baseline"] == pytest.approx(scores["churn_score"].mean(), abs=1e-12)
    assert matured_nights(settings, AS_OF + timedelta(days=horizon)) == []  # judged once
    assert matured_nights(settings, AS_OF + timedelta(days=horizon + 1), AS_OF + timedelta(days=horizon + 1)) == []
    # A rerun of the judging night judges again, so its rewritten history keeps the realised rows.
    again = night(settings, reference, AS_OF + timedelta(days=horizon), leavers=leavers)
    rerun = again.rows[(again.rows["kind"] == "realised") & (again.rows["subject"] == "all")].set_index("metric")
    assert rerun["value"].to_dict() == realised["value"].to_dict()
    written = pd.read_parquet(folder(settings, "history") / f"{AS_OF + timedelta(days=horizon)}.parquet")
    assert (written["kind"] == "realised").sum() == (later.rows["kind"] == "realised").sum()


def test_leavers_crowding_the_end_of_a_horizon_raise_a_recent_churn_alarm(settings, reference) -> None:
    # given the 300 riskiest leave on the horizon's last day, nobody before the night (an even churn calendar)
    horizon, recent = settings.churn.horizon_days, settings.monitoring.recent_churn
    assert recent is not None
    night(settings, reference, AS_OF)
    scores = pd.read_parquet(folder(settings, "scores") / f"{AS_OF}.parquet")
    end = AS_OF + timedelta(days=horizon)
    riskiest = scores.nlargest(300, "churn_score")["subscriber_id"].to_numpy()
    leavers = pd.DataFrame({"subscriber_id": riskiest, "deactivation_date": pd.Timestamp(end)})
    later = night(settings, reference, end, leavers=leavers)
    rows = later.rows[(later.rows["kind"] == "realised") & (later.rows["metric"] == "recent_churn")]
    assert rows["subject"].tolist() == ["all", "high", "low", "mid"]
    everyone = rows.set_index("subject").loc["all"]
    # the shortest window expecting min_expected leavers (z falls as the window grows with 300 leavers in it)
    days = int(np.ceil(recent.min_expected / (scores["churn_score"].sum() / horizon)))
    assert everyone["value"] == 300
    assert everyone["baseline"] == pytest.approx(scores["churn_score"].sum() * days / horizon)
    assert everyone["level"] == "significant"
    assert everyone["message"].startswith(f"all: 300 left in the last {days} days of the horizon (")
    assert everyone["message"] in later.alerts["message"].tolist()


def test_monitoring_rows_go_to_the_database_and_a_rerun_replaces_the_night(settings, reference, tmp_path) -> None:
    rows = night(settings, reference, AS_OF).rows
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", 1000)
    assert record_monitoring(engine, settings.publish, rows) == len(rows)
    assert record_monitoring(engine, settings.publish, rows) == len(rows)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM monitoring")).scalar_one()
    assert stored == len(rows)


def test_metrics_are_logged_per_model_version_and_scored_night_with_estimate_bands(settings, reference) -> None:
    rows = night(settings, reference, AS_OF).rows
    logged = series(rows)
    assert list(logged) == [("7", AS_OF)]
    metrics = logged[("7", AS_OF)]
    assert {"psi.reference.arpu_3m", "missing_share.reference.bills.data_amount"} <= set(metrics)
    assert "zero_share.reference.arpu_3m" not in metrics  # only PSI and missing shares of the drift rows
    assert (
        metrics["estimate.all.roc_auc.low"] <= metrics["estimate.all.roc_auc"] <= metrics["estimate.all.roc_auc.high"]
    )
