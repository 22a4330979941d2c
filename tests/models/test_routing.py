"""Routing policy: risk bands, the first-match rule table, service levels, and the list overrides."""

from __future__ import annotations

import itertools
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from models.routing import risk_band, route
from tiercast.settings.routing import RoutingSettings

TIERS = ("high", "mid", "low")
STAGES = ("identification", "growth", "stable", "warning")


def packaged() -> RoutingSettings:
    """The routing policy as shipped (tiercast/defaults/routing.yaml)."""
    text = (resources.files("tiercast") / "defaults" / "routing.yaml").read_text()
    return RoutingSettings.model_validate(yaml.safe_load(text))


def small_policy(**changes: Any) -> dict[str, Any]:
    """A four-rule policy written out here so tuning the packaged defaults does not move these tests."""
    policy: dict[str, Any] = {
        "risk_bands": [{"name": "low", "min_score": 0.0}, {"name": "high", "min_score": 0.5}],
        "service_levels": {
            "vip": {"answered_share": 0.9, "within_seconds": 20, "callback_hours": None},
            "mid": {"answered_share": 0.85, "within_seconds": 20, "callback_hours": 24},
            "std": {"answered_share": 0.85, "within_seconds": 30, "callback_hours": None},
        },
        "tier_service_level": {"high": "vip", "mid": "mid", "low": "std"},
        "rules": [
            {"list_flag": "black", "tier": "*", "stage": "*", "risk": "*", "priority": 9, "queue": "standard",
             "service_level": "std", "reason": "black"},
            {"list_flag": "red", "tier": "*", "stage": "*", "risk": "*", "priority": 1, "queue": "vip",
             "service_level": "vip", "reason": "red"},
            {"list_flag": "none", "tier": ["high", "mid"], "stage": "warning", "risk": "*", "priority": 2,
             "queue": "retention", "service_level": "tier", "reason": "warning"},
            {"list_flag": "*", "tier": "*", "stage": "*", "risk": "*", "priority": 5, "queue": "standard",
             "service_level": "tier", "reason": "rest"},
        ],
    }  # fmt: skip
    policy.update(changes)
    return policy


def scored(rows: list[tuple[str, bool, bool, str, float]]) -> pd.DataFrame:
    """Rows of (tier, red, black, stage, churn_score)."""
    tier, red, black, stage, score = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "tier": pd.Series(tier, dtype="str"),
            "is_red_list": list(red),
            "is_black_list": list(black),
            "lifecycle_stage": pd.Series(stage, dtype="str"),
            "churn_score": list(score),
        }
    )


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # given a row, when routed with the small policy, then (priority, queue, share, seconds, callback, reason)
        (("low", False, True, "stable", 0.1), (9, "standard", 0.85, 30, np.nan, "black")),
        (("high", True, True, "warning", 0.9), (9, "standard", 0.85, 30, np.nan, "black")),
        (("low", True, False, "stable", 0.1), (1, "vip", 0.9, 20, np.nan, "red")),
        (("high", False, False, "warning", 0.2), (2, "retention", 0.9, 20, np.nan, "warning")),
        (("mid", False, False, "warning", 0.2), (2, "retention", 0.85, 20, 24.0, "warning")),
        (("mid", False, False, "stable", 0.2), (5, "standard", 0.85, 20, 24.0, "rest")),
        (("low", False, False, "warning", 0.7), (5, "standard", 0.85, 30, np.nan, "rest")),
    ],
)
def test_rule_table_outcomes(row: tuple[str, bool, bool, str, float], expected: tuple[Any, ...]) -> None:
    routed = route(scored([row]), RoutingSettings.model_validate(small_policy())).iloc[0]
    got = tuple(routed[c] for c in ("priority", "queue", "sla_target_share", "sla_target_seconds", "callback_hours"))
    assert got[:4] == expected[:4]
    assert (np.isnan(got[4]) and np.isnan(expected[4])) or got[4] == expected[4]
    assert routed["reason"] == expected[5]


