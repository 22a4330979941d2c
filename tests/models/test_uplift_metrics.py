"""Qini and uplift curves and their areas against a hand-computed case; bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.uplift_metrics import (
    auuc,
    metric_replicates,
    qini_coefficient,
    uplift_curves,
    uplift_metric_intervals,
)

# eight customers, highest score first: treated / control alternate; responders at ranks 1, 3 (treated), 4 (control)
SCORE = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
TREATED = [1, 0, 1, 0, 1, 0, 1, 0]
RESPONSE = [1, 0, 1, 1, 0, 0, 0, 0]
#  t  N_T N_C R_T R_C   g = R_T - R_C N_T/N_C    f = (R_T/N_T - R_C/N_C)(N_T + N_C)
#  1   1   0   1   0    1                         (1 - 0) 1 = 1
#  2   1   1   1   0    1                         (1 - 0) 2 = 2
#  3   2   1   2   0    2                         (1 - 0) 3 = 3
#  4   2   2   2   1    2 - 1 = 1                 (1 - 1/2) 4 = 2
#  5   3   2   2   1    2 - 3/2 = 1/2             (2/3 - 1/2) 5 = 5/6
#  6   3   3   2   1    2 - 1 = 1                 (2/3 - 1/3) 6 = 2
#  7   4   3   2   1    2 - 4/3 = 2/3             (1/2 - 1/3) 7 = 7/6
#  8   4   4   2   1    2 - 1 = 1                 (1/2 - 1/4) 8 = 2
QINI = [0.0, 1.0, 1.0, 2.0, 1.0, 0.5, 1.0, 2 / 3, 1.0]
UPLIFT = [0.0, 1.0, 2.0, 3.0, 2.0, 5 / 6, 2.0, 7 / 6, 2.0]


def test_curves_by_hand() -> None:
    curves = uplift_curves(SCORE, TREATED, RESPONSE)
    assert curves["n_targeted"].tolist() == list(range(9))
    assert curves["share_targeted"].tolist() == [i / 8 for i in range(9)]
    assert curves["qini"].to_numpy() == pytest.approx(QINI)
    assert curves["uplift"].to_numpy() == pytest.approx(UPLIFT)


def test_areas_by_hand() -> None:
    # Qini: trapezoids over unit steps sum to 23/3; on the (t/N, g/N) scale 23/3 / 64 = 23/192; the random line
    # from 0 to g(8)/8 = 1/8 has area 1/16 = 12/192: 11/192. Uplift: trapezoids 13; 13/64 - (2/8)/2 = 5/64.
    assert qini_coefficient(SCORE, TREATED, RESPONSE) == pytest.approx(11 / 192)
    assert auuc(SCORE, TREATED, RESPONSE) == pytest.approx(5 / 64)


def test_reversed_ranking_and_weights() -> None:
    reversed_score = [-s for s in SCORE]
    # a weight of 2 on every row doubles every response, so both areas double
    assert qini_coefficient(SCORE, TREATED, RESPONSE, weight=[2.0] * 8) == pytest.approx(2 * 11 / 192)
    assert auuc(SCORE, TREATED, RESPONSE, weight=[2.0] * 8) == pytest.approx(2 * 5 / 64)
    assert qini_coefficient(reversed_score, TREATED, RESPONSE) < 0


def test_a_tie_is_one_step_whatever_the_row_order() -> None:
    # given ranks 3 and 4 tied; then the curve skips t = 3 and the area is the same in either row order
    tied = [0.9, 0.8, 0.65, 0.65, 0.5, 0.4, 0.3, 0.2]
    curves = uplift_curves(tied, TREATED, RESPONSE)
    assert curves["n_targeted"].tolist() == [0, 1, 2, 4, 5, 6, 7, 8]
    swap = [0, 1, 3, 2, 4, 5, 6, 7]
    swapped = qini_coefficient([tied[i] for i in swap], [TREATED[i] for i in swap], [RESPONSE[i] for i in swap])
    assert qini_coefficient(tied, TREATED, RESPONSE) == pytest.approx(swapped)
    # the trapezoid over t = 2..4 replaces the two at t = 2..3..4: (1 + 1)/2 * 2 = 2 instead of 1.5 + 1.5
    assert qini_coefficient(tied, TREATED, RESPONSE) == pytest.approx((23 / 3 - 3 + 2) / 64 - 1 / 16)


def test_constant_score_is_the_random_line() -> None:
    assert qini_coefficient([0.5] * 8, TREATED, RESPONSE) == pytest.approx(0.0)
    assert auuc([0.5] * 8, TREATED, RESPONSE) == pytest.approx(0.0)


def test_inputs_must_align() -> None:
    with pytest.raises(ValueError, match="same length"):
        qini_coefficient(SCORE, TREATED[:-1], RESPONSE)


def simulated(seed: int, n: int = 20_000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Half treated; stay probability 0.85 + 0.1 x effect_size, where effect_size ~ U(0, 1) is known."""
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.5
    effect = rng.random(n)
    stayed = rng.random(n) < 0.85 + np.where(treated, 0.1 * effect, 0.0)
    return treated, stayed, effect, rng.random(n)


def test_random_ranking_interval_covers_zero_and_true_ranking_is_above() -> None:
    treated, stayed, effect, noise = simulated(5)
    table = uplift_metric_intervals({"random": noise, "truth": effect}, treated, stayed, n_boot=200, seed=1)
    random, truth = table.loc["random"], table.loc["truth"]
    assert random["qini_low"] < 0.0 < random["qini_high"]
    assert random["auuc_low"] < 0.0 < random["auuc_high"]
    assert truth["qini_low"] > 0.0 and truth["auuc_low"] > 0.0
    assert truth["qini_low"] <= truth["qini"] <= truth["qini_high"]


def test_replicates_are_paired_and_reproducible() -> None:
    treated, stayed, effect, _ = simulated(6, n=2_000)
    first = metric_replicates({"a": effect, "b": effect}, treated, stayed, n_boot=30, seed=2)
    # the same ranking under two names gets identical replicates: both see the same resampled customers
    a = first[first["ranking"] == "a"].reset_index(drop=True)
    b = first[first["ranking"] == "b"].reset_index(drop=True)
    pd.testing.assert_series_equal(a["qini"], b["qini"])
    again = metric_replicates({"a": effect, "b": effect}, treated, stayed, n_boot=30, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 60 and first["qini"].std() > 0
