"""Control groups: keyed, deterministic, the configured share, independent of tier and score, new per date."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from models.control_groups import campaign_group, control_draw, is_control

KEY = b"tiercast-test-key-32-bytes-long!"
DAY = date(2026, 1, 5)


def keys(n: int, seed: int = 0) -> pd.Series:
    """n distinct 64-hex subscriber keys (as published), in a random order."""
    rng = np.random.default_rng(seed)
    return pd.Series([f"{int(v):064x}" for v in rng.permutation(10 * n)[:n]], dtype="str")


def test_draw_is_the_leading_53_bits_of_the_hmac_of_key_and_date() -> None:
    # given two keys; then the draw is HMAC-SHA256(key, "<key>|<date>")[:53 bits] / 2**53, pinned to literals
    digest = hmac.new(KEY, b"a" * 64 + b"|2026-01-05", hashlib.sha256).digest()
    by_hand = (int.from_bytes(digest[:8], "big") >> 11) / 2.0**53
    drawn = control_draw(pd.Series(["a" * 64, "b" * 64], index=[7, 3]), DAY, KEY)
    assert drawn.tolist() == [by_hand, 0.46157729253154156]
    assert by_hand == 0.9181995676238269
    assert drawn.index.tolist() == [7, 3]


def test_group_is_control_below_the_share() -> None:
    groups = campaign_group(pd.Series(["a" * 64, "b" * 64]), DAY, KEY, 0.5)
    assert groups.tolist() == ["treated", "control"]  # draws 0.918 and 0.462


def test_membership_is_deterministic_and_independent_of_row_order_and_batch() -> None:
    candidates = keys(2_000)
    whole = is_control(candidates, DAY, KEY, 0.05)
    shuffled = candidates.sample(frac=1.0, random_state=1)
    halves = pd.concat([is_control(part, DAY, KEY, 0.05) for part in (shuffled.iloc[:700], shuffled.iloc[700:])])
    pd.testing.assert_series_equal(halves.sort_index(), whole)
    pd.testing.assert_series_equal(is_control(candidates, DAY, KEY, 0.05), whole)


def test_another_key_draws_another_group() -> None:
    candidates = keys(2_000)
    assert (is_control(candidates, DAY, KEY, 0.05) != is_control(candidates, DAY, b"x" * 32, 0.05)).any()


@pytest.mark.parametrize("share", [0.02, 0.05, 0.20])
def test_share_within_one_point_at_100k_candidates(share: float) -> None:
    control = is_control(keys(100_000), DAY, KEY, share)
    assert abs(control.mean() - share) < 0.01


def test_membership_independent_of_tier_and_score() -> None:
    # given 100k candidates with tier and score deciles; then a chi-square test does not reject independence at 1%
    rng = np.random.default_rng(3)
    n = 100_000
    frame = pd.DataFrame(
        {
            "subscriber_key": keys(n, seed=3),
            "tier": rng.choice(["high", "mid", "low"], size=n, p=[0.1, 0.3, 0.6]),
            "score": rng.beta(2, 8, size=n),
        }
    )
    control = is_control(frame["subscriber_key"], DAY, KEY, 0.05)
    score_decile = pd.qcut(frame["score"], 10, labels=False)
    for column in (frame["tier"], score_decile):
        table = pd.crosstab(column, control)
        assert table.shape[1] == 2
        assert chi2_contingency(table.to_numpy()).pvalue > 0.01


def test_different_dates_draw_different_members() -> None:
    candidates = keys(20_000)
    january = is_control(candidates, DAY, KEY, 0.05)
    february = is_control(candidates, date(2026, 2, 5), KEY, 0.05)
    both = (january & february).sum()
    # independent draws: about 5% x 5% x 20,000 = 50 in both, far from the 1,000 of a repeated group
    assert 20 < both < 100
    assert january.sum() > 900 and february.sum() > 900


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_share_outside_unit_interval_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="control share"):
        is_control(keys(3), DAY, KEY, share)


def test_per_row_share_and_the_edges() -> None:
    candidates = pd.Series(["a" * 64, "b" * 64, "c" * 64])
    assert is_control(candidates, DAY, KEY, 0.0).tolist() == [False, False, False]
    assert is_control(candidates, DAY, KEY, 1.0).tolist() == [True, True, True]
    per_row = is_control(candidates.head(2), DAY, KEY, pd.Series([0.95, 0.0]))
    assert per_row.tolist() == [True, False]


def test_empty_input_gives_empty_output() -> None:
    assert control_draw(pd.Series([], dtype="str"), DAY, KEY).empty
