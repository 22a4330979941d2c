"""The call simulation: hand-built days with exact outcomes, the centre's measures, agreement with queueing theory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from models.call_simulation import Roster, answered_waits, longest_waits, occupancy, service_levels, simulate_calls
from models.erlang import erlang_a, erlang_c_service_level, priority_mean_waits

INF = np.inf


def calls_frame(rows: Sequence[tuple[float, int, str, float, float]]) -> pd.DataFrame:
    """Calls from (arrival_s, priority, group, handle_s, patience_s) rows."""
    return pd.DataFrame(rows, columns=["arrival_s", "priority", "group", "handle_s", "patience_s"])


def one_queue(agents: int) -> Roster:
    return Roster(("standard",), np.array([[agents]]), interval_s=1800.0)


def poisson_calls(
    n: int, agents: int, occupancy_: float, handle_s: float, patience_s: float, seed: int, classes: int = 1
) -> pd.DataFrame:
    """M/M/c(+M) calls whose realised arrival rate and mean handle time are exactly the nominal ones.

    Rescaling the draws to their nominal means removes the load noise of a finite sample, the main
    source of run-to-run spread near full occupancy; what remains is the queue's own fluctuation.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, n) * handle_s / (occupancy_ * agents)
    handle = rng.exponential(handle_s, n)
    return pd.DataFrame(
        {
            "arrival_s": np.cumsum(gaps * (handle_s / (occupancy_ * agents)) / gaps.mean()),
            "priority": rng.integers(1, classes + 1, n),
            "group": "standard",
            "handle_s": handle * handle_s / handle.mean(),
            "patience_s": rng.exponential(patience_s, n) if np.isfinite(patience_s) else np.full(n, INF),
        }
    )


def steady(frame: pd.DataFrame) -> np.ndarray:
    """Mask dropping the first 5% of calls (the empty-centre start)."""
    return np.arange(len(frame)) >= len(frame) // 20


def test_one_agent_serves_in_priority_then_arrival_order() -> None:
    # given one agent busy until 100 s and three callers queueing behind, the priority-1 caller goes first
    calls = calls_frame(
        [
            (0, 5, "standard", 100, INF),
            (10, 9, "standard", 10, INF),
            (20, 5, "standard", 10, INF),
            (30, 1, "standard", 10, INF),
        ]
    )
    out = simulate_calls(calls, one_queue(1))
    assert out["start_s"].tolist() == [0.0, 120.0, 110.0, 100.0]
    assert out["wait_s"].tolist() == [0.0, 110.0, 90.0, 70.0]
    assert out["served_by"].tolist() == ["standard"] * 4


def test_caller_abandons_when_wait_exceeds_patience() -> None:
    # given patience 50 s behind a 100 s call: the caller leaves at 60 s; the next (patience 80 s) is answered at 100 s
    calls = calls_frame([(0, 5, "standard", 100, INF), (10, 5, "standard", 10, 50), (20, 5, "standard", 10, 80)])
    out = simulate_calls(calls, one_queue(1))
    assert out["answered"].tolist() == [True, False, True]
    assert out["wait_s"].tolist() == [0.0, 50.0, 80.0]
    assert out["abandon_s"].iloc[1] == 60.0
    assert np.isnan(out["abandon_s"].iloc[2])
    assert out["served_by"].tolist() == ["standard", "", "standard"]
    answered, wait_s = answered_waits(calls, one_queue(1))
    assert answered.tolist() == [True, False, True]
    assert wait_s.tolist() == [0.0, 50.0, 80.0]


def test_vip_agents_take_other_queues_only_when_idle() -> None:
    # given a VIP agent that overflows into standard: a standard caller goes to the idle VIP agent, but once
    # VIP and standard callers both wait, the VIP agent takes its own queue first, even a priority-5 caller
    roster = Roster(("vip", "standard"), np.array([[1], [1]]), overflow={"vip": ("standard",)})
    calls = calls_frame(
        [
            (0, 5, "standard", 100, INF),
            (10, 5, "standard", 50, INF),
            (20, 5, "vip", 40, INF),
            (30, 1, "standard", 10, INF),
            (40, 1, "vip", 10, INF),
        ]
    )
    out = simulate_calls(calls, roster)
    assert out["served_by"].tolist() == ["standard", "vip", "vip", "standard", "vip"]
    assert out["start_s"].tolist() == [0.0, 10.0, 70.0, 100.0, 60.0]


def test_staffing_changes_at_the_interval_boundary() -> None:
    # given no agent in the first 60 s interval and one from 60 s: the waiting caller is answered at 60 s
    calls = calls_frame([(10, 5, "standard", 30, INF), (20, 5, "standard", 30, INF)])
    out = simulate_calls(calls, Roster(("standard",), np.array([[0, 1]]), interval_s=60.0))
    assert out["start_s"].tolist() == [60.0, 90.0]


