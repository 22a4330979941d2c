"""Service levels: targets per tier, KPI definitions, agent groups and overflow, seats, patience, handle time."""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, model_validator

from tiercast.settings.base import Section


class AgentGroup(Section):
    """An agent group (one queue): its share of the seats and the queues its idle agents also serve, in order."""

    seat_share: float = Field(ge=0.0, le=1.0)
    overflow: tuple[str, ...] = ()


class PatienceSettings(Section):
    """Caller patience for the simulation: exponential with this mean (Erlang A's assumption)."""

    mean_seconds: float = Field(gt=0.0)


class HandleSettings(Section):
    """Handle time = log-normal talk time (mean, coefficient of variation) + fixed after-call work."""

    talk_mean_seconds: float = Field(gt=0.0)
    talk_cv: float = Field(ge=0.0)
    after_call_work_seconds: float = Field(ge=0.0)

    @property
    def mean_seconds(self) -> float:
        """Return the mean handle time (talk + after-call work) in seconds."""
        return self.talk_mean_seconds + self.after_call_work_seconds


class ServiceSettings(Section):
    """Service levels: targets per tier, KPI definitions, agent groups and overflow, seats, patience, handle time."""

    answer_within_seconds: int = Field(gt=0)
    targets: dict[str, float] = Field(min_length=1)
    unlisted_tier: str
    interval_minutes: int = Field(gt=0, le=1440)
    fcr_window_days: int = Field(ge=1)
    complaints_per: int = Field(ge=1)
    callback_due_hours: float = Field(gt=0.0)
    seats: int = Field(ge=1)
    groups: dict[str, AgentGroup] = Field(min_length=1)
    patience: PatienceSettings
    handle: HandleSettings

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = {tier: share for tier, share in self.targets.items() if not 0.0 < share <= 1.0}
        if bad:
            raise ValueError(f"targets must be shares in (0, 1]; got {bad}")
        if self.unlisted_tier not in self.targets:
            raise ValueError(f"unlisted_tier {self.unlisted_tier!r} has no target (targets: {sorted(self.targets)})")
        if 1440 % self.interval_minutes:
            raise ValueError("interval_minutes must divide a day (1440 minutes)")
        for name, group in self.groups.items():
            unknown = sorted(set(group.overflow) - set(self.groups))
            if unknown or name in group.overflow:
                raise ValueError(f"groups.{name}.overflow must name other groups; got {list(group.overflow)}")
        total = sum(group.seat_share for group in self.groups.values())
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"groups' seat_share must sum to 1; they sum to {total:g}")
        return self

    @property
    def interval_seconds(self) -> float:
        """Return the staffing interval in seconds."""
        return 60.0 * self.interval_minutes

    def target(self, tier: str) -> float:
        """Return the service-level target of `tier` (a tier without one is held to the unlisted tier's)."""
        return self.targets.get(tier, self.targets[self.unlisted_tier])

    def group_seats(self) -> dict[str, int]:
        """Return the seats per group: `seats` split by seat_share, rounded so they add up to `seats`."""
        exact = {name: self.seats * group.seat_share for name, group in self.groups.items()}
        seats = {name: math.floor(value) for name, value in exact.items()}
        by_remainder = sorted(exact, key=lambda name: exact[name] - seats[name], reverse=True)
        for name in by_remainder[: self.seats - sum(seats.values())]:
            seats[name] += 1
        return seats
