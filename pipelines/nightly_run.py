"""The nightly run as one list of steps, whoever executes them.

`run_nightly(settings, data_dir, as_of, executor)` is the only place the steps of a scoring run are
put together: plan -> stage inputs -> per shard: validate, features, value scores -> quarantine
limits -> tier cut-offs over the whole base -> per shard: tiers, score, stages, routing, retention
candidates, monitoring counts -> merge the lists -> monitoring (drift, estimates, realised
performance; a broken-export guardrail stops here) -> publish (the switch) -> write the files and tomorrow's state ->
summary. The Prefect flow (flows/nightly.py) executes each step as a task, with retries and a task
runner for the shards; `tiercast score-publish` executes the same steps inline with one shard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from pipelines import nightly as steps
from pipelines import nightly_results as results
from pipelines.executor import Executor, Inline
from pipelines.monitoring import NightMonitoring, keep_baseline
from pipelines.nightly_monitoring import monitor
from pipelines.nightly_service import service_step
from pipelines.run_lock import exclusive_run
from pipelines.run_summary import NightlySummary
from pipelines.stage_clock import StageClock, run_profile
from tiercast.settings import Settings

__all__ = ["Executor", "Inline", "replay_night", "run_nightly"]

T = TypeVar("T")


@dataclass(frozen=True)
class Scored:
    """What the steps before publishing produced: the model, validation, shard outputs, lists, monitoring."""

    model: steps.ModelRef
    reports: dict[str, Any]
    outputs: list[steps.ShardOutputs]
    retention: pd.DataFrame
    night: NightMonitoring | None
    parts: list[steps.ShardFeatures]


class Profiled:
    """The clocks of one run's stage profile: each step's own work by stage, the per-shard steps' wall time."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.started_at = time.time()  # where the run sits in the flow's own wall time (the benchmark's overhead)
        self.work = StageClock()  # measured inside each step, so a task's overhead is not in it
        self.walls = StageClock()  # around each per-shard step: its wall time, on however many workers

    def step(self, executor: Executor, name: str, stage: str, function: Callable[..., T], *args: Any) -> T:
        """Run step `name` with `executor`, its work counted to `stage`."""
        return executor.step(name, self.work.wrap(stage, function), *args)

    def per_shard(self, executor: Executor, name: str, function: Callable[..., T], items: Any, *args: Any) -> list[T]:
        """Run per-shard step `name` with `executor`, its wall time counted to `name`."""
        with self.walls.timed(name):
            return executor.per_shard(name, function, items, *args)

    def profile(self, features: list[steps.ShardFeatures], outputs: list[steps.ShardOutputs]) -> dict[str, Any]:
        """Return the run's profile so far (`stage_clock.run_profile`)."""
        shards = [part.seconds for part in features] + [part.seconds for part in outputs]
        work = {
            "shard-features": sum(sum(part.seconds.values()) for part in features),
            "shard-outputs": sum(sum(part.seconds.values()) for part in outputs),
        }
        wall = time.perf_counter() - self.start
        return run_profile(wall, self.work.seconds, shards, self.walls.seconds, work, self.started_at)


def _score(
    settings: Settings,
    plan: steps.NightlyPlan,
    executor: Executor,
    lap: Callable[[str], None],
    refuse: bool = True,
    clocks: Profiled | None = None,
) -> Scored:
    """The steps from staging to monitoring (inside the run's lock); `refuse`: a broken export raises."""
    run = clocks or Profiled()
    run.step(executor, "stage-inputs", "stage", steps.stage_inputs, settings, plan)
    lap("stage")
    model = run.step(executor, "resolve-champion", "resolve champion", steps.resolve_model, settings)
    reference = run.step(executor, "load-reference", "monitoring", steps.load_reference, settings, model)
    run_id = steps.run_identity(settings, plan, model)
    previous = steps.previous_stages_file(settings, plan.as_of)
    parts = run.per_shard(executor, "shard-features", _shard_features, range(plan.n_shards), settings, plan, reference)
    reports = run.step(executor, "check-quarantine", "validate", results.check_quarantine, settings, plan, parts)
    cutoffs = run.step(executor, "tier-cutoffs", "tiers and lifecycle", steps.tier_cutoffs, settings, parts)
    outputs = run.per_shard(
        executor, "shard-outputs", _shard_outputs, parts, settings, plan, cutoffs, model, run_id, previous, reference
    )
    lap("shards")
    # the merge ranks a few thousand candidates and explains the customers it keeps: its time is the reasons'
    retention = run.step(executor, "merge-retention", "reason codes", results.merge_retention, settings, outputs, model)
    night = run.step(
        executor, "monitor", "monitoring", monitor, settings, plan, model, reference, parts, outputs, retention, refuse
    )
    lap("monitor")
    return Scored(model, reports, outputs, retention, night, parts)


def run_nightly(
    settings: Settings,
    data_dir: Path | None,
    as_of: date | None,
    executor: Executor,
    shards: int | None = None,
) -> NightlySummary:
    """Score every active subscriber as of `as_of` (default: the data's end), publish, return the summary.

    `shards` overrides the number of shards the plan derives from flows.shard_size.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    run = Profiled()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    plan = run.step(executor, "plan", "plan", steps.plan_nightly, settings, data_dir, as_of, shards)
    with exclusive_run(plan.work_dir):  # one run per date; its scratch (raw MSISDNs) removed however it ends
        scored = _score(settings, plan, executor, lap, clocks=run)
        outputs, retention = scored.outputs, scored.retention
        switched = run.step(executor, "publish", "publish", results.publish_tables, settings, outputs, retention)
        if scored.night is not None and scored.night.baseline is not None:  # published: tomorrow compares with it
            keep_baseline(settings, scored.night.baseline)
        published = run.step(
            executor,
            "write-outputs",
            "write outputs",
            results.write_outputs,
            settings,
            plan,
            outputs,
            retention,
            switched,
        )
        lap("publish")
        service = run.step(
            executor, "service-levels", "service levels", service_step, settings, plan.as_of, scored.parts, outputs
        )
        lap("service")
    link = scored.model.run_link
    profile = run.profile(scored.parts, outputs)
    return results.summarize(
        settings, plan, scored.reports, outputs, retention, published, link, seconds, scored.night, service, profile
    )


def replay_night(settings: Settings, data_dir: Path | None, as_of: date, executor: Executor) -> NightMonitoring | None:
    """The nightly's steps up to monitoring for `as_of`, with the champion: nothing published, no state kept,
    a broken export recorded but not raised (`tiercast monitor backfill`)."""
    plan = executor.step("plan", steps.plan_nightly, settings, data_dir, as_of, None)
    with exclusive_run(plan.work_dir):
        return _score(settings, plan, executor, lambda name: None, refuse=False).night


def _shard_features(settings: Settings, plan: steps.NightlyPlan, reference: Any, shard: int) -> steps.ShardFeatures:
    """`steps.shard_features` with the shard last (the executor's convention)."""
    return steps.shard_features(settings, plan, shard, reference)


def _shard_outputs(
    settings: Settings,
    plan: steps.NightlyPlan,
    cutoffs: Any,
    model: steps.ModelRef,
    run_id: str,
    previous: Path | None,
    reference: Any,
    part: steps.ShardFeatures,
) -> steps.ShardOutputs:
    """`steps.shard_outputs_for` with the shard last (the executor's convention)."""
    return steps.shard_outputs_for(settings, plan, part, cutoffs, model, run_id, previous, reference)
