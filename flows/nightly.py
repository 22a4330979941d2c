"""The nightly flow: validate -> features, tiers, lifecycle per shard -> score -> route -> list -> publish.

Only orchestration lives here; every task calls one function of `pipelines.nightly`. The per-shard
steps run in the `tiercast-nightly-shards` subflow, on threads or on Dask as `flows.task_runner`
says; nothing is published before the final `publish` task, whose switch is atomic, so a failure
anywhere leaves yesterday's tables live. A rerun for the same as_of replaces that date's outputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.reliability import report_failure, retry_options, retry_transient_db, retry_transient_io, task_runner
from models.tiers import Cutoffs
from pipelines import nightly as steps
from pipelines import nightly_results as results
from pipelines.quarantine import TableReport
from pipelines.run_lock import exclusive_run
from tiercast.runtime import prepare_environment
from tiercast.settings import Settings, load_settings, with_mapping

FLOW_TIMEOUT_SECONDS = 4 * 3600  # a night's run must be over long before the morning shift


@dataclass(frozen=True)
class ShardResults:
    """What the per-shard subflow hands back: validation per table, and each shard's outputs."""

    reports: dict[str, TableReport]
    outputs: list[steps.ShardOutputs]


@task(name="plan", cache_policy=NO_CACHE)
def plan_run(settings: Settings, data_dir: Path | None, as_of: date | None) -> steps.NightlyPlan:
    """Decide the as-of date and the number of shards."""
    return steps.plan_nightly(settings, data_dir, as_of)


@task(name="stage-inputs", cache_policy=NO_CACHE)
def stage_inputs(settings: Settings, plan: steps.NightlyPlan) -> list[int]:
    """Split the input files into shard folders."""
    return steps.stage_inputs(settings, plan)


@task(name="resolve-champion", cache_policy=NO_CACHE)
def resolve_champion(settings: Settings) -> steps.ModelRef:
    """Resolve the champion alias once to a version number."""
    return steps.resolve_model(settings)


@task(name="shard-features", cache_policy=NO_CACHE)
def shard_features(settings: Settings, plan: steps.NightlyPlan, shard: int) -> steps.ShardFeatures:
    """Validate one shard's inputs and build its features."""
    return steps.shard_features(settings, plan, shard)


@task(name="check-quarantine", cache_policy=NO_CACHE)
def check_quarantine(
    settings: Settings, plan: steps.NightlyPlan, parts: list[steps.ShardFeatures]
) -> dict[str, TableReport]:
    """Apply the quarantine limits over all shards."""
    return results.check_quarantine(settings, plan, parts)


@task(name="tier-cutoffs", cache_policy=NO_CACHE)
def tier_cutoffs(settings: Settings, parts: list[steps.ShardFeatures]) -> Cutoffs:
    """Compute the value-score cut-offs over the whole base."""
    return steps.tier_cutoffs(settings, parts)


@task(name="shard-outputs", cache_policy=NO_CACHE)
def shard_outputs(
    settings: Settings,
    plan: steps.NightlyPlan,
    part: steps.ShardFeatures,
    cutoffs: Cutoffs,
    model: steps.ModelRef,
    run_id: str,
    previous: Path | None,
) -> steps.ShardOutputs:
    """Tier, score, stage, route and list one shard."""
    return steps.shard_outputs_for(settings, plan, part, cutoffs, model, run_id, previous)


@task(name="merge-retention", cache_policy=NO_CACHE)
def merge_retention(settings: Settings, parts: list[steps.ShardOutputs]) -> pd.DataFrame:
    """Merge the shards' retention candidates into today's lists."""
    return results.merge_retention(settings, parts)


@task(name="publish", cache_policy=NO_CACHE)
def publish(settings: Settings, parts: list[steps.ShardOutputs], retention: pd.DataFrame) -> results.Switched:
    """Check the guardrails and switch the published tier table and retention list atomically (runs once
    unless the database refused it: then nothing was switched and a retry is safe)."""
    return results.publish_tables(settings, parts, retention)


