"""Benchmark: `tiercast.synthetic.generate` at scale (default 1M subscribers x 12 months).

    .venv/bin/python -m benchmarks.bench_generate --subscribers 1000000 --months 12 --repeats 3

Each repeat runs in a fresh Python process (so its peak RSS is its own) and writes to the same
folder. Reference: the same process then rewrites the tables it produced with plain pyarrow
(`pq.write_table`, same compression): the cost of just writing that much data, so the ratio says
how much the simulation adds to the unavoidable I/O. Prints per run and as medians: wall time,
CPU time (user + sys, less sensitive to other load on a shared machine), the reference write time,
the ratio, and peak RSS; plus the load average at the start (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(out: Path, subscribers: int, months: int, seed: int) -> dict[str, float]:
    """Generate once in this process; return timings, rows written and peak RSS."""
    import pyarrow.parquet as pq

    from tiercast.settings import load_settings
    from tiercast.synthetic import generate

    settings = load_settings().generator
    cpu0, wall0 = time.process_time(), time.perf_counter()
    paths = generate(out, subscribers, months, seed, settings)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = {name: pq.ParquetFile(path).metadata.num_rows for name, path in paths.items()}
    reference = 0.0
    for name, path in paths.items():
        table = pq.read_table(path)
        start = time.perf_counter()
        pq.write_table(table, out / f"reference_{name}.parquet", compression="zstd")
        reference += time.perf_counter() - start
        (out / f"reference_{name}.parquet").unlink()
    return {"wall_s": wall, "cpu_s": cpu, "reference_write_s": reference, "peak_rss_mb": peak_generate, **rows}


def main() -> None:
    """Parse arguments, run the repeats in child processes and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Output folder (default: a temporary folder)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.out, args.subscribers, args.months, args.seed)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        out = args.out or Path(tmp)
        print(f"generate {args.subscribers:,} subscribers x {args.months} months -> {out}")
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        runs = []
        for repeat in range(args.repeats):
            command = [sys.executable, "-m", "benchmarks.bench_generate", "--child", "--out", str(out)]
            command += ["--subscribers", str(args.subscribers), "--months", str(args.months), "--seed", str(args.seed)]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            runs.append(result)
            print(
                f"run {repeat + 1}: wall {result['wall_s']:.1f} s, cpu {result['cpu_s']:.1f} s, "
                f"reference write {result['reference_write_s']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB"
            )
        rows = {k: v for k, v in runs[0].items() if k not in ("wall_s", "cpu_s", "reference_write_s", "peak_rss_mb")}
        print("rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
        wall = statistics.median(r["wall_s"] for r in runs)
        reference = statistics.median(r["reference_write_s"] for r in runs)
        print(
            f"median of {len(runs)}: wall {wall:.1f} s, cpu {statistics.median(r['cpu_s'] for r in runs):.1f} s, "
            f"reference write {reference:.1f} s (ratio {wall / reference:.1f}x), "
            f"peak RSS {statistics.median(r['peak_rss_mb'] for r in runs):.0f} MB"
        )


if __name__ == "__main__":
    main()
