"""Benchmark reading an operator's export through a source mapping against reading the canonical tables.

Reads the four input tables (`pipelines.ingest.read_table`: file, renames, text dates, codes, fen,
ids, conversion to the contract types) in a fresh process per run, alternating between:

- canonical-parquet: the generator's Parquet tables with the columns the crm-b export carries
  (required ones and a few optional ones), under tiercast's names, no mapping;
- canonical-text-ids: the same with the export's text ids (U00000001): the reference for the
  mapping's own cost (same content, same id type; only names, codes, date text and units differ);
- mapped-parquet: the crm-b export (its column names, U00000001 ids, YYYYMM / YYYYMMDD text dates,
  Chinese codes, amounts in fen) as a warehouse would store it in Parquet: numbers typed (fen as
  int64, CNY as double), everything else text; read through crm-b's mapping: the mapping's own cost;
- text-parquet: the same, every column text (the worst case: each number parsed from text);
- canonical-csv: the same canonical tables as UTF-8 CSV, no mapping;
- crm-b-csv: the crm-b export as written (GBK CSV) through its mapping: mapping + CSV + GBK.

Prints the median seconds of each, its ratio to canonical-parquet (and crm-b-csv / canonical-csv),
and the peak RSS of each run.

    .venv/bin/python -m benchmarks.bench_mapping                   # 1M x 12, 3 runs each
    .venv/bin/python -m benchmarks.bench_mapping -n 200000 --runs 5

Data goes to benchmarks/out/mapping_<n>x<months>/ (git-ignored) and is reused.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("subscribers", "bills", "payments", "contacts")
MODES = ("canonical-parquet", "canonical-text-ids", "mapped-parquet", "text-parquet", "canonical-csv", "crm-b-csv")
NUMBERS = {"FEE_TOTAL": "int64", "FEE_DATA": "int64", "PAY_FEE": "double"}  # crm-b's amounts


def prepare(out: Path, subscribers: int, months: int) -> None:
    """Write the canonical tables, their CSV copy, the crm-b export and its Parquet copy (once)."""
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
    import yaml

    from benchmarks.bench_validate import generate
    from tiercast.synthetic.export_styles import write_export

    canonical = out / "generated"
    generate(canonical, subscribers, months)
    if not (out / "crm-b" / "mapping.yaml").is_file():
        start = time.perf_counter()
        write_export(canonical, out / "crm-b", "crm-b")
        print(f"crm-b export written in {time.perf_counter() - start:.0f} s")
    crm_b = yaml.safe_load((out / "crm-b" / "mapping.yaml").read_text(encoding="utf-8"))["tables"]
    if not (out / "canonical-text-ids" / "contacts.parquet").is_file():
        for folder in ("canonical-parquet", "canonical-csv", "canonical-text-ids"):
            (out / folder).mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            same = pq.read_table(canonical / f"{table}.parquet", columns=list(crm_b[table]["columns"]))
            pq.write_table(same, out / "canonical-parquet" / f"{table}.parquet")
            pa_csv.write_csv(same, out / "canonical-csv" / f"{table}.csv")
            index = same.column_names.index("subscriber_id")
            ids = pc.binary_join_element_wise("U", pc.utf8_lpad(pc.cast(same.column(index), "string"), 8, "0"), "")
            pq.write_table(
                same.set_column(index, "subscriber_id", ids), out / "canonical-text-ids" / f"{table}.parquet"
            )
    for folder, typed in (("mapped-parquet", True), ("text-parquet", False)):
        if (out / folder / "mapping.yaml").is_file():
            continue
        (out / folder).mkdir(parents=True, exist_ok=True)
        mapping = yaml.safe_load((out / "crm-b" / "mapping.yaml").read_text(encoding="utf-8"))
        for spec in mapping["tables"].values():
            text = pa_csv.read_csv(
                out / "crm-b" / spec["file"],
                read_options=pa_csv.ReadOptions(encoding="gbk"),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(spec["columns"].values(), "string"), strings_can_be_null=True
                ),
            )
            if typed:
                for name, kind in NUMBERS.items():
                    if name in text.column_names:
                        plain = pc.replace_substring(text.column(name), ",", "")
                        text = text.set_column(text.column_names.index(name), name, pc.cast(plain, kind))
            spec["file"] = spec["file"].replace(".csv", ".parquet")
            pq.write_table(text.combine_chunks(), out / folder / spec["file"])  # row groups as the generator's
        (out / folder / "mapping.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True))


def child(mode: str, out: Path) -> dict[str, object]:
    """Read the four tables once in `mode`; return seconds and rows."""
    from data_contracts.loader import load_contract
    from pipelines.ingest import read_table
    from pipelines.mapping import load_mapping

    folder = {"crm-b-csv": "crm-b"}.get(mode, mode)
    data = out / folder
    mapping = load_mapping(data / "mapping.yaml") if (data / "mapping.yaml").is_file() else None
    start, cpu = time.perf_counter(), time.process_time()
    rows, kind = {}, None
    for table in TABLES:
        raw = read_table(data, load_contract(table), mapping=mapping, id_kind=kind)
        kind = kind or raw.id_kind
        rows[table] = len(raw.frame)
        del raw
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu, "rows": rows}


def run_child(mode: str, out: Path) -> dict[str, object]:
    """Run one measurement in a fresh process and add its peak RSS (MB)."""
    script = (
        "import json, sys; from pathlib import Path; from benchmarks.bench_mapping import child; "
        f"r = child({mode!r}, Path({str(out)!r})); "
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "r['peak_mb'] = int(hwm) / 1024; print(json.dumps(r))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Prepare the data, run each mode `--runs` times (interleaved), print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--subscribers", type=int, default=1_000_000)
    parser.add_argument("-m", "--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "out" / f"mapping_{args.subscribers}x{args.months}"
    prepare(out, args.subscribers, args.months)
    results: dict[str, list[dict[str, object]]] = {mode: [] for mode in MODES}
    for run in range(args.runs):
        for mode in MODES:
            results[mode].append(run_child(mode, out))
            print(f"run {run + 1} {mode}: {results[mode][-1]['seconds']:.1f} s", flush=True)
    rows = {mode: results[mode][0]["rows"] for mode in MODES}
    assert all(r == rows["canonical-parquet"] for r in rows.values()), rows
    median = {mode: statistics.median(float(r["seconds"]) for r in results[mode]) for mode in MODES}  # type: ignore[arg-type]
    peak = {mode: max(float(r["peak_mb"]) for r in results[mode]) for mode in MODES}  # type: ignore[arg-type]
    print(f"\n{args.subscribers:,} subscribers x {args.months} months, rows {rows['canonical-parquet']}")
    print(f"{'mode':<20}{'median s':>10}{'vs canonical parquet':>22}{'peak RSS MB':>13}")
    for mode in MODES:
        print(f"{mode:<20}{median[mode]:>10.2f}{median[mode] / median['canonical-parquet']:>21.2f}x{peak[mode]:>13.0f}")
    print(f"mapped-parquet / canonical-text-ids: {median['mapped-parquet'] / median['canonical-text-ids']:.2f}x")
    print(f"crm-b-csv / canonical-csv: {median['crm-b-csv'] / median['canonical-csv']:.2f}x (same columns, CSV both)")


if __name__ == "__main__":
    main()
