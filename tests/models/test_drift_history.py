"""History-bound columns: a reference taken on a shorter history than the column's window is compared like with like."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from models.drift import (
    NUMERIC,
    ColumnProfile,
    ReferenceProfile,
    above_ceiling,
    bin_counts,
    closest_phase,
    comparable,
    drift_table,
    history_ceilings,
    reference_profile,
)
from tests.models.test_drift import settings

# bills_due of a 14-month export's reference: at most 11 bills due in a 12-month window (the export
# began 11 bill months before the validation date); bins (-inf, 5], (5, 11], (11, inf), missing.
EDGES = (5.0, 11.0)


def bills_due(counts: tuple[int, ...], maximum: float, ceiling: float | None = None) -> ColumnProfile:
    return ColumnProfile("bills_due", "feature", NUMERIC, counts, edges=EDGES, maximum=maximum, ceiling=ceiling)


def test_counts_above_the_ceilings_bin_are_counted_in_it() -> None:
    """Given a ceiling of 11 and tonight 1 / 2 / 7 rows in (-inf,5] (5,11] (11,inf): then 1 / 9 / 0."""
    now = bills_due((1, 2, 7, 0), 12.0)
    assert comparable(now, bills_due((1, 9, 0, 0), 11.0, ceiling=11.0)).counts == (1, 9, 0, 0)
    assert comparable(now, bills_due((1, 9, 0, 0), 11.0, ceiling=5.0)).counts == (10, 0, 0, 0)
    assert comparable(now, bills_due((1, 9, 0, 0), 11.0)) is now  # no ceiling: as counted


def test_a_longer_history_tonight_is_no_drift_against_a_shorter_reference() -> None:
    """Given a reference with 11 bills at most and tonight's full window (12 for most lines): PSI 0, not 9."""
    reference = bills_due((1, 9, 0, 0), 11.0, ceiling=11.0)
    tonight = bills_due((1, 1, 8, 0), 12.0)
    psi = drift_table(ReferenceProfile((tonight,)), ReferenceProfile((reference,)), settings())
    row = psi.query("metric == 'psi'").iloc[0]
    assert (row["value"], row["level"]) == (0.0, "ok")
    without = drift_table(
        ReferenceProfile((tonight,)), ReferenceProfile((replace(reference, ceiling=None),)), settings()
    )
    assert without.query("metric == 'psi'")["level"].iloc[0] == "significant"  # what the alarm was


def test_bills_that_stop_arriving_still_alarm_against_a_shorter_reference() -> None:
    """Given the same capped reference and a broken export: most lines down to 5 bills or fewer."""
    reference = bills_due((1, 9, 0, 0), 11.0, ceiling=11.0)
    tonight = bills_due((8, 1, 1, 0), 12.0)
    row = drift_table(ReferenceProfile((tonight,)), ReferenceProfile((reference,)), settings()).iloc[0]
    assert row["metric"] == "psi" and row["level"] == "significant"
    assert row["message"].startswith("bills_due: PSI ")


def test_no_fold_against_yesterday_tonights_counts_carry_no_ceiling() -> None:
    """Yesterday's counts come from the same counting as tonight's: no ceiling, so 11 -> 12 shows."""
    reference = history_ceilings(
        reference_profile(pd.DataFrame({"bills_due": [3, 11, 11, 11]}), settings().profile, ["bills_due"]),
        ["bills_due"],
        12,
    )
    assert reference.column("bills_due").ceiling == 11.0
    yesterday = bin_counts(pd.DataFrame({"bills_due": [3, 11, 11, 11]}), reference)
    tonight = bin_counts(pd.DataFrame({"bills_due": [3, 12, 12, 12]}), reference)
    assert yesterday.column("bills_due").ceiling is None and tonight.column("bills_due").ceiling is None
    against_reference = drift_table(tonight, reference, settings()).query("metric == 'psi'")
    against_yesterday = drift_table(tonight, yesterday, settings(), "yesterday").query("metric == 'psi'")
    assert against_reference["value"].iloc[0] == 0.0
    assert against_yesterday["value"].iloc[0] > 0.25


def test_ceilings_only_on_a_history_that_never_filled_the_window_each_phase_its_own() -> None:
    """Given a month-end reference at most 11 and a phase at most 10 (a window of 12): each capped at its own."""
    layout = reference_profile(
        pd.DataFrame({"bills_due": [2, 10, 11, 11], "x": [1, 2, 3, 4]}), settings().profile, ["bills_due", "x"]
    )
    phase = bin_counts(pd.DataFrame({"bills_due": [2, 9, 10, 10], "x": [1, 2, 3, 4]}), layout)
    capped = history_ceilings(replace(layout, phases={"2026-08-10": phase}), ["bills_due", "absent"], 12)
    assert (
        capped.column("bills_due").ceiling == 11.0 and capped.phases["2026-08-10"].column("bills_due").ceiling == 10.0
    )
    assert capped.column("x").ceiling is None  # not history-bound
    full = bin_counts(pd.DataFrame({"bills_due": [2, 10, 12, 12], "x": [1, 2, 3, 4]}), layout)
    whole = history_ceilings(replace(layout, phases={"2026-08-24": full}), ["bills_due"], 12)
    assert whole == replace(layout, phases={"2026-08-24": full})  # a phase reached the window: nothing capped


def test_the_closest_phase_is_judged_on_comparable_counts() -> None:
    """Given a capped month end (all 11) and an uncapped phase with some 12s: tonight's 12s fit the month end."""
    month_end = bills_due((0, 10, 0, 0), 11.0, ceiling=11.0)
    phase = bills_due((0, 5, 5, 0), 12.0)
    reference = ReferenceProfile((month_end,), phases={"2026-08-24": ReferenceProfile((phase,))})
    tonight = ReferenceProfile((bills_due((0, 0, 10, 0), 12.0),))
    assert closest_phase(tonight, reference, settings())[0] == ""


def test_the_share_tonight_above_the_ceiling_is_reported() -> None:
    reference = ReferenceProfile((bills_due((1, 9, 0, 0), 11.0, ceiling=11.0),))
    tonight = ReferenceProfile((bills_due((1, 1, 8, 0), 12.0),))
    assert above_ceiling(tonight, reference) == [("bills_due", pytest.approx(0.8), 11.0)]
    assert above_ceiling(reference, reference) == []


def test_a_ceiling_round_trips_and_a_reference_written_before_it_reads_without_one() -> None:
    reference = ReferenceProfile((bills_due((1, 9, 0, 0), 11.0, ceiling=11.0),))
    assert ReferenceProfile.from_dict(json.loads(json.dumps(reference.to_dict(), allow_nan=False))) == reference
    old = reference.to_dict()
    del old["columns"][0]["ceiling"]
    assert ReferenceProfile.from_dict(old).column("bills_due").ceiling is None
