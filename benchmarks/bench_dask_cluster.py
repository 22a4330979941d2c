"""Benchmark: the nightly flow on a Dask cluster of separate worker processes vs on threads.

    .venv/bin/python -m benchmarks.bench_dask_cluster --subscribers 1000000 --workers 2 --repeats 3

Starts `dask scheduler` and `--workers` `dask worker` processes (one thread each, as OS processes,
not an in-process LocalCluster) and a Prefect server that the flow and the workers both report to,
then runs the nightly flow with `flows.task_runner: threads` and with `flows.task_runner: dask`
plus `flows.dask_address`, interleaved, each in a fresh Python process (`bench_nightly.run_once`).
The inputs, the champion and the settings file are `bench_nightly.prepare`'s (same workdir, so
its generated sizes are reused). Prints each run, the medians, the ratio dask / threads, the
workers' peak RSS and whether the two runners published the same tier table.

The workers live for the whole benchmark, as on a real cluster: each loads the champion once
(`pipelines.nightly.load_model` caches it per process), while every threads run is a new process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pyarrow

from benchmarks.bench_nightly import OUT, prepare, run_once

DASK = Path(sys.executable).with_name("dask")  # the `dask` command of this environment

# Imported by the scheduler and each worker at start. Otherwise the first shard task imports them
# (pandas, pyarrow, LightGBM, Prefect's task engine: 12-20 s on this busy 2-core machine) while it
# is unpickled (the scheduler unpickles the graph too), blocking that process's event loop: seen
# here, two workers blocked 32 s, one lost its scheduler connection (distributed.comm.timeouts.tcp
# is 30 s), was removed and died, and every shard ran again on the other.
PRELOAD = ("prefect.task_engine", "pipelines.nightly_run")

# A worker's nanny starts it with OMP_NUM_THREADS=1 (distributed.nanny.pre-spawn-environ), which
# pyarrow also reads to size its CPU pool: one thread per worker process for Parquet and LightGBM.
# Set as a whole mapping: a key spelled out in the variable's name would arrive lower-cased.
NANNY_ENV = "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON"


class ClusterError(RuntimeError):
    """The scheduler or a worker did not start."""


@dataclass(frozen=True)
class ProcessCluster:
    """A running scheduler and its workers: the address to give `flows.dask_address`, and their processes."""

    address: str
    scheduler_file: Path
    scheduler: subprocess.Popen[bytes]
    workers: tuple[subprocess.Popen[bytes], ...]

    def run_on_workers(self, function: Any, *args: Any) -> dict[str, Any]:
        """Return `function(*args)` called in each worker process, by worker address (`function` must be
        importable there: a builtin or from the installed packages)."""
        from distributed import Client

        with Client(scheduler_file=str(self.scheduler_file), timeout=30) as client:
            return dict(client.run(function, *args))


def _start(command: list[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(env))


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes (workers first) and whatever they started (a worker's nanny starts the worker)."""
    family: list[psutil.Process] = []
    for process in processes:
        with suppress(psutil.NoSuchProcess):
            family += psutil.Process(process.pid).children(recursive=True)
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _, alive = psutil.wait_procs(family, timeout=10)
    for child in alive:
        child.kill()


