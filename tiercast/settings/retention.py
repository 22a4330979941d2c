"""Retention lists: value-at-risk formula, exclusions, desks and daily capacities, offers."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from tiercast.settings.base import Section


class ValueAtRisk(Section):
    """value_at_risk = churn_score x arpu_column x margin_share x remaining_months (CNY)."""

    arpu_column: str
    margin_share: float = Field(gt=0.0, le=1.0)
    remaining_months: float = Field(gt=0.0)


class Desk(Section):
    """An outbound retention desk: which tiers it calls, how many customers it lists a day, and optionally its
    own control share (else retention.control_share)."""

    tiers: list[str] = Field(min_length=1)
    daily_capacity: int = Field(ge=0)
    control_share: float | None = Field(default=None, ge=0.0, lt=1.0)


class Offer(Section):
    """A suggested action for a tier, used when every feature bound in `when` holds (first match wins)."""

    tier: str
    when: dict[str, dict[Literal["ge", "le"], float]]
    action: str


class CallbackSettings(Section):
    """The call-back list: which tiers' missed calls are called back, by when, and the desk that calls."""

    # Defaults as in tiercast/defaults/retention.yaml (domain.md: mid tier call-back within 24 hours),
    # so a retention section written before call-back lists existed still loads.
    desk: str = Field(default="callback", min_length=1)
    tiers: list[str] = Field(default_factory=lambda: ["high", "mid"], min_length=1)
    due_hours: float = Field(default=24.0, gt=0.0)
    window_days: int = Field(default=1, ge=1)


class RetentionSettings(Section):
    """Retention lists: value-at-risk formula, exclusions, desks and daily capacities, offers."""

    value_at_risk: ValueAtRisk
    min_value_at_risk: float = Field(ge=0.0)
    recent_retention_call_days: float = Field(ge=0.0)
    run_date_offset_days: int = Field(ge=0)
    value_decimals: int = Field(ge=0)
    score_decimals: int = Field(ge=1)
    desks: dict[str, Desk] = Field(min_length=1)
    offers: list[Offer] = Field(min_length=1)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    # Default as in tiercast/defaults/retention.yaml (issue 14), so a section written before control groups loads.
    control_share: float = Field(default=0.05, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        tiers = [tier for desk in self.desks.values() for tier in desk.tiers]
        if len(tiers) != len(set(tiers)):
            raise ValueError("each tier may belong to one retention desk only")
        if self.callbacks.desk in self.desks:
            raise ValueError(f"the call-back desk {self.callbacks.desk!r} is also a retention desk")
        missing = sorted(set(tiers) - {offer.tier for offer in self.offers if not offer.when})
        if missing:
            raise ValueError(f"every desk tier needs a fallback offer with `when: {{}}`; missing: {missing}")
        return self
