"""The uplift model (issue 14): training on past campaigns, its registry entry, its gate and targeting costs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tiercast.settings.base import Section


class UpliftModelParams(Section):
    """Parameters of `models.uplift.UpliftModel` (same names as its constructor)."""

    method: Literal["t", "x", "lo", "dr"]
    n_estimators: int = Field(ge=1)
    learning_rate: float = Field(gt=0, le=1)
    num_leaves: int = Field(ge=2)
    min_child_samples: int = Field(ge=1)
    lambda_l2: float = Field(ge=0)
    n_jobs: int
    random_state: int
    lift_c: float = Field(gt=0, description="Lift model: inverse L2 strength of its logistic regression")
    lift_bins: int = Field(ge=0, description="Lift model: quantile bins per numeric input (0: linear only)")
    lift_folds: int = Field(ge=2, description="Lift model and DR-learner: folds of the cross-fitted outcome model")
    effect_leaves: int = Field(default=4, ge=2, description="DR-learner: leaves of the effect regression's trees")
    effect_min_child_samples: int = Field(default=2000, ge=1, description="DR-learner: effect tree leaf minimum")
    effect_estimators: int = Field(default=100, ge=1, description="DR-learner: boosting rounds of the effect model")


class UpliftGateSettings(Section):
    """The bootstrap behind `models.uplift.uplift_gate`."""

    n_boot: int = Field(ge=20)
    level: float = Field(gt=0.5, lt=1)
    seed: int


class UpliftSettings(Section):
    """Uplift training on past campaigns, its MLflow names, its gate, and what targeting charges per offer."""

    registered_model: str = Field(min_length=1)
    experiment: str = Field(min_length=1)
    horizon_days: int | None = Field(ge=1, description="Label window from the campaign date; null: its month")
    holdout_campaigns: int = Field(ge=1, description="Latest matured campaign dates held out for evaluation")
    max_training_rows: int = Field(ge=1000)
    offer_column: str = Field(min_length=1)
    campaign_history: bool = Field(
        description="Train on each member's answers to earlier retention calls (features.campaign_history); "
        "scoring then needs the optional input table campaigns"
    )
    model: UpliftModelParams
    gate: UpliftGateSettings
    offer_costs: dict[str, float] = Field(description="CNY per offer made (besides the call); missing offers cost 0")
    min_incremental_value: float = Field(ge=0, description="List only customers expected to keep more than this")
