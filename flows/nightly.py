"""The nightly flow: the steps of `pipelines.nightly_run.run_nightly`, each one a Prefect task.

Only orchestration lives here. The order of the steps is written once, in `run_nightly` (which
`tiercast score-publish` also runs, inline); this module says how Prefect executes each step:
reading steps retry on transient file errors, the publish switch on database errors that left
nothing switched, the files written after it on transient file errors (never republishing); the
per-shard steps run in a subflow on threads or on Dask as `flows.task_runner` says. Nothing is
published before the `publish` task, whose switch is atomic, so a failure anywhere before it leaves
yesterday's tables live. A rerun for the same as_of replaces that date's outputs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.executor import TaskExecutor
from flows.reliability import (
    deadline_check,
    live_now,
    report_alerts,
    report_failure,
    retry_options,
    retry_transient_db,
    retry_transient_io,
    task_runner,
    time_limit,
)
from pipelines.nightly_run import run_nightly
from tiercast.runtime import prepare_environment
from tiercast.settings import Settings, load_settings, with_mapping

READING_STEPS = ("plan", "stage-inputs", "resolve-champion")


def executor(settings: Settings) -> TaskExecutor:
    """Return the nightly's task executor: each step's retry rule, the shards on the configured runner."""
    flows = settings.flows
    reading = retry_options(flows, flows.read_retries, retry_transient_io)
    options: dict[str, dict[str, Any]] = dict.fromkeys(READING_STEPS, reading)
    options["publish"] = retry_options(flows, flows.publish_retries, retry_transient_db)
    options["write-outputs"] = retry_options(flows, flows.publish_retries, retry_transient_io)
    expired = deadline_check("nightly", flows.nightly_timeout_seconds, "nightly_timeout_seconds")
    return TaskExecutor(options, task_runner(flows), flows.nightly_timeout_seconds, expired)


@flow(
    name="tiercast-nightly",
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
    with time_limit("nightly", settings.flows.nightly_timeout_seconds, "nightly_timeout_seconds"):
        summary = run_nightly(settings, Path(data_dir) if data_dir else None, as_of, executor(settings))
    alerts = list(summary.monitoring.get("alerts") or [])
    if alerts:
        report_alerts(settings, summary.as_of, alerts, live_now(config))
    markdown = summary.to_markdown()
    create_markdown_artifact(markdown, key="tiercast-nightly-summary", description=f"nightly run as of {summary.as_of}")
    get_run_logger().info("run summary\n%s", markdown)
    return summary.to_json()
