"""`tiercast train`: fit, evaluate, track and (maybe) promote the churn model."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from tiercast.cli import state
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date, with_mapping

if TYPE_CHECKING:
    import pandas as pd

OVERALL = ("n", "churn_rate", "roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top10", "emp", "mp_share")
SLICED = ("n", "positives", "churn_rate", "mean_score", "roc_auc", "pr_auc", "ece", "capture_top10")
COUNTS = ("n", "positives")


def _fmt(value: object, count: bool = False) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:,.0f}" if count or value >= 100 else f"{value:.4f}"
    return str(value)


def _sliced_table(sliced: pd.DataFrame, title: str) -> object:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("slice")
    table.add_column("value")
    for column in SLICED:
        table.add_column(column, justify="right")
    for row in sliced.to_dict("records"):
        cells = [_fmt(row.get(c, float("nan")), count=c in COUNTS) for c in SLICED]
        table.add_row(str(row["slice"]), str(row["value"]), *cells)
    return table


def register(app: typer.Typer) -> None:
    """Add `train` to the CLI."""

    @app.command("train")
    def train(
        ctx: typer.Context,
        data: DataDir = None,
        mapping: MappingFile = None,
        as_of: AsOf = None,
    ) -> None:
        """Train the churn model on rolling monthly snapshots, log it to MLflow and promote it if it beats the champion.

        The latest fully labelled month end validates; the snapshots before it train. Metrics are
        reported on the validation holdout, overall and by tier and lifecycle stage. The new version
        gets alias 'challenger' and becomes 'champion' only if it beats the current champion on the
        same holdout by the configured margin (churn.gate).
        """
        from rich.console import Console
        from rich.table import Table

        from pipelines.tracking import tracking_uri
        from pipelines.training import train as run_training

        settings = with_mapping(state(ctx).settings, mapping)
        console = Console(width=None if sys.stdout.isatty() else 140)
        day = as_date(as_of)
        with console.status("building snapshots, training, evaluating ..."):
            result = run_training(settings, data, day)
        fitted, decision = result.fitted, result.decision
        bt = fitted.backtest
        overall = Table(
            title=f"Churn model on the validation holdout ({bt.validation_date}, horizon {bt.horizon_days} d)"
        )
        overall.add_column("metric")
        overall.add_column("value", justify="right")
        for name in OVERALL:
            overall.add_row(name, _fmt(fitted.metrics[name], count=name in COUNTS))
        for name, value in (fitted.oracle or {}).items():
            overall.add_row(f"oracle: {name}", _fmt(value))
        console.print(overall)
        if not fitted.sliced.empty:
            console.print(_sliced_table(fitted.sliced, "By tier and lifecycle stage"))
        console.print(
            f"trained on {fitted.n_train:,} rows from {', '.join(map(str, bt.train_dates))}; "
            f"{len(fitted.columns)} features; {fitted.model.best_iteration_} trees; "
            f"calibration: {fitted.model.calibration_method_}"
        )
        console.print(f"MLflow run: [bold]{result.run_id}[/bold] ({tracking_uri(settings)})")
        verdict = "[green]promoted to champion[/green]" if decision.promoted else "[yellow]not promoted[/yellow]"
        console.print(f"{settings.tracking.registered_model} v{result.version}: {verdict}: {decision.reason}")
