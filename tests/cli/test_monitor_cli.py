"""`tiercast monitor report`: the drift table, the alerts and the two charts from the monitoring history."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.cli.cli_app import app_with
from tests.pipelines.test_monitoring import AS_OF, night, scored
from tiercast.cli import monitor
from tiercast.settings import Settings


def test_report_prints_the_drift_table_and_alerts_and_writes_both_charts(settings: Settings, tmp_path: Path) -> None:
    from pipelines.monitoring import training_reference

    frame, recent = scored(4000, seed=1)
    reference = training_reference(frame, ["arpu_3m"], {"roc_auc": 0.8}, recent, settings)
    night(settings, reference, AS_OF)
    night(settings, reference, AS_OF + timedelta(days=1), zero_data=True)  # a broken export, recorded
    out = tmp_path / "report"

    args = ["monitor", "report", "--out", str(out), "--no-track"]
    result = CliRunner().invoke(app_with(settings, monitor), args, env={"COLUMNS": "250"})

    assert result.exit_code == 0, result.output
    assert f"night {AS_OF + timedelta(days=1)}" in result.output
    assert "[guardrail] bills.data_amount: 100% zero tonight" in result.output  # brackets shown, not eaten as markup
    assert sorted(p.name for p in out.iterdir()) == [
        "churn_rate_over_time.png",
        "psi_over_time.png",
        "roc_auc_over_time.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in out.iterdir())


def test_report_without_history_says_what_to_run_and_exits_2(settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app_with(settings, monitor), ["monitor", "report", "--out", str(tmp_path), "--no-track"]
    )
    assert result.exit_code == 2
    assert "run the nightly or `tiercast monitor backfill` first" in result.output
    assert "Traceback" not in result.output
