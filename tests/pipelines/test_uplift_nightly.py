"""The nightly with an uplift champion trained with the campaign history, end to end on small generated data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_the_night_ranks_by_the_champion_with_the_campaigns_table_and_says_why_not_without(tmp_path: Path) -> None:
    from pipelines import registry
    from pipelines.nightly_run import Inline, run_nightly
    from pipelines.training import train
    from pipelines.uplift_training import train_uplift
    from tiercast.settings import load_settings
    from tiercast.synthetic import generate

    settings = load_settings(
        environ={
            "TIERCAST__PATHS__ROOT": str(tmp_path),
            "TIERCAST__CHURN__MODEL__N_JOBS": "1",
            "TIERCAST__UPLIFT__MODEL__N_JOBS": "1",
            "TIERCAST__MONITORING__ENABLED": "false",
        }
    )
    data = tmp_path / "raw"
    world = settings.generator.model_copy(update={"campaigns": settings.generator.campaigns.using("many_persuadables")})
    generate(data, 3000, 6, 3, world)
    train(settings, data)
    uplift = train_uplift(settings, data)
    registry.promote(registry.for_model(settings, settings.uplift.registered_model), uplift.version)  # gate or not
    bare = tmp_path / "bare"  # the same export without its campaign records
    shutil.copytree(data, bare, ignore=shutil.ignore_patterns("campaigns.*", "_truth"))

    night = run_nightly(settings, data, None, Inline())
    without = run_nightly(settings, bare, None, Inline())

    assert uplift.fitted.columns[-4:-1] == [
        "retention_calls_answered",
        "retention_offers_accepted",
        "retention_accept_share",
    ]
    assert (night.ranking, night.ranking_note) == ("uplift", "")
    assert without.ranking == "churn_value"
    assert f"the uplift champion v{uplift.version} was trained with the campaign history" in without.ranking_note
    assert without.ranking_note in without.to_markdown()
