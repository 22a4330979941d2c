"""Evaluation: top-k shares, calibration bins and the retention profit model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

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


TableCandidate = Literal["lightgbm", "linear"]


class LinearParams(Section):
    """Parameters of `models.table_linear.TableLinearModel` (same names as its constructor)."""

    c_grid: tuple[float, ...] = Field(min_length=1)
    c_folds: int = Field(ge=2)
    n_knots: int = Field(ge=2)
    degree: int = Field(ge=1)
    spline_min_distinct: int = Field(ge=2)
    min_frequency: int = Field(ge=1)
    max_iter: int = Field(ge=10)


class TableSettings(Section):
    """`tiercast evaluate-table`: type inference thresholds, cross-validation, model choice and parameters."""

    numeric_share: float = Field(gt=0, le=1)
    max_categories: int = Field(ge=2)
    min_rows_per_level: float = Field(ge=1)
    rare_level_rows: int = Field(ge=1)
    id_unique_share: float = Field(gt=0, le=1)
    folds: int = Field(ge=2)
    seed: int
    candidates: tuple[TableCandidate, ...] = Field(min_length=1)
    inner_folds: int = Field(ge=2)
    model: ModelParams
    linear: LinearParams

    @model_validator(mode="after")
    def _candidates_once(self) -> TableSettings:
        if len(set(self.candidates)) != len(self.candidates):
            raise ValueError(f"evaluation.table.candidates lists a model twice: {list(self.candidates)}")
        return self


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
