"""Training pipeline: backtest windows, validation split, leakage guard, end to end on generated data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.training import (
    LeakageError,
    _sample,
    backtest_dates,
    check_leakage,
    feature_columns,
    monotone_constraints,
    split_validation,
    truth_column,
)


@pytest.mark.parametrize(
    ("data_end", "snapshots", "horizon", "train", "validation"),
    [
        (date(2026, 10, 31), 4, 30, [date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31)], date(2026, 9, 30)),
        (date(2026, 10, 31), 4, 60, [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)], date(2026, 8, 31)),
        (date(2024, 3, 31), 3, 30, [date(2023, 11, 30), date(2023, 12, 31)], date(2024, 2, 29)),
        (date(2026, 10, 15), 2, 30, [date(2026, 7, 31)], date(2026, 8, 31)),  # 09-30 + 30 d > 10-15
    ],
)
def test_backtest_dates(data_end, snapshots, horizon, train, validation) -> None:
    backtest = backtest_dates(data_end, snapshots, horizon)
    assert list(backtest.train_dates) == train
    assert backtest.validation_date == validation


def test_training_snapshots_step_back_through_the_month_when_asked() -> None:
    backtest = backtest_dates(date(2026, 10, 31), 6, 60, phase_step_days=5)
    assert backtest.validation_date == date(2026, 8, 31)
    # newest first: 5, 10, 15, 20, 25 days before the month's end
    assert list(backtest.train_dates) == [
        date(2026, 2, 3),
        date(2026, 3, 11),
        date(2026, 4, 15),
        date(2026, 5, 21),
        date(2026, 6, 25),
    ]


@pytest.mark.parametrize("step", [0, 5, 13])
@pytest.mark.parametrize("horizon", [1, 7, 28, 30, 31, 45, 60, 90])
@pytest.mark.parametrize("data_end", [date(2026, 10, 31), date(2024, 3, 1), date(2025, 12, 30)])
def test_no_training_label_window_reaches_the_validation_date(horizon: int, data_end: date, step: int) -> None:
    """Given any horizon, when dates are chosen, then every label window closes before the next use of data."""
    backtest = backtest_dates(data_end, 6, horizon, step)
    h = timedelta(days=horizon)
    assert backtest.validation_date + h <= data_end  # validation fully labelled
    assert len(backtest.train_dates) == 5
    assert all(t + h <= backtest.validation_date for t in backtest.train_dates)
    assert len({(t.year, t.month) for t in backtest.train_dates}) == 5  # one a month
    if step == 0:
        assert all((pd.Timestamp(t) + pd.offsets.MonthEnd(0)).date() == t for t in backtest.train_dates)


def test_split_validation_is_disjoint_deterministic_and_complete() -> None:
    frame = pd.DataFrame({"subscriber_id": np.arange(1, 2001), "x": 0.0})
    tune, holdout = split_validation(frame, 0.5, seed=7)
    assert set(tune["subscriber_id"]).isdisjoint(holdout["subscriber_id"])
    assert len(tune) + len(holdout) == 2000
    assert 900 < len(holdout) < 1100
    again, _ = split_validation(frame, 0.5, seed=7)
    assert again["subscriber_id"].tolist() == tune["subscriber_id"].tolist()


def test_sample_keeps_the_same_subscribers_every_month() -> None:
    month1 = pd.DataFrame({"subscriber_id": np.arange(1, 101)})
    month2 = pd.DataFrame({"subscriber_id": np.arange(1, 121)})
    a, b = _sample(month1, 50, seed=1), _sample(month2, 60, seed=1)
    assert len(a) == 50 and a["subscriber_id"].is_unique
    assert len(set(a["subscriber_id"]) & set(b["subscriber_id"])) > 35


def test_feature_columns_never_include_keys_or_labels(settings) -> None:
    frame = pd.DataFrame(columns=["subscriber_id", "as_of", "arpu_3m", "churned", "churn_reason", "plan"])
    assert feature_columns(frame, settings.churn) == ["arpu_3m", "plan"]


def test_monotone_constraints_only_for_present_features(settings) -> None:
    assert monotone_constraints(["months_in_arrears", "plan"], settings.churn) == {"months_in_arrears": 1}


@pytest.mark.parametrize("kind", ["numeric", "category"])
def test_a_planted_label_leak_is_caught(kind: str) -> None:
    """Given a column that is the label (plus a little noise), when guarding, then training refuses and names it."""
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=400) < 0.1).astype(int)
    leak = y + rng.normal(0, 0.05, 400) if kind == "numeric" else np.where(y == 1, "gone", "here")
    x = pd.DataFrame({"tenure_months": rng.uniform(0, 100, 400), "leak": leak})
    with pytest.raises(LeakageError, match="leak"):
        check_leakage(x, y, threshold=0.98)
    aucs = check_leakage(x[["tenure_months"]], y, threshold=0.98)
    assert aucs["tenure_months"] < 0.7


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from tiercast.settings import load_settings
    from tiercast.synthetic import generate

    folder = tmp_path_factory.mktemp("generated") / "raw"
    generate(folder, 3000, 9, 5, load_settings(environ={}).generator)
    return folder


@pytest.mark.slow
def test_train_end_to_end_then_an_equal_challenger_is_not_promoted(generated: Path, tmp_path: Path) -> None:
    from pipelines import registry
    from pipelines.training import train
    from tiercast.settings import load_settings

    settings = load_settings(
        environ={
            "TIERCAST__PATHS__ROOT": str(tmp_path),
            "TIERCAST__CHURN__MODEL__N_JOBS": "1",
            "TIERCAST__EVALUATION__GENERATOR_TRUTH": "true",
        }
    )
    first = train(settings, generated)
    fitted = first.fitted
    assert first.version == "1" and first.decision.promoted
    assert fitted.holdout["subscriber_id"].is_unique  # one row per subscriber in a snapshot
    assert all(t + timedelta(days=30) <= fitted.backtest.validation_date for t in fitted.backtest.train_dates)
    assert 0.5 < fitted.metrics["roc_auc"] <= 1 and fitted.oracle is not None
    assert set(fitted.sliced["slice"]) == {"tier", "lifecycle_stage"}
    assert "churned" not in fitted.columns and "subscriber_id" not in fitted.columns
    # the monitoring reference's other phases: the holdout's subscribers 7, 14, 21 days before, scored
    validation = fitted.backtest.validation_date
    assert list(fitted.reference_phases) == [validation - timedelta(days=d) for d in (7, 14, 21)]
    for frame, recent in fitted.reference_phases.values():
        assert set(fitted.columns) | {"churn_score", "tier"} <= set(frame.columns)
        assert len(frame) and "bills" in recent
    from models.drift import ReferenceProfile
    from pipelines import tracking
    from pipelines.monitoring import REFERENCE_ARTIFACT

    logged = ReferenceProfile.from_dict(tracking.load_run_dict(settings, first.run_id, REFERENCE_ARTIFACT) or {})
    assert sorted(logged.phases) == sorted(str(d) for d in fitted.reference_phases)
    # the churn calendar per tier over the snapshots' horizons, for the recent-churn rule
    assert list(logged.churn_calendar) == ["all", "high", "low", "mid"]
    assert all(len(days) == 31 for days in logged.churn_calendar.values())
    assert logged.churn_calendar["all"][0] == 0.0  # the generator's leavers never go on the 1st of a month

    # behaviour of the configured model: more arrears or complaints, all else equal, never lowers the score
    rows = fitted.holdout[fitted.columns].head(100)
    for feature in ("months_in_arrears", "complaints_30d", "complaints_90d"):
        scores = np.column_stack(
            [fitted.model.predict_proba(rows.assign(**{feature: v}))[:, 1] for v in (0, 1, 2, 4, 8)]
        )
        assert np.all(np.diff(scores, axis=1) >= 0), feature
    # reason codes are worded from real features of the feature table
    from models.reasons import PHRASES, reason_codes

    reasons = reason_codes(fitted.model, fitted.holdout.nlargest(20, "churn_score")[fitted.columns])
    parts = [part for text in reasons for part in text.split("; ")]
    assert parts and all(part for part in parts)
    assert set(fitted.model.contributions(rows).columns) <= set(PHRASES)

    quiet = settings.model_copy(update={"tracking": settings.tracking.model_copy(update={"log_plots": False})})
    second = train(quiet, generated)  # same data, same model: cannot beat the champion by the margin
    assert second.version == "2" and not second.decision.promoted
    assert registry.champion_version(settings) == "1"
    # what the MLflow UI shows on each version's page
    from pipelines.tracking import version_info

    first_text, second_text = version_info(settings, "1").description, version_info(settings, "2").description
    horizon = settings.churn.horizon_days
    assert first_text.startswith(f"Churn model: probability of leaving within {horizon} days of the as-of date.")
    assert f"validated as of {fitted.backtest.validation_date}" in first_text
    assert f"ROC AUC {fitted.metrics['roc_auc']:.3f}" in first_text
    assert f"Gate: promoted to champion ({first.decision.reason})" in first_text
    assert f"Gate: not promoted ({second.decision.reason})" in second_text
    model, version = registry.load_champion(settings)
    assert version == "1"
    assert model.predict_proba(fitted.holdout[fitted.columns].head(3)).shape == (3, 2)


@pytest.mark.parametrize(
    ("as_of", "horizon", "column"),
    [
        (date(2026, 8, 31), 60, "p_churn_60d"),
        (date(2026, 8, 31), 30, "p_churn_next_month"),  # September has 30 days
        (date(2026, 8, 31), 31, None),
        (date(2026, 9, 30), 31, "p_churn_next_month"),  # October has 31
        (date(2026, 8, 31), 90, None),  # the generator writes no 90-day truth: no oracle, never the 60-day one
    ],
)
def test_the_truth_column_matches_the_label_horizon_or_there_is_none(as_of: date, horizon: int, column) -> None:
    assert truth_column(as_of, horizon) == column
