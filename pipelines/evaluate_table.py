"""Bring your own table: stratified K-fold cross-validation of the churn model family on any CSV/Parquet.

One row per customer, a target column and its positive value; types are inferred by
`models.table.prepare_table`. Each training fold fits the same `ChurnModel` as production training,
with early stopping and calibration on an inner stratified split of that fold (never the test fold).
"""

from __future__ import annotations

import gzip
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models.churn import ChurnModel
from models.evaluation import expected_calibration_error, pr_auc, roc_auc
from models.table import PreparedTable, prepare_table
from tiercast.settings import Settings
from tiercast.settings.evaluation import EvaluationSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableEvaluation:
    """Summary (one flat dict, the JSON line), per-fold metrics and the prepared table's column report."""

    summary: dict[str, Any]
    folds: pd.DataFrame
    prepared: PreparedTable


DELIMITERS = (",", ";", "\t", "|")


def _delimiter(path: Path) -> str:
    """Return the delimiter that splits the header line into the most fields."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    return max(DELIMITERS, key=header.count)


def read_any(path: Path) -> pd.DataFrame:
    """Return the table in `path`: Parquet by suffix, otherwise delimited text (`,` `;` tab or `|`, sniffed)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    return pd.read_csv(path, sep=_delimiter(path), low_memory=False)


def fold_metrics(y: np.ndarray, p: np.ndarray, settings: EvaluationSettings) -> dict[str, float]:
    """Return the per-fold metrics of held-out predictions."""
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "ece": expected_calibration_error(y, p, settings.calibration_bins, settings.calibration_binning),
    }


def cross_validate(
    prepared: PreparedTable, settings: EvaluationSettings, folds: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return per-fold metrics and out-of-fold probabilities from stratified K-fold cross-validation."""
    x, y = prepared.features, prepared.target.to_numpy()
    params = settings.table.model.model_dump() | {"random_state": seed}
    oof = np.full(len(y), np.nan)
    rows = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(x, y)):
        model = ChurnModel(**params).fit(x.iloc[train_idx], y[train_idx])
        oof[test_idx] = model.predict_proba(x.iloc[test_idx])[:, 1]
        metrics = fold_metrics(y[test_idx], oof[test_idx], settings)
        rows.append({"fold": fold, **metrics, "trees": model.best_iteration_, "calibration": model.calibration_method_})
        log.info("fold %d/%d: ROC AUC %.4f (%d trees)", fold + 1, folds, metrics["roc_auc"], model.best_iteration_)
    return pd.DataFrame(rows), oof


def evaluate_table(
    settings: Settings, path: Path, target: str, positive: str, id_column: str | None, folds: int, seed: int
) -> TableEvaluation:
    """Read, type and cross-validate the table; return the summary, the folds and the column report."""
    started = time.perf_counter()
    prepared = prepare_table(read_any(path), target, positive, id_column, settings.evaluation.table)
    if prepared.features.empty:
        raise ValueError("no usable feature column left after type inference")
    table, oof = cross_validate(prepared, settings.evaluation, folds, seed)
    y = prepared.target.to_numpy()
    summary: dict[str, Any] = {"file": str(path), "target": target, "positive": positive}
    for metric in ("roc_auc", "pr_auc", "brier", "log_loss", "ece"):
        summary[f"{metric}_mean"] = float(table[metric].mean())
        summary[f"{metric}_std"] = float(table[metric].std(ddof=1))
    summary.update(
        {
            "oof_roc_auc": roc_auc(y, oof),
            "n_rows": len(y),
            "n_positive": int(y.sum()),
            "positive_rate": float(y.mean()),
            "n_features": prepared.features.shape[1],
            "n_categorical": sum(kind == "category" for kind in prepared.kinds.values()),
            "excluded_columns": prepared.excluded,
            "dropped_rows": prepared.dropped_rows,
            "folds": folds,
            "seed": seed,
            "trees_mean": float(table["trees"].mean()),
            "model": "ChurnModel (LightGBM + calibration)",
            "elapsed_s": round(time.perf_counter() - started, 2),
        }
    )
    return TableEvaluation(summary, table, prepared)


def track(settings: Settings, evaluation: TableEvaluation) -> str:
    """Log the evaluation to the evaluate-table experiment; return the run id."""
    from pipelines import tracking

    summary = evaluation.summary
    with tracking.run(
        settings, settings.tracking.experiments.evaluate_table, run_name=Path(summary["file"]).name
    ) as run_id:
        tracking.log_params(
            {k: v for k, v in summary.items() if k in {"file", "target", "positive", "folds", "seed", "model"}}
            | settings.evaluation.table.model.model_dump()
        )
        tracking.log_metrics({k: float(v) for k, v in summary.items() if isinstance(v, (int, float))})
        tracking.log_table(evaluation.folds, "folds.json")
        tracking.log_dict(
            {"kinds": evaluation.prepared.kinds, "excluded": evaluation.prepared.excluded}, "columns.json"
        )
    return run_id
