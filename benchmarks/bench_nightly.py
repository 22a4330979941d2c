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

`--prefect-server` starts one Prefect server before the runs and points every run at it (PREFECT_API_URL), as
a scheduled night runs (`tiercast serve`, a worker): the temporary API server a plain flow call starts (~15 s on
this machine, a separate process importing Prefect's server) is then not in the flow's wall time.

`--monitoring on off` runs each size with monitoring on and off (TIERCAST__MONITORING__ENABLED),
interleaved, and prints the ratio of the medians: what monitoring adds to the night (issue 12: at
most 10%). The champion is trained with monitoring on, so its reference profile exists.

Stage profile (issue 15): after each run, its floors are measured in another fresh process on the
same data (`benchmarks.nightly_floors`), and per size a table gives each stage's seconds (medians),
its floor, the ratio and the goal. A per-shard stage's seconds are summed over shards (threads
running side by side, `summed s`) and divided by the shards run at once (min(thread_workers,
shards)) for what it costs the night (`seconds`, set against its floor). Prefect overhead is the
flow's wall time minus the steps' own work and the per-shard steps' wall time: before the run
(the temporary API server's start, the flow run's creation), in it (tasks, subflows, glue) and after
it (summary, artifact); the per-shard steps' wall time their shards' work does not fill is shown
apart (subflow and task overhead there, uneven shards).
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
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import yaml

OUT = Path("benchmarks/out/nightly")
STAGES = (
    "plan", "stage", "resolve champion", "validate", "features", "tiers and lifecycle", "model load", "scoring",
    "subscriber keys", "routing", "retention", "reason codes", "tier table", "shard files", "monitoring", "publish",
    "publish (PostgreSQL COPY)", "write outputs", "service levels",
)  # fmt: skip
GOALS = {"scoring": 1.3, "publish": 2.0, "publish (PostgreSQL COPY)": 2.0}  # issue 15: ratio to the floor


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
    """Run the nightly flow once in this process; return its timings, stage profile and this process's peak RSS."""
    from flows.nightly import nightly
    from tiercast.settings import load_settings

    start, started_at = time.perf_counter(), time.time()
    summary = nightly(config=str(config))
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "before_run_s": summary["profile"]["started_at"] - started_at,  # Prefect's server start, flow setup
        "steps_s": summary["seconds"],
        "profile": summary["profile"],
        "as_of": summary["as_of"],
        "rows": summary["publication"]["rows"],
        "shards": summary["shards"],
        "workers": load_settings(config).flows.thread_workers,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def floors(config: Path, as_of: date) -> dict[str, float]:
    """Measure the floors of one size in this process, on its inputs, champion and published tier table."""
    from benchmarks import nightly_floors as bare
    from benchmarks.bench_features import read_inputs
    from pipelines.database import engine_for
    from pipelines.nightly import resolve_model
    from pipelines.tracking import load_version
    from tiercast.settings import load_settings

    settings = load_settings(config)
    data_dir = settings.paths.resolve(settings.paths.raw)
    measured = {"validate": bare.read_floor(data_dir, settings.validation.tables).seconds}
    floor, features = bare.features_floor(read_inputs(data_dir), as_of, settings.features)
    measured["features"] = floor.seconds
    model = load_version(settings, resolve_model(settings).version)
    matrix = bare.feature_matrix(model, features)
    del features
    measured["scoring"] = bare.predict_floor(model, matrix, settings.publish.score_decimals)[0].seconds
    del matrix
    engine = engine_for(settings, read_only=True)
    try:
        columns, rows = bare.published_rows(engine, settings.publish.tier_view)
        if engine.dialect.name == "postgresql":
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            measured["publish (PostgreSQL COPY)"] = bare.postgres_floor(
                url, settings.publish.tier_view, columns, rows
            ).seconds
    finally:
        engine.dispose()
    measured["publish"] = bare.sqlite_floor(columns, rows, config.parent / "floor.db").seconds
    return measured


def floors_once(config: Path, as_of: str) -> dict[str, float]:
    """Run `floors` in a fresh process (as the flow runs in one); return its seconds per stage."""
    command = [sys.executable, "-m", "benchmarks.bench_nightly", "--floors", str(config), "--as-of", as_of]
    output = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
    measured: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return measured


def run_once(config: Path, monitoring: str = "on", api_url: str | None = None) -> dict[str, Any]:
    """Run `child` in a fresh process, sampling the RSS of its whole process tree (`api_url`: a running Prefect
    server's API; without it the flow starts a temporary one, whose start counts to its wall time)."""
    command = [sys.executable, "-m", "benchmarks.bench_nightly", "--child", str(config)]
    enabled = "true" if monitoring == "on" else "false"
    env = dict(os.environ, PREFECT_HOME=str(config.parent / "prefect"), TIERCAST__MONITORING__ENABLED=enabled)
    if api_url:  # a running server, as a scheduled night has; else the flow starts a temporary one
        env["PREFECT_API_URL"] = api_url
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