@task(name="write-outputs", cache_policy=NO_CACHE)
def write_outputs(
    settings: Settings,
    plan: steps.NightlyPlan,
    parts: list[steps.ShardOutputs],
    retention: pd.DataFrame,
    switched: results.Switched,
) -> results.PublishedRun:
    """After the switch: the retention list files and tomorrow's lifecycle state (retried, never republished)."""
    return results.write_outputs(settings, plan, parts, retention, switched)


@flow(name="tiercast-nightly-shards", timeout_seconds=FLOW_TIMEOUT_SECONDS)
def shard_work(
    settings: Settings, plan: steps.NightlyPlan, model: steps.ModelRef, run_id: str, previous: Path | None
) -> ShardResults:
    """Per-shard features, then global checks and cut-offs, then per-shard scoring (on the configured runner)."""
    shards = list(range(plan.n_shards))
    parts = [f.result() for f in shard_features.map(unmapped(settings), unmapped(plan), shards)]
    reports = check_quarantine(settings, plan, parts)
    cutoffs = tier_cutoffs(settings, parts)
    futures = shard_outputs.map(
        unmapped(settings),
        unmapped(plan),
        parts,
        unmapped(cutoffs),
        unmapped(model),
        unmapped(run_id),
        unmapped(previous),
    )
    return ShardResults(reports, [f.result() for f in futures])


@flow(
    name="tiercast-nightly",
    timeout_seconds=FLOW_TIMEOUT_SECONDS,
    on_failure=[report_failure],
    on_crashed=[report_failure],
)
def nightly(
    as_of: date | None = None, data_dir: str | None = None, config: str | None = None, mapping: str | None = None
) -> dict[str, Any]:
    """Score every active subscriber as of `as_of` (default: the data's last day) and publish the results.

    `config` names a settings YAML (default: packaged defaults + environment); `mapping` the source
    mapping of the export (default: inputs.mapping). The publish database comes from the settings
    (`publish.url`, e.g. $TIERCAST__PUBLISH__URL), never from a parameter: Prefect keeps parameters
    in its database and shows them in its UI, and a URL may carry a password.
    """
    settings = with_mapping(load_settings(Path(config) if config else None), mapping)
    prepare_environment(settings)
    logger = get_run_logger()
    flows = settings.flows
    reading = retry_options(flows, flows.read_retries, retry_transient_io)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    plan = plan_run.with_options(**reading)(settings, Path(data_dir) if data_dir else None, as_of)
    with exclusive_run(plan.work_dir):  # one run per date; its scratch (raw MSISDNs) removed however it ends
        stage_inputs.with_options(**reading)(settings, plan)
        lap("stage")
        model = resolve_champion.with_options(**reading)(settings)
        logger.info("champion resolved to %s v%s (%s)", model.name, model.version, model.run_link)
        run_id = steps.run_identity(settings, plan, model)
        previous = steps.previous_stages_file(settings, plan.as_of)
        shards = shard_work.with_options(task_runner=task_runner(flows))(settings, plan, model, run_id, previous)
        lap("shards")
        retention = merge_retention(settings, shards.outputs)
        publishing = retry_options(flows, flows.publish_retries, retry_transient_db)
        switched = publish.with_options(**publishing)(settings, shards.outputs, retention)
        tier_view, version = settings.publish.tier_view, switched.publication.version
        logger.info("published %s v%d in %s", tier_view, version, switched.database)
        writing = retry_options(flows, flows.publish_retries, retry_transient_io)
        published = write_outputs.with_options(**writing)(settings, plan, shards.outputs, retention, switched)
        lap("publish")
    summary = results.summarize(
        settings, plan, shards.reports, shards.outputs, retention, published, model.run_link, seconds
    )
    markdown = summary.to_markdown()
    create_markdown_artifact(markdown, key="tiercast-nightly-summary", description=f"nightly run as of {plan.as_of}")
    logger.info("run summary\n%s", markdown)
    return summary.to_json()
