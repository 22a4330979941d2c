"""The stage clock: seconds summed by stage name, per-shard clocks summed, a run's profile."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipelines import stage_clock
from pipelines.nightly import ShardFeatures
from pipelines.stage_clock import StageClock, run_profile, summed


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """perf_counter returns 0, 1.5, 3, 4.5, ...: every timed block lasts exactly 1.5 s."""
    values: Iterator[float] = (1.5 * i for i in range(1000))
    monkeypatch.setattr(stage_clock.time, "perf_counter", lambda: next(values))


def test_blocks_of_one_stage_add_up_and_a_raising_block_still_counts(ticks: None) -> None:
    clock = StageClock()
    with clock.timed("validate"):
        pass
    with clock.timed("features"):
        pass
    with pytest.raises(ValueError), clock.timed("validate"):
        raise ValueError("bad row")
    assert clock.seconds == {"validate": 3.0, "features": 1.5}


def test_a_wrapped_step_keeps_its_name_and_signature_and_counts_each_call(ticks: None) -> None:
    def publish_tables(settings: str, parts: list[int]) -> int:
        """Publish."""
        return len(parts)

    clock = StageClock()
    wrapped = clock.wrap("publish", publish_tables)
    assert (wrapped("s", [1, 2]), wrapped("s", parts=[3])) == (2, 1)
    assert wrapped.__name__ == "publish_tables"
    assert list(inspect.signature(wrapped).parameters) == ["settings", "parts"]  # what Prefect binds by
    assert clock.seconds == {"publish": 3.0}


def test_shard_clocks_sum_by_stage_in_first_seen_order() -> None:
    shards = [{"validate": 1.0, "features": 2.0}, {"features": 0.5, "scoring": 4.0}, {}]
    assert summed(shards) == {"validate": 1.0, "features": 2.5, "scoring": 4.0}
    assert list(summed(shards)) == ["validate", "features", "scoring"]


def test_the_profile_says_what_the_steps_and_shard_walls_leave_unaccounted() -> None:
    profile = run_profile(
        wall=20.0,
        steps={"stage": 3.0, "publish": 2.0},
        shards=[{"validate": 4.0, "features": 1.0}, {"validate": 2.0}],
        shard_walls={"shard-features": 5.0},
        shard_work={"shard-features": 7.0},
        started_at=1_700_000_000.0,
    )
    assert profile == {
        "started_at": 1_700_000_000.0,
        "wall_s": 20.0,
        "steps_s": {"stage": 3.0, "publish": 2.0},
        "shards_s": {"validate": 6.0, "features": 1.0},
        "shard_steps_wall_s": {"shard-features": 5.0},
        "shard_steps_summed_s": {"shard-features": 7.0},
        "unaccounted_s": 10.0,
    }


def test_a_shard_result_with_its_seconds_survives_pickling_as_under_dask() -> None:
    part = ShardFeatures(3, Path("f"), Path("k"), np.array([0.5]), {}, seconds={"validate": 1.25})
    assert pickle.loads(pickle.dumps(part)).seconds == {"validate": 1.25}
