"""A discrete-event simulation of one day of inbound calls, and the centre's measures of it.

Queue discipline, as published in the tier table: each agent group has one queue; a queue is served
by non-preemptive priority (1 first ... 9, the black list, last) and first come, first served within
a priority. A caller whose wait would exceed their patience hangs up at arrival + patience and
leaves the queue. An idle agent takes the next caller from their own group's queue first, then from
the queues their group overflows into (`Roster.overflow`, in the order listed); an arriving caller
goes to an idle agent of the requested group first, then to an idle agent of a group that overflows
into that queue (in roster order). Staffing changes at interval boundaries: new agents start at once,
leaving agents finish the call in hand (non-preemptive). After the last interval its staffing holds
until the queue is empty, so every call ends answered or abandoned.

Own event loop (heapq of call completions + one priority heap per queue + the arrivals in time
order), not SimPy: on one day at the seeds' size (430,000 calls, 1,240 seats) it takes about 1 s
against 12 s for the same model written as SimPy processes, with identical outcomes
(benchmarks/bench_call_simulation.py), and it adds no dependency.
Abandonments are resolved lazily: a caller whose deadline has passed when an agent reaches them in
the queue is recorded as abandoned at that deadline, which gives the same outcomes as scheduling
an abandonment event per caller, at no cost for callers who are answered.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CALL_COLUMNS = ("arrival_s", "priority", "group", "handle_s", "patience_s")
OUTCOME_COLUMNS = ("answered", "wait_s", "served_by", "start_s", "end_s", "abandon_s")
SERVICE_LEVEL_SECONDS = 20.0  # domain.md: "share of calls answered by a person within 20 s"


@dataclass(frozen=True, eq=False)
class Roster:
    """Agents on duty per group (rows, in `groups` order) and interval (columns), and the overflow rules."""

    groups: tuple[str, ...]
    agents: np.ndarray
    interval_s: float = 1800.0
    overflow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def served_queues(self) -> list[list[int]]:
        """Return, per group, the queues its agents take calls from: its own first, then its overflow."""
        index = {name: g for g, name in enumerate(self.groups)}
        return [[g] + [index[other] for other in self.overflow.get(name, ())] for g, name in enumerate(self.groups)]

    def with_agents(self, agents: np.ndarray) -> Roster:
        """Return the same roster with another agents matrix."""
        return Roster(self.groups, np.asarray(agents), self.interval_s, self.overflow)


def interval_of(seconds: pd.Series | np.ndarray, interval_s: float) -> np.ndarray:
    """Return the 0-based interval index of each time in seconds."""
    return np.floor_divide(np.asarray(seconds, dtype="float64"), interval_s).astype("int64")


def simulate_calls(calls: pd.DataFrame, roster: Roster) -> pd.DataFrame:
    """Return per call (same index): answered, wait_s, served_by, start_s, end_s, abandon_s (NaN if answered)."""
    start_s, served_code = _simulate(calls, roster)
    answered = served_code >= 0
    arrival_s = calls["arrival_s"].to_numpy(dtype="float64")
    deadline = arrival_s + calls["patience_s"].to_numpy(dtype="float64")
    names = np.array([*roster.groups, ""], dtype=object)
    return pd.DataFrame(
        {
            "answered": answered,
            "wait_s": np.where(answered, start_s - arrival_s, deadline - arrival_s),
            "served_by": names[served_code],
            "start_s": np.where(answered, start_s, np.nan),
            "end_s": np.where(answered, start_s + calls["handle_s"].to_numpy(dtype="float64"), np.nan),
            "abandon_s": np.where(answered, np.nan, deadline),
        },
        index=calls.index,
    )


def answered_waits(calls: pd.DataFrame, roster: Roster) -> tuple[np.ndarray, np.ndarray]:
    """Return (answered, wait_s) arrays in the calls' order: `simulate_calls` without the frame, for searches."""
    start_s, served_code = _simulate(calls, roster)
    answered = served_code >= 0
    arrival_s = calls["arrival_s"].to_numpy(dtype="float64")
    deadline = arrival_s + calls["patience_s"].to_numpy(dtype="float64")
    return answered, np.where(answered, start_s - arrival_s, deadline - arrival_s)


