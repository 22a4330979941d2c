"""Churn model: label horizon, snapshots, LightGBM parameters, calibration, promotion gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tiercast.settings.base import Section


class ModelParams(Section):
    """Parameters of `models.churn.ChurnModel` (same names as its constructor)."""

    learning_rate: float = Field(gt=0, le=1)
    num_leaves: int = Field(ge=2)
    max_depth: int
    min_child_samples: int = Field(ge=1)
    n_estimators: int = Field(ge=1)
    early_stopping_rounds: int = Field(ge=0)
    feature_fraction: float = Field(gt=0, le=1)
    bagging_fraction: float = Field(gt=0, le=1)
    bagging_freq: int = Field(ge=0)
    lambda_l2: float = Field(ge=0)
    min_split_gain: float = Field(ge=0)
    cat_smooth: float = Field(ge=0)
    max_bin: int = Field(ge=2)
    class_weight: Literal["none", "sqrt", "balanced"]
    calibration: Literal["auto", "isotonic", "sigmoid", "none"]
    calibration_folds: int = Field(ge=2)
    validation_fraction: float = Field(gt=0, lt=1)
    n_jobs: int
    random_state: int


class GateSettings(Section):
    """When a challenger replaces the champion."""

    metric: Literal["roc_auc", "pr_auc", "emp", "neg_brier"]
    margin: float = Field(ge=0)


class ChurnSettings(Section):
    """Churn model: label horizon, snapshots, LightGBM parameters, calibration, promotion gate."""

    horizon_days: int = Field(ge=1)
    snapshots: int = Field(ge=2)
    snapshot_phase_step_days: int = Field(ge=0, le=29)
    max_rows_per_snapshot: int = Field(ge=100)
    validation_holdout_share: float = Field(gt=0, lt=1)
    seed: int
    exclude_features: tuple[str, ...]
    label_columns: tuple[str, ...]
    leakage_max_auc: float = Field(gt=0.5, le=1)
    monotone_increasing: tuple[str, ...]
    monotone_decreasing: tuple[str, ...]
    reasons_top_k: int = Field(ge=1)
    model: ModelParams
    gate: GateSettings
