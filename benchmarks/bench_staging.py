"""Benchmark: staging the inputs into shards and reading one shard back, Arrow IPC against Parquet shard files.

    .venv/bin/python -m benchmarks.bench_staging --data benchmarks/out/nightly/n1000000/data/raw --repeats 3

For each format, interleaved over the repeats: `stage_shards` of the four input tables into `--shards` shard
folders (tables side by side on `--workers` threads, as the nightly does), then `validate_tables` of shard 0
(the read plus every contract rule, as the nightly's validate stage does per shard), then the shard files'
size on disk. Prints the medians, the ratio parquet / arrow and the peak RSS of this process. Both formats
must give the same clean tables (checked on shard 0: equal frames).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipelines.ingest import validate_tables
from pipelines.staging import shard_folder, stage_shards
from tiercast.settings import load_settings

TABLES = ["subscribers", "bills", "payments", "contacts"]


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def once(
    data: Path, work: Path, fmt: str, shards: int, workers: int
) -> tuple[float, float, int, dict[str, pd.DataFrame]]:
    """Return (staging seconds, shard-0 validation seconds, bytes staged, shard 0's clean tables)."""
    settings = load_settings(None, environ={}).validation
    unlimited = settings.model_copy(update={"max_quarantined_share": 1.0, "max_quarantined_share_by_table": {}})
    out = work / fmt
    start = time.perf_counter()
    stage_shards(data, out, TABLES, shards, 1_000_000, workers=workers, fmt=fmt)
    staged = time.perf_counter() - start
    start = time.perf_counter()
    checked = validate_tables(shard_folder(out, 0), unlimited, work / "q", work / "q" / "report.json")
    validated = time.perf_counter() - start
    size = _size(out)
    shutil.rmtree(out)
    return staged, validated, size, checked.tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a generated export (tiercast generate)")
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"parquet": [], "arrow": []}
    with tempfile.TemporaryDirectory(prefix="bench-staging-") as scratch:
        for _ in range(args.repeats):
            tables = {}
            for fmt in results:
                staged, validated, size, tables[fmt] = once(args.data, Path(scratch), fmt, args.shards, args.workers)
                results[fmt].append((staged, validated, size))
                print(f"{fmt}: staging {staged:.2f} s, validating shard 0 {validated:.2f} s", flush=True)
            for name, frame in tables["parquet"].items():
                if not frame.equals(tables["arrow"][name]):
                    raise SystemExit(f"{name}: the clean table differs between the formats")
    medians = {
        fmt: [float(statistics.median(run[i] for run in runs)) for i in range(3)] for fmt, runs in results.items()
    }
    print(f"\nmedians of {args.repeats} ({args.shards} shards, {args.workers} threads)")
    print(f"{'format':<8} {'staging s':>10} {'validate shard 0 s':>19} {'staged MB':>10}")
    for fmt, (staged_s, validated_s, staged_bytes) in medians.items():
        print(f"{fmt:<8} {staged_s:>10.2f} {validated_s:>19.2f} {staged_bytes / 2**20:>10,.0f}")
    (ps, pv, psize), (ast, av, asize) = medians["parquet"], medians["arrow"]
    print(f"parquet / arrow: staging {ps / ast:.2f}x, validating {pv / av:.2f}x, disk {psize / asize:.2f}x")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
