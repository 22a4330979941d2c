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

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.reliability import report_failure, retry_options, retry_transient_db, retry_transient_io, task_runner
from pipelines.nightly_run import run_nightly
from tiercast.runtime import prepare_environment
from tiercast.settings import Settings, load_settings, with_mapping

FLOW_TIMEOUT_SECONDS = 4 * 3600  # a night's run must be over long before the morning shift
T = TypeVar("T")
READING_STEPS = ("plan", "stage-inputs", "resolve-champion")


@flow(name="tiercast-nightly-shards", timeout_seconds=FLOW_TIMEOUT_SECONDS, validate_parameters=False)
def shard_steps(name: str, function: Callable[..., Any], items: list[Any], args: list[Any]) -> list[Any]:
    """Run `function(*args, item)` as task `name` for every shard, on this subflow's task runner."""
    step = task(name=name, cache_policy=NO_CACHE)(function)
    return [future.result() for future in step.map(*[unmapped(arg) for arg in args], items)]


class PrefectExecutor:
    """Executes `run_nightly`'s steps as Prefect tasks with each step's retry rule."""

    def __init__(self, settings: Settings) -> None:
        flows = settings.flows
        reading = retry_options(flows, flows.read_retries, retry_transient_io)
        self.options: dict[str, dict[str, Any]] = dict.fromkeys(READING_STEPS, reading)
        self.options["publish"] = retry_options(flows, flows.publish_retries, retry_transient_db)
        self.options["write-outputs"] = retry_options(flows, flows.publish_retries, retry_transient_io)
        self.runner = task_runner(flows)

    def step(self, name: str, function: Callable[..., T], *args: Any) -> T:
        """Run one step as a task (with its retry options)."""
        result: T = task(name=name, cache_policy=NO_CACHE)(function).with_options(**self.options.get(name, {}))(*args)
        if name == "publish":
            get_run_logger().info("published %s", getattr(result, "publication", result))
        return result

    def per_shard(self, name: str, function: Callable[..., T], items: Sequence[Any], *args: Any) -> list[T]:
        """Run the step for every shard in the `tiercast-nightly-shards` subflow, on the configured runner."""
        subflow = shard_steps.with_options(task_runner=self.runner, flow_run_name=name)
        return subflow(name, function, list(items), list(args))


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
    summary = run_nightly(settings, Path(data_dir) if data_dir else None, as_of, PrefectExecutor(settings))
    markdown = summary.to_markdown()
    create_markdown_artifact(markdown, key="tiercast-nightly-summary", description=f"nightly run as of {summary.as_of}")
    get_run_logger().info("run summary\n%s", markdown)
    return summary.to_json()
