"""The uplift lab's ceiling (issue 14): what the model inputs allow, measured against the generator's truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmarks.uplift_lab import ceiling

ROWS, CAPACITY = 4000, 500
META: dict[str, Any] = {
    "columns": ["x", "offer"],
    "capacity": {"d": CAPACITY},
    "offer_shares": {"a": 0.5, "b": 0.5},
    "offer_costs": {"a": 0.0, "b": 0.0},
    "answer_rate": 0.7,
}


def _base(helped: np.ndarray, x: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """A held-out base of one desk: churn 0.2 without a call; offer a removes 0.1 of it from `helped` lines, b
    nothing; the churn score knows nothing of either."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "desk": "d",
            "x": x,
            "churn_score": rng.random(len(x)),
            "value": 1.0,
            "truth_response_type": np.where(helped, "persuadable", "sure_thing"),
            "truth_p_churn_if_not_called": 0.2,
            "truth_p_churn_if_called_a": np.where(helped, 0.1, 0.2),
            "truth_p_churn_if_called_b": 0.2,
        }
    )


def _column(frame: pd.DataFrame, name: str) -> dict[str, float]:
    """Return `name` per ranking (churn_x_value, ceiling, oracle) as plain floats."""
    return {str(k): float(v) for k, v in frame.set_index("ranking")[name].items()}


def test_an_effect_the_inputs_carry_reaches_the_oracle() -> None:
    u = np.random.default_rng(0).random(ROWS)
    helped = u > 0.5
    x = np.where(helped, 0.6 + 0.4 * u, 0.4 * u)  # x above 0.6 exactly where the call helps
    frame = ceiling(_base(helped, x), META)
    saved, dogs, ratio = _column(frame, "saved"), _column(frame, "dogs"), _column(frame, "saved_ratio")
    # 2,000 helped lines for 500 places: the oracle lists 500 of them with offer a, each saving 0.1
    assert round(saved["oracle"], 9) == 50.0
    assert round(saved["ceiling"], 9) == 50.0
    assert dogs["ceiling"] == 0.0
    # the churn score is blind to the effect: about half its list is helped, with offer a half the time
    assert 9.0 < saved["churn_x_value"] < 16.0
    assert ratio["ceiling"] == saved["ceiling"] / saved["churn_x_value"]


def test_a_latent_effect_the_inputs_do_not_carry_keeps_the_ceiling_far_below_the_oracle() -> None:
    rng = np.random.default_rng(0)
    x, helped = rng.random(ROWS), rng.random(ROWS) < 0.5  # helped independent of x and of the score
    saved = _column(ceiling(_base(helped, x), META), "saved")
    assert round(saved["oracle"], 9) == 50.0
    # about half of any list the inputs can choose is helped: 500 x 0.5 x 0.1 = 25 (sd about 1.1)
    assert 19.0 < saved["ceiling"] < 31.0
