"""Schedules: the deployments on a real Prefect server create nightly runs at 02:00 in the configured time zone."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from flows.server import prefect_server
from tiercast.settings import load_settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server on 127.0.0.1 (its scheduler looping every second), stopped afterwards."""
    home = tmp_path_factory.mktemp("prefect-server")
    with prefect_server("127.0.0.1", _free_port(), home, home / "server.log", scheduler_loop_seconds=1) as url:
        yield url


async def _scheduled_runs(deployment_id: Any, wanted: int) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async with get_client() as client:
        for _ in range(120):
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
            if len(runs) >= wanted:
                return sorted(runs, key=lambda run: run.expected_start_time)
            await asyncio.sleep(1)
    return []


def _local(run: Any, zone: str) -> datetime:
    return run.expected_start_time.astimezone(ZoneInfo(zone))


def test_applied_deployments_schedule_nightly_at_two_and_training_on_sunday_at_three(server: str) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    flows = load_settings(environ={}).flows
    with temporary_settings(updates={PREFECT_API_URL: server}):
        from flows.deployments import deployments

        nightly, training = deployments(flows)
        nightly_runs = asyncio.run(_scheduled_runs(nightly.apply(), 3))
        training_runs = asyncio.run(_scheduled_runs(training.apply(), 2))

    assert flows.timezone == "Asia/Shanghai"
    nightly_times = [_local(run, flows.timezone) for run in nightly_runs]
    assert len(nightly_times) >= 3
    assert all((t.hour, t.minute) == (2, 0) for t in nightly_times)
    assert all((b - a).days == 1 for a, b in itertools.pairwise(nightly_times))
    training_times = [_local(run, flows.timezone) for run in training_runs]
    assert training_times and all((t.weekday(), t.hour, t.minute) == (6, 3, 0) for t in training_times)


def test_a_configured_time_zone_moves_the_schedule(server: str) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    flows = load_settings(environ={"TIERCAST__FLOWS__TIMEZONE": "Europe/Madrid"}).flows
    with temporary_settings(updates={PREFECT_API_URL: server}):
        from flows.deployments import deployments

        nightly = deployments(flows)[0]
        nightly.name = "nightly-madrid"
        runs = asyncio.run(_scheduled_runs(nightly.apply(), 2))
    assert runs and all(_local(run, "Europe/Madrid").hour == 2 for run in runs)
    assert all(_local(run, "Asia/Shanghai").hour != 2 for run in runs)


def test_prefect_yaml_matches_the_settings() -> None:
    flows = load_settings(environ={}).flows
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    schedules = {d["name"]: d["schedules"][0] for d in spec["deployments"]}
    assert schedules["nightly"] == {"cron": flows.nightly_cron, "timezone": flows.timezone}
    assert schedules["weekly-training"] == {"cron": flows.training_cron, "timezone": flows.timezone}
    entrypoints = {d["name"]: d["entrypoint"] for d in spec["deployments"]}
    assert entrypoints == {"nightly": "flows/nightly.py:nightly", "weekly-training": "flows/training.py:training"}


def test_a_monitoring_alert_starts_the_training_deployment_when_asked(server: str) -> None:
    """monitoring.alerts.retrain_on_alert: `start_training` creates a run of the applied training deployment."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    flows = load_settings(environ={}).flows
    deployment_name = load_settings(environ={}).monitoring.alerts.training_deployment
    with temporary_settings(updates={PREFECT_API_URL: server}):
        from flows.deployments import deployments
        from flows.reliability import start_training

        training = deployments(flows)[1]
        training.schedules = []  # only the run the alert starts
        deployment_id = training.apply()
        said = start_training(deployment_name)
        missing = start_training("tiercast-training/no-such-deployment")
        runs = asyncio.run(_scheduled_runs(deployment_id, 1))

    assert deployment_name == "tiercast-training/weekly-training"
    assert said.startswith(f"started {deployment_name}: flow run ")
    assert [run for run in runs if str(run.id) in said]  # the alert's run, beside any the schedule made
    assert missing.startswith("could not start tiercast-training/no-such-deployment: ")
