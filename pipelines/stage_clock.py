"""Seconds per stage of a run: a clock that sums `time.perf_counter` laps by stage name.

Per-shard steps keep their own clock and carry its `seconds` back in their result (a plain dict, so
it crosses process boundaries under Dask); the run adds them up with `summed`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class StageClock:
    """Seconds spent per stage name, summed over every `timed` block (or `wrap`ped call) of that name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        """Add `seconds` to stage `name`."""
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Count the time spent in the block (also when it raises) to stage `name`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def wrap(self, name: str, function: Callable[..., T]) -> Callable[..., T]:
        """Return `function` counting each call's time to stage `name` (same name and signature, for Prefect)."""

        @functools.wraps(function)
        def timed_call(*args: Any, **kwargs: Any) -> T:
            with self.timed(name):
                return function(*args, **kwargs)

        return timed_call


def summed(clocks: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Return the seconds per stage summed over several clocks' `seconds` (e.g. one per shard), in first-seen order."""
    total: dict[str, float] = {}
    for seconds in clocks:
        for name, value in seconds.items():
            total[name] = total.get(name, 0.0) + value
    return total


def run_profile(
    wall: float,
    steps: Mapping[str, float],
    shards: Iterable[Mapping[str, float]],
    shard_walls: Mapping[str, float],
    shard_work: Mapping[str, float],
    started_at: float | None = None,
) -> dict[str, Any]:
    """Return a run's stage profile (seconds, 3 decimals): `steps` measured inside the one-off steps,
    `shards` each shard's stages (summed here), the per-shard steps' wall time and their summed shard
    work, and what of the run's `wall` none of it accounts for (task overhead, waits, small glue);
    `started_at` (epoch seconds) places the run in a longer one (what a flow spent before it)."""
    unaccounted = wall - sum(steps.values()) - sum(shard_walls.values())
    return {
        "started_at": None if started_at is None else round(started_at, 3),
        "wall_s": round(wall, 3),
        "steps_s": {name: round(seconds, 3) for name, seconds in steps.items()},
        "shards_s": {name: round(seconds, 3) for name, seconds in summed(shards).items()},
        "shard_steps_wall_s": {name: round(seconds, 3) for name, seconds in shard_walls.items()},
        "shard_steps_summed_s": {name: round(seconds, 3) for name, seconds in shard_work.items()},
        "unaccounted_s": round(unaccounted, 3),
    }
