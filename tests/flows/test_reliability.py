"""The run's time limit is also checked between steps: an interrupt Prefect absorbs cannot let a late run go on."""

from __future__ import annotations

import time

import pytest

from flows.executor import TaskExecutor
from flows.reliability import deadline_check
from tiercast.errors import RunTimeoutError


def test_the_deadline_check_raises_the_limits_message_once_it_has_passed() -> None:
    check = deadline_check("nightly", 0.05, "nightly_timeout_seconds")
    check()  # within the limit: nothing
    time.sleep(0.06)
    with pytest.raises(
        RunTimeoutError, match=r"^the nightly did not finish within 0.05 s \(flows.nightly_timeout_seconds\)"
    ):
        check()
    deadline_check("nightly", None, "nightly_timeout_seconds")()  # no limit: never raises


def test_an_executor_past_its_deadline_runs_no_further_step() -> None:
    ran: list[str] = []
    executor = TaskExecutor({}, expired=deadline_check("nightly", 0.0, "nightly_timeout_seconds"))
    with pytest.raises(RunTimeoutError):
        executor.step("plan", ran.append, "plan")
    with pytest.raises(RunTimeoutError):
        executor.per_shard("shard-features", lambda shard: ran.append(shard), [1, 2])
    assert ran == []


def test_an_error_the_limits_interrupt_surfaced_as_is_reported_as_the_limit() -> None:
    from flows.reliability import time_limit

    # before the deadline: the error itself
    with pytest.raises(ValueError, match="a real error"), time_limit("nightly", 60.0, "nightly_timeout_seconds"):
        raise ValueError("a real error")
    limit = time_limit("nightly", 0.05, "nightly_timeout_seconds")
    expected = r"within 0.05 s \(flows.nightly_timeout_seconds\)"
    with pytest.raises(RunTimeoutError, match=expected) as caught, limit:
        try:
            time.sleep(1.0)  # interrupted by the limit
        except BaseException:
            raise ValueError("Task run is not set") from None  # what Prefect's engine made of it
    assert isinstance(caught.value.__cause__, ValueError)


def test_the_task_runner_is_threads_a_local_cluster_or_the_configured_cluster() -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.reliability import task_runner
    from tiercast.settings import load_settings

    flows = load_settings(environ={}).flows
    threads = task_runner(flows.model_copy(update={"task_runner": "threads", "thread_workers": 3}))
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    local = task_runner(flows.model_copy(update={"task_runner": "dask", "dask_workers": 3, "dask_address": None}))
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["n_workers"] == 3 and local.cluster_kwargs["processes"] is True
    remote = task_runner(flows.model_copy(update={"task_runner": "dask", "dask_address": "tcp://10.0.0.5:8786"}))
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.5:8786"
