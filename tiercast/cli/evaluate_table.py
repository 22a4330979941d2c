"""`tiercast evaluate-table`: cross-validate the churn model family on any customer table."""

from __future__ import annotations

import contextlib
import json
import math
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


# Per-fold table on stderr: column of `folds` -> header. roc_auc etc. are the chosen model's.
HEADERS = {
    "fold": "fold",
    "chosen": "chosen",
    "inner_roc_auc_lightgbm": "inner lgbm",
    "inner_roc_auc_linear": "inner linear",
    "roc_auc": "roc_auc",
    "lightgbm_roc_auc": "lgbm auc",
    "linear_roc_auc": "linear auc",
    "pr_auc": "pr_auc",
    "brier": "brier",
    "ece": "ece",
    "trees": "trees",
}


def _cell(value: object, column: str = "") -> str:
    """Return a table cell: 4 decimals for scores, whole trees, "-" for a candidate that did not run."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if column == "trees" else f"{value:.4f}"
    return str(value)


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
            int | None, typer.Option("--folds", min=2, help="Stratified folds (default: evaluation.table.folds, 5).")
        ] = None,
        seed: Annotated[
            int | None,
            typer.Option("--seed", help="Seed of the fold split and the models (default: evaluation.table.seed, 42)."),
        ] = None,
        track: Annotated[
            bool, typer.Option("--track/--no-track", help="Log the run to the MLflow evaluate-table experiment.")
        ] = True,
    ) -> None:
        """Cross-validate the churn model on FILE: ONE JSON line on stdout (roc_auc_mean, ...), a table on stderr.

        Types are inferred: numeric text (blanks -> missing), yes/no columns, text whose values repeat ->
        category (rare levels pooled); id-like, free-text and constant columns are excluded and listed.
        Each fold chooses between the LightGBM + calibration model of `tiercast train` and a regularised
        spline logistic regression by an inner cross-validation on its training part
        (evaluation.table.candidates, inner_folds); the JSON reports the choice (chosen_model,
        model_choice) and both candidates' scores (inner_roc_auc_lightgbm, inner_roc_auc_linear,
        lightgbm_roc_auc_mean, linear_roc_auc_mean, chosen_roc_auc_mean).
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
        grid = Table(title=f"{file.name}: {summary['folds']}-fold cross-validation, model chosen per fold")
        for header in HEADERS.values():
            grid.add_column(header, justify="right")
        for row in result.folds.to_dict("records"):
            grid.add_row(*[_cell(row[c], c) for c in HEADERS])
        grid.add_row(
            "mean",
            f"{summary['chosen_model']} {summary['model_choice'][summary['chosen_model']]}/{summary['folds']}",
            _cell(summary["inner_roc_auc_lightgbm"]),
            _cell(summary["inner_roc_auc_linear"]),
            _cell(summary["roc_auc_mean"]),
            _cell(summary["lightgbm_roc_auc_mean"]),
            _cell(summary["linear_roc_auc_mean"]),
            _cell(summary["pr_auc_mean"]),
            _cell(summary["brier_mean"]),
            _cell(summary["ece_mean"]),
            _cell(summary["trees_mean"], "trees"),
        )
        console.print(grid)
        console.print(
            f"ROC AUC {summary['roc_auc_mean']:.4f} ± {summary['roc_auc_std']:.4f} (chosen per fold; folds won: "
            f"{summary['model_choice']}); "
            f"{summary['n_rows']} rows ({summary['positive_rate']:.1%} positive), {summary['n_features']} features; "
            f"excluded: {summary['excluded_columns'] or 'none'}; dropped rows (blank target): {summary['dropped_rows']}"
        )
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
