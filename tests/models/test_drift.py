"""Reference profiles, additive counts, PSI and broken-export guardrails on hand-built frames."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from models.drift import (
    CATEGORICAL,
    CELLS,
    MISSING,
    OTHER,
    ColumnProfile,
    ReferenceProfile,
    alert_rows,
    bin_counts,
    blocks_publish,
    closest_phase,
    drift_table,
    frame_drift,
    merge_counts,
    psi,
    reference_profile,
)
from tiercast.settings.monitoring import AlertSettings, MonitoringSettings

SETTINGS = {
    "enabled": True,
    "experiment": "tiercast-monitoring",
    "score_history_days": 150,
    "profile": {"bins": 10, "rare_share": 0.2},
    "psi": {"epsilon": 1e-4, "moderate": 0.1, "significant": 0.25},
    "guardrail": {
        "all_missing_share": 0.99,
        "missing_jump": 0.5,
        "all_zero_share": 0.99,
        "zero_jump": 0.5,
        "mean_ratio": 10,
        "mean_min_nonzero": 1,  # the six-row frames here: every mean is judged
    },
    "estimate": {
        "band_level": 0.95,
        "draws": 200,
        "subsample": 1000,
        "seed": 1,
        "lift_share": 0.1,
        "ece_bins": 2,
        "auc_drop": 0.03,
        "churn_rate_bands": 2.0,
        "churn_rate_ratio": 0.1,
    },
    "alerts": {
        "levels": ["significant", "guardrail"],
        "model_drift": "alert",
        "retrain_on_alert": False,
        "training_deployment": "tiercast-training/weekly-training",
    },
    "contact_mix": {"segment": "region", "days": 1, "reference_days": 28, "min_ratio": 2, "min_z": 6, "min_count": 20},
}


def settings(**sections: dict) -> MonitoringSettings:
    """Settings written out here so that tuning the packaged defaults does not move these tests."""
    data = {k: {**v, **sections.get(k, {})} if isinstance(v, dict) else v for k, v in SETTINGS.items()}
    return MonitoringSettings.model_validate(data)


def packaged() -> MonitoringSettings:
    """The settings as shipped (tiercast/defaults/monitoring.yaml)."""
    text = (resources.files("tiercast") / "defaults" / "monitoring.yaml").read_text()
    return MonitoringSettings.model_validate(yaml.safe_load(text))


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [0.0, 0.0, 0.0, 10.0, 20.0, np.nan],
            "trend": [-0.5, 0.5, 0.1, -0.1, 0.2, 0.0],
            "plan": ["a", "a", "a", "b", "c", None],
            "churn_score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "tier": ["high", "low", "low", "low", "low", "mid"],
        }
    )


def profile(data: pd.DataFrame | None = None) -> ReferenceProfile:
    data = frame() if data is None else data
    return reference_profile(
        data, settings().profile, ["amount", "trend", "plan"], "churn_score", ["tier"], {"roc_auc": 0.8}
    )


def test_packaged_defaults_validate_with_the_usual_psi_levels() -> None:
    monitoring = packaged()
    assert (monitoring.psi.moderate, monitoring.psi.significant) == (0.10, 0.25)
    assert monitoring.experiment == "tiercast-monitoring"
    assert monitoring.alerts.model_drift == "alert" and not monitoring.alerts.retrain_on_alert


def test_psi_levels_out_of_order_are_rejected() -> None:
    with pytest.raises(ValidationError, match="significant"):
        settings(psi={"moderate": 0.3, "significant": 0.2})


def test_psi_exact() -> None:
    """Given halves moving to a quarter / three quarters: 0.25 ln 0.5^-1 + 0.25 ln 1.5 = 0.25 ln 3."""
    assert psi([0.5, 0.5], [0.25, 0.75], 1e-4) == pytest.approx(0.25 * math.log(3), rel=1e-12)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 1e-4) == 0.0


def test_psi_floors_an_empty_bin_at_epsilon() -> None:
    """An empty reference bin counts as epsilon; a bin empty on both sides adds nothing."""
    expected = 0.1 * math.log(1.25) + (0.1 - 1e-4) * math.log(1000)
    assert psi([0.5, 0.5, 0.0, 0.0], [0.5, 0.4, 0.1, 0.0], 1e-4) == pytest.approx(expected, rel=1e-12)


def test_numeric_profile_has_quantile_edges_deduplicated_and_a_missing_bin() -> None:
    """Given 0, 0, 0, 10, 20 and a gap: deciles 0 x6, 10 x2, 20 -> bins (-inf,0] (0,10] (10,20] (20,inf) missing."""
    amount = profile().column("amount")
    assert amount.edges == (0.0, 10.0, 20.0)
    assert amount.counts == (3, 1, 1, 0, 1)
    assert amount.labels == ("(-inf, 0]", "(0, 10]", "(10, 20]", "(20, inf]", MISSING)
    assert (amount.mean, amount.zero_share, amount.missing_share) == (6.0, 0.6, 1 / 6)
    assert (amount.minimum, amount.maximum) == (0.0, 20.0)


def test_rare_categories_are_pooled_but_mix_categories_are_not() -> None:
    """rare_share 0.2: b and c (1/6 each) go to __other__; tier keeps mid (1/6) as it is a mix."""
    reference = profile()
    plan, tier = reference.column("plan"), reference.column("tier")
    assert plan.labels == ("a", OTHER, MISSING)
    assert plan.counts == (3, 2, 1)
    assert tier.labels == ("high", "low", "mid", OTHER, MISSING)
    assert tier.counts == (1, 4, 1, 0, 0)
    assert math.isnan(plan.mean)


def test_new_category_and_absent_column_are_counted() -> None:
    """Given a plan first seen tonight and no trend column: d is __other__, trend is all missing."""
    tonight = frame().drop(columns="trend").assign(plan=["d", "a", "a", "a", "a", "a"])
    counts = bin_counts(tonight, profile())
    assert counts.column("plan").counts == (5, 1, 0)
    assert counts.column("trend").counts == (0,) * (len(counts.column("trend").edges) + 1) + (6,)
    assert counts.metrics == {}


def test_profile_round_trips_through_plain_json() -> None:
    reference = profile()
    text = json.dumps(reference.to_dict(), allow_nan=False)
    assert ReferenceProfile.from_dict(json.loads(text)) == reference
    assert ReferenceProfile.from_dict(json.loads(text)).metrics == {"roc_auc": 0.8}


def test_churn_calendar_round_trips_through_plain_json_a_missing_day_as_nan() -> None:
    days = tuple(float(day % 3) for day in range(1, 32))
    reference = replace(profile(), churn_calendar={"all": days, "high": (*days[:30], math.nan)})
    back = ReferenceProfile.from_dict(json.loads(json.dumps(reference.to_dict(), allow_nan=False)))
    assert back.churn_calendar["all"] == days
    assert back.churn_calendar["high"][:30] == days[:30] and math.isnan(back.churn_calendar["high"][30])
    assert "churn_calendar" not in profile().to_dict()  # a reference without one reads as before


def test_phases_round_trip_and_the_closest_phase_is_chosen() -> None:
    """Given a month-end reference and a phase where trend is flipped (before a due day, say)."""
    reference = profile()
    flipped = frame().assign(trend=-frame()["trend"])
    phased = replace(reference, phases={"2026-05-17": bin_counts(flipped, reference)})
    assert ReferenceProfile.from_dict(json.loads(json.dumps(phased.to_dict(), allow_nan=False))) == phased
    assert closest_phase(bin_counts(flipped, reference), phased, settings()) == (
        "2026-05-17",
        phased.phases["2026-05-17"],
    )
    assert closest_phase(bin_counts(frame(), reference), phased, settings())[0] == ""
    # A broken export is far from every phase: still a guardrail against the closest one.
    broken = bin_counts(flipped.assign(amount=[0.0] * 6), reference)
    day, phase = closest_phase(broken, phased, settings())
    table = drift_table(broken, phase, settings(guardrail={"zero_jump": 0.3}))
    assert day == "2026-05-17" and blocks_publish(table, settings().alerts)


def cells(counts: tuple[int, ...]) -> ColumnProfile:
    categories = ("a|inquiry", "b|cancel_intent", "b|inquiry")
    return ColumnProfile("contact_mix.region_reason", CELLS, CATEGORICAL, (*counts, 0, 0), categories=categories)


@pytest.mark.parametrize(
    ("tonight", "z", "level"),
    [
        ((850, 60, 90), (60 - 10) / math.sqrt(10), "significant"),  # one city's cancel intents: 6x, z 15.8
        ((875, 25, 100), (25 - 10) / math.sqrt(10), "ok"),  # 2.5x but z 4.7: noise-sized
        ((900, 10, 90), 0.0, "ok"),
    ],
)
def test_a_contact_cell_that_jumps_alarms_by_a_count_test(tonight: tuple, z: float, level: str) -> None:
    reference = ReferenceProfile((cells((900, 10, 90)),))
    table = drift_table(ReferenceProfile((cells(tonight),)), reference, settings())
    row = table.iloc[0]
    assert list(table["metric"]) == ["cell_jump"] and row["value"] == pytest.approx(z)
    assert row["level"] == level
    if z:
        assert row["reference"] == 10.0  # the cell's expected count: 1% of tonight's 1,000
    if level == "significant":
        assert row["message"] == (
            "contact_mix.region_reason: b|cancel_intent 60 tonight, 10.0 expected from the reference's shares "
            "(6.0x, z 15.8)"
        )
    assert drift_table(ReferenceProfile((cells(tonight),)), reference, settings(), "yesterday").empty


def test_a_nan_metric_is_written_as_null() -> None:
    data = replace(profile(), metrics={"roc_auc": math.nan}).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False))["metrics"] == {"roc_auc": None}
    assert math.isnan(ReferenceProfile.from_dict(data).metrics["roc_auc"])


def test_counts_of_two_shards_merge_into_the_whole() -> None:
    rng = np.random.default_rng(12)
    data = pd.DataFrame(
        {
            "amount": np.where(rng.random(400) < 0.1, np.nan, rng.gamma(2.0, 30.0, 400).round()),
            "trend": rng.normal(0.0, 1.0, 400),
            "plan": rng.choice(["a", "b", "c", "d"], 400, p=[0.5, 0.3, 0.15, 0.05]),
            "churn_score": rng.beta(2, 8, 400),
            "tier": rng.choice(["high", "mid", "low"], 400),
        }
    )
    reference = profile(data.iloc[:200])
    whole = bin_counts(data, reference)
    merged = merge_counts([bin_counts(data.iloc[:150], reference), bin_counts(data.iloc[150:], reference)])
    for a, b in zip(whole.columns, merged.columns, strict=True):
        assert (a.counts, a.zeros, a.minimum, a.maximum) == (b.counts, b.zeros, b.minimum, b.maximum)
        assert a.value_sum == pytest.approx(b.value_sum, rel=1e-12)


def test_merge_refuses_different_layouts() -> None:
    other = profile(frame().assign(amount=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    with pytest.raises(ValueError, match="same layout"):
        merge_counts([profile(), other])
    with pytest.raises(ValueError, match="one layout"):
        drift_table(other, profile(), settings())


def test_same_frame_shows_no_drift() -> None:
    table = frame_drift(frame(), profile(), settings())
    assert set(table["level"]) == {"ok"}
    assert (table.loc[table["metric"] == "psi", "value"] == 0.0).all()
    assert table.columns.tolist() == ["feature", "role", "metric", "against", "value", "reference", "level", "message"]
    assert table.loc[table["feature"] == "amount", "metric"].tolist() == ["psi", "missing_share", "zero_share", "mean"]
    assert table.loc[table["feature"] == "plan", "metric"].tolist() == ["psi", "missing_share"]
    assert table.loc[table["feature"] == "churn_score", "role"].iloc[0] == "score"


@pytest.mark.parametrize(
    ("tiers", "psi_value", "level"),
    [
        # reference high 1/6, low 4/6, mid 1/6
        (["high", "low", "low", "low", "low", "mid"], 0.0, "ok"),
        (["high", "high", "low", "low", "low", "mid"], (1 / 6) * math.log(2) + (-1 / 6) * math.log(3 / 4), "moderate"),
        (
            ["high", "high", "high", "low", "low", "mid"],
            (2 / 6) * math.log(3) + (-2 / 6) * math.log(2 / 4),
            "significant",
        ),
    ],
)
def test_psi_level_of_the_tier_mix(tiers: list[str], psi_value: float, level: str) -> None:
    table = frame_drift(frame().assign(tier=tiers), profile(), settings())
    row = table.loc[(table["feature"] == "tier") & (table["metric"] == "psi")].iloc[0]
    assert row["value"] == pytest.approx(psi_value, rel=1e-12)
    assert row["level"] == level
    assert (row["message"] == "") == (level == "ok")


def test_all_zero_column_is_a_guardrail_naming_it() -> None:
    """Given amounts exported as 0 tonight (reference 60% zero but zero_jump 0.3): 100% zero, 40 points up."""
    tonight = frame().assign(amount=[0.0] * 6)
    table = frame_drift(tonight, profile(), settings(guardrail={"zero_jump": 0.3}))
    row = table.loc[(table["feature"] == "amount") & (table["metric"] == "zero_share")].iloc[0]
    assert (row["value"], row["reference"], row["level"]) == (1.0, 0.6, "guardrail")
    assert row["message"] == "amount: 100% zero tonight (reference 60%)"
    mean = table.loc[(table["feature"] == "amount") & (table["metric"] == "mean")].iloc[0]
    assert mean["level"] == "guardrail"  # mean 0 is below a tenth of 6
    assert blocks_publish(table, settings().alerts)


def test_zero_heavy_column_getting_all_zero_is_not_a_guardrail() -> None:
    """Reference 60% zero, zero_jump 0.5: 100% zero is 40 points up, not a broken export."""
    table = frame_drift(frame().assign(amount=[0.0] * 6), profile(), settings())
    row = table.loc[(table["feature"] == "amount") & (table["metric"] == "zero_share")].iloc[0]
    assert row["level"] == "ok"


def test_suddenly_missing_column_is_a_guardrail_and_shows_in_psi() -> None:
    """Reference 1/6 missing; tonight all missing: 83 points up, PSI dominated by the missing bin."""
    table = frame_drift(frame().assign(amount=np.nan), profile(), settings())
    rows = table.loc[table["feature"] == "amount"].set_index("metric")
    assert rows.loc["missing_share", "level"] == "guardrail"
    assert rows.loc["missing_share", "message"] == "amount: 100% missing tonight (reference 16.7%)"
    assert rows.loc["psi", "level"] == "significant"
    shares = [0.5, 1 / 6, 1 / 6, 0.0, 1 / 6]
    assert rows.loc["psi", "value"] == pytest.approx(psi(shares, [0, 0, 0, 0, 1.0], 1e-4), rel=1e-12)
    assert rows.loc[["mean"], "value"].isna().all() and rows.loc["mean", "level"] == "ok"


@pytest.mark.parametrize(("factor", "level"), [(10.0, "ok"), (11.0, "guardrail"), (0.09, "guardrail"), (0.2, "ok")])
def test_mean_moved_by_an_order_of_magnitude(factor: float, level: str) -> None:
    """Mean ratio beyond 10 either way (amounts in fen instead of yuan) is a guardrail."""
    tonight = frame().assign(amount=frame()["amount"] * factor)
    table = frame_drift(tonight, profile(), settings())
    row = table.loc[(table["feature"] == "amount") & (table["metric"] == "mean")].iloc[0]
    assert row["value"] / row["reference"] == pytest.approx(factor)
    assert row["level"] == level


def test_mean_ratio_is_not_checked_on_a_column_with_negative_values() -> None:
    """trend's reference mean is 0.033 and it can go negative: a ratio of -2 says nothing about the export."""
    tonight = frame().assign(trend=[-0.5, 0.5, 0.1, -0.1, -0.4, 0.0])
    row = frame_drift(tonight, profile(), settings()).query("feature == 'trend' and metric == 'mean'").iloc[0]
    assert row["value"] / row["reference"] == pytest.approx(-2.0)
    assert row["level"] == "ok"


