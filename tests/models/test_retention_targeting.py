"""Uplift targeting: best offer by expected incremental value, sleeping dogs and unprofitable calls left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.retention_targeting import HARMFUL, NOT_WORTH, best_offers, offer_uplifts, ranked_targets

COSTS = {"data bundle": 10.0, "cheaper plan": 30.0}


def uplifts() -> pd.DataFrame:
    return pd.DataFrame(
        {"data bundle": [0.05, 0.10, -0.02, 0.05, -0.05], "cheaper plan": [0.08, 0.12, -0.01, -0.10, 0.10]},
        index=list("ABCDE"),
    )


VALUE = pd.Series([1000.0, 200.0, 500.0, 100.0, 800.0], index=list("ABCDE"))


def test_best_offer_by_incremental_value() -> None:
    targets = best_offers(uplifts(), VALUE, COSTS)
    # A: data 0.05 x 1000 - 10 = 40, cheaper 0.08 x 1000 - 30 = 50 -> cheaper plan
    # B: data 0.10 x 200 - 10 = 10, cheaper 0.12 x 200 - 30 = -6 -> data bundle
    # E: data harms (-0.05), cheaper 0.10 x 800 - 30 = 50 -> cheaper plan
    assert targets.loc[["A", "B", "E"], "offer"].tolist() == ["cheaper plan", "data bundle", "cheaper plan"]
    assert targets.loc[["A", "B", "E"], "incremental_value"].to_numpy() == pytest.approx([50.0, 10.0, 50.0])
    assert targets.loc[["A", "B", "E"], "uplift"].to_numpy() == pytest.approx([0.08, 0.10, 0.10])
    assert targets.loc[["A", "B", "E"], "excluded"].isna().all()


def test_sleeping_dogs_and_unprofitable_calls_are_left_out() -> None:
    targets = best_offers(uplifts(), VALUE, COSTS)
    # C: every offer raises churn; D: the only harmless offer gives 0.05 x 100 - 10 = -5
    assert targets.loc["C", "excluded"] == HARMFUL
    assert targets["offer"].isna().tolist() == [False, False, True, False, False]
    assert np.isnan(targets["incremental_value"].to_numpy()).tolist() == [False, False, True, False, False]
    assert targets.loc["C", "uplift"] == pytest.approx(-0.01)
    assert targets.loc["D", "excluded"] == NOT_WORTH
    assert targets.loc["D", "offer"] == "data bundle"
    assert targets.loc["D", "incremental_value"] == pytest.approx(-5.0)
    assert targets.loc["C", "reason"] == HARMFUL


def test_reason_names_the_offer() -> None:
    reason = best_offers(uplifts(), VALUE, COSTS).loc["A", "reason"]
    assert reason == "likely to respond to: cheaper plan (churn -8.0 points, about 50 CNY kept net of cost)"


def test_ranked_by_incremental_value_then_uplift() -> None:
    ranked = ranked_targets(best_offers(uplifts(), VALUE, COSTS))
    assert ranked.index.tolist() == ["E", "A", "B"]  # E and A both 50: E's uplift 0.10 beats A's 0.08


def test_a_higher_threshold_drops_more() -> None:
    targets = best_offers(uplifts(), VALUE, COSTS, min_incremental_value=20.0)
    assert targets["excluded"].isna().tolist() == [True, False, False, False, True]


class OfferModel:
    """Uplift 0.1 for offer 'x' when age < 30, else 0.02: a model that uses the offer as a feature."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.where((x["offer"] == "x") & (x["age"] < 30), 0.1, 0.02)


def test_offer_uplifts_scores_every_offer() -> None:
    features = pd.DataFrame({"age": [25, 40], "offer": ["y", "y"]}, index=[10, 11])
    table = offer_uplifts(OfferModel(), features, ["x", "y"])
    assert table.to_numpy().tolist() == [[0.1, 0.02], [0.02, 0.02]]
    assert table.columns.tolist() == ["x", "y"] and table.index.tolist() == [10, 11]
    assert features["offer"].tolist() == ["y", "y"]  # input untouched
