"""Feature windows and the credit-score formula."""

from pydantic import Field, model_validator

from tiercast.settings.base import Section


class CreditScoreSettings(Section):
    """Weights and caps of the credit score (formula written out in tiercast/defaults/features.yaml)."""

    weight_on_time: float = Field(ge=0, le=1)
    weight_days_late: float = Field(ge=0, le=1)
    weight_arrears: float = Field(ge=0, le=1)
    weight_months_in_arrears: float = Field(ge=0, le=1)
    days_late_cap: float = Field(gt=0)
    arrears_cap_cny: float = Field(gt=0)
    months_in_arrears_cap: float = Field(gt=0)
    no_history_score: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> "CreditScoreSettings":
        total = self.weight_on_time + self.weight_days_late + self.weight_arrears + self.weight_months_in_arrears
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"credit score weights must sum to 1 (they sum to {total})")
        return self


class FeaturesSettings(Section):
    """Feature windows and the credit-score formula."""

    credit_window_months: int = Field(ge=1, le=120)
    settled_tolerance_cny: float = Field(ge=0)
    repeat_contact_days: int = Field(ge=1)
    credit_score: CreditScoreSettings
