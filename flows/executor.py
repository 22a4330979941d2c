"""Executing a run's steps (the one composition in pipelines/) as Prefect tasks, each with its retry rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner

T = TypeVar("T")


@flow(name="tiercast-nightly-shards", validate_parameters=False)
def shard_steps(name: str, function: Callable[..., Any], items: list[Any], args: list[Any]) -> list[Any]:
    """Run `function(*args, item)` as task `name` for every shard, on this subflow's task runner."""
    step = task(name=name, cache_policy=NO_CACHE)(function)
    return [future.result() for future in step.map(*[unmapped(arg) for arg in args], items)]


class TaskExecutor:
    """Runs each step as a task named after it, with the task options given for that name (retries, timeouts)."""

    def __init__(
        self,
        options: Mapping[str, Mapping[str, Any]],
        runner: TaskRunner[Any] | None = None,
        shards_timeout_seconds: float | None = None,
        expired: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self.runner = runner
        self.shards_timeout_seconds = shards_timeout_seconds
        # Called before every step: raises once the run's time limit has passed. The limit's own
        # interrupt can be absorbed by Prefect when it lands inside the shards subflow (which then
        # ends TimedOut while its caller carries on); this check stops the run at the next step.
        self.expired = expired or (lambda: None)

    def step(self, name: str, function: Callable[..., T], *args: Any) -> T:
        """Run one step as a task (with its options)."""
        self.expired()
        result: T = task(name=name, cache_policy=NO_CACHE)(function).with_options(**self.options.get(name, {}))(*args)
        return result

    def per_shard(self, name: str, function: Callable[..., T], items: Sequence[Any], *args: Any) -> list[T]:
        """Run the step for every shard in the `tiercast-nightly-shards` subflow, on the runner given."""
        self.expired()
        subflow = shard_steps.with_options(flow_run_name=name, timeout_seconds=self.shards_timeout_seconds)
        if self.runner is not None:
            subflow = subflow.with_options(task_runner=self.runner)
        return subflow(name, function, list(items), list(args))
