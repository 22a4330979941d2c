"""`tiercast demo`: the whole pipeline on generated data, with no setup."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tiercast.cli import state


def demo(
    ctx: typer.Context,
    subscribers: Annotated[
        int | None,
        typer.Option("--subscribers", "-n", min=500, help="Active base to simulate (default: generator.subscribers)."),
    ] = None,
    months: Annotated[
        int | None, typer.Option("--months", "-m", min=9, help="Months of history (default: generator.months).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: generator.seed).")] = None,
) -> None:
    """Generate a subscriber base, run the training flow, then the nightly flow, and say where everything is.

    Steps: (1) `generate` writes realistic synthetic tables to paths.raw; (2) the training flow
    builds rolling snapshots, fits the LightGBM churn model, logs it to MLflow and promotes it
    to champion through the gate; (3) the nightly flow validates the inputs, builds features,
    tiers and lifecycle stages per shard, scores with the champion, and publishes the tier table
    and retention lists atomically. Everything lands under paths.root/data (default ./data).
    The pseudonymisation key is the public demo key unless $TIERCAST_PRIVACY_KEY is set.
    Running it again adds a model version (promoted only if it beats the champion) and a
    publication; it refuses to overwrite a paths.raw folder that holds real (non-generated) data.
    """
    from rich.console import Console

    from flows.nightly import nightly
    from flows.training import training
    from pipelines.nightly_results import live_state
    from tiercast.cli.flows import NIGHTLY_RERUN, TRAINING_UNCHANGED, run_flow, scoped_environ
    from tiercast.synthetic.simulation import generate

    console = Console(stderr=True)
    settings = state(ctx).settings
    config = state(ctx).config
    paths = settings.paths
    gen = settings.generator
    n, m, s = subscribers or gen.subscribers, months or gen.months, gen.seed if seed is None else seed
    raw = paths.resolve(paths.raw)
    has_inputs = (raw / "subscribers.parquet").exists() or (raw / "subscribers.csv").exists()
    if has_inputs and not (raw / "_truth").is_dir():
        console.print(f"[bold red]{raw} holds input data that `tiercast generate` did not write; not overwriting it.")
        console.print("Point paths.raw elsewhere for the demo, e.g. TIERCAST__PATHS__ROOT=/tmp/tiercast-demo.")
        raise typer.Exit(2)
    started = time.perf_counter()
    console.rule(f"[bold]1/3 generate[/bold] {n:,} subscribers x {m} months (seed {s}) -> {raw}")
    generate(raw, n, m, s, gen)
    console.rule("[bold]2/3 training flow[/bold]: snapshots -> LightGBM -> MLflow -> promotion gate")
    settings_file = str(config) if config else None
    with scoped_environ({"TIERCAST__EVALUATION__GENERATOR_TRUTH": "true"}):  # generated data: compare with its truth
        trained = run_flow("training", TRAINING_UNCHANGED, lambda: training(data_dir=str(raw), config=settings_file))
    console.rule("[bold]3/3 nightly flow[/bold]: validate -> features/tiers/stages -> score -> route -> publish")
    summary = run_flow(
        "nightly",
        lambda: f"{live_state(settings)}; {NIGHTLY_RERUN}",
        lambda: nightly(data_dir=str(raw), config=settings_file),
    )
    _report(console, settings, trained, summary, raw, time.perf_counter() - started)


def _report(
    console: Any, settings: Any, trained: dict[str, Any], summary: dict[str, Any], raw: Path, seconds: float
) -> None:
    from rich.table import Table

    from tiercast.cli.score_publish import show_monitoring

    paths = settings.paths
    table = Table(title=f"subscribers by tier and lifecycle stage, as of {summary['as_of']}")
    stages = ("identification", "growth", "stable", "warning")
    table.add_column("tier")
    for stage in stages:
        table.add_column(stage, justify="right")
    table.add_column("total", justify="right")
    for tier in ("high", "mid", "low"):
        row = summary["tier_stage"].get(tier, {})
        table.add_row(tier, *(f"{row.get(s, 0):,}" for s in stages), f"{sum(row.values()):,}")
    console.print(table)
    show_monitoring(console, summary.get("monitoring") or {})
    mlflow_db = paths.resolve(paths.mlflow) / "mlflow.db"
    prefect_home = paths.resolve(paths.prefect_home)
    ratio = trained.get("oracle", {}).get("auc_ratio")
    oracle = f" ({ratio:.1%} of the oracle AUC from the generator's truth)" if ratio else ""
    promoted = "promoted to champion" if trained["promoted"] else "not promoted: the champion stays"
    desks = ", ".join(f"{desk} {used:,}/{cap:,}" for desk, (used, cap) in summary["retention"].items())
    console.print(
        f"\n[bold green]demo finished in {seconds:.0f} s[/bold green]\n"
        f"  churn model      v{trained['version']} ({promoted}), "
        f"holdout ROC AUC {trained['metrics'].get('roc_auc', float('nan')):.3f}{oracle}\n"
        f"  tier table       {summary['publication']['database']} (view {summary['publication']['view']}, "
        f"{summary['publication']['rows']:,} rows, v{summary['publication']['version']})\n"
        f"  retention lists  {summary['outputs'].get('retention lists')} ({desks})\n"
        f"  input data       {raw}\n"
        f"  MLflow data      {paths.resolve(paths.mlflow)}\n\n"
        "Open the MLflow UI (training runs, plots, registered model; monitoring time series in "
        "the experiment tiercast-monitoring):\n"
        f"  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false .venv/bin/mlflow ui --backend-store-uri sqlite:///{mlflow_db} "
        "--workers 1 --port 5000   # then http://127.0.0.1:5000\n"
        "Open the Prefect UI (the demo's flow runs and their summaries):\n"
        f"  PREFECT_HOME={prefect_home} .venv/bin/prefect server start --host 127.0.0.1   # then http://127.0.0.1:4200\n",
        soft_wrap=True,
    )
    example = _example_msisdn(raw, summary["as_of"])
    if example:
        console.print(
            f"Look a caller up the way the routing service does:\n  .venv/bin/tiercast route {example}\n",
            soft_wrap=True,
        )
        tiercast = (
            Path(sys.argv[0]) if Path(sys.argv[0]).name == "tiercast" else Path(sys.executable).parent / "tiercast"
        )
        subprocess.run([str(tiercast), "route", example], check=False)  # noqa: S603


def _example_msisdn(raw: Path, as_of: str) -> str | None:
    """Return the number of an active red-list (else any active) subscriber, for the example lookup."""
    import pandas as pd

    subscribers = pd.read_parquet(raw / "subscribers.parquet")
    day = pd.Timestamp(as_of)
    active = subscribers[
        (pd.to_datetime(subscribers["activation_date"]) <= day)
        & ~(pd.to_datetime(subscribers["deactivation_date"]) <= day)
    ]
    if active.empty:
        return None
    red = active[active["list_flag"] == "red"]
    return str((red if len(red) else active)["msisdn"].iloc[0])


def register(app: typer.Typer) -> None:
    """Add the `demo` command."""
    app.command("demo")(demo)