@pytest.mark.parametrize(
    ("score", "band"),
    [(0.0, "low"), (0.0999, "low"), (0.1, "medium"), (0.2999, "medium"), (0.3, "high"), (1.0, "high")],
)
def test_risk_band_boundaries_are_inclusive_lower_bounds(score: float, band: str) -> None:
    assert risk_band(pd.Series([score]), packaged()).tolist() == [band]


def full_grid() -> pd.DataFrame:
    """Every tier x stage x score x list combination."""
    rows = [
        (tier, red, black, stage, score)
        for tier, stage, score, (red, black) in itertools.product(
            TIERS, STAGES, (0.0, 0.05, 0.2, 0.5, 1.0), [(False, False), (True, False), (False, True), (True, True)]
        )
    ]
    return scored(rows)


def test_red_list_is_always_at_the_top_priority() -> None:
    routed = route(full_grid(), packaged())
    red = routed[routed["is_red_list"] & ~routed["is_black_list"]]
    assert len(red) == 60
    assert (red["priority"] == routed["priority"].min()).all()
    assert red["priority"].eq(1).all()
    assert (red["sla_target_share"] == 0.9).all()


def test_black_list_is_always_last_whatever_else_holds() -> None:
    routed = route(full_grid(), packaged())
    black = routed[routed["is_black_list"]]
    others = routed[~routed["is_black_list"]]
    assert len(black) == 120
    assert black["priority"].min() > others["priority"].max()


def test_high_tier_in_warning_stage_goes_to_the_retention_desk_at_the_front() -> None:
    routed = route(full_grid(), packaged())
    target = routed[(routed["tier"] == "high") & (routed["lifecycle_stage"] == "warning") & ~routed["is_black_list"]]
    assert len(target) == 10
    assert (target["queue"] == "retention").all()
    assert (target["priority"] == 1).all()


def test_packaged_service_levels_follow_the_domain_targets() -> None:
    routed = route(scored([("high", False, False, "stable", 0.0), ("mid", False, False, "stable", 0.0),
                           ("low", False, False, "stable", 0.0)]), packaged())  # fmt: skip
    assert routed["sla_target_share"].tolist() == [0.9, 0.85, 0.85]
    assert routed["sla_target_seconds"].tolist() == [20, 20, 20]
    assert routed["callback_hours"].fillna(0).tolist() == [0, 24, 0]
    assert routed["queue"].tolist() == ["vip", "standard", "standard"]


def test_every_row_carries_a_reason_and_the_input_is_untouched() -> None:
    grid = full_grid()
    before = grid.copy()
    routed = route(grid, packaged())
    assert routed["reason"].str.len().gt(0).all()
    pd.testing.assert_frame_equal(grid, before)
    assert routed.dtypes[["priority", "sla_target_seconds"]].eq("int64").all()


def test_unknown_tier_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no service level for tier"):
        route(scored([("platinum", False, False, "stable", 0.1)]), RoutingSettings.model_validate(small_policy()))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: [r[1], r[0], *r[2:]], "first routing rule must be the black-list rule"),
        (lambda r: r[:3], "last routing rule must match everything"),
        (lambda r: [{**r[0], "priority": 5}, *r[1:]], "black-list rules must have a priority larger"),
        (lambda r: [r[0], {**r[1], "priority": 3}, *r[2:]], "red-list rules must carry the smallest priority"),
        (lambda r: [r[0], {**r[1], "service_level": "gold"}, *r[2:]], "unknown service level"),
    ],
)
def test_inconsistent_policies_are_rejected(change: Any, message: str) -> None:
    policy = small_policy()
    with pytest.raises(ValidationError, match=message):
        RoutingSettings.model_validate({**policy, "rules": change(policy["rules"])})


def test_risk_bands_must_start_at_zero_and_rise() -> None:
    bands = [{"name": "a", "min_score": 0.2}, {"name": "b", "min_score": 0.1}]
    with pytest.raises(ValidationError, match="risk_bands"):
        RoutingSettings.model_validate(small_policy(risk_bands=bands))
