"""Routing policy: priorities, queues, service levels and call-back by tier, stage, risk and list."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from tiercast.settings.base import Section

WILDCARD = "*"


class RiskBand(Section):
    """A churn-risk band: scores from `min_score` (inclusive) up to the next band's `min_score`."""

    name: str
    min_score: float = Field(ge=0.0, le=1.0)


class ServiceLevel(Section):
    """A service-level target: `answered_share` of calls answered by a person within `within_seconds`."""

    answered_share: float = Field(gt=0.0, le=1.0)
    within_seconds: int = Field(gt=0)
    callback_hours: float | None = Field(gt=0.0)


class RoutingRule(Section):
    """One row of the routing table: conditions (a value, a list of values or '*') -> outcome."""

    list_flag: str | list[str]
    tier: str | list[str]
    stage: str | list[str]
    risk: str | list[str]
    priority: int = Field(ge=1)
    queue: str
    service_level: str
    reason: str

    def values(self, field: str) -> tuple[str, ...] | None:
        """Return the accepted values of condition `field`, or None when it matches anything."""
        raw = getattr(self, field)
        values = (raw,) if isinstance(raw, str) else tuple(raw)
        return None if WILDCARD in values else values


class RoutingSettings(Section):
    """Routing policy: priorities, queues, service levels and call-back by tier, stage, risk and list.

    Priority 1 is served first; larger numbers wait longer. Rules are tried in order and the first
    rule whose every condition matches decides the row; the last rule must match everything.
    """

    risk_bands: list[RiskBand] = Field(min_length=1)
    service_levels: dict[str, ServiceLevel]
    tier_service_level: dict[str, str]
    rules: list[RoutingRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        cuts = [band.min_score for band in self.risk_bands]
        if cuts[0] != 0.0 or cuts != sorted(set(cuts)):
            raise ValueError("risk_bands must start at min_score 0 and rise strictly")
        for name in self.tier_service_level.values():
            if name not in self.service_levels:
                raise ValueError(f"tier_service_level names unknown service level {name!r}")
        for rule in self.rules:
            if rule.service_level != "tier" and rule.service_level not in self.service_levels:
                raise ValueError(f"rule {rule.reason!r} names unknown service level {rule.service_level!r}")
        last = self.rules[-1]
        if any(last.values(field) is not None for field in ("list_flag", "tier", "stage", "risk")):
            raise ValueError("the last routing rule must match everything ('*' in every condition)")
        black = [rule.priority for rule in self.rules if rule.values("list_flag") == ("black",)]
        others = [rule.priority for rule in self.rules if rule.values("list_flag") != ("black",)]
        # domain.md: black list always at the lowest priority, whatever else is true.
        if not black or min(black) <= max(others):
            raise ValueError("black-list rules must have a priority larger than every other rule")
        if self.rules[0].values("list_flag") != ("black",):
            raise ValueError("the first routing rule must be the black-list rule (black list wins over all)")
        red = [rule.priority for rule in self.rules if rule.values("list_flag") == ("red",)]
        # domain.md: red list (protected VIPs) always top priority.
        if not red or max(red) > min(rule.priority for rule in self.rules):
            raise ValueError("red-list rules must carry the smallest priority (served first)")
        return self
