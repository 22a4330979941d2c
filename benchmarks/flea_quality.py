"""Quality of the flea-user flag and of the tier split on generated data, against the generator's truth.

    .venv/bin/python -m benchmarks.flea_quality --subscribers 100000 --months 12 --seeds 42 7

Per seed: generate the data (`tiercast.synthetic.generate`, into --data DIR/seed<N>, reused when
already there), build the feature table with tiers and lifecycle stages as of the data's last day
(`pipelines.features.build_feature_table`), join the truth (`_truth/subscriber_types.parquet`) and
print, for the subscribers active at D:
- precision and recall of flea_flag against the truth's is_flea;
- the share of truly loyal low-ARPU subscribers (true_type loyal_low) flagged, and of all non-flea
  subscribers with ARPU < 50 CNY (domain.md: the low-value mass) flagged;
- the tier shares against the configured ones and the high tier's share of revenue (sum of arpu_3m);
- lifecycle stage shares;
- the median time of assign_tiers + assign_stages over --repeats runs next to the feature build.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from models.lifecycle import assign_stages
from models.tiers import assign_tiers
from pipelines.features import build_feature_table
from tiercast.settings import Settings, load_settings
from tiercast.synthetic import generate

LOW_ARPU_CNY = 50  # domain.md: subscribers with ARPU < 50 CNY/month made up 87% of churners
TIERS = ("high", "mid", "low")
STAGES = ("identification", "growth", "stable", "warning")
DECISION_COLUMNS = (
    *("value_score", "tier", "is_red_list", "is_black_list", "flea_flag", "tier_reason"),
    *("lifecycle_stage", "lifecycle_reason"),
)


def quality(table: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Return flea precision / recall, false-flag shares, tier shares and the high tier's revenue share."""
    joined = table.merge(truth[["subscriber_id", "true_type", "is_flea"]], on="subscriber_id", how="left")
    flagged = joined["flea_flag"].to_numpy(dtype=bool)
    flea = joined["is_flea"].fillna(False).to_numpy(dtype=bool)
    loyal_low = (joined["true_type"] == "loyal_low").to_numpy(dtype=bool)
    low_arpu = (joined["arpu_3m"].fillna(0.0) < LOW_ARPU_CNY).to_numpy(dtype=bool) & ~flea
    revenue = joined.groupby("tier")["arpu_3m"].sum()
    shares = joined["tier"].value_counts(normalize=True)
    stages = joined["lifecycle_stage"].value_counts(normalize=True)
    return {
        "active at D": float(len(joined)),
        "true fleas": float(flea.sum()),
        "flagged": float(flagged.sum()),
        "flea precision": float((flagged & flea).sum() / max(flagged.sum(), 1)),
        "flea recall": float((flagged & flea).sum() / max(flea.sum(), 1)),
        "loyal_low (truth) subscribers": float(loyal_low.sum()),
        "loyal_low flagged": float(flagged[loyal_low].sum()),
        f"non-flea ARPU<{LOW_ARPU_CNY} subscribers": float(low_arpu.sum()),
        f"non-flea ARPU<{LOW_ARPU_CNY} flagged": float(flagged[low_arpu].sum()),
        **{f"tier share {t}": float(shares.get(t, 0.0)) for t in TIERS},
        "high tier revenue share": float(revenue.get("high", 0.0) / revenue.sum()),
        "red list (always high)": float(joined["is_red_list"].sum()),
        **{f"stage share {s}": float(stages.get(s, 0.0)) for s in STAGES},
    }


def decision_seconds(table: pd.DataFrame, settings: Settings, repeats: int) -> float:
    """Return the median seconds of assign_tiers + assign_stages on the table's feature columns."""
    features = table.drop(columns=list(DECISION_COLUMNS))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        assign_stages(assign_tiers(features, settings.tiers), settings.lifecycle)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_seed(args: argparse.Namespace, seed: int, settings: Settings) -> dict[str, float]:
    """Generate (or reuse) one seed's data, build the table, and measure it."""
    folder = args.data / f"n{args.subscribers}_m{args.months}_seed{seed}"
    if not (folder / "_truth" / "subscriber_types.parquet").is_file():
        generate(folder, args.subscribers, args.months, seed, settings.generator)
    start = time.perf_counter()
    table = build_feature_table(settings, folder)
    build = time.perf_counter() - start
    truth = pd.read_parquet(folder / "_truth" / "subscriber_types.parquet")
    return {
        **quality(table, truth),
        "read+validate+build s": build,
        "tiers+lifecycle s (median)": decision_seconds(table, settings, args.repeats),
    }


def main() -> None:
    """Parse the arguments, measure every seed, print one table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "tiercast-flea-quality")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tiercast-flea-"))
    settings = load_settings(environ={"TIERCAST__PATHS__ROOT": str(workdir)})
    results = {seed: run_seed(args, seed, settings) for seed in args.seeds}
    cut = settings.tiers.cutoffs
    expected = {"high": cut.high_share, "mid": cut.mid_share, "low": 1 - cut.high_share - cut.mid_share}
    table = Table(
        title=f"flea flag and tiers, {args.subscribers:,} subscribers x {args.months} months, as of the last day"
    )
    table.add_column("measure")
    table.add_column("config", justify="right")
    for seed in args.seeds:
        table.add_column(f"seed {seed}", justify="right")
    for name in results[args.seeds[0]]:
        config = f"{expected[name.split()[-1]]:.3f}" if name.startswith("tier share") and cut.mode == "quantile" else ""
        values = [results[seed][name] for seed in args.seeds]
        text = [f"{v:,.0f}" if float(v).is_integer() else f"{v:.3f}" for v in values]
        table.add_row(name, config, *text)
    Console().print(table)


if __name__ == "__main__":
    main()