def stage_seconds(run: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Return per stage of one run: (seconds summed over shards, seconds it cost the night: its steps' work plus
    its shard seconds over the shards run at once), then the per-shard steps' wall time, what of it the shards'
    work does not fill (subflow and task overhead, uneven shards) and the flow's Prefect overhead (flow wall -
    steps' work - per-shard steps' wall), so that the rows from `plan` down add up to the flow's wall time."""
    profile = run["profile"]
    steps, shards = profile["steps_s"], profile["shards_s"]
    walls, work = sum(profile["shard_steps_wall_s"].values()), sum(profile["shard_steps_summed_s"].values())
    at_once = max(min(run["workers"], run["shards"]), 1)
    out = {
        stage: (shards.get(stage, 0.0), steps.get(stage, 0.0) + shards.get(stage, 0.0) / at_once)
        for stage in (*STAGES, *steps, *shards)
        if stage in steps or stage in shards
    }
    if "publish (PostgreSQL COPY)" in run.get("floors_s", {}):  # the same publish step against its COPY floor
        out["publish (PostgreSQL COPY)"] = out["publish"]
    out["per-shard steps: wall"] = (work, walls)
    out["per-shard steps: not in shards"] = (0.0, walls - work / at_once)
    out["Prefect overhead"] = (0.0, run["wall_s"] - sum(steps.values()) - walls)
    out["  before the run (API start)"] = (0.0, run["before_run_s"])
    out["  in the run (tasks, glue)"] = (0.0, profile["unaccounted_s"])
    out["  after it (summary, artifact)"] = (0.0, run["wall_s"] - run["before_run_s"] - profile["wall_s"])
    out["flow wall time"] = (0.0, run["wall_s"])
    return out


def profile_table(runs: list[dict[str, Any]]) -> list[str]:
    """Return the stage table of one size: medians of each stage's seconds and of its floor, their ratio, the goal."""
    measured = [stage_seconds(run) for run in runs]
    lines = [f"{'stage':<28} {'summed s':>9} {'seconds':>9} {'floor s':>9} {'ratio':>7} {'goal':>6}"]
    for stage in dict.fromkeys(name for seconds in measured for name in seconds):
        summed = statistics.median(seconds.get(stage, (0.0, 0.0))[0] for seconds in measured)
        night = statistics.median(seconds.get(stage, (0.0, 0.0))[1] for seconds in measured)
        floors = [run["floors_s"][stage] for run in runs if stage in run.get("floors_s", {})]
        floor = statistics.median(floors) if floors else None
        shown = f"{floor:>9.2f} {night / floor:>7.2f}" if floor else f"{'-':>9} {'-':>7}"
        goal = f"{GOALS[stage]:>6.1f}" if stage in GOALS else f"{'-':>6}"
        total = f"{summed:>9.2f}" if summed else f"{'':>9}"
        lines.append(f"{stage:<28} {total} {night:>9.2f} {shown} {goal}")
    return lines


def main() -> None:
    """Parse arguments, prepare data and model, run the repeats and print medians per size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 1_000_000])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=OUT)
    parser.add_argument("--monitoring", nargs="+", choices=["on", "off"], default=["on"])
    parser.add_argument(
        "--prefect-server",
        action="store_true",
        help="run the flows against a Prefect server started once before the runs (as `tiercast serve` and a "
        "scheduled night have) instead of the temporary server each plain flow call starts (~15 s here)",
    )
    parser.add_argument(
        "--no-floors",
        dest="floors_too",
        action="store_false",
        help="skip the floors (they hold whole input tables in memory, unlike the nightly: not for 10M)",
    )
    parser.add_argument("--prefect-port", type=int, default=4299, help="port of the server --prefect-server starts")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--floors", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update({"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"})
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if args.child:
        print(json.dumps(child(args.child)), flush=True)
        return
    if args.floors:
        print(json.dumps(floors(args.floors, args.as_of)), flush=True)
        return
    configs = prepare(args.workdir.resolve(), args.sizes, args.months, args.seed)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results: dict[tuple[int, str], list[dict[str, Any]]] = {(n, m): [] for n in args.sizes for m in args.monitoring}
    with ExitStack() as stack:
        api_url = None
        if args.prefect_server:
            from flows.server import prefect_server

            folder = args.workdir.resolve() / "prefect-server"
            api_url = stack.enter_context(prefect_server("127.0.0.1", args.prefect_port, folder, folder / "server.log"))
            print(f"flows report to the Prefect server at {api_url} (its start is not timed)", flush=True)
        for repeat in range(args.repeats):
            for size, mode in results:  # sizes and modes interleaved, so machine load hits them alike
                run = run_once(configs[size], mode, api_url)
                run["floors_s"] = floors_once(configs[size], run["as_of"]) if args.floors_too else {}
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
    for (size, mode), runs in results.items():
        print(
            f"\nstage profile n={size:,} monitoring {mode} ({runs[0]['shards']} shards; medians over {len(runs)} runs)"
        )
        print("\n".join(profile_table(runs)))
    print(f"load average at the end: {os.getloadavg()}")
    for size in args.sizes:
        if (size, "on") in walls and (size, "off") in walls:
            ratio = walls[(size, "on")] / walls[(size, "off")]
            print(f"n={size:,}: monitoring on / off = {ratio:.3f} (median wall times)")


if __name__ == "__main__":
    main()
