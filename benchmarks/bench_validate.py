"""Benchmark `validate_tables` on generated data (default 1M subscribers x 12 months).

Each run is a fresh process, so peak RSS is per run. Runs alternate between the reference
(plain `pandas.read_parquet` of the four tables, no checks) and the full validation (read,
coerce, structural checks, quarantine, report). Prints medians, the ratio validate / read, the
read/check split per table, and, with --pandera, a comparison of the vectorized quarantine masks
against pandera's lazy validation on bills with 1% bad rows.

    .venv/bin/python benchmarks/bench_validate.py                    # 1M x 12, 3 runs
    .venv/bin/python benchmarks/bench_validate.py -n 20000 --runs 5 --pandera

Data is generated once into benchmarks/out/validate_<n>x<months>/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tiercast.settings.validation import ValidationSettings

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("subscribers", "bills", "payments", "contacts")


def generate(out: Path, subscribers: int, months: int) -> None:
    """Write generated input tables to `out` unless they are already there."""
    if all((out / f"{table}.parquet").is_file() for table in TABLES):
        return
    import yaml

    from tiercast.settings.generator import GeneratorSettings
    from tiercast.synthetic import generate as simulate

    defaults = yaml.safe_load((ROOT / "tiercast" / "defaults" / "generator.yaml").read_text())
    start = time.perf_counter()
    simulate(out, subscribers, months, seed=42, settings=GeneratorSettings.model_validate(defaults))
    print(f"generated {subscribers:,} x {months} in {time.perf_counter() - start:.0f} s -> {out}")


def _validation_settings() -> ValidationSettings:
    import yaml

    from tiercast.settings.validation import ValidationSettings

    defaults = yaml.safe_load((ROOT / "tiercast" / "defaults" / "validation.yaml").read_text())
    return ValidationSettings.model_validate(defaults)


def child_read(data: Path) -> dict:
    """Reference: read the four tables with pandas, no checks."""
    import pandas as pd

    start, cpu = time.perf_counter(), time.process_time()
    rows = {table: len(pd.read_parquet(data / f"{table}.parquet")) for table in TABLES}
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu, "rows": rows}


def child_validate(data: Path) -> dict:
    """Full validation into a temporary quarantine folder."""
    from pipelines.ingest import validate_tables

    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        result = validate_tables(data, _validation_settings(), Path(tmp) / "q", Path(tmp) / "report.json")
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": {name: report.rows_read for name, report in result.reports.items()},
        "quarantined": {name: report.quarantined for name, report in result.reports.items()},
        "phases": {name: report.seconds for name, report in result.reports.items()},
    }


def child_pandera(data: Path, share: float) -> dict:
    """Bills with `share` of rows made negative: quarantine masks vs pandera lazy validation."""
    import numpy as np
    import pandera.pandas as pa

    from data_contracts.loader import load_contract
    from pipelines.ingest import read_table
    from pipelines.quarantine import split

    contract = load_contract("bills")
    frame = read_table(data, contract).frame
    parents = {"subscribers": read_table(data, load_contract("subscribers")).frame}
    bad = np.random.default_rng(0).random(len(frame)) < share
    frame.loc[bad, "amount"] = -1.0
    start = time.perf_counter()
    quarantined = len(split(frame, contract, parents).quarantined)  # pandera's schema skips the 2 parent rules
    masks = time.perf_counter() - start
    schema = contract.schema
    start = time.perf_counter()
    try:
        schema.validate(frame, lazy=True)
        failures = 0
    except pa.errors.SchemaErrors as exc:
        failures = len(exc.failure_cases)
    return {
        "rows": len(frame),
        "bad": int(bad.sum()),
        "masks_seconds": masks,
        "quarantined": quarantined,
        "pandera_seconds": time.perf_counter() - start,
        "pandera_failure_cases": failures,
    }


def run_child(mode: str, data: Path, share: float) -> dict:
    """Run one measurement in a fresh interpreter; return its JSON result plus peak RSS in MB."""
    code = (
        "import json, resource, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from benchmarks import bench_validate as b;"
        f"r = b.child_{mode}(Path(sys.argv[2]){', float(sys.argv[3])' if mode == 'pandera' else ''});"
        "r['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(r))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(data), str(share)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse arguments, generate data if needed, run and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--subscribers", type=int, default=1_000_000)
    parser.add_argument("-m", "--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="use these tables instead of generating")
    parser.add_argument("--pandera", action="store_true", help="also compare masks with pandera lazy validation")
    parser.add_argument("--bad-share", type=float, default=0.01)
    args = parser.parse_args()
    data = args.data or ROOT / "benchmarks" / "out" / f"validate_{args.subscribers}x{args.months}"
    generate(data, args.subscribers, args.months)

    reads, validations = [], []
    for run in range(args.runs):
        reads.append(run_child("read", data, 0))
        validations.append(run_child("validate", data, 0))
        print(
            f"run {run + 1}: read {reads[-1]['seconds']:.1f} s (cpu {reads[-1]['cpu_seconds']:.1f} s, "
            f"{reads[-1]['peak_rss_mb']:.0f} MB), validate {validations[-1]['seconds']:.1f} s "
            f"(cpu {validations[-1]['cpu_seconds']:.1f} s, {validations[-1]['peak_rss_mb']:.0f} MB)"
        )
    read_s = statistics.median(r["seconds"] for r in reads)
    validate_s = statistics.median(v["seconds"] for v in validations)
    print(f"\nrows: {validations[0]['rows']}  quarantined: {validations[0]['quarantined']}")
    ratio = validate_s / read_s
    print(f"median of {args.runs}: pandas read {read_s:.1f} s, validate {validate_s:.1f} s, ratio {ratio:.2f}")
    read_cpu = statistics.median(r["cpu_seconds"] for r in reads)
    validate_cpu = statistics.median(v["cpu_seconds"] for v in validations)
    print(
        f"CPU time (user+sys, all threads): read {read_cpu:.1f} s, validate {validate_cpu:.1f} s, "
        f"ratio {validate_cpu / read_cpu:.2f}"
    )
    print(
        f"peak RSS (median): read {statistics.median(r['peak_rss_mb'] for r in reads):.0f} MB, "
        f"validate {statistics.median(v['peak_rss_mb'] for v in validations):.0f} MB"
    )
    for table in TABLES:  # validation times its checks per table (reading is timed as a whole above)
        phases = [v["phases"][table] for v in validations]
        shown = [f"{p} {statistics.median(x[p] for x in phases):6.2f} s" for p in ("read", "check") if p in phases[0]]
        print(f"  {table:12s} " + "   ".join(shown))
    print(f"load average after the runs (shared machine): {[round(x, 1) for x in resource_load()]}")
    if args.pandera:
        result = run_child("pandera", data, args.bad_share)
        print(
            f"\nbills, {result['bad']:,} of {result['rows']:,} rows bad: "
            f"quarantine masks {result['masks_seconds']:.1f} s ({result['quarantined']:,} rows quarantined) "
            f"vs pandera lazy {result['pandera_seconds']:.1f} s ({result['pandera_failure_cases']:,} failure cases)"
        )


def resource_load() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: read timings with them)."""
    import os

    return os.getloadavg()


if __name__ == "__main__":
    main()
