"""`tiercast uplift train`: learn from past campaigns whom a retention call changes, and gate the model."""

from __future__ import annotations

import sys

import typer

from tiercast.cli import state
from tiercast.cli.exits import App
from tiercast.cli.options import AsOf, DataDir, MappingFile, as_date, with_mapping

uplift_app = App(help="The uplift model (issue 14): trained on past campaigns' treated and control customers.")


@uplift_app.command("train")
def train(ctx: typer.Context, data: DataDir = None, mapping: MappingFile = None, as_of: AsOf = None) -> None:
    """Train the uplift model on the matured campaigns (input table `campaigns`), evaluate it on the latest one(s)
    with Qini and AUUC, log it to MLflow as `uplift.registered_model` and make it champion only if its Qini
    interval is above 0 and it keeps more value than ranking by churn x value on the same members.
    """
    from rich.console import Console
    from rich.table import Table

    from pipelines.tracking import tracking_uri
    from pipelines.uplift_training import train_uplift

    settings = with_mapping(state(ctx).settings, mapping)
    console = Console(width=None if sys.stdout.isatty() else 140)
    with console.status("building campaign rows, training, evaluating ..."):
        result = train_uplift(settings, data, as_date(as_of))
    fitted = result.fitted
    table = Table(title=f"Held-out campaign(s) {', '.join(map(str, fitted.plan.holdout_dates))}")
    for column in ("ranking", "Qini", "Qini 95% interval", "AUUC", "AUUC 95% interval"):
        table.add_column(column, justify="right" if column != "ranking" else "left")
    metrics = fitted.metrics
    for name in ("uplift", "churn", "churn_value"):
        table.add_row(
            name,
            f"{metrics[f'{name}.qini']:.4f}",
            f"[{metrics[f'{name}.qini_low']:.4f}, {metrics[f'{name}.qini_high']:.4f}]",
            f"{metrics[f'{name}.auuc']:.4f}",
            f"[{metrics[f'{name}.auuc_low']:.4f}, {metrics[f'{name}.auuc_high']:.4f}]",
        )
    console.print(table)
    console.print(
        f"trained on {fitted.n_train:,} members of {len(fitted.plan.train_dates)} campaigns; "
        f"held out {len(fitted.holdout):,}; churn score: {fitted.churn_source}"
    )
    console.print(f"MLflow run: [bold]{result.run_id}[/bold] ({tracking_uri(settings)})")
    verdict = "[green]promoted to champion[/green]" if result.promoted else "[yellow]not promoted[/yellow]"
    console.print(f"{settings.uplift.registered_model} v{result.version}: {verdict}: {fitted.gate.reason}")


def register(app: typer.Typer) -> None:
    """Add the `uplift` command group to the CLI."""
    app.add_typer(uplift_app, name="uplift")
