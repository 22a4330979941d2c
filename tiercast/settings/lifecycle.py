"""Lifecycle stage rules (identification, growth, stable, warning) and hysteresis margins."""

from typing import Literal, Self

from pydantic import Field, model_validator

from tiercast.settings.base import Section
from tiercast.settings.tiers import Condition

RuleStage = Literal["identification", "growth", "warning"]


class StageCondition(Condition):
    """A stage rule: enter when `column op threshold`; stay while it holds with the threshold relaxed by `margin`."""

    margin: float = Field(ge=0)


class LifecycleSettings(Section):
    """Lifecycle stage rules (identification, growth, stable, warning) and hysteresis margins.

    A stage fires when any of its conditions holds; the first firing stage in `precedence` wins;
    stable is the fallback. The `churn_score` column is only evaluated when a churn score is given.
    """

    precedence: tuple[RuleStage, ...]
    identification: tuple[StageCondition, ...] = Field(min_length=1)
    warning: tuple[StageCondition, ...] = Field(min_length=1)
    growth: tuple[StageCondition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_stage_once(self) -> Self:
        if sorted(self.precedence) != ["growth", "identification", "warning"]:
            raise ValueError("precedence must list identification, growth and warning once each")
        return self
