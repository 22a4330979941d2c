"""Value score weights, tier cut-offs, list overrides and the flea-user rule."""

from typing import Literal, Self

from pydantic import Field, model_validator

from tiercast.settings.base import Section

Op = Literal["<", "<=", ">", ">="]


class Condition(Section):
    """One comparison on a feature column: `column op threshold` (a missing value never holds)."""

    column: str
    op: Op
    threshold: float
    label: str = Field(description="Reason text, a Python format string of {value}, e.g. 'arrears {value:.0f} CNY'")


class ValueScoreSettings(Section):
    """value_score = ARPU x (1 + tenure_weight x min(tenure, cap) / cap) x (1 - credit_weight x (1 - credit))."""

    arpu_column: Literal["arpu_1m", "arpu_3m", "arpu_6m"]
    tenure_weight: float = Field(ge=0)
    tenure_cap_months: float = Field(gt=0)
    credit_weight: float = Field(ge=0, le=1)


class CutoffSettings(Section):
    """Where high and mid start: shares of subscribers by value score, or absolute value scores in CNY."""

    mode: Literal["quantile", "absolute"]
    high_share: float = Field(gt=0, lt=1)
    mid_share: float = Field(ge=0, lt=1)
    high_min_cny: float = Field(ge=0)
    mid_min_cny: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high_share + self.mid_share > 1:
            raise ValueError("high_share + mid_share must not exceed 1")
        if self.mid_min_cny > self.high_min_cny:
            raise ValueError("mid_min_cny must not exceed high_min_cny")
        return self


class FleaSignal(Condition):
    """A flea-user sign worth `points` when it holds."""

    points: int = Field(ge=1)


class FleaSettings(Section):
    """Flea user (跳蚤用户): short tenure, no bill paid on time, and signals worth at least `min_points`."""

    max_tenure_months: float = Field(gt=0)
    max_on_time_ratio: float = Field(ge=0, le=1)
    signals: tuple[FleaSignal, ...] = Field(min_length=1)
    min_points: int = Field(ge=1)

    @model_validator(mode="after")
    def _never_from_arpu(self) -> Self:
        # domain.md: low-ARPU loyal customers are not flea users; tell them apart from payment history
        # and behaviour, never from ARPU alone. So no flea signal may look at ARPU.
        for signal in self.signals:
            if signal.column.startswith("arpu"):
                raise ValueError(f"flea signals must not use ARPU ({signal.column}): domain.md")
        if self.min_points > sum(signal.points for signal in self.signals):
            raise ValueError("min_points exceeds the points of all signals together")
        return self


class TiersSettings(Section):
    """Value score weights, tier cut-offs, list overrides and the flea-user rule."""

    value_score: ValueScoreSettings
    cutoffs: CutoffSettings
    flea: FleaSettings
