"""Benchmark: one simulated day at the seeds' size, own event loop vs an equivalent SimPy model.

    .venv/bin/python -m benchmarks.bench_call_simulation --calls 430000 --seats 1240 --repeats 3
    PYTHONPATH=/tmp/simpyenv/lib/python3.11/site-packages \
        .venv/bin/python -m benchmarks.bench_call_simulation --engine simpy --repeats 3

A day of --calls inbound calls (intraday profile with morning and evening peaks, 48 half-hour
intervals), groups vip / retention / standard (6% / 14% / 80% of calls, vip overflows into both,
retention into standard), priorities 1-9 with 1% black-listed, log-normal handle times with mean
150 s (domain.md: average talk time <= 150 s), exponential patience with mean 120 s, and --seats
agents at the peak interval shared in proportion to each group's load. Prints the median wall time
of --repeats runs of the simulation alone, the process's peak RSS (and its growth during the runs),
and the day's service level, abandonment and longest priority-9 wait, so the two engines can be
compared on the same calls. SimPy is not a project dependency: install it in a throw-away venv
(python3 -m venv /tmp/simpyenv && /tmp/simpyenv/bin/pip install simpy) and put it on PYTHONPATH.
--staffing also times one staffing search (models.staffing.required_agents) on the same day.
"""

from __future__ import annotations

import argparse
import heapq
import math
import resource
import statistics
import time

import numpy as np
import pandas as pd

from models.call_simulation import Roster, simulate_calls
from models.staffing import Target, required_agents, seats_meet_targets

GROUPS = ("vip", "retention", "standard")
OVERFLOW = {"vip": ("retention", "standard"), "retention": ("standard",)}
INTERVAL_S = 1800.0
TIERS = {"vip": "high", "retention": "mid", "standard": "low"}
TARGETS = {"high": Target(0.90), "mid": Target(0.85), "low": Target(0.85)}  # domain.md, "Routing priorities"


def day_profile() -> np.ndarray:
    """Return the relative arrival rate of each minute of the day: 10:00 and 20:00 peaks, night at a third of them.

    Peak / mean = 1.65, so 430,000 calls of 150 s peak near 1,231 Erlangs, just inside the 1,240 seats.
    """
    hour = np.arange(1440) / 60.0
    return 0.45 + np.exp(-(((hour - 10.0) / 3.2) ** 2)) + 0.85 * np.exp(-(((hour - 20.0) / 3.2) ** 2))


def day_calls(n_calls: int, seed: int) -> pd.DataFrame:
    """Return one generated day of calls (arrival_s, priority, group, handle_s, patience_s)."""
    rng = np.random.default_rng(seed)
    cdf = np.concatenate(([0.0], np.cumsum(day_profile())))
    arrival = np.sort(np.interp(rng.random(n_calls) * cdf[-1], cdf, np.arange(1441) * 60.0))
    sigma = 0.8
    group = rng.choice(np.array(GROUPS), size=n_calls, p=[0.06, 0.14, 0.80])
    priority = np.where(group == "vip", 1, rng.choice([3, 5, 7], size=n_calls))
    priority = np.where(rng.random(n_calls) < 0.01, 9, priority)
    return pd.DataFrame(
        {
            "arrival_s": arrival,
            "priority": priority,
            "group": group,
            "handle_s": rng.lognormal(math.log(150.0) - sigma**2 / 2, sigma, n_calls),
            "patience_s": rng.exponential(120.0, n_calls),
        }
    )


