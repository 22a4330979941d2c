"""Benchmark: the nightly flow end to end at two base sizes (default 500k and 1M subscribers x 12 months).

    .venv/bin/python -m benchmarks.bench_nightly --sizes 500000 1000000 --repeats 3

For each size the inputs are generated once (`tiercast.synthetic.generate`, reused when the folder
exists). A champion is trained once on a small generated base (same feature columns; the model's
quality is not what is measured here) in a tracking database shared by all sizes. Each repeat
runs the nightly flow (validate, stage into shards, features, tiers, lifecycle, score, route,
retention lists, publish to SQLite) in a fresh Python process, with the temporary Prefect API,
and reports: wall time of the flow call, the flow's own step timings, the flow process's peak RSS
(getrusage), and the peak RSS summed over the process tree (sampled every 0.2 s with psutil,
which includes the temporary Prefect server). Shards have `flows.shard_size` subscribers, so the
peak RSS should stay flat from one size to the next: that is the memory bound being checked.

`--monitoring on off` runs each size with monitoring on and off (TIERCAST__MONITORING__ENABLED),
interleaved, and prints the ratio of the medians: what monitoring adds to the night (issue 12: at
most 10%). The champion is trained with monitoring on, so its reference profile exists.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

OUT = Path("benchmarks/out/nightly")


def _config(root: Path, shared: Path) -> Path:
    """Write the settings file of one size: its own data root, the shared tracking database."""
    path = root / "settings.yaml"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "paths": {"root": str(root)},
                "tracking": {"tracking_uri": f"sqlite:///{shared / 'mlflow.db'}", "artifact_location": str(shared)},
            }
        )
    )
    return path


def prepare(workdir: Path, sizes: list[int], months: int, seed: int) -> dict[int, Path]:
    """Generate the inputs of every size and train one champion; return the settings file per size."""
    from pipelines.training import train
    from tiercast.runtime import prepare_environment
    from tiercast.settings import load_settings
    from tiercast.synthetic import generate

    shared = workdir / "mlflow"
    shared.mkdir(parents=True, exist_ok=True)
    configs = {size: _config(workdir / f"n{size}", shared) for size in sizes}
    for size in sizes:
        raw = workdir / f"n{size}" / "data" / "raw"
        if not (raw / "contacts.parquet").exists():
            print(f"generating {size:,} subscribers x {months} months into {raw}", flush=True)
            generate(raw, size, months, seed, load_settings(configs[size], environ={}).generator)
    trainer = _config(workdir / "trainer", shared)
    settings = load_settings(trainer, environ={})
    prepare_environment(settings)
    from pipelines.registry import champion_version

    if champion_version(settings) is None:
        raw = workdir / "trainer" / "data" / "raw"
        if not (raw / "contacts.parquet").exists():
            generate(raw, 30_000, months, seed, settings.generator)
        print("training the champion on 30,000 subscribers", flush=True)
        train(settings, raw)
    return configs


def child(config: Path) -> dict[str, Any]:
    """Run the nightly flow once in this process; return its timings and this process's peak RSS."""
    from flows.nightly import nightly

    start = time.perf_counter()
    summary = nightly(config=str(config))
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "steps_s": summary["seconds"],
        "rows": summary["publication"]["rows"],
        "shards": summary["shards"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_once(config: Path, monitoring: str = "on") -> dict[str, Any]:
    """Run `child` in a fresh process, sampling the RSS of its whole process tree."""
    command = [sys.executable, "-m", "benchmarks.bench_nightly", "--child", str(config)]
    enabled = "true" if monitoring == "on" else "false"
    env = dict(os.environ, PREFECT_HOME=str(config.parent / "prefect"), TIERCAST__MONITORING__ENABLED=enabled)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    tree_peak = 0.0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            members = [watched, *watched.children(recursive=True)]
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in members if p.is_running()) / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise SystemExit(f"nightly run failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["tree_peak_rss_mb"] = tree_peak
    return result


def main() -> None:
    """Parse arguments, prepare data and model, run the repeats and print medians per size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 1_000_000])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=OUT)
    parser.add_argument("--monitoring", nargs="+", choices=["on", "off"], default=["on"])
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update({"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"})
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if args.child:
        print(json.dumps(child(args.child)), flush=True)
        return
    configs = prepare(args.workdir.resolve(), args.sizes, args.months, args.seed)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results: dict[tuple[int, str], list[dict[str, Any]]] = {(n, m): [] for n in args.sizes for m in args.monitoring}
    for repeat in range(args.repeats):
        for size, mode in results:  # sizes and modes interleaved, so machine load hits them alike
            run = run_once(configs[size], mode)
            results[(size, mode)].append(run)
            print(f"run {repeat + 1} n={size:,} monitoring {mode}: {json.dumps(run)}", flush=True)
    print("\nmedians over", args.repeats, "runs")
    print(
        f"{'subscribers':>12} {'monitor':>7} {'rows':>10} {'shards':>6} {'wall s':>8} {'flow RSS MB':>12} "
        f"{'tree RSS MB':>12}  steps s"
    )
    walls = {}
    for (size, mode), runs in results.items():
        steps = {k: statistics.median(r["steps_s"][k] for r in runs) for k in runs[0]["steps_s"]}
        walls[(size, mode)] = statistics.median(r["wall_s"] for r in runs)
        print(
            f"{size:>12,} {mode:>7} {runs[0]['rows']:>10,} {runs[0]['shards']:>6} {walls[(size, mode)]:>8.1f} "
            f"{statistics.median(r['peak_rss_mb'] for r in runs):>12.0f} "
            f"{statistics.median(r['tree_peak_rss_mb'] for r in runs):>12.0f}  {steps}"
        )
    for size in args.sizes:
        if (size, "on") in walls and (size, "off") in walls:
            ratio = walls[(size, "on")] / walls[(size, "off")]
            print(f"n={size:,}: monitoring on / off = {ratio:.3f} (median wall times)")


if __name__ == "__main__":
    main()
