"""`tiercast staffing`: calls of a day routed by the published table, patience fitted, seats split over groups."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.privacy import subscriber_key
from pipelines.staffing_plan import BLACK, day_calls, fitted_patience, replay, roster
from tiercast.errors import InputError
from tiercast.settings import Settings

KEY = b"k" * 32
DAY = date(2026, 10, 20)


def contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 1, 2],
            "contact_time": pd.to_datetime(
                [
                    "2026-10-20 09:00:05",
                    "2026-10-20 09:00:10",
                    "2026-10-20 23:59:59",
                    "2026-10-21 00:00:00",
                    "2026-10-20 10:00:00",
                ]
            ),
            "channel": ["voice", "voice", "voice", "voice", "chat"],
            "wait_seconds": [10.0, 20.0, 30.0, 40.0, 0.0],
            "abandoned": [True, False, True, False, False],
            "handle_seconds": [0.0, 200.0, 0.0, 100.0, 50.0],
        }
    )


def subscribers() -> pd.DataFrame:
    return pd.DataFrame({"subscriber_id": [1, 2, 3], "msisdn": ["13800000001", "13800000002", "13800000003"]})


def test_patience_is_time_waited_over_calls_abandoned() -> None:
    assert fitted_patience(contacts()) == (10 + 20 + 30 + 40) / 2  # the chat's 0 s does not count
    with pytest.raises(InputError, match="no abandoned inbound call"):
        fitted_patience(contacts().assign(abandoned=False))


def test_seats_are_split_by_group_shares_and_every_group_is_staffed(settings: Settings) -> None:
    service = settings.service
    assert dict(zip(roster(service, 1240).groups, roster(service, 1240).agents[:, 0], strict=True)) == dict(
        zip(service.groups, service.group_seats().values(), strict=True)
    )
    small = roster(service, 3)
    assert small.agents[:, 0].tolist() == [1, 1, 1] and small.agents.shape[1] == 48  # 30-minute intervals


def test_a_days_calls_get_priority_and_queue_from_the_published_table(settings: Settings) -> None:
    keys = subscriber_key(pd.Series(["13800000001", "13800000002"]), KEY)
    routing = pd.DataFrame(
        {"tier": ["high", "low"], "priority": [1, 9], "queue": ["vip", "standard"]}, index=keys.to_numpy()
    )
    calls, patience = day_calls(contacts(), subscribers(), routing, DAY, settings.service, KEY, seed=3)
    assert patience == 50.0
    assert calls["arrival_s"].tolist() == [32405.0, 32410.0, 86399.0]  # the next day's call and the chat left out
    assert calls["priority"].tolist() == [1, 9, 7]  # subscriber 3 is not in the table: the standard queue
    assert calls["group"].tolist() == ["vip", "standard", "standard"]
    assert calls["tier"].tolist() == ["high", BLACK, settings.service.unlisted_tier]
    acw = settings.service.handle.after_call_work_seconds
    assert float(calls["handle_s"].iloc[1]) == 200.0 + acw  # answered: its own handle time
    assert calls.loc[[0, 2], "patience_s"].tolist() == [10.0, 30.0]  # abandoned: patience = the wait
    assert float(calls["patience_s"].iloc[1]) > 20.0  # answered: patience beyond the wait
    assert np.all(calls["handle_s"] >= 1.0 + acw)


def test_a_caller_outside_tonights_base_is_routed_as_unlisted(settings: Settings) -> None:
    """A line that left (or whose row was quarantined) still calls: it is not in the tier table, not an error."""
    keys = subscriber_key(pd.Series(["13800000001"]), KEY)
    routing = pd.DataFrame({"tier": ["high"], "priority": [1], "queue": ["vip"]}, index=keys.to_numpy())
    base = subscribers().iloc[[0]]  # subscribers 2 and 3 are not in tonight's active base
    calls, _ = day_calls(contacts(), base, routing, DAY, settings.service, KEY, seed=3)
    assert calls["priority"].tolist() == [1, 7, 7]
    assert calls["tier"].tolist() == ["high", settings.service.unlisted_tier, settings.service.unlisted_tier]


def busy_morning(settings: Settings, seed: int = 15) -> pd.DataFrame:
    """700 calls from 08:00 to 14:00, each tier mostly to its own queue but some to any, 5% black list."""
    rng = np.random.default_rng(seed)
    n, groups = 700, list(settings.service.groups)
    tier = rng.choice(["high", "mid", "low", BLACK], n, p=[0.2, 0.3, 0.45, 0.05])
    group = np.where(rng.random(n) < 0.7, np.where(tier == "high", groups[0], groups[-1]), rng.choice(groups, n))
    return pd.DataFrame(
        {
            "arrival_s": np.sort(rng.uniform(8 * 3600.0, 14 * 3600.0, n)).round(),
            "priority": np.select([tier == "high", tier == "mid", tier == "low"], [2, 4, 5], 9),
            "group": group,
            "handle_s": rng.lognormal(5.5, 0.4, n).round() + 30.0,
            "patience_s": rng.exponential(120.0, n),
            "tier": tier,
        }
    )


# (interval, group, required, erlang) of the intervals with calls, as the search found them before issue 15
BUSY_MORNING_AGENTS = [
    (16, "vip", 5, 5), (16, "retention", 2, 2), (16, "standard", 9, 9), (17, "vip", 2, 5), (17, "retention", 3, 3),
    (17, "standard", 9, 9), (18, "vip", 2, 3), (18, "retention", 3, 3), (18, "standard", 12, 12), (19, "vip", 0, 3),
    (19, "retention", 2, 2), (19, "standard", 10, 10), (20, "vip", 3, 5), (20, "retention", 2, 2),
    (20, "standard", 8, 10), (21, "vip", 5, 6), (21, "retention", 2, 2), (21, "standard", 5, 6), (22, "vip", 4, 4),
    (22, "retention", 3, 3), (22, "standard", 8, 10), (23, "vip", 2, 4), (23, "retention", 3, 3),
    (23, "standard", 8, 10), (24, "vip", 3, 7), (24, "retention", 4, 4), (24, "standard", 8, 10), (25, "vip", 4, 6),
    (25, "retention", 4, 4), (25, "standard", 7, 9), (26, "vip", 3, 4), (26, "retention", 3, 3),
    (26, "standard", 6, 9), (27, "vip", 1, 4), (27, "retention", 4, 4), (27, "standard", 9, 10),
]  # fmt: skip


def test_the_agents_required_per_interval_and_erlangs_count_are_those_the_search_always_gave(
    settings: Settings, tmp_path: Path
) -> None:
    """Given a generated busy morning replayed with 60 seats, then the search's agents and Erlang A's per interval
    and group are the pinned ones (speed-ups must not change an answer), zero outside the calls' hours."""
    plan = replay(busy_morning(settings), 120.0, DAY, settings.service, 60, tmp_path)
    table = plan.required
    assert plan.verdict["met"].all() and plan.verdict["offered"].tolist() == [124, 221, 323]
    busy = table[(table["required"] > 0) | (table["erlang"] > 0)]
    assert [tuple(row) for row in busy[["interval", "group", "required", "erlang"]].itertuples(index=False)] == (
        BUSY_MORNING_AGENTS
    )
    assert len(table) == 48 * 3 and (table["available"] > 0).all()
