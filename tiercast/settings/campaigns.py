"""Retention campaigns in `tiercast generate`: who is called, who is held out, and how a call changes churn."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from tiercast.settings.base import Section

ResponseType = Literal["persuadable", "sure_thing", "lost_cause", "sleeping_dog"]
Offer = Literal["discount", "data_bonus", "device", "none"]
Situation = Literal["complaining", "price_sensitive", "young", "high_value"]
RESPONSE_TYPES: tuple[ResponseType, ...] = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")
OFFERS: tuple[Offer, ...] = ("discount", "data_bonus", "device", "none")


class ResponseMix(Section):
    """How subscribers respond to a reached call: latent response types, or an effect proportional to risk.

    Types: a line's type is drawn from `shares` (relative weights) times the situation multipliers
    (`campaigns.situations`); a reached persuadable's voluntary churn logit moves by
    `effects.persuadable` (< 0), a sleeping dog's by `effects.sleeping_dog` (> 0), each times the
    offer's multiplier; sure things and lost causes do not move. Proportional: no types, a reached
    line's voluntary churn probability is multiplied by 1 - `proportional` (uplift = k x risk).
    """

    proportional: float | None = Field(default=None, gt=0, le=1, description="k of uplift = k x churn probability")
    shares: dict[ResponseType, float] = Field(default_factory=dict)
    effects: dict[Literal["persuadable", "sleeping_dog"], float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if self.proportional is not None:
            if self.shares or self.effects:
                raise ValueError("a proportional mix has no shares or effects")
            return self
        if set(self.shares) != set(RESPONSE_TYPES) or set(self.effects) != {"persuadable", "sleeping_dog"}:
            raise ValueError(f"a typed mix needs shares of {RESPONSE_TYPES} and effects of persuadable, sleeping_dog")
        if any(v < 0 for v in self.shares.values()) or sum(self.shares.values()) <= 0:
            raise ValueError("shares must be >= 0 and not all 0")
        if self.effects["persuadable"] > 0 or self.effects["sleeping_dog"] < 0:
            raise ValueError("effects: persuadable must be <= 0 (fewer leave), sleeping_dog >= 0 (more leave)")
        return self


class SituationSettings(Section):
    """What makes a line more likely one response type or another, and the thresholds that define situations."""

    complaining: float = Field(ge=0, description="Persuadable odds x this: a complaint or cancel intent in 3 months")
    price_sensitive: float = Field(ge=0, description="Persuadable odds x this when spend falls or bills run late")
    sleeper: float = Field(ge=0, description="Sleeping-dog odds x this for loyal, contract-free, low-ARPU, quiet lines")
    lost: float = Field(ge=0, description="Lost-cause odds x this for flea users and lines intending to leave")
    falling_trend: float = Field(le=0, description="arpu_trend at or below this is falling spend")
    late_share: float = Field(ge=0, le=1, description="late_share at or above this is a late payer")
    sleeper_max_arpu: float = Field(gt=0, description="Low ARPU: arpu_3m below this (CNY a month)")
    high_value_min_arpu: float = Field(gt=0, description="arpu_3m at or above this is high value (device offers fit)")


class OfferSpec(Section):
    """An offer: how often it is made and how it scales the effect of a reached call by response type."""

    share: float = Field(ge=0, description="Relative frequency (offers are drawn at random, independent of the line)")
    persuadable: float = Field(ge=0, description="Multiplier of the persuadable effect")
    sleeping_dog: float = Field(ge=0, description="Multiplier of the sleeping-dog effect")
    fits: Situation | None = Field(description="Situation in which the offer works better on persuadables")
    fit: float = Field(ge=0, description="Extra multiplier of the persuadable effect where it fits")


class CampaignTargeting(Section):
    """Who a monthly campaign targets (per desk), and the random control group held out of the calls."""

    by_risk_share: float = Field(ge=0, le=1, description="Share of a desk's eligible lines taken from the top")
    random_share: float = Field(ge=0, le=1, description="Share of the other eligible lines added at random")
    control_share: float = Field(ge=0, lt=1, description="Share of the targeted lines held out, at random")
    rank_by: Literal["churn", "value"] = Field(description="churn: p_churn_next_month; value: p x arpu_3m")


class CampaignSettings(Section):
    """Monthly retention campaigns: targeting, control group, calls, offers and the response mix."""

    enabled: bool
    mix: str = Field(description="Name of the response mix in `mixes` (CLI --response-mix)")
    mixes: dict[str, ResponseMix] = Field(min_length=1)
    targeting: CampaignTargeting
    desks: dict[str, float] = Field(min_length=1, description="Desk -> lowest arpu_3m it serves (a tier proxy)")
    call_days: int = Field(ge=1, le=15, description="Calls are made on the campaign month's first call_days days")
    answer_rate: float = Field(ge=0, le=1)
    accept: dict[ResponseType, float] = Field(description="Chance a reached line accepts the offer, by type")
    proportional_accept: float = Field(ge=0, le=1, description="Chance of accepting in a proportional mix")
    offers: dict[Offer, OfferSpec]
    situations: SituationSettings
    whole_base_truth: bool = Field(description="Write churn with and without a call for every active line")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.mix not in self.mixes:
            raise ValueError(f"campaigns.mix {self.mix!r} is not one of the mixes {sorted(self.mixes)}")
        if set(self.offers) != set(OFFERS) or sum(o.share for o in self.offers.values()) <= 0:
            raise ValueError(f"campaigns.offers must list {OFFERS} with shares not all 0")
        if set(self.accept) != set(RESPONSE_TYPES) or any(not 0 <= v <= 1 for v in self.accept.values()):
            raise ValueError(f"campaigns.accept must give a chance in [0, 1] for each of {RESPONSE_TYPES}")
        if min(self.desks.values()) != 0:
            raise ValueError("campaigns.desks: one desk must serve from arpu_3m 0 (every line has a desk)")
        return self

    @property
    def response_mix(self) -> ResponseMix:
        """The mix in use."""
        return self.mixes[self.mix]

    def using(self, mix: str) -> CampaignSettings:
        """Return these settings with campaigns on and response mix `mix` (ValueError naming the mixes if unknown)."""
        return CampaignSettings.model_validate({**self.model_dump(), "enabled": True, "mix": mix})