def test_service_levels_count_abandoned_calls_as_offered() -> None:
    calls = calls_frame(
        [
            (0, 5, "standard", 100, INF),
            (10, 5, "standard", 10, 50),
            (20, 5, "standard", 10, 80),
            (1900, 5, "standard", 10, INF),
        ]
    )
    table = service_levels(calls, simulate_calls(calls, one_queue(1).with_agents(np.array([[1, 1]]))), 1800.0)
    first = table.iloc[0]
    assert (first["offered"], first["answered"], first["abandoned"], first["answered_within"]) == (3, 2, 1, 1)
    assert first["service_level"] == pytest.approx(1 / 3)
    assert first["asa_s"] == 40.0
    assert first["abandon_rate"] == pytest.approx(1 / 3)
    assert first["max_wait_s"] == 80.0
    assert table["interval"].tolist() == [0, 1]


def test_black_listed_caller_in_a_busy_interval_is_served_last_and_its_wait_reported() -> None:
    # given two agents busy with a queue of priority-5 callers and one priority-9 caller who arrived first
    rows = [(0, 5, "standard", 60, INF), (0, 5, "standard", 60, INF), (5, 9, "standard", 30, INF)]
    rows += [(10 + i, 5, "standard", 30, INF) for i in range(6)]
    calls = calls_frame(rows)
    out = simulate_calls(calls, Roster(("standard",), np.array([[2]])))
    assert out["start_s"].iloc[2] == max(out["start_s"])  # answered after every priority-5 caller
    assert out["start_s"].iloc[2] == 150.0
    report = longest_waits(calls, out, 1800.0)
    assert report.to_dict("records") == [{"interval": 0, "calls": 1, "answered": 1, "longest_wait_s": 145.0}]
    table = service_levels(calls, out, 1800.0)
    assert table.loc[table["priority"] == 9, "max_wait_s"].item() == 145.0


def test_occupancy_splits_busy_time_across_intervals() -> None:
    calls = calls_frame([(0, 5, "standard", 30, INF), (50, 5, "standard", 20, INF)])
    roster = Roster(("standard", "vip"), np.array([[1, 1], [2, 0]]), interval_s=60.0)
    table = occupancy(simulate_calls(calls, roster), roster)
    assert table["busy_s"].tolist() == [40.0, 10.0, 0.0, 0.0]
    assert table["occupancy"].iloc[:3].tolist() == pytest.approx([40 / 60, 10 / 60, 0.0])
    assert np.isnan(table["occupancy"].iloc[3])


@pytest.mark.parametrize(("occupancy_", "agents", "handle_s"), [(0.70, 5, 60.0), (0.85, 20, 30.0)])
def test_single_queue_matches_erlang_c_within_one_point(occupancy_: float, agents: int, handle_s: float) -> None:
    calls = poisson_calls(300_000, agents, occupancy_, handle_s, INF, seed=1)
    out = simulate_calls(calls, one_queue(agents))
    keep = steady(calls)
    simulated = (out["answered"] & (out["wait_s"] <= 20.0)).to_numpy()[keep].mean()
    assert simulated == pytest.approx(erlang_c_service_level(agents, occupancy_ * agents, handle_s, 20.0), abs=0.01)


@pytest.mark.slow
def test_single_queue_at_95_percent_occupancy_matches_erlang_c_within_one_point() -> None:
    # near full occupancy the queue wanders slowly: 4 million calls (about 10 s) keep the spread near 0.3 points
    calls = poisson_calls(4_000_000, 50, 0.95, 20.0, INF, seed=1)
    out = simulate_calls(calls, one_queue(50))
    simulated = (out["answered"] & (out["wait_s"] <= 20.0)).to_numpy()[steady(calls)].mean()
    assert simulated == pytest.approx(erlang_c_service_level(50, 47.5, 20.0, 20.0), abs=0.01)


def test_single_queue_with_abandonment_matches_erlang_a_within_two_points() -> None:
    calls = poisson_calls(200_000, 20, 0.95, 60.0, 120.0, seed=2)
    out = simulate_calls(calls, one_queue(20))
    keep = steady(calls)
    theory = erlang_a(20, 19.0, 60.0, 120.0, 20.0)
    assert (out["answered"] & (out["wait_s"] <= 20.0)).to_numpy()[keep].mean() == pytest.approx(
        theory["service_level"], abs=0.02
    )
    assert (~out["answered"]).to_numpy()[keep].mean() == pytest.approx(theory["p_abandon"], abs=0.02)


def test_two_priority_classes_match_cobham_within_five_percent() -> None:
    # two agents at 65%: over seeds 1-6 the class means stay within 1.5% of Cobham's
    calls = poisson_calls(400_000, 2, 0.65, 60.0, INF, seed=3, classes=2)
    out = simulate_calls(calls, one_queue(2))
    keep = steady(calls)
    expected = priority_mean_waits(2, [0.65 * 2 / 60.0 / 2] * 2, 60.0)
    for priority, wait in zip((1, 2), expected, strict=True):
        simulated = out["wait_s"].to_numpy()[keep & (calls["priority"] == priority).to_numpy()].mean()
        assert simulated == pytest.approx(wait, rel=0.05)


def test_a_call_for_a_group_missing_from_the_roster_is_refused() -> None:
    calls = calls_frame([(0, 5, "english", 10, INF)])
    with pytest.raises(ValueError, match="english"):
        simulate_calls(calls, one_queue(1))
