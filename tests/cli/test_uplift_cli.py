"""`tiercast uplift train` end to end on a small generated world with campaigns: MLflow run, registry, gate."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from features.campaign_history import HISTORY_COLUMNS
from pipelines import registry, tracking
from pipelines.uplift_inputs import history_inputs
from tests.cli.cli_app import app_with
from tiercast.cli import app, uplift


def test_trains_on_matured_campaigns_logs_the_run_and_registers_a_gated_version(settings, tmp_path: Path) -> None:
    data = tmp_path / "raw"
    generated = CliRunner().invoke(
        app,
        ["generate", "-n", "3000", "-m", "6", "-s", "3", "--out", str(data), "--response-mix", "many_persuadables"],
        env={"TIERCAST__PATHS__ROOT": str(tmp_path)},
    )
    assert generated.exit_code == 0, generated.output

    result = CliRunner().invoke(app_with(settings, uplift), ["uplift", "train", "--data", str(data)])
    output = " ".join(result.output.split())

    assert result.exit_code == 0, result.output
    assert "churn score: churn model fitted on the training campaigns' members" in output  # no churn champion
    versions = tracking.list_versions(registry.for_model(settings, settings.uplift.registered_model))
    assert [v.version for v in versions] == ["1"]
    assert versions[0].tags["status"] in {"champion", "rejected"}
    assert " ".join(versions[0].tags["gate_reason"].split()) in output
    assert tracking.list_versions(settings) == []  # the churn model's registry is untouched
    import mlflow

    tracking.configure(settings)
    run = mlflow.search_runs(experiment_names=[settings.uplift.experiment], output_format="list")[0]
    assert {"uplift.qini", "uplift.qini_low", "uplift.auuc_high", "churn_value.qini", "gate.passed"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/qini.png"}
    model = tracking.load_version(registry.for_model(settings, settings.uplift.registered_model), "1")
    assert set(model.categories_["offer"]) <= {"discount", "data_bonus", "device", "none"}
    # trained with the campaign history (uplift.campaign_history): the model, its version and its run say so
    assert list(model.feature_names_in_[-4:]) == [*HISTORY_COLUMNS, "offer"]
    assert history_inputs(model) == HISTORY_COLUMNS
    assert versions[0].tags["needs_campaigns"] == "True"
    assert run.data.params["campaign_history"] == "True"
    features = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/uplift_features.json")["features"]
    assert features == list(model.feature_names_in_)
