"""Model quality on generated data: churn model AUC vs the oracle (true probabilities) and calibration.

    .venv/bin/python benchmarks/model_quality.py --subscribers 200000 [--data DIR] [--threads 2]
    .venv/bin/python benchmarks/model_quality.py --subscribers 200000 --exports full required crm-b

Generates the data (unless --data points at a generated folder with _truth/), runs the training
backtest exactly as `tiercast train` does (without MLflow), and prints the holdout metrics: model
ROC AUC, oracle ROC AUC (the generator's true probabilities on the same rows and labels), their
ratio (target >= 0.97), ECE (equal-frequency bins, target <= 0.02), and the metrics by tier/stage.

With --exports, the same population is also read as other exports and the headline metrics are
printed side by side: `required` keeps only each table's required columns, `crm-b` is
`tiercast generate --export-style crm-b` read through its mapping (required columns plus a few).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tiercast.settings import Settings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


EXPORTS = ("full", "required", "crm-b")


def export_folder(kind: str, data: Path, workdir: Path) -> tuple[Path, Path | None]:
    """Write the generated data as export `kind`; return its folder and mapping (None: tiercast's names)."""
    import shutil

    import pyarrow.parquet as pq

    from data_contracts.loader import load_contract
    from tiercast.synthetic.export_styles import write_export

    if kind == "full":
        return data, None
    target = workdir / kind
    if kind == "crm-b":
        write_export(data, target, "crm-b")
        return target, target / "mapping.yaml"
    target.mkdir(parents=True, exist_ok=True)
    for table in ("subscribers", "bills", "payments", "contacts"):
        columns = load_contract(table).required_columns
        pq.write_table(pq.read_table(data / f"{table}.parquet", columns=columns), target / f"{table}.parquet")
    shutil.copytree(data / "_truth", target / "_truth", dirs_exist_ok=True)
    return target, None


def compare_exports(settings: Settings, data: Path, workdir: Path, kinds: list[str]) -> None:
    """Train on each export of the same population and print the headline holdout metrics side by side."""
    from pipelines.features import data_end_date
    from pipelines.ingest import validate_inputs
    from pipelines.training import backtest_dates, fit_backtest
    from tiercast.settings import with_mapping

    lines = []
    for kind in kinds:
        folder, mapping = export_folder(kind, data, workdir)
        configured = with_mapping(settings, mapping)
        started = time.perf_counter()
        inputs = validate_inputs(configured, folder)
        end = data_end_date(inputs.tables["bills"], settings.validation.data_end_min_share)
        backtest = backtest_dates(
            end, settings.churn.snapshots, settings.churn.horizon_days, settings.churn.snapshot_phase_step_days
        )
        fitted = fit_backtest(inputs.tables, backtest, configured, folder, inputs.absent)
        m, oracle = fitted.metrics, fitted.oracle or {}
        lines.append(
            f"{kind:10s} {len(fitted.columns):9d} {m['roc_auc']:8.4f} {oracle.get('auc_ratio', float('nan')):13.4f} "
            f"{m['pr_auc']:7.4f} {m['ece']:7.4f} {m['capture_top10']:8.4f} {time.perf_counter() - started:6.0f}"
        )
        print(f"{kind}: unavailable features: {', '.join(fitted.unavailable) or 'none'}", flush=True)
    print(
        f"\n{'export':10s} {'features':>9s} {'ROC AUC':>8s} {'AUC / oracle':>13s} {'PR AUC':>7s} {'ECE':>7s} "
        f"{'top10%':>8s} {'s':>6s}"
    )
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None, help="already generated folder (with _truth/)")
    parser.add_argument("--threads", type=int, default=None, help="LightGBM threads (default: churn.model.n_jobs)")
    parser.add_argument("--exports", nargs="+", choices=EXPORTS, default=["full"], help="exports to compare")
    args = parser.parse_args()

    from pipelines.features import data_end_date
    from pipelines.ingest import validate_inputs
    from pipelines.training import backtest_dates, fit_backtest
    from tiercast.settings import load_settings

    workdir = Path(tempfile.mkdtemp(prefix="tiercast-quality-"))
    settings = load_settings(
        environ={"TIERCAST__PATHS__ROOT": str(workdir), "TIERCAST__EVALUATION__GENERATOR_TRUTH": "true"}
    )
    if args.threads is not None:
        model = settings.churn.model.model_copy(update={"n_jobs": args.threads})
        settings = settings.model_copy(update={"churn": settings.churn.model_copy(update={"model": model})})
    data = args.data
    if data is None:
        from tiercast.synthetic import generate

        data = workdir / "raw"
        started = time.perf_counter()
        generate(data, args.subscribers, args.months, args.seed, settings.generator)
        took = time.perf_counter() - started
        print(f"generated {args.subscribers:,} subscribers x {args.months} months in {took:.0f} s")
    if args.exports != ["full"]:
        compare_exports(settings, data, workdir, args.exports)
        return
    started = time.perf_counter()
    tables = validate_inputs(settings, data).tables
    backtest = backtest_dates(
        data_end_date(tables["bills"], settings.validation.data_end_min_share),
        settings.churn.snapshots,
        settings.churn.horizon_days,
        settings.churn.snapshot_phase_step_days,
    )
    fitted = fit_backtest(tables, backtest, settings, data)
    elapsed = time.perf_counter() - started
    m, oracle = fitted.metrics, fitted.oracle or {}
    print(f"\ndata {data}; train {', '.join(map(str, backtest.train_dates))}; validate {backtest.validation_date}")
    print(
        f"train rows {fitted.n_train:,}; tune rows {fitted.n_tune:,}; holdout rows {len(fitted.holdout):,}; "
        f"features {len(fitted.columns)}; trees {fitted.model.best_iteration_}; "
        f"calibration {fitted.model.calibration_method_}; {elapsed:.0f} s; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    )
    rows = [
        ("model ROC AUC", m["roc_auc"], ""),
        ("oracle ROC AUC", oracle.get("oracle_auc", float("nan")), ""),
        ("ratio model / oracle", oracle.get("auc_ratio", float("nan")), ">= 0.97"),
        ("ECE (10 equal-frequency bins)", m["ece"], "<= 0.02"),
        ("Brier", m["brier"], ""),
        ("PR AUC", m["pr_auc"], ""),
        ("churn rate / mean score", m["churn_rate"], f"{m['mean_score']:.4f}"),
        ("capture top 10%", m["capture_top10"], ""),
        ("EMP (CNY / customer)", m["emp"], f"share {m['emp_share']:.3f}"),
    ]
    print(f"\n{'metric':32s} {'value':>10s}  target")
    for name, value, target in rows:
        print(f"{name:32s} {value:10.4f}  {target}")
    columns = ["slice", "value", "n", "positives", "roc_auc", "ece", "mean_score", "churn_rate"]
    print("\n" + fitted.sliced.reindex(columns=columns).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
