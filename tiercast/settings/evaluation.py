"""Evaluation: top-k shares, calibration bins and the retention profit model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tiercast.settings.base import Section
from tiercast.settings.churn import ModelParams


class ProfitSettings(Section):
    """Retention campaign economics for the EMP / MP profit measure (Verbraken et al. 2013)."""

    clv_cny: float = Field(gt=0)
    offer_cost_cny: float = Field(ge=0)
    contact_cost_cny: float = Field(ge=0)
    acceptance_alpha: float = Field(gt=0)
    acceptance_beta: float = Field(gt=0)
    gamma_grid: int = Field(ge=10)


class TableSettings(Section):
    """`tiercast evaluate-table`: type inference thresholds, cross-validation and model parameters."""

    numeric_share: float = Field(gt=0, le=1)
    max_categories: int = Field(ge=2)
    id_unique_share: float = Field(gt=0, le=1)
    folds: int = Field(ge=2)
    seed: int
    model: ModelParams


class EvaluationSettings(Section):
    """Evaluation: top-k shares, calibration bins and the retention profit model."""

    top_shares: tuple[float, ...]
    calibration_bins: int = Field(ge=2)
    calibration_binning: Literal["quantile", "uniform"]
    slice_columns: tuple[str, ...]
    min_slice_rows: int = Field(ge=1)
    profit: ProfitSettings
    table: TableSettings
    generator_truth: bool
