"""The nightly on a Dask cluster of separate OS processes (`dask scheduler` + two `dask worker`), as in production."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import psutil
import pytest

from benchmarks.bench_dask_cluster import ProcessCluster, process_cluster
from flows.nightly import nightly
from tests.flows.conftest import World

pytestmark = pytest.mark.slow

WORKERS = 2


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[ProcessCluster]:
    """A scheduler and two one-thread workers started as OS processes; stopped (killed if need be) afterwards."""
    from prefect.settings import PREFECT_API_URL

    # The workers are not children of the flow: they report task runs to the harness's API, not a server of their own.
    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))
    # Starting takes 60 s on this 2-core machine under load (each process imports the preloaded modules).
    with process_cluster(tmp_path_factory.mktemp("dask"), WORKERS, threads=1, env=env, timeout=300) as cluster:
        yield cluster


def started_by(pid: int, cluster: ProcessCluster) -> int | None:
    """Return the pid of the `dask worker` process that `pid` is or descends from (its nanny starts the worker)."""
    started = {process.pid for process in cluster.workers}
    lineage = [pid, *(parent.pid for parent in psutil.Process(pid).parents())]
    return next((p for p in lineage if p in started), None)


def test_worker_processes_publish_the_same_tier_table_as_threads(world: World, dask_cluster: ProcessCluster) -> None:
    from distributed import Client, get_task_stream

    threads = nightly(data_dir=str(world.data_dir), config=str(world.config), return_state=True)
    assert threads.is_completed(), threads.message
    expected, version = world.tier_table(), world.live_version()
    assert version is not None
    flows = {"task_runner": "dask", "dask_address": dask_cluster.address}
    config = world.with_overrides("dask-cluster", {"flows": flows})

    with Client(dask_cluster.address) as client, get_task_stream(client) as stream:
        state = nightly(data_dir=str(world.data_dir), config=str(config), return_state=True)
        pids = client.run(os.getpid)
    assert state.is_completed(), state.message
    assert world.live_version() == version + 1  # the Dask run published a version of its own ...
    assert world.tier_table() == expected  # ... row for row the threads run's table

    ran = Counter(pids[record["worker"]] for record in stream.data)
    shards = state.result()["shards"]
    assert shards == threads.result()["shards"] > 1
    assert sum(ran.values()) == 2 * shards  # shard-features and shard-outputs of every shard ran on the cluster
    assert os.getpid() not in ran
    assert {started_by(pid, dask_cluster) for pid in ran} == {process.pid for process in dask_cluster.workers}
