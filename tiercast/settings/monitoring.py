"""Production monitoring: reference profiles, drift levels, broken-export guardrails, performance estimates, alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tiercast.settings.base import Section

Level = Literal["ok", "moderate", "significant", "guardrail"]


class ProfileSettings(Section):
    """How a column is binned in the reference profile."""

    bins: int = Field(ge=2)
    rare_share: float = Field(ge=0, lt=1)
    phase_days: tuple[int, ...] = ()
    # Counts of the credit window's bill months (at most features.credit_window_months): on an export shorter
    # than the window at the validation date they are compared at the reference's history (models.drift).
    history_bound: tuple[str, ...] = ()


class PsiSettings(Section):
    """Population stability index: the floor on shares and the moderate / significant levels."""

    epsilon: float = Field(gt=0, lt=1)
    moderate: float = Field(gt=0)
    significant: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PsiSettings:
        if self.significant < self.moderate:
            raise ValueError("psi.significant must be at least psi.moderate")
        return self


class GuardrailSettings(Section):
    """A column that looks like a broken export: suddenly all missing, all zero, or an order of magnitude off."""

    all_missing_share: float = Field(gt=0, le=1)
    missing_jump: float = Field(gt=0, le=1)
    all_zero_share: float = Field(gt=0, le=1)
    zero_jump: float = Field(gt=0, le=1)
    mean_ratio: float = Field(gt=1)
    # The mean is judged only where the baseline's share of non-zero values puts at least this many in tonight's rows.
    mean_min_nonzero: int = Field(default=100, ge=1)
    # A monthly input table's latest known month holding under this share of the month before's rows (None: off).
    latest_period_share: float | None = Field(default=None, gt=0, le=1)
    # A daily input table's (contacts) rows on one of the last 7 days under this share of the same weekday a week
    # before (None: off), judged where that weekday had at least latest_day_min_rows rows.
    latest_day_share: float | None = Field(default=None, gt=0, le=1)
    latest_day_min_rows: int = Field(default=100, ge=1)


class EstimateSettings(Section):
    """Label-free performance estimates (bands by Monte-Carlo label draws) and realised performance."""

    band_level: float = Field(gt=0, lt=1)
    draws: int = Field(ge=20)
    subsample: int = Field(ge=100)
    seed: int
    lift_share: float = Field(gt=0, le=1)
    ece_bins: int = Field(ge=2)
    auc_drop: float = Field(gt=0, lt=1)
    churn_rate_bands: float = Field(gt=0)
    churn_rate_ratio: float = Field(ge=0)


class RecentChurnSettings(Section):
    """Churn in the last days of a matured night's horizon against its scores' promise (models.recent_churn)."""

    max_days: int = Field(ge=1)
    profile_days: int = Field(ge=28)
    min_expected: float = Field(gt=0)
    min_count: int = Field(ge=1)
    min_ratio: float = Field(gt=1)
    min_z: float = Field(gt=0)


class AlertSettings(Section):
    """Which levels alert, whether model drift blocks the publish, and whether an alert starts training."""

    levels: tuple[Level, ...]
    model_drift: Literal["alert", "block"]
    retrain_on_alert: bool
    training_deployment: str


class ContactMixSettings(Section):
    """Tonight's inbound contacts per segment x reason against the reference's shares: a Poisson count test per cell."""

    segment: str
    days: int = Field(ge=1)
    reference_days: int = Field(ge=1)
    min_ratio: float = Field(gt=1)
    min_z: float = Field(gt=0)
    min_count: int = Field(ge=1)


class MonitoringSettings(Section):
    """Production monitoring: drift against the champion's reference and yesterday, estimates, alerts."""

    enabled: bool
    experiment: str
    score_history_days: int = Field(ge=1)
    profile: ProfileSettings
    psi: PsiSettings
    guardrail: GuardrailSettings
    estimate: EstimateSettings
    alerts: AlertSettings
    recent_churn: RecentChurnSettings | None = None
    contact_mix: ContactMixSettings | None = None
