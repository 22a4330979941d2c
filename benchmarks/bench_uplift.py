"""Benchmark: issue 14's pure parts on simulated data: timings, interval coverage and the uplift gate's decisions.

    .venv/bin/python -m benchmarks.bench_uplift                      # all, defaults below
    .venv/bin/python -m benchmarks.bench_uplift --rows 100000 --control-share 0.05 --seeds 1 3 5

Prints the wall time of: 100k control-group draws (models.control_groups); campaign effects with 1,000
bootstrap replicates on 200k members in 24 campaigns x 3 desks x 3 tiers x 7 offers (models.campaign_effect);
Qini / AUUC intervals with 200 replicates on 50k customers (models.uplift_metrics); one fit of each uplift
learner (models.uplift). Then the campaign-effect interval's coverage of a known effect over 20 seeds, and
for each world (heterogeneous with sleeping dogs, heterogeneous without, effect proportional to churn risk)
and seed the X-learner's gate decision on a held-out campaign (train and held-out: --rows each).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from models.campaign_effect import campaign_effects
from models.control_groups import control_draw
from models.uplift import UpliftModel, uplift_gate
from models.uplift_metrics import uplift_metric_intervals


def timed(label: str, work: Callable[[], Any], repeats: int = 3) -> None:
    """Print the median wall time of `repeats` runs of `work`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    print(f"{label}: {np.median(times):.2f} s (median of {repeats})")


def members(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Campaign members in 24 monthly campaigns x 3 desks x 3 tiers x 7 offers, 5% control."""
    return pd.DataFrame(
        {
            "campaign_date": rng.choice(pd.date_range("2024-01-01", periods=24, freq="MS"), n),
            "desk": rng.choice(["account_manager", "product", "tariff"], n),
            "tier": rng.choice(["high", "mid", "low"], n),
            "offer": rng.choice(list("abcdefg"), n),
            "group": np.where(rng.random(n) < 0.05, "control", "treated"),
            "churned": rng.random(n) < 0.08,
            "value": rng.lognormal(4.0, 1.0, n),
        }
    )


def coverage(seeds: int = 20, n: int = 20_000) -> dict[str, int]:
    """Return how many of `seeds` campaigns' 95% intervals cover the true effect (10% churn vs 7% if called)."""
    covered = {"lift": 0, "customers_saved": 0, "value_saved": 0}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        control = rng.random(n) < 0.05
        frame = pd.DataFrame(
            {
                "group": np.where(control, "control", "treated"),
                "churned": rng.random(n) < np.where(control, 0.10, 0.07),
                "value": rng.lognormal(np.log(150.0) - 0.5, 1.0, n),
            }
        )
        n_treated = int((~control).sum())
        truth = {"lift": 0.03, "customers_saved": 0.03 * n_treated, "value_saved": 0.03 * 150.0 * n_treated}
        row = campaign_effects(frame, by=(), n_boot=1000, seed=seed).iloc[0]
        for name, value in truth.items():
            covered[name] += int(row[f"{name}_low"] <= value <= row[f"{name}_high"])
    return covered


def world(kind: str, n: int, seed: int, control_share: float) -> dict[str, Any]:
    """A campaign whose call effect (churn removed) is heterogeneous (price-sensitive customers respond; with
    sleeping dogs, the very loyal are woken up) or proportional to churn risk; value ~ lognormal."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({name: rng.random(n) for name in ("price_sensitivity", "loyalty", "risk", "noise")})
    p0 = 0.05 + 0.30 * x["risk"].to_numpy()
    effect = {
        "heterogeneous": 0.25 * x["price_sensitivity"].to_numpy() ** 2 - 0.15 * (x["loyalty"].to_numpy() > 0.8),
        "no_sleeping_dogs": 0.25 * x["price_sensitivity"].to_numpy() ** 2,
        "proportional": 0.4 * p0,
    }[kind]
    treated = rng.random(n) >= control_share
    churned = rng.random(n) < np.where(treated, np.clip(p0 - effect, 0.0, 1.0), p0)
    value = rng.lognormal(np.log(600.0) - 0.18, 0.6, n)
    return {"x": x, "treated": treated, "churned": churned, "value": value, "p0": p0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="customers in the training and the held-out campaign")
    parser.add_argument("--control-share", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 5])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    keys = pd.Series([f"{i:064x}" for i in range(100_000)])
    timed("control draw, 100k keys", lambda: control_draw(keys, date(2026, 1, 5), b"k" * 32))
    frame = members(200_000, rng)
    timed("campaign effects, 200k members, 1,512 segments x 1,000 replicates", lambda: campaign_effects(frame))
    treated, stayed, score = rng.random(50_000) < 0.5, rng.random(50_000) < 0.9, rng.random(50_000)
    timed(
        "Qini + AUUC intervals, 50k customers x 200 replicates",
        lambda: uplift_metric_intervals({"s": score}, treated, stayed, n_boot=200),
    )
    train = world("heterogeneous", args.rows, 1, args.control_share)
    for method in ("t", "x"):

        def fit(method: str = method) -> UpliftModel:
            return UpliftModel(method=method).fit(train["x"], train["treated"], ~train["churned"])

        timed(f"uplift fit ({method}), {args.rows:,} rows", fit)
    print("campaign effect interval covers the truth (of 20):", coverage())
    print("world, seed: gate passed | Qini low | value-Qini gain [low, high]")
    for kind in ("heterogeneous", "no_sleeping_dogs", "proportional"):
        for seed in args.seeds:
            fit_on, held = (
                world(kind, args.rows, seed, args.control_share),
                world(kind, args.rows, seed + 1, args.control_share),
            )
            predicted = UpliftModel().fit(fit_on["x"], fit_on["treated"], ~fit_on["churned"]).predict(held["x"])
            gate = uplift_gate(predicted, held["p0"], held["value"], held["treated"], held["churned"])
            print(
                f"{kind}, {seed}: {gate.passed} | {gate.qini_low:.4f} | {gate.value_qini_gain:.2f} "
                f"[{gate.value_qini_gain_low:.2f}, {gate.value_qini_gain_high:.2f}]"
            )


if __name__ == "__main__":
    main()