def _wait_for_workers(
    scheduler_file: Path, workers: int, processes: list[subprocess.Popen[bytes]], timeout: float, logs: Path
) -> str:
    """Return the scheduler's address once `workers` workers have joined; raise ClusterError before `timeout`."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    while not scheduler_file.exists():
        exited = [p.args for p in processes if p.poll() is not None]
        if exited or time.monotonic() > deadline:
            raise ClusterError(f"the Dask scheduler did not start (exited: {exited}); see the logs in {logs}")
        time.sleep(0.1)
    try:
        with Client(scheduler_file=str(scheduler_file), timeout=max(deadline - time.monotonic(), 1)) as client:
            client.wait_for_workers(workers, timeout=max(deadline - time.monotonic(), 1))
            return str(client.scheduler.address)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"{workers} Dask workers did not join within {timeout:g} s; see the logs in {logs}") from exc


@contextmanager
def process_cluster(
    folder: Path,
    workers: int = 2,
    threads: int = 1,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    preload: Sequence[str] = PRELOAD,
) -> Iterator[ProcessCluster]:
    """Start `dask scheduler` and `workers` `dask worker` processes on 127.0.0.1; stop them all afterwards.

    Logs and the scheduler file go to `folder`; `env` is the processes' environment (default: this one);
    the scheduler and each worker import the `preload` modules when they start.
    """
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    env = dict(os.environ if env is None else env)
    common = ["--no-dashboard", "--scheduler-file", str(scheduler_file)]
    common += [arg for module in preload for arg in ("--preload", module)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        scheduler = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", *common]
        processes.append(_start(scheduler, folder / "scheduler.log", env))
        for n in range(workers):
            worker = [str(DASK), "worker", "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", str(threads)]
            worker += ["--local-directory", str(folder / f"worker-{n}"), *common]
            processes.append(_start(worker, folder / f"worker-{n}.log", env))
        address = _wait_for_workers(scheduler_file, workers, processes, timeout, folder)
        yield ProcessCluster(address, scheduler_file, processes[0], tuple(processes[1:]))
    finally:
        _stop(processes)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tier_table_digest(config: Path) -> str:
    """Return a SHA-256 of the published tier table (the view, ordered by key) of the settings in `config`."""
    from tiercast.settings import load_settings

    settings = load_settings(config, environ={})
    database = settings.paths.resolve(settings.paths.published) / settings.publish.sqlite_file
    digest = hashlib.sha256()
    with sqlite3.connect(database) as conn:
        for row in conn.execute(f"SELECT * FROM {settings.publish.tier_view} ORDER BY subscriber_key"):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def main() -> None:
    """Parse arguments, prepare data and model, start the server and cluster, run the repeats, print medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per Dask worker")
    parser.add_argument(
        "--worker-omp-threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS of the worker processes (default: the nanny's 1, which also sizes pyarrow's pool)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=OUT, help="shared with bench_nightly (inputs reused)")
    parser.add_argument("--monitoring", choices=["on", "off"], default="on")
    args = parser.parse_args()
    os.environ.update({"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"})
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.server import prefect_server
    from tiercast.cli.flows import scoped_environ

    workdir = args.workdir.resolve()
    config = prepare(workdir, [args.subscribers], args.months, args.seed)[args.subscribers]
    folder = workdir / "dask-cluster"
    port = _free_port()
    with prefect_server("127.0.0.1", port, folder / "prefect", folder / "prefect-server.log") as api_url:
        # The flow (run_once's child inherits this environment) and the workers report to the same API.
        os.environ["PREFECT_API_URL"] = api_url
        env = dict(os.environ)
        if args.worker_omp_threads:
            env[NANNY_ENV] = json.dumps({"OMP_NUM_THREADS": args.worker_omp_threads})
        with process_cluster(folder, args.workers, args.threads, env) as cluster:
            print(f"Dask scheduler {cluster.address}, {args.workers} workers x {args.threads} thread(s)", flush=True)
            cpus = cluster.run_on_workers(pyarrow.cpu_count)
            print(f"pyarrow CPU pool of each worker: {sorted(cpus.values())} (flow process: {pyarrow.cpu_count()})")
            print(f"load average at start: {os.getloadavg()}", flush=True)
            dask_env = {"TIERCAST__FLOWS__TASK_RUNNER": "dask", "TIERCAST__FLOWS__DASK_ADDRESS": cluster.address}
            runs: dict[str, list[dict[str, Any]]] = {"threads": [], "dask": []}
            digests: dict[str, str] = {}
            for repeat in range(args.repeats):
                for mode in runs:  # interleaved, so machine load hits both alike
                    with scoped_environ(dask_env if mode == "dask" else {}):  # run_once's child copies os.environ
                        run = run_once(config, args.monitoring)
                    runs[mode].append(run)
                    print(f"run {repeat + 1} {mode}: {json.dumps(run)}", flush=True)
                    if repeat == args.repeats - 1:
                        digests[mode] = tier_table_digest(config)
            usage = cluster.run_on_workers(resource.getrusage, resource.RUSAGE_SELF)
    print(f"\nn={args.subscribers:,} x {args.months} months, medians over {args.repeats} run(s)")
    print(f"{'runner':>8} {'rows':>10} {'shards':>6} {'wall s':>8} {'flow tree RSS MB':>16}  steps s")
    walls = {}
    for mode, results in runs.items():
        walls[mode] = statistics.median(r["wall_s"] for r in results)
        steps = {k: statistics.median(r["steps_s"][k] for r in results) for k in results[0]["steps_s"]}
        tree = statistics.median(r["tree_peak_rss_mb"] for r in results)
        first = results[0]
        print(f"{mode:>8} {first['rows']:>10,} {first['shards']:>6} {walls[mode]:>8.1f} {tree:>16.0f}  {steps}")
    print(f"dask workers' peak RSS MB: {sorted(round(u.ru_maxrss / 1024) for u in usage.values())}")
    print(f"dask / threads = {walls['dask'] / walls['threads']:.3f} (median wall times)")
    print(f"same tier table published: {digests['dask'] == digests['threads']}")


if __name__ == "__main__":
    main()
