"""On paper, beyond this machine: the nightly's expected wall time at larger bases on more Dask workers (issue 15).

    .venv/bin/python -m benchmarks.scale_projection LOG [LOG ...] --sizes 10000000 50000000 100000000 --workers 4 16 64

reads `bench_nightly` logs (their `run K n=N ...: {json}` lines: each run's flow-level steps and per-shard stage
seconds, measured on this machine) and projects, for each size and number of workers:

- the per-shard steps: their work per subscriber (median over the largest logged size's runs; shards ran two at
  a time on this 2-core machine, so this is a worker with one core under contention) and the shards per
  subscriber as logged (`flows.shard_size` subscriber rows each). With W one-core workers a phase takes
  ceil(shards / W) rounds of one shard (features, then, after the base-wide tier cut-offs, outputs), plus the
  measured task overhead per shard divided by W;
- the flow-level steps, which run once in the flow's process: each fitted as seconds = a + b x subscribers by
  least squares over the logged sizes (staging reads every input; publishing loads every row into one
  database; the merges and service levels read per-shard files): these do not get faster with more workers;
- Prefect's own overhead in the run (tasks, glue) as measured per shard.

It prints the table and, per row, the share of the time spent in steps that do not scale with workers, and
names the largest. Assumptions: the workers are as fast as one core here, the inputs are on storage that
reads as fast as this machine's disk, the database takes rows as fast as SQLite here; a projection, not a
measurement.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RUN_LINE = re.compile(r"^run \d+ n=([\d,]+) monitoring (on|off): (\{.*\})$")
PHASES = ("shard-features", "shard-outputs")


@dataclass(frozen=True)
class Fit:
    """seconds = intercept + slope x subscribers."""

    intercept: float
    slope: float

    def at(self, subscribers: int) -> float:
        return max(self.intercept + self.slope * subscribers, 0.0)


def read_runs(paths: list[Path]) -> list[tuple[int, dict[str, Any]]]:
    """Return (subscribers, run) for every run line of the logs (monitoring on only)."""
    runs = []
    for path in paths:
        for line in path.read_text().splitlines():
            found = RUN_LINE.match(line.strip())
            if found and found.group(2) == "on":
                runs.append((int(found.group(1).replace(",", "")), json.loads(found.group(3))))
    if not runs:
        raise SystemExit(f"no 'run K n=N monitoring on: {{...}}' lines in {', '.join(map(str, paths))}")
    return runs


def fit(points: list[tuple[int, float]]) -> Fit:
    """Least-squares line through (subscribers, seconds); one size only: a line through the origin."""
    sizes = np.array([p[0] for p in points], dtype=float)
    seconds = np.array([p[1] for p in points], dtype=float)
    if len(set(sizes)) < 2:
        return Fit(0.0, float(seconds.mean() / sizes.mean()))
    slope, intercept = np.polyfit(sizes, seconds, 1)
    return Fit(float(intercept), float(slope))


def per_shard(runs: list[tuple[int, dict[str, Any]]]) -> dict[str, float]:
    """Medians over the runs: each per-shard phase's work per subscriber and its task overhead per shard (what
    the phase's wall time holds beyond its shards' work run side by side: tasks, waits, uneven shards), and the
    shards per subscriber (flows.shard_size counts subscriber rows, leavers included). Only the largest logged
    size's runs count: they are the nearest to the sizes projected (work per subscriber grew from 1M to 10M)."""
    largest = max(n for n, _ in runs)
    runs = [(n, run) for n, run in runs if n == largest]
    out = {"shards per subscriber": statistics.median(run["shards"] / n for n, run in runs)}
    for phase in PHASES:
        at_once = [max(min(run["workers"], run["shards"]), 1) for _, run in runs]
        summed = [run["profile"]["shard_steps_summed_s"][phase] for _, run in runs]
        walls = [run["profile"]["shard_steps_wall_s"][phase] for _, run in runs]
        out[phase] = statistics.median(work / n for work, (n, _) in zip(summed, runs, strict=True))
        out[f"{phase} overhead"] = statistics.median(
            max(wall - work / k, 0.0) * k / run["shards"]
            for wall, work, k, (_, run) in zip(walls, summed, at_once, runs, strict=True)
        )
    return out


def flow_steps(runs: list[tuple[int, dict[str, Any]]]) -> dict[str, Fit]:
    """Each flow-level step (and the run's own Prefect overhead) fitted over the logged sizes."""
    names = {name for _, run in runs for name in run["profile"]["steps_s"]}
    fits = {name: fit([(n, run["profile"]["steps_s"].get(name, 0.0)) for n, run in runs]) for name in names}
    fits["Prefect (flow run)"] = fit([(n, run["profile"]["unaccounted_s"]) for n, run in runs])
    return fits


def project(runs: list[tuple[int, dict[str, Any]]], subscribers: int, workers: int) -> tuple[float, float, str]:
    """Return (expected seconds, share in steps that do not scale with workers, the largest such step)."""
    shard = per_shard(runs)
    shards = max(math.ceil(subscribers * shard["shards per subscriber"]), 1)
    rounds = math.ceil(shards / workers)
    parallel = sum(
        rounds * shard[phase] * subscribers / shards + shards * shard[f"{phase} overhead"] / workers for phase in PHASES
    )
    serial = {name: f.at(subscribers) for name, f in flow_steps(runs).items()}
    total = parallel + sum(serial.values())
    largest = max(serial, key=lambda name: serial[name])
    return total, sum(serial.values()) / total, f"{largest} {serial[largest]:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", type=Path, nargs="+", help="bench_nightly output, e.g. saved with `| tee`")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 50_000_000, 100_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 16, 64])
    args = parser.parse_args()
    runs = read_runs(args.logs)
    shard = per_shard(runs)
    print(
        f"from {len(runs)} run(s) at {sorted({n for n, _ in runs})} subscribers; "
        f"{shard['shards per subscriber'] * 1e6:.1f} shards per million subscribers"
    )
    for phase in PHASES:
        print(
            f"  {phase}: {shard[phase] * 1e6:.1f} s of work per million subscribers, "
            f"{shard[f'{phase} overhead']:.2f} s of task overhead per shard"
        )
    for name, f in sorted(flow_steps(runs).items(), key=lambda item: -item[1].at(max(args.sizes))):
        print(f"  flow step {name}: {f.intercept:.2f} s + {f.slope * 1e6:.2f} s per million subscribers")
    for n, run in runs:  # the model against what it was fitted on
        projected, _, _ = project(runs, n, max(min(run["workers"], run["shards"]), 1))
        print(f"  check: {n:,} on {run['workers']} threads measured {run['wall_s']:.0f} s, projected {projected:.0f} s")
    print(
        f"\n{'subscribers':>12} {'workers':>8} {'expected':>10} {'not scaling':>12}  largest step that does not scale"
    )
    for size in args.sizes:
        for workers in args.workers:
            total, share, largest = project(runs, size, workers)
            print(f"{size:>12,} {workers:>8} {total / 60:>8.1f} m {share:>11.0%}  {largest}")


if __name__ == "__main__":
    main()
