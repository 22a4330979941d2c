"""Promotion gate, aliases and rollback on a real (SQLite) MLflow registry under tmp_path."""

from __future__ import annotations

import numpy as np
import pytest

from models.churn import ChurnModel
from pipelines import registry, tracking
from tests.models.test_churn import churn_frame


@pytest.mark.parametrize(
    ("problems", "challenger", "champion_version", "champion", "promoted", "reason"),
    [
        ([], 0.70, None, None, True, "first model"),
        (["constant scores (0.5)"], 0.5, None, None, False, "failed sanity checks: constant scores"),
        ([], 0.803, "1", 0.800, True, "roc_auc 0.8030 >= champion v1 0.8000 + 0.002"),
        ([], 0.801, "1", 0.800, False, "roc_auc 0.8010 < champion v1 0.8000 + 0.002"),
        ([], 0.700, "1", None, True, "cannot be scored"),
    ],
)
def test_decide(settings, problems, challenger, champion_version, champion, promoted, reason) -> None:
    decision = registry.decide(settings, "2", problems, challenger, champion_version, champion)
    assert decision.promoted is promoted
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("scores", "problem"),
    [([0.1, np.nan, 0.3], "1 NaN scores"), ([0.2, 1.4], "outside [0, 1]"), ([0.3, 0.3, 0.3], "constant scores")],
)
def test_sanity_problems(scores, problem) -> None:
    assert any(problem in p for p in registry.sanity_problems(scores))
    assert registry.sanity_problems([0.1, 0.2, 0.9]) == []


def _candidate(settings, label_noise: bool, seed: int):
    """Fit a model (on shuffled labels when `label_noise`), log it, register it as challenger."""
    x, y = churn_frame(1500, seed=seed)
    if label_noise:
        y = np.random.default_rng(seed).permutation(y)
    model = ChurnModel(n_estimators=40, early_stopping_rounds=0, n_jobs=1).fit(x, y)
    with tracking.run(settings, "tiercast-test"):
        uri = tracking.log_model(settings, model, x.head(3))
    return model, registry.register_challenger(settings, uri, {"seed": seed})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One MLflow store for the module (creating the SQLite schema takes seconds)."""
    from tiercast.settings import load_settings

    return load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path_factory.mktemp("registry"))})


def with_model_name(settings, name: str):
    return settings.model_copy(update={"tracking": settings.tracking.model_copy(update={"registered_model": name})})


@pytest.mark.slow
def test_gate_promotes_first_refuses_worse_and_rollback_restores(store) -> None:
    settings = with_model_name(store, "gate-test")
    x, y = churn_frame(1500, seed=99)
    aliases = settings.tracking.aliases
    good, v1 = _candidate(settings, label_noise=False, seed=1)
    first = registry.evaluate_challenger(settings, v1, good.predict_proba(x)[:, 1], x, y)
    assert first.promoted and registry.champion_version(settings) == v1

    # a worse challenger (trained on shuffled labels) is not promoted; the champion is untouched
    bad, v2 = _candidate(settings, label_noise=True, seed=2)
    second = registry.evaluate_challenger(settings, v2, bad.predict_proba(x)[:, 1], x, y)
    assert not second.promoted and second.champion_version == v1
    assert second.champion_value is not None and second.champion_value > second.challenger_value
    assert registry.champion_version(settings) == v1
    assert tracking.alias_version(settings, aliases.challenger) == v2
    assert tracking.version_info(settings, v2).tags["status"] == "rejected"

    # manual promotion keeps the old champion reachable; rollback restores it
    registry.promote(settings, v2, "forced for the test")
    assert registry.champion_version(settings) == v2
    assert tracking.alias_version(settings, aliases.previous) == v1
    assert registry.rollback(settings) == (v2, v1)
    assert registry.champion_version(settings) == v1
    assert tracking.alias_version(settings, aliases.previous) is None
    with pytest.raises(registry.RegistryError, match="nothing to roll back"):
        registry.rollback(settings)

    model, version = registry.load_champion(settings)
    assert version == v1
    np.testing.assert_allclose(model.predict_proba(x.head(20)), good.predict_proba(x.head(20)))
    listing = registry.list_models(settings)
    assert listing["version"].tolist() == [v2, v1]
    assert listing.set_index("version").loc[v1, "aliases"] == "champion"
    assert listing["gate"].str.fullmatch(r"roc_auc (0\.\d{4}|nan)").all(), listing["gate"].tolist()
    assert (listing["created"] == listing["created"].dt.floor("s")).all()


def test_load_champion_before_any_training_is_a_clear_error(store) -> None:
    settings = with_model_name(store, "never-trained")
    with pytest.raises(registry.RegistryError, match="no champion yet"):
        registry.load_champion(settings)
