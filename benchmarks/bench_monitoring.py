"""Benchmark the nightly's monitoring core on synthetic rows (default 1M subscribers x 30 features).

    .venv/bin/python -m benchmarks.bench_monitoring                   # 1M rows, 4 shards, 3 repeats
    .venv/bin/python -m benchmarks.bench_monitoring --rows 200000 --repeats 5

What the nightly would add (issue 12, budget: at most 10% of the ~100 s nightly at 1M): count each
shard on the champion's reference layout (`bin_counts`), merge the shards (`merge_counts`), compare
with the reference and with yesterday (`drift_table` twice), and estimate performance overall and per
tier (`estimated_performance`, list of the top 5%). Building the reference profile is a training-time
cost, timed separately. Each repeat runs in a fresh Python process; prints the median wall time of
each step and of the nightly's part, the process's peak RSS before and after the monitoring steps
(getrusage: the frames dominate it), and the peak of memory allocated by the monitoring steps
themselves (tracemalloc, in an extra untimed run).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
CATEGORICAL = {
    "plan": 12,
    "region": 31,
    "brand": 3,
    "segment": 4,
    "contract_type": 3,
    "sales_channel": 6,
    "gender": 2,
}


def synthetic_frame(rows: int, seed: int) -> pd.DataFrame:
    """Return `rows` subscribers: 23 numeric features (some with zeros and gaps), 7 categorical, score, tier, stage."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(8):  # amounts and volumes: skewed, 2% missing
        x = rng.lognormal(3.5 + 0.1 * i, 0.8, rows)
        x[rng.random(rows) < 0.02] = np.nan
        columns[f"amount_{i}"] = x
    for i in range(8):  # counts: mostly zero
        columns[f"count_{i}"] = rng.poisson(0.3 + 0.2 * i, rows).astype("int64")
    for i in range(5):  # shares in [0, 1], 5% missing
        x = rng.beta(2, 5, rows)
        x[rng.random(rows) < 0.05] = np.nan
        columns[f"share_{i}"] = x
    columns["tenure_months"] = rng.gamma(2.0, 20.0, rows)
    columns["arpu_trend"] = rng.normal(0.0, 0.2, rows)
    for name, levels in CATEGORICAL.items():
        weights = rng.dirichlet(np.ones(levels))
        columns[name] = pd.Categorical.from_codes(
            rng.choice(levels, rows, p=weights), pd.Index([f"{name}_{j}" for j in range(levels)])
        )
    columns["churn_score"] = rng.beta(1.2, 25.0, rows)
    columns["tier"] = pd.Categorical(
        rng.choice(["high", "mid", "low"], rows, p=[0.2, 0.3, 0.5]), ["high", "mid", "low"]
    )
    columns["lifecycle_stage"] = rng.choice(["identification", "growth", "stable", "warning"], rows)
    return pd.DataFrame(columns)


def child(rows: int, shards: int, trace: bool) -> dict[str, float]:
    """Run the monitoring steps once in this process; return step timings and memory figures."""
    from models.drift import bin_counts, drift_table, merge_counts, reference_profile
    from models.performance_estimate import estimated_performance
    from tiercast.settings.monitoring import MonitoringSettings

    settings = MonitoringSettings.model_validate(
        yaml.safe_load((ROOT / "tiercast" / "defaults" / "monitoring.yaml").read_text())
    )
    validation, tonight = synthetic_frame(rows // 5, seed=1), synthetic_frame(rows, seed=2)
    features = [c for c in tonight.columns if c not in ("churn_score", "tier", "lifecycle_stage")]
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak so far: making the frames
    timings: dict[str, float] = {}

    start = time.perf_counter()
    reference = reference_profile(validation, settings.profile, features, "churn_score", ("tier", "lifecycle_stage"))
    timings["reference_profile (training)"] = time.perf_counter() - start
    yesterday = bin_counts(synthetic_frame(rows // 5, seed=3), reference)
    parts = np.array_split(np.arange(rows), shards)
    if trace:
        tracemalloc.start()
    clock = time.perf_counter()
    counts = merge_counts([bin_counts(tonight.iloc[part], reference) for part in parts])
    timings["bin_counts + merge_counts"] = time.perf_counter() - clock
    clock = time.perf_counter()
    drift = pd.concat([drift_table(counts, reference, settings), drift_table(counts, yesterday, settings, "yesterday")])
    timings["drift_table x2"] = time.perf_counter() - clock
    clock = time.perf_counter()
    estimate = estimated_performance(tonight["churn_score"], settings.estimate, rows // 20, tonight["tier"])
    timings["estimated_performance"] = time.perf_counter() - clock
    timings["nightly monitoring"] = sum(v for k, v in timings.items() if k != "reference_profile (training)")
    if trace:
        timings["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    timings["rss_before_mb"] = base_rss
    timings["process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings["drift_rows"] = float(len(drift))
    timings["estimate_rows"] = float(len(estimate))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rows, args.shards, args.trace)))
        return
    command = [sys.executable, "-m", "benchmarks.bench_monitoring", "--child", "--rows", str(args.rows)]
    command += ["--shards", str(args.shards)]
    runs = [
        json.loads(subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        for _ in range(args.repeats)
    ]
    traced = json.loads(
        subprocess.run([*command, "--trace"], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    )
    print(f"monitoring on {args.rows:,} rows x 30 features + score, tier, stage; {args.shards} shards")
    print(f"median of {args.repeats} runs")
    for key in runs[0]:
        values = [run[key] for run in runs]
        unit = "" if key.endswith(("_mb", "_rows")) else " s"
        print(f"  {key:32s} {statistics.median(values):10.2f}{unit}   (runs: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"  {'allocated peak (tracemalloc)':32s} {traced['traced_peak_mb']:10.0f} MB")
    share = statistics.median(r["nightly monitoring"] for r in runs) / 100.0
    print(f"  nightly monitoring as a share of a 100 s nightly: {share:.1%}")


if __name__ == "__main__":
    main()
