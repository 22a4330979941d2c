"""What makes the flows safe to leave alone: retry rules, timeouts, the task runner, the failure report."""

from __future__ import annotations

import json
import logging
import time
from asyncio import CancelledError
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.timeout import timeout

from data_contracts.loader import ContractError
from pipelines.monitoring import DriftGuardrailError
from pipelines.publish_checks import GuardrailError
from pipelines.quarantine import QuarantineLimitError
from tiercast.errors import RunTimeoutError
from tiercast.settings import Settings, load_settings
from tiercast.settings.flows import FlowsSettings

log = logging.getLogger("tiercast.flows")

# Errors that a retry cannot fix: bad data, a breached guardrail, a refused training set.
PERMANENT: tuple[type[BaseException], ...] = (ContractError, QuarantineLimitError, GuardrailError, DriftGuardrailError)


def _exception(state: Any) -> BaseException | None:
    try:
        state.result(raise_on_failure=True)
    except BaseException as exc:
        return exc
    return None


# File-system errors a retry cannot clear: a missing permission, a folder where a file belongs.
PERMANENT_IO: tuple[type[BaseException], ...] = (PermissionError, IsADirectoryError, NotADirectoryError)


def retry_transient_io(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry reading or writing files on transient file-system and network errors (not on a permission error)."""
    exc = _exception(state)
    return isinstance(exc, OSError | TimeoutError) and not isinstance(exc, PERMANENT + PERMANENT_IO)


def retry_transient_db(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry publishing on database errors that a later attempt can clear (locks, dropped connections)."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from pipelines.publish import PublishError

    exc = _exception(state)
    if isinstance(exc, PERMANENT):
        return False
    return isinstance(exc, OperationalError | PoolTimeout | PublishError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class _ExpiredError(TimeoutError):
    """The time limit of `time_limit` ran out (and not some socket's timeout inside the run)."""


@contextmanager
def time_limit(run: str, seconds: float, setting: str) -> Iterator[None]:
    """Stop the block after `seconds` with a RunTimeoutError naming `run` and the `setting` that set the limit.

    The flows read their limit from the settings at run time (a decorator's timeout is fixed at import).
    """
    deadline = time.monotonic() + seconds
    try:
        with timeout(seconds=seconds, timeout_exc_type=_ExpiredError):
            yield
    except _ExpiredError:
        raise _over_time(run, seconds, setting) from None
    except (Exception, CancelledError) as exc:
        # The limit's interrupt is delivered to whatever code runs at that moment: inside a task's own
        # timeout scope it comes out as that scope's timeout error, inside Prefect's task engine as some
        # other error (seen: "ValueError: Task run is not set"). Past the deadline it is ours; the
        # error it surfaced as stays chained.
        if time.monotonic() >= deadline:
            raise _over_time(run, seconds, setting) from exc
        raise


def _over_time(run: str, seconds: float, setting: str) -> RunTimeoutError:
    return RunTimeoutError(f"the {run} did not finish within {seconds:g} s (flows.{setting}) and was stopped")


def deadline_check(run: str, seconds: float | None, setting: str) -> Callable[[], None]:
    """Return a check that raises the same RunTimeoutError as `time_limit` once `seconds` from now have passed."""
    if seconds is None:
        return lambda: None
    deadline = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() >= deadline:
            raise _over_time(run, seconds, setting)

    return check


def retry_options(settings: FlowsSettings, retries: int, condition: Callable[..., bool]) -> dict[str, Any]:
    """Return task options: `retries` attempts with doubling delays, the retry condition and the task timeout."""
    return {
        "retries": retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=settings.retry_backoff_seconds) if retries else 0,
        "retry_condition_fn": condition,
        "timeout_seconds": settings.task_timeout_seconds,
    }


def task_runner(settings: FlowsSettings) -> TaskRunner[Any]:
    """Return the runner for per-shard tasks: threads on this machine, or Dask (a LocalCluster or an address)."""
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.thread_workers)
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": settings.dask_threads_per_worker,
            "processes": True,
            "dashboard_address": None,
        }
    )


