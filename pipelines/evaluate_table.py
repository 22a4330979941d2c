"""Bring your own table: stratified K-fold cross-validation of the churn model family on any CSV/Parquet.

One row per customer, a target column and its positive value; types are inferred by
`models.table.prepare_table`. Each outer training fold chooses between the candidates of
`evaluation.table.candidates` (the production `ChurnModel`, LightGBM + calibration, and a regularised
spline logistic regression) by an inner stratified K-fold on that training part only, refits every
candidate on it and scores the outer test fold: the chosen model's scores are the nested-CV estimate,
each candidate's own outer scores are reported beside it.
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
from models.table_linear import TableLinearModel
from tiercast.settings import Settings
from tiercast.settings.evaluation import EvaluationSettings, TableCandidate, TableSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableEvaluation:
    """Summary (one flat dict, the JSON line), per-fold metrics and the prepared table's column report."""

    summary: dict[str, Any]
    folds: pd.DataFrame
    prepared: PreparedTable


DELIMITERS = (",", ";", "\t", "|")
CANDIDATES: tuple[TableCandidate, ...] = ("lightgbm", "linear")
DESCRIPTIONS = {"lightgbm": "ChurnModel (LightGBM + calibration)", "linear": "spline logistic regression (L2)"}


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


def candidate(name: TableCandidate, table: TableSettings, seed: int) -> ChurnModel | TableLinearModel:
    """Return the unfitted candidate model `name` with the table settings' parameters."""
    if name == "lightgbm":
        return ChurnModel(**table.model.model_dump() | {"random_state": seed})
    return TableLinearModel(**table.linear.model_dump(), random_state=seed)


def inner_roc_auc(name: TableCandidate, x: pd.DataFrame, y: np.ndarray, table: TableSettings, seed: int) -> float:
    """Return the mean ROC AUC of candidate `name` over an inner stratified K-fold of (x, y)."""
    splitter = StratifiedKFold(n_splits=table.inner_folds, shuffle=True, random_state=seed)
    scores = []
    for train_idx, test_idx in splitter.split(x, y):
        model = candidate(name, table, seed).fit(x.iloc[train_idx], y[train_idx])
        scores.append(roc_auc(y[test_idx], model.predict_proba(x.iloc[test_idx])[:, 1]))
    return float(np.mean(scores))


def choose_model(
    x: pd.DataFrame, y: np.ndarray, table: TableSettings, seed: int
) -> tuple[TableCandidate, dict[TableCandidate, float]]:
    """Return the candidate with the best inner-CV ROC AUC (first listed on a tie) and every inner score."""
    if len(table.candidates) == 1:
        return table.candidates[0], {}
    inner = {name: inner_roc_auc(name, x, y, table, seed) for name in table.candidates}
    return max(inner, key=inner.__getitem__), inner


def outer_fold(
    x: pd.DataFrame, y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray, table: TableSettings, seed: int
) -> tuple[dict[str, Any], np.ndarray]:
    """Return one outer fold's choice, inner and outer scores of every candidate, and the chosen probabilities."""
    x_train, y_train, x_test, y_test = x.iloc[train_idx], y[train_idx], x.iloc[test_idx], y[test_idx]
    chosen, inner = choose_model(x_train, y_train, table, seed)
    fitted = {name: candidate(name, table, seed).fit(x_train, y_train) for name in table.candidates}
    scores = {name: model.predict_proba(x_test)[:, 1] for name, model in fitted.items()}
    lightgbm = fitted.get("lightgbm")
    row: dict[str, Any] = {"chosen": chosen}
    for name in CANDIDATES:
        row[f"inner_roc_auc_{name}"] = inner.get(name, np.nan)
        row[f"{name}_roc_auc"] = roc_auc(y_test, scores[name]) if name in scores else np.nan
    row["trees"] = lightgbm.best_iteration_ if isinstance(lightgbm, ChurnModel) else np.nan
    row["calibration"] = lightgbm.calibration_method_ if isinstance(lightgbm, ChurnModel) else ""
    return row, scores[chosen]


def _scores(row: dict[str, Any], key: str, names: tuple[TableCandidate, ...]) -> str:
    """Return "lightgbm 0.8312, linear 0.8350": the row's `key` value of each candidate."""
    return ", ".join(f"{name} {row[key.format(name)]:.4f}" for name in names)


