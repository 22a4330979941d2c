"""`tiercast campaigns report`: the table, the campaigns not matured yet, the files, MLflow, and exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pipelines import tracking
from pipelines.campaigns import EXPERIMENT
from tests.cli.cli_app import app_with
from tests.data_contracts.tables import write_tables
from tests.pipelines.test_campaigns import tables
from tiercast.cli import campaigns


def invoke(settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app_with(settings, campaigns), ["campaigns", *args], env={"COLUMNS": "220"})
    return result.exit_code, result.output


def test_prints_the_lift_lists_the_unmatured_writes_the_files_and_logs_a_run(settings, tmp_path: Path) -> None:
    data = write_tables(tmp_path / "raw", tables())
    out = tmp_path / "out"

    code, output = invoke(settings, "report", "--data", str(data), "--out", str(out), "--boot", "200")

    assert code == 0, output
    assert "data end 2024-05-31; horizon 60 days" in output
    assert "2024-03-01" in output and "tariff" in output and "+25.0%" in output  # lift 0.5 - 0.25
    assert "not matured yet: 2024-05-15 tariff (1 members), matures on 2024-07-14" in output
    written = pd.read_parquet(out / "campaign_report_2024-05-31.parquet")
    assert set(written["level"]) == {
        "campaign_date x desk x tier x offer",
        "campaign_date x desk",
        "campaign_date",
        "overall",
    }
    assert pd.read_csv(out / "campaign_report_2024-05-31.csv").shape == written.shape
    assert (out / "campaign_report_2024-05-31_lift.png").stat().st_size > 0
    import mlflow

    tracking.configure(settings)
    run = mlflow.search_runs(experiment_names=[EXPERIMENT], output_format="list")[0]
    assert run.data.metrics["all.lift"] == 0.25
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "desk.tariff.lift")
    assert [m.step for m in history] == [(pd.Timestamp("2024-03-01") - pd.Timestamp("1970-01-01")).days]
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None and experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_an_export_without_campaigns_ends_with_exit_3(settings, tmp_path: Path) -> None:
    given = tables()
    del given["campaigns"]

    code, output = invoke(settings, "report", "--data", str(write_tables(tmp_path / "raw", given)), "--no-track")

    assert code == 3
    assert "has no campaigns table" in output


def test_help_says_what_it_measures() -> None:
    result = CliRunner().invoke(app_with(None, campaigns), ["campaigns", "report", "--help"], env={"COLUMNS": "200"})  # type: ignore[arg-type]

    text = " ".join(result.output.split())
    assert "Treated: the members drawn to be called" in text
    assert "Control: members held out at random, never called" in text
    assert "A campaign has matured once that horizon has passed in the data" in text
