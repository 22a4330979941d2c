"""Do two versions of the code publish the same night? Issue 15: making the nightly fast must not change its results.

    .venv/bin/python -m benchmarks.compare_published --base 5ff9a85 \
        --config benchmarks/out/nightly/n1000000/settings.yaml

Checks out `--base` (any git revision) into a temporary worktree and runs the nightly flow of `--config` (its
inputs, its champion, its tracking database) twice, each in a fresh Python process: once with the base's code
and once with this checkout's, each into its own root under `--workdir` (the inputs linked, not copied, the
same privacy key). Then it compares, row for row and column for column, what the night published: the tier
table (the routing service's view, ordered by key), the retention list and call-back list tables, and the
retention list files per desk. It prints each table's rows and SHA-256 per side and exits 1 when any differs.
The run's own wall time of each side is printed too, but one run each is not a benchmark: see bench_nightly.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

KEY = "compare-published-" + "0" * 32  # the same pseudonyms on both sides; not a secret
RUN = "from flows.nightly import nightly; nightly(config={config!r})"


def _side(config: Path, root: Path) -> Path:
    """Write a settings file like `config` whose root is `root`, with the inputs of `config` linked in."""
    from tiercast.settings import load_settings

    settings = load_settings(config, environ={})
    raw = settings.paths.resolve(settings.paths.raw)
    values = yaml.safe_load(config.read_text()) or {}
    values.setdefault("paths", {})["root"] = str(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    link = root / "data" / "raw"
    if not link.exists():
        link.symlink_to(raw, target_is_directory=True)
    path = root / "settings.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def run_nightly(code: Path, config: Path) -> float:
    """Run the nightly of `config` with the code in `code` in a fresh process (its output in nightly.log beside
    `config`); return its wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(code), TIERCAST_PRIVACY_KEY=os.environ.get("TIERCAST_PRIVACY_KEY", KEY))
    start = time.perf_counter()
    with (config.parent / "nightly.log").open("w") as log:
        command = [sys.executable, "-c", RUN.format(config=str(config))]
        subprocess.run(command, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - start


def published(config: Path) -> dict[str, pd.DataFrame]:
    """Return what the night of `config` published: its database's tables (sorted) and its retention files."""
    from data_contracts.loader import load_contract
    from tiercast.settings import load_settings

    settings = load_settings(config, environ={})
    database = settings.paths.resolve(settings.paths.published) / settings.publish.sqlite_file
    out: dict[str, pd.DataFrame] = {}
    with sqlite3.connect(database) as conn:
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        names = [settings.publish.tier_view, settings.publish.retention_table, load_contract("callback_list").table]
        for name in (n for n in names if n in present):
            frame = pd.read_sql_query(f'SELECT * FROM "{name}"', conn)
            out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    folder = settings.paths.resolve(settings.paths.retention)
    for path in sorted(folder.rglob("*.parquet")):
        out[str(path.relative_to(folder))] = pd.read_parquet(path)
    return out


def digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's columns and values, in order."""
    hashed = hashlib.sha256(repr(list(frame.columns)).encode())
    hashed.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return hashed.hexdigest()


def compare(base: dict[str, pd.DataFrame], head: dict[str, pd.DataFrame], ignore: Sequence[str] = ()) -> list[str]:
    """Return one line per table (rows and digest of each side, same or DIFFERENT); differing tables say so.

    Columns in `ignore` are left out on both sides (e.g. run_id, whose fingerprint covers settings that a revision
    between the two may have added); a last line says what they held on each side."""
    lines = []
    held: dict[str, tuple[set[str], set[str]]] = {}
    for name in sorted(set(base) | set(head)):
        left, right = base.get(name), head.get(name)
        if left is None or right is None:
            lines.append(f"DIFFERENT {name}: only in {'head' if left is None else 'base'}")
            continue
        for column in (c for c in ignore if c in left.columns and c in right.columns):
            seen = held.setdefault(column, (set(), set()))
            seen[0].update(map(str, left[column].unique()))
            seen[1].update(map(str, right[column].unique()))
        left = left.drop(columns=[c for c in ignore if c in left.columns])
        right = right.drop(columns=[c for c in ignore if c in right.columns])
        same = left.columns.equals(right.columns) and left.equals(right)
        verdict = "same" if same else "DIFFERENT"
        lines.append(
            f"{verdict:9s} {name}: {len(left):,} / {len(right):,} rows, {digest(left)[:16]} / {digest(right)[:16]}"
        )
    for column, (left_values, right_values) in held.items():
        lines.append(f"ignored   {column}: base {sorted(left_values)} / head {sorted(right_values)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="git revision whose code is the reference (required unless --no-run)")
    parser.add_argument("--config", type=Path, help="settings of the night (inputs, tracking), unless --no-run")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/compare"))
    parser.add_argument(
        "--ignore",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="columns left out of the comparison, e.g. run_id when a revision between base and head added settings "
        "its fingerprint covers (pipelines.score.RUN_SECTIONS)",
    )
    parser.add_argument("--no-run", action="store_true", help="compare what an earlier call left in --workdir")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[1]
    workdir = args.workdir.resolve()
    if args.no_run:
        configs = {name: workdir / name / "settings.yaml" for name in ("base", "head")}
    elif args.base is None or args.config is None:
        parser.error("--base and --config are required unless --no-run")
    else:
        configs = run_sides(repo, args.base, args.config.resolve(), workdir)
    lines = compare(published(configs["base"]), published(configs["head"]), args.ignore)
    print("\n".join(lines))
    sys.exit(1 if any(line.startswith("DIFFERENT") for line in lines) else 0)


def run_sides(repo: Path, base: str, config: Path, workdir: Path) -> dict[str, Path]:
    """Run the night of `config` with `base`'s code (a temporary worktree) and this checkout's; return each side's
    settings file."""
    with tempfile.TemporaryDirectory(prefix="tiercast-base-") as scratch:
        tree = Path(scratch) / "code"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), base], check=True)
        try:
            sides = {"base": tree, "head": repo}
            configs = {name: _side(config, workdir / name) for name in sides}
            for name, code in sides.items():
                seconds = run_nightly(code, configs[name])
                print(f"{name} ({code}): nightly {seconds:.1f} s", flush=True)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=False)
    return configs


if __name__ == "__main__":
    main()