def cross_validate(
    prepared: PreparedTable, settings: EvaluationSettings, folds: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return per-fold metrics (chosen model, both candidates) and the chosen models' out-of-fold probabilities."""
    x, y = prepared.features, prepared.target.to_numpy()
    oof = np.full(len(y), np.nan)
    rows = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(x, y)):
        started = time.perf_counter()
        choice, oof[test_idx] = outer_fold(x, y, train_idx, test_idx, settings.table, seed)
        metrics = fold_metrics(y[test_idx], oof[test_idx], settings)
        rows.append({"fold": fold, **metrics, **choice})
        candidates = settings.table.candidates
        how = f"inner ROC AUC {_scores(choice, 'inner_roc_auc_{}', candidates)}" if len(candidates) > 1 else "only one"
        log.info(
            "fold %d/%d: %s chosen (%s); outer ROC AUC %s; %.1f s",
            fold + 1,
            folds,
            choice["chosen"],
            how,
            _scores(choice, "{}_roc_auc", candidates),
            time.perf_counter() - started,
        )
    return pd.DataFrame(rows), oof


def _mean(values: pd.Series) -> float | None:
    """Return the mean, or None (JSON null) when no fold has a value."""
    return None if values.isna().all() else float(values.mean())


def choice_summary(table: pd.DataFrame, candidates: tuple[TableCandidate, ...]) -> dict[str, Any]:
    """Return the model-choice part of the summary: wins per candidate, inner and outer ROC AUC means."""
    wins = {name: int((table["chosen"] == name).sum()) for name in candidates}
    inner = {name: _mean(table[f"inner_roc_auc_{name}"]) for name in CANDIDATES}
    # The most folds won; on a tie, the better mean inner score, then the first listed.
    overall = max(candidates, key=lambda name: (wins[name], inner[name] or 0.0))
    return {
        "candidates": list(candidates),
        "chosen_model": overall,
        "model_choice": wins,
        **{f"inner_roc_auc_{name}": inner[name] for name in CANDIDATES},
        **{f"{name}_roc_auc_mean": _mean(table[f"{name}_roc_auc"]) for name in CANDIDATES},
        "chosen_roc_auc_mean": float(table["roc_auc"].mean()),
    }


def evaluate_table(
    settings: Settings, path: Path, target: str, positive: str, id_column: str | None, folds: int, seed: int
) -> TableEvaluation:
    """Read, type and cross-validate the table; return the summary, the folds and the column report."""
    started = time.perf_counter()
    table_settings = settings.evaluation.table
    prepared = prepare_table(read_any(path), target, positive, id_column, table_settings)
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
            "pooled_levels": prepared.pooled,
            "inner_folds": table_settings.inner_folds if len(table_settings.candidates) > 1 else 0,
            **choice_summary(table, table_settings.candidates),
            "trees_mean": _mean(table["trees"]),
            "model": " or ".join(DESCRIPTIONS[name] for name in table_settings.candidates),
            "elapsed_s": round(time.perf_counter() - started, 2),
        }
    )
    return TableEvaluation(summary, table, prepared)


PARAMS = frozenset({"file", "target", "positive", "folds", "seed", "model", "candidates", "chosen_model"})


def track(settings: Settings, evaluation: TableEvaluation) -> str:
    """Log the evaluation to the evaluate-table experiment; return the run id."""
    from pipelines import tracking

    summary = evaluation.summary
    with tracking.run(
        settings, settings.tracking.experiments.evaluate_table, run_name=Path(summary["file"]).name
    ) as run_id:
        table = settings.evaluation.table
        tracking.log_params(
            {k: v for k, v in summary.items() if k in PARAMS}
            | table.model.model_dump()
            | {f"linear_{k}": v for k, v in table.linear.model_dump().items()}
        )
        wins = {f"wins_{name}": float(count) for name, count in summary["model_choice"].items()}
        tracking.log_metrics({k: float(v) for k, v in summary.items() if isinstance(v, (int, float))} | wins)
        tracking.log_table(evaluation.folds, "folds.json")
        tracking.log_dict(
            {
                "kinds": evaluation.prepared.kinds,
                "excluded": evaluation.prepared.excluded,
                "pooled": evaluation.prepared.pooled,
            },
            "columns.json",
        )
    return run_id