def day_roster(calls: pd.DataFrame, seats: int) -> Roster:
    """Return agents per group and interval: load plus one square root of it, scaled so the peak uses `seats`."""
    interval = (calls["arrival_s"] // INTERVAL_S).astype("int64")
    load = (
        calls.assign(interval=interval)
        .pivot_table(index="group", columns="interval", values="handle_s", aggfunc="sum", fill_value=0.0)
        .reindex(index=list(GROUPS), columns=range(48), fill_value=0.0)
        / INTERVAL_S
    )
    wanted = load.to_numpy() + np.sqrt(load.to_numpy())
    scale = seats / wanted.sum(axis=0).max()
    return Roster(GROUPS, np.ceil(wanted * scale).astype("int64"), INTERVAL_S, OVERFLOW)


def simpy_day(calls: pd.DataFrame, roster: Roster) -> tuple[list[float], list[int]]:
    """Return service start and serving group per call from the same model written the SimPy way."""
    import simpy  # only in the throw-away comparison venv, not a project dependency

    env = simpy.Environment()
    index = {name: g for g, name in enumerate(roster.groups)}
    arrival = calls["arrival_s"].tolist()
    priority = calls["priority"].tolist()
    requested = [index[name] for name in calls["group"]]
    handle = calls["handle_s"].tolist()
    patience = calls["patience_s"].tolist()
    agents = roster.agents.tolist()
    serves = roster.served_queues()
    n_groups, n_calls = len(serves), len(arrival)
    takers = [[q] + [g for g in range(n_groups) if g != q and q in serves[g]] for q in range(n_groups)]
    queues: list[list[int]] = [[] for _ in range(n_groups)]
    idle: list[list[simpy.Event]] = [[] for _ in range(n_groups)]
    waiting: dict[int, simpy.Event] = {}
    on_duty = [row[0] for row in agents]
    active = [0] * n_groups
    start = [math.nan] * n_calls
    served = [-1] * n_calls

    def next_call(g: int) -> int | None:
        for q in serves[g]:
            while queues[q]:
                call = heapq.heappop(queues[q]) % n_calls
                if call in waiting:
                    return call
        return None

    def agent(g: int):
        active[g] += 1
        while True:
            if active[g] > on_duty[g]:
                active[g] -= 1
                return
            call = next_call(g)
            if call is None:
                wake = env.event()
                idle[g].append(wake)
                yield wake
                continue
            start[call], served[call] = env.now, g
            waiting.pop(call).succeed()
            yield env.timeout(handle[call])

    def caller(i: int):
        answered = env.event()
        waiting[i] = answered
        heapq.heappush(queues[requested[i]], priority[i] * n_calls + i)
        for g in takers[requested[i]]:
            if idle[g]:
                idle[g].pop().succeed()
                break
        outcome = yield answered | env.timeout(patience[i])
        if answered not in outcome:
            waiting.pop(i, None)

    def source():
        for i in range(n_calls):
            yield env.timeout(arrival[i] - env.now)
            env.process(caller(i))

    def staffing():
        for k in range(len(agents[0])):
            for g in range(n_groups):
                on_duty[g] = agents[g][k]
                for _ in range(on_duty[g] - active[g]):
                    env.process(agent(g))
                while active[g] > on_duty[g] and idle[g]:
                    idle[g].pop().succeed()
            yield env.timeout(roster.interval_s)

    env.process(staffing())
    env.process(source())
    env.run()
    return start, served


def staffing_search(calls: pd.DataFrame, roster: Roster) -> None:
    """Time `required_agents` on the day (tiers by group, black list without a target) and print its answer."""
    tiered = calls.assign(tier=np.where(calls["priority"] == 9, "black", calls["group"].map(TIERS)))
    began = time.perf_counter()
    needed = required_agents(tiered, roster, roster.agents.shape[1], TARGETS)
    print(
        f"staffing search: {time.perf_counter() - began:.1f} s; peak agents needed "
        f"{int(needed.agents.sum(axis=0).max())} vs {int(roster.agents.sum(axis=0).max())} rostered; "
        f"agent-hours {needed.agents.sum() / 2:.0f} vs {roster.agents.sum() / 2:.0f}"
    )
    print(seats_meet_targets(tiered, needed, TARGETS).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=430_000)
    parser.add_argument("--seats", type=int, default=1240)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=("own", "simpy"), default="own")
    parser.add_argument("--staffing", action="store_true", help="also time one staffing search (own engine)")
    args = parser.parse_args()
    calls = day_calls(args.calls, seed=13)
    roster = day_roster(calls, args.seats)
    if args.staffing:
        staffing_search(calls, roster)
    rss_before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, answered, within, p9_wait = [], 0.0, 0.0, 0.0
    for _ in range(args.repeats):
        began = time.perf_counter()
        if args.engine == "own":
            out = simulate_calls(calls, roster)
            wait = out["wait_s"].to_numpy()
            is_answered = out["answered"].to_numpy()
        else:
            start, served = simpy_day(calls, roster)
            is_answered = np.array(served) >= 0
            wait = np.where(is_answered, np.array(start) - calls["arrival_s"].to_numpy(), calls["patience_s"])
        seconds.append(time.perf_counter() - began)
        answered = is_answered.mean()
        within = (is_answered & (wait <= 20.0)).mean()
        p9_wait = wait[calls["priority"].to_numpy() == 9].max()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine={args.engine} calls={len(calls)} peak seats={int(roster.agents.sum(axis=0).max())}")
    print(f"wall s: median {statistics.median(seconds):.2f} of {[round(s, 2) for s in seconds]}")
    print(f"peak RSS {peak_mib:.0f} MiB ({peak_mib - rss_before_mib:.0f} MiB above the peak before the runs)")
    print(
        f"answered {answered:.4f}  within 20 s {within:.4f}  abandoned {1 - answered:.4f}  "
        f"longest priority-9 wait {p9_wait:.0f} s"
    )


if __name__ == "__main__":
    main()
