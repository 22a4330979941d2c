"""Benchmark: does `tiercast campaigns report`'s 95% interval cover the generator's true average effect?

    .venv/bin/python -m benchmarks.campaign_coverage                       # 20 seeds, defaults below
    .venv/bin/python -m benchmarks.campaign_coverage --subscribers 100000 --months 12 --seeds 20 --mix default

For each seed: a generated world with retention campaigns (tiercast.synthetic.generate, the response mix
--mix), then the campaign report exactly as the command builds it (pipelines.campaigns.run: validated
inputs, tier and value the day before each campaign, churned within --horizon days, matured campaigns
only, 1,000 bootstrap replicates; no MLflow). Each matured campaign's overall lift interval (level
campaign_date) is compared with the truth's average effect over its members (_truth/campaign_effects:
true_effect per desk x offer weighted by its members; the truth is treated - control, so lift = -effect).

The truth is the effect on leaving in the campaign month (the generator's call effect lasts that month);
the report's churn window is churn.horizon_days (60 by default), so a customer kept in the first month may
still leave in the second: --horizon 30 measures the campaign month itself (a leaver of a campaign month
leaves on its day 2..31, i.e. within 30 days of the campaign date). Prints every interval, then the share
covered over all matured campaigns and over the latest matured campaign of each seed (one per repetition).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipelines.campaigns import CAMPAIGN, run
from tiercast.settings import Settings, load_settings
from tiercast.synthetic import generate


def true_average_effects(truth_dir: Path) -> pd.Series:
    """Return per campaign date the generator's true effect (treated - control churn) averaged over its members."""
    cells = pd.read_parquet(truth_dir / "campaign_effects.parquet")
    members = cells["treated"] + cells["control"]
    day = pd.to_datetime(cells[CAMPAIGN])
    weighted = (cells["true_effect"] * members).groupby(day).sum()
    return (weighted / members.groupby(day).sum()).rename("true_effect")


def one_world(settings: Settings, folder: Path, args: argparse.Namespace, seed: int) -> pd.DataFrame:
    """Return per matured campaign of seed `seed`'s world: the report's lift interval and the true lift."""
    cfg = settings.generator
    campaigns = cfg.campaigns.using(args.mix).model_copy(update={"whole_base_truth": False})
    generate(folder, args.subscribers, args.months, seed, cfg.model_copy(update={"campaigns": campaigns}))
    report = run(settings, folder, folder / "report", n_boot=args.boot, seed=seed, track=False)
    rows = report.table[report.table["level"] == CAMPAIGN].set_index(CAMPAIGN)
    truth = -true_average_effects(folder / "_truth")
    out = rows[["n_treated", "n_control", "lift", "lift_low", "lift_high"]].join(truth.rename("true_lift"))
    return out.reset_index().assign(seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--mix", default="default", help="generator.campaigns.mixes name")
    parser.add_argument("--horizon", type=int, default=None, help="churn window in days (default churn.horizon_days)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="campaign-coverage-") as tmp:
        environ = {"TIERCAST__PATHS__ROOT": tmp}
        if args.horizon is not None:
            environ["TIERCAST__CHURN__HORIZON_DAYS"] = str(args.horizon)
        settings = load_settings(environ=environ)
        for seed in range(args.seeds):
            world = one_world(settings, Path(tmp) / f"seed{seed}", args, seed)
            results.append(world)
            hit = (world["lift_low"] <= world["true_lift"]) & (world["true_lift"] <= world["lift_high"])
            took = time.perf_counter() - started
            print(f"seed {seed}: {int(hit.sum())} of {len(world)} campaigns covered ({took:.0f} s so far)")
    table = pd.concat(results, ignore_index=True)
    table = table.assign(covered=(table["lift_low"] <= table["true_lift"]) & (table["true_lift"] <= table["lift_high"]))
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    latest = table.sort_values(CAMPAIGN).groupby("seed").tail(1)
    horizon = settings.churn.horizon_days
    print(
        f"\n{args.subscribers:,} subscribers x {args.months} months, mix {args.mix}, horizon {horizon} days, "
        f"{args.boot} replicates, {args.seeds} seeds, {time.perf_counter() - started:.0f} s"
    )
    print(
        f"all matured campaigns: {int(table['covered'].sum())} of {len(table)} covered ({table['covered'].mean():.1%})"
    )
    print(
        f"latest matured campaign per seed: {int(latest['covered'].sum())} of {len(latest)} covered "
        f"({latest['covered'].mean():.1%})"
    )
    print(f"mean report lift {table['lift'].mean():.4f}, mean true lift {table['true_lift'].mean():.4f}")


if __name__ == "__main__":
    main()