def _simulate(calls: pd.DataFrame, roster: Roster) -> tuple[np.ndarray, np.ndarray]:
    """Return per call (in the calls' order) the service start (NaN if abandoned) and serving group code (-1)."""
    unknown = set(calls["group"].unique()) - set(roster.groups)
    if unknown:
        raise ValueError(f"calls request groups missing from the roster: {sorted(unknown)}")
    if roster.agents.shape[0] != len(roster.groups):
        raise ValueError("roster.agents needs one row per group")
    order = np.argsort(calls["arrival_s"].to_numpy(dtype="float64"), kind="stable")
    arrival = calls["arrival_s"].to_numpy(dtype="float64")[order]
    group_index = {name: g for g, name in enumerate(roster.groups)}
    requested = calls["group"].map(group_index).to_numpy()[order]
    start, served = _run_queue(
        arrival.tolist(),
        calls["priority"].to_numpy(dtype="int64")[order].tolist(),
        [int(g) for g in requested],
        calls["handle_s"].to_numpy(dtype="float64")[order].tolist(),
        (arrival + calls["patience_s"].to_numpy(dtype="float64")[order]).tolist(),
        np.asarray(roster.agents, dtype="int64").tolist(),
        roster.interval_s,
        roster.served_queues(),
    )
    start_s = np.empty(len(order))
    start_s[order] = np.array(start, dtype="float64")
    served_code = np.empty(len(order), dtype="int64")
    served_code[order] = np.array(served, dtype="int64")
    return start_s, served_code


def _run_queue(
    arrival: list[float],
    priority: list[int],
    requested: list[int],
    handle: list[float],
    deadline: list[float],
    agents: list[list[int]],
    interval_s: float,
    serves: list[list[int]],
) -> tuple[list[float], list[int]]:
    """Return per call (in arrival order) the service start (NaN if abandoned) and the serving group (-1)."""
    n_calls, n_groups, n_intervals = len(arrival), len(agents), len(agents[0])
    # arriving calls of queue q go to the first idle group in takers[q]: its own group, then overflow groups
    takers = [[q] + [g for g in range(n_groups) if g != q and q in serves[g]] for q in range(n_groups)]
    on_duty = [agents[g][0] for g in range(n_groups)]
    busy = [0] * n_groups
    queues: list[list[int]] = [[] for _ in range(n_groups)]  # heap keys priority * n_calls + arrival rank
    completions: list[tuple[float, int]] = []
    start = [float("nan")] * n_calls
    served = [-1] * n_calls
    inf = float("inf")
    next_interval = 1
    next_boundary = interval_s if n_intervals > 1 else inf
    i = 0

    def take_next(g: int, now: float) -> bool:
        for q in serves[g]:
            queue = queues[q]
            while queue:
                call = heapq.heappop(queue) % n_calls
                if deadline[call] < now:
                    continue  # hung up before an agent reached them
                start[call] = now
                served[call] = g
                busy[g] += 1
                heapq.heappush(completions, (now + handle[call], g))
                return True
        return False

    while True:
        next_arrival = arrival[i] if i < n_calls else inf
        next_done = completions[0][0] if completions else inf
        if next_done <= next_arrival and next_done <= next_boundary:
            if next_done == inf:
                break
            _, g = heapq.heappop(completions)
            busy[g] -= 1
            if busy[g] < on_duty[g]:
                take_next(g, next_done)
        elif next_boundary <= next_arrival:
            for g in range(n_groups):
                on_duty[g] = agents[g][next_interval]
                while busy[g] < on_duty[g] and take_next(g, next_boundary):
                    pass
            next_interval += 1
            next_boundary = next_interval * interval_s if next_interval < n_intervals else inf
        else:
            for g in takers[requested[i]]:
                if busy[g] < on_duty[g]:
                    start[i] = next_arrival
                    served[i] = g
                    busy[g] += 1
                    heapq.heappush(completions, (next_arrival + handle[i], g))
                    break
            else:
                heapq.heappush(queues[requested[i]], priority[i] * n_calls + i)
            i += 1
    return start, served


