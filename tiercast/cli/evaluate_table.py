"""`tiercast evaluate-table`: cross-validate the churn model family on any customer table."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from tiercast.cli import state


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (Python or native libraries) to stderr while the block runs."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def register(app: typer.Typer) -> None:
    """Add `evaluate-table` to the CLI."""

    @app.command("evaluate-table")
    def evaluate_table(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="CSV (any of , ; tab |) or Parquet file, one row per customer.")],
        target: Annotated[str, typer.Option("--target", help="Column holding the churn outcome.")],
        positive: Annotated[
            str, typer.Option("--positive", help="Value of --target that means churned (e.g. Yes, 1, True).")
        ],
        id_column: Annotated[
            str | None, typer.Option("--id", help="Customer id column (dropped; id-like columns are dropped anyway).")
        ] = None,
        folds: Annotated[
            int | None, typer.Option("--folds", min=2, help="Stratified folds [default: evaluation.table.folds, 5].")
        ] = None,
        seed: Annotated[
            int | None, typer.Option("--seed", help="Seed of the fold split and the model [default: 42].")
        ] = None,
        track: Annotated[
            bool, typer.Option("--track/--no-track", help="Log the run to the MLflow evaluate-table experiment.")
        ] = True,
    ) -> None:
        """Cross-validate the churn model on FILE: ONE JSON line on stdout (roc_auc_mean, ...), a table on stderr.

        Types are inferred: numeric text (blanks -> missing), yes/no columns, low-cardinality text ->
        category; id-like, free-text and constant columns are excluded and listed. Each fold trains the
        same LightGBM + calibration model as `tiercast train`, early-stopped on an inner split.
        """
        from rich.console import Console
        from rich.table import Table

        from pipelines.evaluate_table import evaluate_table as run
        from pipelines.evaluate_table import track as log_run

        settings = state(ctx).settings
        table_settings = settings.evaluation.table
        console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
        with _stdout_to_stderr():
            try:
                result = run(
                    settings,
                    file,
                    target,
                    positive,
                    id_column,
                    folds or table_settings.folds,
                    table_settings.seed if seed is None else seed,
                )
            except (FileNotFoundError, KeyError, ValueError) as exc:
                console.print(f"[red]evaluate-table: {exc}[/red]")
                raise typer.Exit(2) from exc
            summary = dict(result.summary)
            if track:
                summary["mlflow_run_id"] = log_run(settings, result)
        grid = Table(title=f"{file.name}: {summary['folds']}-fold cross-validation", show_lines=False)
        columns = ("fold", "roc_auc", "pr_auc", "brier", "log_loss", "ece", "trees", "calibration")
        for column in columns:
            grid.add_column(column, justify="right")
        for row in result.folds.to_dict("records"):
            grid.add_row(*[f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns])
        grid.add_row(
            "mean ± sd",
            f"{summary['roc_auc_mean']:.4f} ± {summary['roc_auc_std']:.4f}",
            f"{summary['pr_auc_mean']:.4f}",
            f"{summary['brier_mean']:.4f}",
            f"{summary['log_loss_mean']:.4f}",
            f"{summary['ece_mean']:.4f}",
            f"{summary['trees_mean']:.0f}",
            "",
        )
        console.print(grid)
        console.print(
            f"{summary['n_rows']} rows ({summary['positive_rate']:.1%} positive), {summary['n_features']} features; "
            f"excluded: {summary['excluded_columns'] or 'none'}; dropped rows (blank target): {summary['dropped_rows']}"
        )
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