def failure_report(flow: Any, flow_run: Any, state: Any) -> dict[str, Any]:
    """Return what an on-call engineer needs first: which flow, which run, what failed and how to rerun."""
    parameters = dict(getattr(flow_run, "parameters", {}) or {})
    return {
        "flow": getattr(flow, "name", str(flow)),
        "flow_run": getattr(flow_run, "name", ""),
        "flow_run_id": str(getattr(flow_run, "id", "")),
        "state": getattr(state, "name", str(state)),
        "message": getattr(state, "message", "") or "",
        "error": repr(_exception(state)),
        "parameters": {k: str(v) for k, v in parameters.items()},
        "published": live_now(parameters.get("config")),
        "rerun": "safe: a rerun for the same as_of replaces that date's outputs",
    }


def live_now(config: Any) -> str:
    """Return which tier table is live now, read from the publish database the flow's settings name."""
    from pipelines.nightly_results import live_state

    try:
        return live_state(load_settings(None if config in (None, "None") else Path(str(config))))
    except Exception as exc:  # a failure report must go out even when the settings cannot be read
        return f"could not tell which tier table is live: {type(exc).__name__}: {exc}"


def report_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """on_failure / on_crash hook: log a clear summary and post it to the configured webhook, if any."""
    report = failure_report(flow, flow_run, state)
    log.error(
        "FLOW FAILED: %s run %s (%s): %s | error: %s | %s; %s",
        report["flow"],
        report["flow_run"],
        report["flow_run_id"],
        report["message"],
        report["error"],
        report["published"],
        report["rerun"],
    )
    config = report["parameters"].get("config")
    try:
        url = load_settings(None if config in (None, "None") else Path(config)).flows.failure_webhook_url
    except Exception:
        log.exception("could not read settings to find the failure webhook")
        return
    if url:
        post_json(url, report, "failure report")


def post_json(url: str, payload: dict[str, Any], what: str) -> bool:
    """POST `payload` as JSON to `url`; log what happened; return whether it was accepted."""
    try:
        response = httpx.post(
            url, content=json.dumps(payload), headers={"content-type": "application/json"}, timeout=10
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.error("could not post the %s to %s: %s", what, url, exc)
        return False
    log.info("%s posted to %s", what, url)
    return True


def report_alerts(settings: Settings, as_of: str, alerts: list[str], live: str) -> dict[str, Any]:
    """Tell people about monitoring alerts (log, webhook) and start retraining when configured; return the report."""
    report = {
        "flow": "tiercast-nightly",
        "kind": "monitoring alert",
        "as_of": as_of,
        "alerts": alerts,
        "published": live,
        "retraining": "not started (monitoring.alerts.retrain_on_alert is off)",
    }
    if settings.monitoring.alerts.retrain_on_alert:
        report["retraining"] = start_training(settings.monitoring.alerts.training_deployment)
    log.warning("MONITORING ALERTS for %s: %s | retraining: %s", as_of, "; ".join(alerts), report["retraining"])
    if settings.flows.failure_webhook_url:
        post_json(settings.flows.failure_webhook_url, report, "monitoring alert")
    return report


def start_training(deployment: str) -> str:
    """Start a run of the training deployment without waiting for it; return what happened, in words."""
    from prefect.deployments import run_deployment

    try:
        run = run_deployment(name=deployment, timeout=0, as_subflow=False)
    except Exception as exc:  # the alert must still go out when the deployment cannot be started
        log.error("could not start the training deployment %s: %s: %s", deployment, type(exc).__name__, exc)
        return f"could not start {deployment}: {type(exc).__name__}: {exc}"
    return f"started {deployment}: flow run {getattr(run, 'name', '')} ({getattr(run, 'id', '')})"
