"""A reference taken on an export shorter than the credit window: bills_due compared at the reference's history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from models.drift import ReferenceProfile
from pipelines.monitoring import input_counts, monitor_night, shard_counts, training_reference

AS_OF = date(2026, 10, 25)  # after the due day: a long-lived line has the whole window (12 bills) due


def holdout(bills_due: list[int]) -> pd.DataFrame:
    """Scored subscribers with the given bills due, repeated 100 times each."""
    n = 100 * len(bills_due)
    rng = np.random.default_rng(len(bills_due))
    return pd.DataFrame(
        {
            "subscriber_id": np.arange(n),
            "bills_due": np.repeat(bills_due, 100),
            "churn_score": rng.beta(1.0, 15.0, n),
            "tier": np.resize(["high", "mid", "low", "low"], n),
        }
    )


def reference(settings, month_end: list[int], phase: list[int]):
    """A month-end reference and its phase a week before (the holdout's bills due at each)."""
    phases: dict[date, tuple[pd.DataFrame, dict[str, pd.DataFrame]]] = {date(2026, 8, 24): (holdout(phase), {})}
    return training_reference(holdout(month_end), ["bills_due"], {"roc_auc": 0.8}, {}, settings, phases)


def tonight(settings, ref, bills_due: list[int]):
    frame = holdout(bills_due)
    empty = pd.DataFrame({"subscriber_id": [], "deactivation_date": []})
    counts, inputs = [shard_counts(frame, ref)], [input_counts({}, ref)]
    return monitor_night(settings, AS_OF, AS_OF, "7", ref, counts, inputs, frame, empty, 30)


def psi(night) -> float:
    rows = night.rows
    return float(rows[(rows["subject"] == "bills_due") & (rows["metric"] == "psi")]["value"].iloc[0])


# A 14-month export: at the validation date the window held 11 bills at most, in every phase.
SHORT = ([2, 5, 8, 11, 11, 11, 11, 11, 11, 11], [2, 5, 8, 10, 11, 11, 11, 11, 11, 11])
# The same lines tonight, the window full: 12 after the due day.
FULL_TONIGHT = [2, 5, 8, 12, 12, 12, 12, 12, 12, 12]


def test_a_short_history_reference_gets_a_ceiling_per_profile(settings) -> None:
    ref = reference(settings, *SHORT)
    assert settings.monitoring.profile.history_bound == ("bills_due",)
    assert ref.column("bills_due").ceiling == 11.0
    assert ref.phases["2026-08-24"].column("bills_due").ceiling == 11.0
    assert ref.column("churn_score").ceiling is None


def test_the_full_window_tonight_is_no_alarm_against_a_short_history_reference(settings) -> None:
    night = tonight(settings, reference(settings, *SHORT), FULL_TONIGHT)
    assert psi(night) == 0.0 and night.alerts.empty
    assert "bills_due compared at the reference's history (shorter than its window): 70.0% of tonight" in night.note


def test_a_champion_trained_before_ceilings_is_compared_at_its_history_too(settings) -> None:
    """Given the same reference written without ceilings (a champion logged before this rule existed)."""
    ref = reference(settings, *SHORT)

    def bare(profile: ReferenceProfile) -> ReferenceProfile:
        return replace(profile, columns=tuple(replace(c, ceiling=None) for c in profile.columns))

    old = replace(bare(ref), phases={day: bare(phase) for day, phase in ref.phases.items()})
    assert old.column("bills_due").ceiling is None
    night = tonight(settings, old, FULL_TONIGHT)
    assert psi(night) == 0.0 and night.alerts.empty


def test_bills_that_stop_arriving_still_alarm_against_a_short_history_reference(settings) -> None:
    """Given the last seven bill months missing from the export: long-lived lines down to 5 bills due."""
    night = tonight(settings, reference(settings, *SHORT), [2, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    assert psi(night) > settings.monitoring.psi.significant
    assert list(night.alerts["subject"]) == ["bills_due"]


def test_a_full_history_reference_gets_no_ceiling_and_is_compared_as_counted(settings) -> None:
    """Given a 24-month export: the phase after the due day reached the window (12), so nothing is capped."""
    ref = reference(settings, [2, 5, 8, 11, 11, 11, 11, 11, 11, 11], FULL_TONIGHT)
    assert ref.column("bills_due").ceiling is None and ref.phases["2026-08-24"].column("bills_due").ceiling is None
    night = tonight(settings, ref, FULL_TONIGHT)
    assert psi(night) == 0.0 and "shorter than its window" not in night.note  # the phase after the due day matched
