"""Training: rolling monthly snapshots -> time-ordered backtest -> fit -> evaluate -> MLflow -> register -> gate.

Snapshots are month ends. The latest fully labelled one (D + H <= data end) validates; the ones
before it train, and only those whose label window closes by the validation date
(as_of + H <= validation as_of), so no training label can see past the validation features' date.
The validation snapshot is split by subscriber: the "tune" part early-stops and calibrates the model,
the "holdout" part is only scored: every reported metric and the promotion gate use the holdout.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.availability import unavailable_features
from features.labels import churn_labels
from models.churn import ChurnModel
from models.evaluation import classification_metrics, oracle_comparison, roc_auc, sliced_metrics
from models.lifecycle import assign_stages, new_customer_months
from models.recent_churn import tier_calendars
from models.tiers import assign_tiers
from pipelines.executor import Executor, Inline
from pipelines.features import features_as_of
from pipelines.monitoring import recent_inputs
from pipelines.shards import id_numbers
from tiercast.errors import ModelError
from tiercast.settings import Settings
from tiercast.settings.churn import ChurnSettings

log = logging.getLogger(__name__)

LABEL = "churned"
SCORE = "churn_score"
TRUTH_FILE = Path("_truth") / "churn_probability.parquet"


class LeakageError(ModelError, ValueError):
    """A feature that is (almost) the label: training refuses to go on."""


@dataclass(frozen=True)
class Backtest:
    """Snapshot dates of one time-ordered backtest."""

    train_dates: tuple[date, ...]
    validation_date: date
    data_end: date
    horizon_days: int


def month_end(day: date) -> date:
    """Return the last day of `day`'s month."""
    return (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()


def backtest_dates(data_end: date, snapshots: int, horizon_days: int, phase_step_days: int = 0) -> Backtest:
    """Return the validation month end (latest with D + H <= data_end) and the training snapshots before it.

    Training snapshots are one a month; with `phase_step_days` > 0 the k-th before the validation is
    taken (k x step) mod 30 days before its month's end, so the model learns every phase of the month
    (before and after the bills' due day, lines with no bill yet) that the nightly scores in.
    """
    horizon = timedelta(days=horizon_days)
    validation = month_end(data_end)
    while validation + horizon > data_end:
        validation = month_end(validation.replace(day=1) - timedelta(days=1))
    train: list[date] = []
    candidate = validation
    while len(train) < snapshots - 1:
        candidate = month_end(candidate.replace(day=1) - timedelta(days=1))
        day = candidate - timedelta(days=((len(train) + 1) * phase_step_days) % 30)
        if day + horizon <= validation:
            train.append(day)
    return Backtest(tuple(sorted(train)), validation, data_end, horizon_days)


def _sample(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    """Return at most `limit` rows, chosen by a hash of subscriber_id (the same subscribers every month)."""
    if len(frame) <= limit:
        return frame
    hashed = (id_numbers(frame["subscriber_id"]) * np.uint64(2654435761) + np.uint64(seed)) % np.uint64(2**32)
    keep = np.argsort(hashed, kind="stable")[:limit]
    return frame.take(np.sort(keep)).reset_index(drop=True)


def snapshot(
    tables: dict[str, pd.DataFrame],
    as_of: date,
    settings: Settings,
    absent: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Return features and labels of the subscribers active at `as_of` (one row per subscriber).

    `absent`: the optional input columns the export lacks (their features are null).
    """
    features = features_as_of(tables, as_of, settings, absent)
    labels = churn_labels(tables["subscribers"], as_of, settings.churn.horizon_days)
    frame = features.merge(labels[["subscriber_id", LABEL]], on="subscriber_id", how="inner", validate="one_to_one")
    frame[LABEL] = frame[LABEL].astype(int)
    return _sample(frame, settings.churn.max_rows_per_snapshot, settings.churn.seed)


def feature_columns(frame: pd.DataFrame, settings: ChurnSettings) -> list[str]:
    """Return the model's input columns: everything but keys, labels and excluded columns."""
    banned = set(settings.exclude_features) | set(settings.label_columns) | {LABEL}
    return [c for c in frame.columns if c not in banned]


def model_columns(frame: pd.DataFrame, settings: ChurnSettings, unavailable: Collection[str]) -> list[str]:
    """Return `feature_columns` without the features this export cannot feed (they would be all null)."""
    return [c for c in feature_columns(frame, settings) if c not in set(unavailable)]


def single_feature_auc(x: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """Return, per column, how well the column alone ranks the labels (max of AUC and 1 - AUC)."""
    result = {}
    for col in x.columns:
        series = x[col]
        if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
            key = series.astype("str").fillna("<missing>")
            values = pd.Series(y, index=x.index).groupby(key.to_numpy()).transform("mean").to_numpy()
        else:
            values = series.astype("float64").to_numpy()
            values = np.where(np.isnan(values), np.nanmin(values) - 1 if np.isfinite(values).any() else 0, values)
        auc = roc_auc(y, values)
        result[col] = max(auc, 1 - auc)
    return pd.Series(result).sort_values(ascending=False)


def check_leakage(x: pd.DataFrame, y: np.ndarray, threshold: float) -> pd.Series:
    """Return single-feature AUCs; raise LeakageError when a feature alone ranks the labels almost perfectly."""
    aucs = single_feature_auc(x, y)
    leaking = aucs[aucs > threshold]
    if not leaking.empty:
        named = ", ".join(f"{c} (AUC {v:.3f})" for c, v in leaking.items())
        raise LeakageError(f"feature(s) almost equal to the label, refusing to train: {named}")
    return aucs


def split_validation(frame: pd.DataFrame, holdout_share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (tune, holdout) parts of the validation snapshot, split by a hash of subscriber_id."""
    ids = id_numbers(frame["subscriber_id"])
    hashed = ((ids * np.uint64(40503) + np.uint64(seed)) * np.uint64(2654435761)) % np.uint64(2**32)
    holdout = hashed / 2**32 < holdout_share
    return frame.loc[~holdout].reset_index(drop=True), frame.loc[holdout].reset_index(drop=True)


def monotone_constraints(columns: list[str], settings: ChurnSettings) -> dict[str, int]:
    """Return LightGBM monotone directions for the configured features that are present."""
    wanted = dict.fromkeys(settings.monotone_increasing, 1) | dict.fromkeys(settings.monotone_decreasing, -1)
    absent = sorted(set(wanted) - set(columns))
    if absent:
        log.warning("monotone constraint on absent feature(s) ignored: %s", absent)
    return {c: d for c, d in wanted.items() if c in columns}


def build_model(columns: list[str], settings: ChurnSettings) -> ChurnModel:
    """Return an unfitted ChurnModel with the configured parameters and monotone constraints."""
    return ChurnModel(**settings.model.model_dump(), monotone_constraints=monotone_constraints(columns, settings))


def decorate(holdout: pd.DataFrame, scores: np.ndarray, settings: Settings) -> pd.DataFrame:
    """Return the holdout with churn_score, tier and lifecycle stage (for sliced metrics and plots)."""
    tiered = assign_tiers(holdout, settings.tiers)
    score = pd.Series(scores, index=holdout.index, name=SCORE)
    staged = assign_stages(tiered, settings.lifecycle, churn_score=score)
    return staged.assign(**{SCORE: score})


def truth_column(as_of: date, horizon_days: int) -> str | None:
    """Return the generator's truth column for a label horizon from `as_of`, None when it writes none for it.

    The generator writes the chance of leaving within 60 days and within the next calendar month.
    """
    next_month_days = (month_end(month_end(as_of) + timedelta(days=1)) - as_of).days
    return {60: "p_churn_60d", next_month_days: "p_churn_next_month"}.get(horizon_days)


def true_probabilities(data_dir: Path, frame: pd.DataFrame, as_of: date, horizon_days: int) -> np.ndarray | None:
    """Return the generator's true churn probability per row (None without _truth/ or a truth for the horizon)."""
    path = data_dir / TRUTH_FILE
    column = truth_column(as_of, horizon_days)
    if not path.is_file():
        log.warning("no comparison with the generator's truth: %s does not exist", path)
        return None
    if column is None:
        log.warning(
            "no comparison with the generator's truth: it holds no probability for a %d-day horizon "
            "(only 60 days and the next calendar month)",
            horizon_days,
        )
        return None
    truth = pd.read_parquet(path, columns=["subscriber_id", "as_of", column])
    truth = truth.loc[pd.to_datetime(truth["as_of"]) == pd.Timestamp(as_of)]
    joined = frame[["subscriber_id"]].merge(truth, on="subscriber_id", how="left", validate="one_to_one")
    values = joined[column].to_numpy(dtype=float)
    return None if np.isnan(values).any() else values


@dataclass
class FittedBacktest:
    """Everything one backtest produced before anything is logged."""

    backtest: Backtest
    model: ChurnModel
    columns: list[str]
    holdout: pd.DataFrame
    metrics: dict[str, float]
    sliced: pd.DataFrame
    oracle: dict[str, float] | None
    truth: np.ndarray | None
    n_train: int
    n_tune: int
    leakage: pd.Series
    unavailable: tuple[str, ...] = ()  # features the export could not feed (not model inputs)
    recent_inputs: dict[str, pd.DataFrame] = field(default_factory=dict)  # at the validation date (monitoring)
    # The holdout scored at other days of the validation month, with the recent inputs then (monitoring).
    reference_phases: dict[date, tuple[pd.DataFrame, dict[str, pd.DataFrame]]] = field(default_factory=dict)
    # Per tier, how churn spreads over a month in the snapshots' horizons (monitoring's recent-churn rule).
    churn_calendar: dict[str, tuple[float, ...]] = field(default_factory=dict)


def snapshot_calendars(
    snapshots: list[pd.DataFrame], subscribers: pd.DataFrame, settings: Settings
) -> dict[str, tuple[float, ...]]:
    """Return the churn calendar per tier over the snapshots' horizons (models.recent_churn.tier_calendars), each
    snapshot tiered on its own as a night is; empty when monitoring or its recent-churn rule is off."""
    if not settings.monitoring.enabled or settings.monitoring.recent_churn is None:
        return {}
    tiered = pd.concat(
        [
            frame[["subscriber_id", "as_of"]].assign(tier=assign_tiers(frame, settings.tiers)["tier"].to_numpy())
            for frame in snapshots
        ],
        ignore_index=True,
    )
    left = tiered["subscriber_id"].map(subscribers.set_index("subscriber_id")["deactivation_date"])
    return tier_calendars(tiered, left, settings.churn.horizon_days)


def fit_backtest(
    tables: dict[str, pd.DataFrame],
    backtest: Backtest,
    settings: Settings,
    data_dir: Path | None,
    absent: Mapping[str, Collection[str]] | None = None,
) -> FittedBacktest:
    """Build snapshots, guard against leakage, fit on training snapshots, evaluate on the validation holdout.

    `absent`: the optional input columns the export lacks; the features that need them are left out.
    """
    churn = settings.churn
    train = pd.concat([snapshot(tables, d, settings, absent) for d in backtest.train_dates], ignore_index=True)
    validation = snapshot(tables, backtest.validation_date, settings, absent)
    if train.duplicated(["subscriber_id", "as_of"]).any() or validation["subscriber_id"].duplicated().any():
        raise ValueError("a subscriber appears twice in one snapshot: the feature table must have one row each")
    tune, holdout = split_validation(validation, churn.validation_holdout_share, churn.seed)
    unavailable = tuple(unavailable_features(absent or {}))
    if unavailable:
        log.warning("features not available in this export (left out of the model): %s", ", ".join(unavailable))
    columns = model_columns(train, churn, unavailable)
    leakage = check_leakage(tune[columns], tune[LABEL].to_numpy(), churn.leakage_max_auc)
    log.info(
        "training on %d rows (%d snapshots), tuning on %d, holdout %d",
        len(train),
        len(backtest.train_dates),
        len(tune),
        len(holdout),
    )
    model = build_model(columns, churn).fit(train[columns], train[LABEL], eval_set=(tune[columns], tune[LABEL]))
    scores = model.predict_proba(holdout[columns])[:, 1]
    decorated = decorate(holdout, scores, settings)
    y = holdout[LABEL].to_numpy()
    metrics = classification_metrics(y, scores, settings.evaluation)
    truth = None
    if data_dir is not None and settings.evaluation.generator_truth:
        truth = true_probabilities(data_dir, holdout, backtest.validation_date, churn.horizon_days)
    oracle = oracle_comparison(y, scores, truth) if truth is not None else None
    sliced = sliced_metrics(decorated, LABEL, SCORE, settings.evaluation)
    mix = settings.monitoring.contact_mix
    recent = recent_inputs(tables, backtest.validation_date, mix, mix.reference_days if mix else None)
    phases = reference_phases(tables, decorated, backtest.validation_date, model, columns, settings, absent)
    dated = [frame for _, frame in train.groupby("as_of", sort=True)] + [validation]
    calendar = snapshot_calendars(dated, tables["subscribers"], settings)
    return FittedBacktest(
        backtest,
        model,
        columns,
        decorated,
        metrics,
        sliced,
        oracle,
        truth,
        len(train),
        len(tune),
        leakage,
        unavailable,
        recent,
        phases,
        calendar,
    )


def reference_phases(
    tables: dict[str, pd.DataFrame],
    holdout: pd.DataFrame,
    validation_date: date,
    model: ChurnModel,
    columns: list[str],
    settings: Settings,
    absent: Mapping[str, Collection[str]] | None = None,
) -> dict[date, tuple[pd.DataFrame, dict[str, pd.DataFrame]]]:
    """Return the holdout's subscribers scored `monitoring.profile.phase_days` before the validation date,
    with the recent inputs then: the monitoring reference's other phases of the month (none when off)."""
    if not settings.monitoring.enabled:
        return {}
    ids = holdout["subscriber_id"]
    subset = {
        name: t[t["subscriber_id"].isin(ids)] if "subscriber_id" in t.columns else t for name, t in tables.items()
    }
    kept = [*columns, *(c for c in ("tier", "lifecycle_stage") if c in holdout.columns), SCORE]
    phases = {}
    for days in settings.monitoring.profile.phase_days:
        day = validation_date - timedelta(days=days)
        frame = snapshot(subset, day, settings, absent)
        scored = decorate(frame, model.predict_proba(frame[columns])[:, 1], settings)
        mix = settings.monitoring.contact_mix
        recent = recent_inputs(tables, day, mix, mix.reference_days if mix else None)
        phases[day] = (scored[kept].reset_index(drop=True), recent)
    return phases


def run_params(fitted: FittedBacktest, settings: Settings) -> dict[str, Any]:
    """Return the parameters logged with a training run."""
    bt = fitted.backtest
    return {
        "horizon_days": bt.horizon_days,
        "data_end": bt.data_end,
        "train_dates": ",".join(str(d) for d in bt.train_dates),
        "validation_date": bt.validation_date,
        "n_train": fitted.n_train,
        "n_tune": fitted.n_tune,
        "n_holdout": len(fitted.holdout),
        "n_features": len(fitted.columns),
        "unavailable_features": ",".join(fitted.unavailable) or "none",
        "best_iteration": fitted.model.best_iteration_,
        "calibration_method": fitted.model.calibration_method_,
        "monotone": fitted.model.monotone_constraints,
        **{f"lgb_{k}": v for k, v in settings.churn.model.model_dump().items()},
    }


@dataclass(frozen=True)
class TrainingResult:
    """What `tiercast train` reports: the run, the registered version, the gate decision, the metrics."""

    run_id: str
    version: str
    decision: Any  # pipelines.registry.GateDecision
    fitted: FittedBacktest


def _log_plots(fitted: FittedBacktest, settings: Settings) -> None:
    from pipelines import plots, tracking

    holdout, evaluation = fitted.holdout, settings.evaluation
    y, p = holdout[LABEL].to_numpy(), holdout[SCORE].to_numpy()
    figures = {
        "roc.png": plots.roc_figure(y, p, fitted.truth),
        "precision_recall.png": plots.pr_figure(y, p),
        "calibration.png": plots.calibration_figure(y, p, evaluation.calibration_bins, evaluation.calibration_binning),
        "gains.png": plots.gains_figure(y, p),
        "feature_importance.png": plots.importance_figure(fitted.model.feature_importance()),
        "confusion_at_cutoff.png": plots.confusion_figure(y, p, fitted.metrics["mp_share"]),
    }
    for column in ("tier", "lifecycle_stage"):
        if column in holdout.columns:
            figures[f"score_by_{column}.png"] = plots.score_by_group_figure(
                holdout[SCORE], holdout[column], f"Churn score by {column}"
            )
    for name, figure in figures.items():
        tracking.log_figure(figure, f"plots/{name}")


def _log_reasons(fitted: FittedBacktest, top_k: int, new_customers: float | None) -> None:
    from models.reasons import reason_codes
    from pipelines import tracking

    riskiest = fitted.holdout.nlargest(25, SCORE)
    reasons = reason_codes(fitted.model, riskiest[fitted.columns], top_k, new_customers)
    table = riskiest[["subscriber_id", SCORE, LABEL]].assign(churn_reasons=reasons.to_numpy())
    tracking.log_table(table, "riskiest_holdout_customers.json")


def log_and_gate(settings: Settings, fitted: FittedBacktest) -> TrainingResult:
    """Log the run (params, metrics, plots, model), register it as challenger and apply the promotion gate."""
    from pipelines import registry, tracking
    from pipelines.monitoring import REFERENCE_ARTIFACT, training_reference

    with tracking.run(
        settings, settings.tracking.experiments.training, run_name=f"churn-{fitted.backtest.validation_date}"
    ) as run_id:
        tracking.log_params(run_params(fitted, settings))
        tracking.log_metrics(fitted.metrics)
        tracking.log_metrics(fitted.oracle or {}, "oracle.")
        tracking.log_sliced_metrics(fitted.sliced)
        leakage = pd.DataFrame({"feature": fitted.leakage.index, "single_feature_auc": fitted.leakage.to_numpy()})
        tracking.log_table(leakage, "single_feature_auc.json")
        tracking.log_dict({"unavailable_features": list(fitted.unavailable)}, "unavailable_features.json")
        # The nightly's drift reference: this model's holdout features, scores and mixes, binned (issue 12).
        reference = training_reference(
            fitted.holdout,
            fitted.columns,
            fitted.metrics,
            fitted.recent_inputs,
            settings,
            fitted.reference_phases,
            fitted.churn_calendar,
        )
        tracking.log_dict(reference.to_dict(), REFERENCE_ARTIFACT)
        if settings.tracking.log_plots:
            _log_plots(fitted, settings)
        _log_reasons(fitted, settings.churn.reasons_top_k, new_customer_months(settings.lifecycle))
        model_uri = tracking.log_model(settings, fitted.model, fitted.holdout[fitted.columns].head(5))
        tags = {
            "validation_as_of": fitted.backtest.validation_date,
            "data_end": fitted.backtest.data_end,
            "run_id": run_id,
        }
        version = registry.register_challenger(settings, model_uri, tags)
        holdout = fitted.holdout
        decision = registry.evaluate_challenger(
            settings, version, holdout[SCORE].to_numpy(), holdout[fitted.columns], holdout[LABEL].to_numpy()
        )
        tracking.set_tags({"model_version": version, "promoted": decision.promoted, "gate_reason": decision.reason})
        tracking.describe_version(settings, version, version_description(fitted, decision, run_id))
    return TrainingResult(run_id, version, decision, fitted)


def version_description(fitted: FittedBacktest, decision: Any, run_id: str) -> str:
    """Return the text the MLflow UI shows on the model version's page: what it predicts, on what, how well."""
    backtest, metrics = fitted.backtest, fitted.metrics
    oracle = f", {fitted.oracle['auc_ratio']:.1%} of the oracle AUC" if fitted.oracle else ""
    verdict = "promoted to champion" if decision.promoted else "not promoted"
    return (
        f"Churn model: probability of leaving within {backtest.horizon_days} days of the as-of date. "
        f"Trained on {len(backtest.train_dates)} monthly snapshots "
        f"({backtest.train_dates[0]} to {backtest.train_dates[-1]}, {fitted.n_train:,} rows); "
        f"validated as of {backtest.validation_date} on {int(metrics['n']):,} subscribers: "
        f"ROC AUC {metrics['roc_auc']:.3f}{oracle}, PR AUC {metrics['pr_auc']:.3f}, ECE {metrics['ece']:.4f}. "
        f"Gate: {verdict} ({decision.reason}). MLflow run {run_id}."
    )


def plan_backtest(settings: Settings, tables: dict[str, pd.DataFrame], as_of: date | None) -> Backtest:
    """Return the training and validation snapshot dates up to `as_of` (default: the data's last day)."""
    from pipelines.features import data_end_date

    end = as_of or data_end_date(tables["bills"], settings.validation.data_end_min_share)
    backtest = backtest_dates(
        end, settings.churn.snapshots, settings.churn.horizon_days, settings.churn.snapshot_phase_step_days
    )
    log.info(
        "backtest: train %s, validate %s (data end %s)",
        list(map(str, backtest.train_dates)),
        backtest.validation_date,
        end,
    )
    return backtest


def run_training(
    settings: Settings, data_dir: Path | None, as_of: date | None, executor: Executor, kind: str = "train"
) -> TrainingResult:
    """The training run, the one composition of its steps (the flow runs them as Prefect tasks, `train` inline):
    validate the inputs in `data_dir`, plan the backtest as of `as_of` (default: data end), fit and evaluate,
    then log to MLflow, register and gate."""
    from pipelines.ingest import validate_inputs

    folder = data_dir or settings.paths.resolve(settings.paths.raw)
    inputs = executor.step("read-inputs", validate_inputs, settings, folder, None, None, kind)
    backtest = executor.step("plan-backtest", plan_backtest, settings, inputs.tables, as_of)
    fitted = executor.step("fit-and-evaluate", fit_backtest, inputs.tables, backtest, settings, folder, inputs.absent)
    return executor.step("log-register-gate", log_and_gate, settings, fitted)


def train(settings: Settings, data_dir: Path | None = None, as_of: date | None = None) -> TrainingResult:
    """Run the training (`run_training`) in this process, without Prefect."""
    return run_training(settings, data_dir, as_of, Inline())