def test_against_yesterday_uses_the_reference_layout() -> None:
    """Yesterday counted on the reference bins; tonight equal to yesterday -> PSI 0 against yesterday."""
    reference = profile()
    yesterday = bin_counts(frame().assign(tier="low"), reference)
    tonight = bin_counts(frame().assign(tier="low"), reference)
    table = pd.concat(
        [drift_table(tonight, reference, settings()), drift_table(tonight, yesterday, settings(), "yesterday")]
    )
    tier = table.query("feature == 'tier' and metric == 'psi'").set_index("against")["value"]
    assert tier["yesterday"] == 0.0
    assert tier["reference"] > 0.25


def test_alert_rows_and_publish_blocking() -> None:
    table = pd.DataFrame({"level": ["ok", "moderate", "significant"]})
    alert_only = AlertSettings(
        levels=("significant", "guardrail"), model_drift="alert", retrain_on_alert=False, training_deployment="x"
    )
    assert alert_rows(table, alert_only)["level"].tolist() == ["significant"]
    assert not blocks_publish(table, alert_only)
    assert blocks_publish(table, alert_only.model_copy(update={"model_drift": "block"}))
    assert not blocks_publish(table.iloc[:2], alert_only.model_copy(update={"model_drift": "block"}))


@pytest.mark.parametrize(("rows", "level"), [(1000, "ok"), (10_000, "guardrail")])
def test_a_sparse_column_gone_to_zero_is_judged_only_with_enough_non_zero_values_expected(
    rows: int, level: str
) -> None:
    """Reference: 1% non-zero. Tonight all zero: 10 non-zero values expected in 1,000 rows (chance), 100 in 10,000."""
    rng = np.random.default_rng(3)
    months = pd.DataFrame({"months_left": np.where(rng.random(20_000) < 0.01, 6.0, 0.0)})
    reference = reference_profile(months, settings().profile, ["months_left"])
    tonight = bin_counts(pd.DataFrame({"months_left": np.zeros(rows)}), reference)
    guard = settings(guardrail={"mean_min_nonzero": 100})
    row = drift_table(tonight, reference, guard).query("metric == 'mean'").iloc[0]
    assert (row["value"], row["level"]) == (0.0, level)