def service_levels(
    calls: pd.DataFrame,
    outcomes: pd.DataFrame,
    interval_s: float,
    by: str = "priority",
    within_s: float = SERVICE_LEVEL_SECONDS,
) -> pd.DataFrame:
    """Return per `by` value and arrival interval: offered, answered, abandoned, service_level, asa_s, ...

    service_level = calls answered by an agent within `within_s` of arrival / calls offered (every
    call that arrived in the interval, abandoned ones included, however short their wait): the
    domain's "share of calls answered by a person within 20 s". asa_s is the mean wait of answered
    calls; abandon_rate = abandoned / offered; max_wait_s is the longest wait of any call in the row
    (answered or abandoned), the starvation measure for priority 9.
    """
    frame = pd.DataFrame(
        {
            by: calls[by].to_numpy(),
            "interval": interval_of(calls["arrival_s"], interval_s),
            "answered": outcomes["answered"].to_numpy(),
            "within": (outcomes["answered"] & (outcomes["wait_s"] <= within_s)).to_numpy(),
            "answered_wait": outcomes["wait_s"].where(outcomes["answered"]).to_numpy(),
            "wait_s": outcomes["wait_s"].to_numpy(),
        }
    )
    table = frame.groupby([by, "interval"], sort=True).agg(
        offered=("answered", "size"),
        answered=("answered", "sum"),
        answered_within=("within", "sum"),
        asa_s=("answered_wait", "mean"),
        max_wait_s=("wait_s", "max"),
    )
    table = table.assign(
        abandoned=table["offered"] - table["answered"],
        service_level=table["answered_within"] / table["offered"],
        abandon_rate=(table["offered"] - table["answered"]) / table["offered"],
    )
    return table.reset_index()[
        [
            by,
            "interval",
            "offered",
            "answered",
            "abandoned",
            "answered_within",
            "service_level",
            "asa_s",
            "abandon_rate",
            "max_wait_s",
        ]
    ]


def longest_waits(calls: pd.DataFrame, outcomes: pd.DataFrame, interval_s: float, priority: int = 9) -> pd.DataFrame:
    """Return per arrival interval the calls of `priority`, how many were answered, and their longest wait."""
    mask = (calls["priority"] == priority).to_numpy()
    frame = pd.DataFrame(
        {
            "interval": interval_of(calls["arrival_s"].to_numpy()[mask], interval_s),
            "answered": outcomes["answered"].to_numpy()[mask],
            "wait_s": outcomes["wait_s"].to_numpy()[mask],
        }
    )
    return (
        frame.groupby("interval")
        .agg(calls=("answered", "size"), answered=("answered", "sum"), longest_wait_s=("wait_s", "max"))
        .reset_index()
    )


def occupancy(outcomes: pd.DataFrame, roster: Roster) -> pd.DataFrame:
    """Return per group and interval: agents on duty, busy agent-seconds and occupancy (busy / agents on duty).

    Busy time is counted in the interval where it happens (a call crossing a boundary is split);
    agents leaving at a boundary finish their call, so occupancy can exceed 1 right after a cut.
    """
    n_intervals = roster.agents.shape[1]
    edges = np.arange(n_intervals + 1, dtype="float64") * roster.interval_s
    rows = []
    for g, name in enumerate(roster.groups):
        mine = (outcomes["served_by"] == name).to_numpy()
        start = outcomes["start_s"].to_numpy()[mine]
        end = outcomes["end_s"].to_numpy()[mine]
        # busy seconds before each edge: sum of the overlap of [start, end) with [0, edge)
        before = np.array([np.clip(np.minimum(end, edge) - start, 0.0, None).sum() for edge in edges])
        busy = np.diff(before)
        agents = roster.agents[g].astype("float64")
        on_duty_s = agents * roster.interval_s
        share = np.divide(busy, on_duty_s, out=np.full(n_intervals, np.nan), where=on_duty_s > 0)
        rows.append(
            pd.DataFrame(
                {
                    "group": name,
                    "interval": np.arange(n_intervals),
                    "agents": roster.agents[g],
                    "busy_s": busy,
                    "occupancy": share,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
