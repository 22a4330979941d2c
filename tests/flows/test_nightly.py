"""The nightly flow end to end on small generated data: publish, rerun, failures, retries, Dask."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from benchmarks.bench_dask_cluster import ProcessCluster, process_cluster
from data_contracts.loader import ContractError
from flows.nightly import nightly
from pipelines import nightly as steps
from pipelines import nightly_results as results
from pipelines.database import engine_for
from pipelines.ingest import validate_inputs
from pipelines.nightly_run import Inline, run_nightly
from pipelines.registry import RegistryError
from pipelines.shards import shard_of
from tests.cli.cli_app import app_with
from tests.flows.conftest import World
from tests.pipelines.publish_db import postgres_target
from tiercast.cli import flows as run_cli
from tiercast.cli import monitor as monitor_cli
from tiercast.cli.flows import scoped_environ
from tiercast.settings import load_settings

pytestmark = pytest.mark.slow

DASK_WORKERS = 2
MSISDN_TOKEN = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")  # a phone number standing alone
CANDIDATE = re.compile(r"(?=(1[3-9]\d{9}))")  # every 11-digit window, overlapping (also inside hex keys)


def run(world: World, config: Any = None, **kwargs: Any) -> Any:
    return nightly(data_dir=str(world.data_dir), config=str(config or world.config), return_state=True, **kwargs)


@pytest.fixture(scope="module")
def published(world: World) -> dict[str, Any]:
    """The first nightly run: its state and what it published."""
    state = run(world)
    assert state.is_completed(), state.message
    return {"summary": state.result(), "table": world.tier_table(), "retention": world.retention_rows()}


def test_training_flow_registered_and_promoted_a_champion(world: World) -> None:
    assert world.training["promoted"] is True
    assert world.training["version"] == "1"


def test_nightly_publishes_one_row_per_active_subscriber(world: World, published: dict[str, Any]) -> None:
    subscribers = pd.read_parquet(world.data_dir / "subscribers.parquet")
    as_of = pd.Timestamp(published["summary"]["as_of"])
    active = (pd.to_datetime(subscribers["activation_date"]) <= as_of) & ~(
        pd.to_datetime(subscribers["deactivation_date"]) <= as_of
    )
    assert len(published["table"]) == int(active.sum())
    assert len({row[15] for row in published["table"]}) == 1  # one run_id
    assert published["summary"]["publication"]["rows"] == int(active.sum())
    desks = published["summary"]["retention"]
    assert sum(used for used, _ in desks.values()) == len(published["retention"]) > 0


def test_nothing_published_holds_a_raw_msisdn(world: World, published: dict[str, Any]) -> None:
    numbers = set(pd.read_parquet(world.data_dir / "subscribers.parquet")["msisdn"].astype(str))
    texts = [" ".join(str(v) for row in published["table"] + published["retention"] for v in row)]
    texts += [p.read_text() for p in (world.root / "data" / "published" / "retention").rglob("*.csv")]
    for text in texts:
        assert not MSISDN_TOKEN.search(text)
        assert not numbers & {m.group(1) for m in CANDIDATE.finditer(text)}


def test_summary_lists_inputs_tiers_scores_desks_and_locations(published: dict[str, Any]) -> None:
    summary = published["summary"]
    assert set(summary["validation"]) == {"subscribers", "bills", "payments", "contacts"}
    assert sum(sum(stages.values()) for stages in summary["tier_stage"].values()) == len(published["table"])
    assert sum(summary["score_histogram"]) == len(published["table"])
    assert summary["model_version"] == "1"
    assert "tier table (routing service reads this view)" in summary["outputs"]
    assert summary["ranking"] == "churn_value"  # no uplift champion in this world
    assert "no campaign report yet" in summary["campaigns"]["note"]


def test_the_summary_shows_service_levels_per_tier_and_staffing_that_holds(
    world: World, published: dict[str, Any]
) -> None:
    """Issue 13 on generated (ACD-like) data with the published priorities: the day's service level per
    tier against 90% / 85%, and tomorrow's replay; the staffing search's answer, fed back into the
    simulation, meets every target, and one agent fewer in its busiest interval misses one."""
    from models.call_simulation import simulate_calls
    from models.staffing import required_agents, targets_met
    from pipelines.privacy import privacy_key
    from pipelines.staffing_plan import day_calls, roster, targets

    summary = published["summary"]
    service, as_of = summary["service"], pd.Timestamp(summary["as_of"]).date()
    assert service["day"] == str(as_of)
    kpis = service["kpis"]
    assert {tier: kpis[tier]["target"] for tier in ("high", "mid", "low")} == {"high": 0.9, "mid": 0.85, "low": 0.85}
    assert all(isinstance(kpis[tier]["below_target"], bool) for tier in ("high", "mid", "low"))
    assert kpis["all"]["offered"] == sum(kpis[t]["offered"] for t in kpis if t != "all")
    staffing = service["staffing"]
    replayed = as_of - pd.Timedelta(days=6)
    assert staffing["replays_calls_of"] == str(replayed) and Path(service["files"]["chart"]).is_file()

    settings = load_settings(world.config, environ={})
    with sqlite3.connect(world.root / "data" / "published" / "tiercast.db") as conn:
        routing = pd.read_sql("SELECT subscriber_key, tier, priority, queue FROM tier_table", conn)
    contacts = pd.read_parquet(world.data_dir / "contacts.parquet")
    subscribers = pd.read_parquet(world.data_dir / "subscribers.parquet")
    key = privacy_key(settings.privacy)
    calls, _ = day_calls(contacts, subscribers, routing.set_index("subscriber_key"), replayed, settings.service, key)
    wanted, template = targets(settings.service), roster(settings.service, settings.service.seats)
    needed = required_agents(calls, template, template.agents.shape[1], wanted)
    met = targets_met(calls, simulate_calls(calls, needed), needed.interval_s, wanted)
    assert len(calls) > 0 and met["met"].all()
    busiest = int(needed.agents.sum(axis=0).argmax())
    missed = []
    for group in np.flatnonzero(needed.agents[:, busiest]):
        fewer = needed.agents.copy()
        fewer[group, busiest] -= 1
        table = targets_met(calls, simulate_calls(calls, needed.with_agents(fewer)), needed.interval_s, wanted)
        missed.append(not table.loc[table["interval"] == busiest, "met"].all())
    assert missed and all(missed)


def test_rerun_of_the_same_date_yields_identical_content(world: World, published: dict[str, Any]) -> None:
    state = run(world)
    assert state.is_completed(), state.message
    assert world.tier_table() == published["table"]
    assert world.retention_rows() == published["retention"]


def raw_numbers_left(world: World) -> list[str]:
    """Return the files under the data root, quarantine aside, holding an input MSISDN (Parquet decoded)."""
    numbers = set(pd.read_parquet(world.data_dir / "subscribers.parquet")["msisdn"].astype(str))
    found = []
    for path in sorted((world.root / "data").rglob("*")):
        if not path.is_file() or "quarantine" in path.relative_to(world.root / "data").parts:
            continue
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype(str).to_csv(index=False)
        else:
            text = path.read_bytes().decode("latin-1")
        if numbers & {m.group(1) for m in CANDIDATE.finditer(text)}:
            found.append(str(path))
    return found


STAGES = [
    (steps, "plan_nightly"),
    (steps, "stage_inputs"),
    (steps, "resolve_model"),
    (steps, "shard_features"),
    (results, "check_quarantine"),
    (steps, "tier_cutoffs"),
    (steps, "shard_outputs_for"),
    (results, "merge_retention"),
    (results, "publish_tables"),
]


@pytest.mark.parametrize(("module", "stage"), STAGES, ids=[name for _, name in STAGES])
def test_a_failure_in_any_stage_leaves_published_tables_intact_and_is_reported(
    world: World, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch, module: Any, stage: str
) -> None:
    before_version, before_table, before_lists = world.live_version(), world.tier_table(), world.retention_rows()
    posted = len(world.webhook.received)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"injected failure in {stage}")

    monkeypatch.setattr(module, stage, broken)
    state = run(world)
    assert state.is_failed()
    assert raw_numbers_left(world) == []  # the scratch (staged inputs, keys) went with the failed run
    assert world.live_version() == before_version
    assert world.tier_table() == before_table
    assert world.retention_rows() == before_lists
    report = world.webhook.received[posted]
    assert report["flow"] == "tiercast-nightly"
    assert f"injected failure in {stage}" in report["error"]


def test_a_nightly_past_its_time_limit_stops_reports_it_and_leaves_yesterday_live(
    world: World, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before_version, before_table = world.live_version(), world.tier_table()
    posted = len(world.webhook.received)
    real = steps.tier_cutoffs

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(steps, "tier_cutoffs", slow)
    config = world.with_overrides("one-second", {"flows": {"nightly_timeout_seconds": 1.5}})
    started = time.monotonic()
    state = run(world, config)
    assert state.is_failed()
    assert time.monotonic() - started < 25  # stopped by the limit, not by the sleep ending
    assert world.live_version() == before_version
    assert world.tier_table() == before_table
    assert raw_numbers_left(world) == []
    error = world.webhook.received[posted]["error"]
    assert "the nightly did not finish within 1.5 s (flows.nightly_timeout_seconds)" in error


def test_a_transient_publish_error_is_retried_and_succeeds(
    world: World, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = results.publish_tables
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE publications", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(results, "publish_tables", flaky)
    state = run(world)
    assert state.is_completed(), state.message
    assert len(calls) == 2
    assert world.tier_table() == published["table"]


def test_a_contract_violation_is_not_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def bad_input(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise ContractError("bills", "missing column(s) ['amount']", "amount", "exists")

    monkeypatch.setattr(steps, "stage_inputs", bad_input)
    assert run(world).is_failed()
    assert len(calls) == 1


def test_cli_run_nightly_failure_ends_with_one_clear_line_and_its_exit_code(
    world: World, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = world.tier_table()

    no_champion_message = "tiercast-churn has no champion yet: run `tiercast train` or the training flow first"

    def no_champion(*args: Any, **kwargs: Any) -> Any:
        raise RegistryError(no_champion_message)

    monkeypatch.setattr(steps, "resolve_model", no_champion)
    app = app_with(load_settings(world.config, environ={}), run_cli, config=world.config)
    result = CliRunner().invoke(app, ["run", "nightly", "--data", str(world.data_dir)])
    assert result.exit_code == RegistryError.exit_code == 5  # model refused or missing
    ending = result.stderr[result.stderr.index("nightly flow failed") :].splitlines()
    assert ending[0] == f"nightly flow failed (exit 5): RegistryError: {no_champion_message}"
    live = world.live_version()
    assert ending[1].startswith(f"live: tier_table v{live} (as of ")  # what is live, read from the database
    assert "Traceback" not in "\n".join(ending)  # Prefect logged it above; the CLI does not repeat it
    assert world.tier_table() == before


def test_a_transient_read_error_is_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    real = steps.stage_inputs
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("stale NFS file handle")
        return real(*args, **kwargs)

    monkeypatch.setattr(steps, "stage_inputs", flaky)
    assert run(world).is_completed()
    assert len(calls) == 2


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[ProcessCluster]:
    """A scheduler and two one-thread workers started as OS processes; stopped (killed if need be) afterwards."""
    from prefect.settings import PREFECT_API_URL

    # The workers are not children of the flow: they report task runs to the harness's API, not a server of their own.
    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))
    # Starting takes 60 s on this 2-core machine under load (each process imports the preloaded modules).
    with process_cluster(tmp_path_factory.mktemp("dask"), DASK_WORKERS, threads=1, env=env, timeout=300) as cluster:
        yield cluster


def started_by(pid: int, cluster: ProcessCluster) -> int | None:
    """Return the pid of the `dask worker` process that `pid` is or descends from (its nanny starts the worker)."""
    started = {process.pid for process in cluster.workers}
    lineage = [pid, *(parent.pid for parent in psutil.Process(pid).parents())]
    return next((p for p in lineage if p in started), None)


def test_dask_worker_processes_publish_the_same_tier_table_as_threads(
    world: World, published: dict[str, Any], dask_cluster: ProcessCluster
) -> None:
    """`dask scheduler` + two `dask worker` started as OS processes (flows.dask_address), as in production."""
    from distributed import Client, get_task_stream

    version = world.live_version()
    assert version is not None
    config = world.with_overrides(
        "dask-cluster", {"flows": {"task_runner": "dask", "dask_address": dask_cluster.address}}
    )
    with Client(dask_cluster.address) as client, get_task_stream(client) as stream:
        state = run(world, config)
        pids = client.run(os.getpid)
    assert state.is_completed(), state.message
    assert world.live_version() == version + 1  # the Dask run published a version of its own ...
    assert world.tier_table() == published["table"]  # ... row for row the threads run's table

    ran = Counter(pids[record["worker"]] for record in stream.data)
    shards = state.result()["shards"]
    assert shards == published["summary"]["shards"] > 1
    assert sum(ran.values()) == 2 * shards  # shard-features and shard-outputs of every shard ran on the cluster
    assert os.getpid() not in ran
    assert {started_by(pid, dask_cluster) for pid in ran} == {process.pid for process in dask_cluster.workers}


def test_one_shard_publishes_the_same_tables_as_four(world: World, published: dict[str, Any]) -> None:
    config = world.with_overrides("one-shard", {"flows": {"shard_size": 1_000_000}})
    state = run(world, config)
    assert state.is_completed(), state.message
    assert state.result()["shards"] == 1 and published["summary"]["shards"] == 4
    assert world.tier_table() == published["table"]
    assert world.retention_rows() == published["retention"]


@pytest.mark.parametrize(
    ("error", "attempts"),
    [(OSError(5, "Input/output error"), 3), (PermissionError(13, "Permission denied", "retention"), 1)],
    ids=["transient", "permanent"],
)
def test_a_failure_after_the_switch_publishes_once_keeps_the_previous_version_and_says_what_is_live(
    world: World, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch, error: OSError, attempts: int
) -> None:
    """Files not writable after the switch: the write is retried (unless permanent), the switch never is."""
    before = world.live_version()
    assert before is not None
    posted = len(world.webhook.received)
    switches: list[int] = []
    writes: list[int] = []
    real_publish = results.publish_tables

    def counted_publish(*args: Any, **kwargs: Any) -> Any:
        switches.append(1)
        return real_publish(*args, **kwargs)

    def unwritable(*args: Any, **kwargs: Any) -> Any:
        writes.append(1)
        raise error

    monkeypatch.setattr(results, "publish_tables", counted_publish)
    monkeypatch.setattr(results, "write_retention_files", unwritable)
    state = run(world)

    assert state.is_failed()
    assert (len(switches), len(writes)) == (1, attempts)  # publish_retries: 2
    assert world.live_version() == before + 1
    with sqlite3.connect(world.root / "data" / "published" / "tiercast.db") as conn:
        kept = {row[0] for row in conn.execute("SELECT version FROM publications")}
    assert before in kept  # the version live before the run can still be rolled back to
    report = world.webhook.received[posted]
    assert report["published"].startswith(f"live: tier_table v{before + 1} (as of ")


def test_a_database_password_reaches_neither_prefect_nor_the_webhook_nor_the_output(
    world: World, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-pw-4711"
    url = f"postgresql://tiercast:{secret}@127.0.0.1:5432/tiercast_no_such_db"
    posted = len(world.webhook.received)

    def no_champion(*args: Any, **kwargs: Any) -> Any:
        raise RegistryError("no champion")

    monkeypatch.setattr(steps, "resolve_model", no_champion)
    app = app_with(load_settings(world.config, environ={}), run_cli, config=world.config)
    result = CliRunner().invoke(app, ["run", "nightly", "--data", str(world.data_dir), "--url", url])

    assert result.exit_code == 5  # the injected RegistryError's
    assert secret not in result.output + result.stderr
    report = world.webhook.received[posted]
    assert secret not in json.dumps(report)
    assert "database_url" not in report["parameters"]  # the flow run's parameters, as Prefect stored them
    assert os.environ.get("TIERCAST__PUBLISH__URL") is None  # the CLI restored the environment


def test_a_phone_number_held_twice_gets_the_same_verdict_from_validate_and_the_nightly(
    world: World, published: dict[str, Any], tmp_path: Path
) -> None:
    """Two subscribers in different shards with one MSISDN: both rows quarantined (msisdn:unique) either way."""
    data = tmp_path / "raw"
    shutil.copytree(world.data_dir, data, ignore=shutil.ignore_patterns("_truth"))
    subscribers = pd.read_parquet(data / "subscribers.parquet")
    n_shards = -(-len(subscribers) // 800)  # flows.shard_size in the world's settings
    shard = shard_of(subscribers["subscriber_id"], n_shards)
    first, other = int(np.flatnonzero(shard == 0)[0]), int(np.flatnonzero(shard == 1)[0])
    numbers = subscribers["msisdn"].to_numpy(dtype=object)
    numbers[other] = numbers[first]
    subscribers = subscribers.assign(msisdn=pd.array(numbers, dtype="str"))
    subscribers.to_parquet(data / "subscribers.parquet", index=False)
    settings = load_settings(world.config, environ={})

    validated = validate_inputs(settings, data, tmp_path / "q", tmp_path / "report.json")
    state = nightly(data_dir=str(data), config=str(world.config), return_state=True)

    assert validated.reports["subscribers"].rules["msisdn:unique"] == 2
    assert state.is_completed(), state.message
    assert state.result()["validation"]["subscribers"]["rules"]["msisdn:unique"] == 2


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_score_publish_and_the_nightly_flow_publish_identical_rows(
    world: World, published: dict[str, Any], tmp_path: Path, database: str
) -> None:
    """One composition: `tiercast score-publish` (inline, one shard) and the flow (four shards) agree row for row."""
    with ExitStack() as stack:
        if database == "postgres":
            url = stack.enter_context(postgres_target()).url.render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp_path / 'published.db'}"
        base = load_settings(world.config, environ={})
        settings = base.model_copy(update={"publish": base.publish.model_copy(update={"url": url})})
        as_of = pd.Timestamp(published["summary"]["as_of"]).date()

        inline = run_nightly(settings, world.data_dir, as_of, Inline(), shards=1)
        engine = engine_for(settings)
        stack.callback(engine.dispose)
        by_score_publish = pd.read_sql("SELECT * FROM tier_table ORDER BY subscriber_key", engine)
        with scoped_environ({"TIERCAST__PUBLISH__URL": url}):
            flow = run(world)
        by_flow = pd.read_sql("SELECT * FROM tier_table ORDER BY subscriber_key", engine)

    assert flow.is_completed(), flow.message
    assert (inline.shards, flow.result()["shards"]) == (1, 4)
    assert len(by_flow) == published["summary"]["publication"]["rows"]
    pd.testing.assert_frame_equal(by_score_publish, by_flow)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_broken_export_is_refused_by_monitoring_and_the_next_clean_night_publishes(
    world: World, published: dict[str, Any], tmp_path: Path, database: str
) -> None:
    """The latest month's data charges exported as 0: no publication, the column named, yesterday's table live."""
    data = tmp_path / "raw"
    shutil.copytree(world.data_dir, data, ignore=shutil.ignore_patterns("_truth"))
    bills = pd.read_parquet(data / "bills.parquet")
    latest = bills["bill_month"] == bills["bill_month"].max()
    bills.loc[latest, "data_amount"] = 0.0
    bills.to_parquet(data / "bills.parquet", index=False)
    with ExitStack() as stack:
        if database == "postgres":
            url = stack.enter_context(postgres_target()).url.render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp_path / 'published.db'}"
        stack.enter_context(scoped_environ({"TIERCAST__PUBLISH__URL": url}))
        engine = engine_for(load_settings(world.config, environ={"TIERCAST__PUBLISH__URL": url}))
        stack.callback(engine.dispose)

        def live() -> tuple[int, pd.DataFrame]:
            version = pd.read_sql("SELECT version FROM publications WHERE status = 'live'", engine)["version"]
            return int(version.iloc[0]), pd.read_sql("SELECT * FROM tier_table ORDER BY subscriber_key", engine)

        assert run(world).is_completed()
        before = live()
        posted = len(world.webhook.received)
        broken = nightly(data_dir=str(data), config=str(world.config), return_state=True)
        after = live()
        guardrails = pd.read_sql("SELECT subject FROM monitoring WHERE level = 'guardrail'", engine)["subject"]
        again = run(world)
        last = live()

    assert broken.is_failed()
    assert after[0] == before[0]  # nothing switched: yesterday's version and table stay live
    pd.testing.assert_frame_equal(after[1], before[1])
    error = world.webhook.received[posted]["error"]
    assert "DriftGuardrailError" in error and "bills.data_amount: 100% zero tonight" in error
    assert set(guardrails) == {"bills.data_amount"}  # why the night was refused is in the monitoring table
    assert again.is_completed(), again.message
    assert last[0] == before[0] + 1


def test_monitoring_alerts_are_posted_and_the_night_still_publishes(world: World, published: dict[str, Any]) -> None:
    """Model drift only alerts by default: with PSI levels set near zero every feature alerts, and it publishes."""
    psi = {"epsilon": 1.0e-4, "moderate": 1.0e-6, "significant": 2.0e-6}
    config = world.with_overrides("touchy", {"monitoring": {"psi": psi}})
    posted = len(world.webhook.received)
    state = run(world, config)
    assert state.is_completed(), state.message
    summary = state.result()
    alerts = world.webhook.received[posted:]
    assert [a["kind"] for a in alerts] == ["monitoring alert"]
    assert alerts[0]["alerts"] == summary["monitoring"]["alerts"] and len(alerts[0]["alerts"]) > 10
    assert alerts[0]["retraining"].startswith("not started")
    assert summary["monitoring"]["estimate"]["roc_auc"][1] <= summary["monitoring"]["estimate"]["roc_auc"][0]
    assert world.live_version() == summary["publication"]["version"]


def test_monitor_backfill_replays_past_nights_with_the_champion_and_publishes_nothing(
    world: World, published: dict[str, Any]
) -> None:
    before_version, before_table = world.live_version(), world.tier_table()
    last = pd.Timestamp(published["summary"]["as_of"]).date()
    nights = [last - pd.Timedelta(days=31), last - pd.Timedelta(days=30)]
    settings = load_settings(world.config, environ={})
    app = app_with(settings, monitor_cli)
    args = ["monitor", "backfill", "--data", str(world.data_dir), "--from", str(nights[0]), "--to", str(nights[1])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 night(s) replayed" in result.output
    history = settings.paths.resolve(settings.paths.monitoring) / "history"
    for night in nights:
        rows = pd.read_parquet(history / f"{night}.parquet")
        assert {"drift", "estimate"} <= set(rows["kind"])
        assert set(rows["as_of"].dt.date) >= {night}
    assert world.live_version() == before_version
    assert world.tier_table() == before_table


def baselines(world: World) -> dict[str, bytes]:
    """Return what the nights kept for later nights to compare with (monitoring counts and data ends), by file."""
    settings = load_settings(world.config, environ={})
    root = settings.paths.resolve(settings.paths.monitoring)
    return {str(p.relative_to(root)): p.read_bytes() for kind in ("counts", "periods") for p in (root / kind).glob("*")}


FAILURES = {
    "contract": "ContractError",
    "quarantine_limit": "QuarantineLimitError",
    "publish_guardrail": "GuardrailError",
    "broken_export": "DriftGuardrailError",
}


@pytest.mark.parametrize("kind", list(FAILURES))
def test_after_a_failed_night_of_each_kind_no_phone_number_is_left_outside_quarantine_or_in_the_report(
    world: World, published: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    data = tmp_path / "raw"
    shutil.copytree(world.data_dir, data, ignore=shutil.ignore_patterns("_truth"))
    bills = pd.read_parquet(data / "bills.parquet")
    if kind == "contract":  # a required column gone: the run aborts on the contract
        bills = bills.drop(columns=["amount"])
    elif kind == "quarantine_limit":  # 5% of bills below zero: over validation.max_quarantined_share
        bills.loc[bills.sample(frac=0.05, random_state=1).index, "amount"] = -1.0
    elif kind == "publish_guardrail":  # a fifth of the base gone: the table is under 90% of the live one, refused
        subscribers = pd.read_parquet(data / "subscribers.parquet")
        gone = subscribers["subscriber_id"].sample(frac=0.2, random_state=1)
        for table in ("subscribers", "payments", "contacts"):
            frame = pd.read_parquet(data / f"{table}.parquet")
            frame[~frame["subscriber_id"].isin(gone)].to_parquet(data / f"{table}.parquet", index=False)
        bills = bills[~bills["subscriber_id"].isin(gone)]
    else:  # the latest month's data charges exported as 0: refused by monitoring
        bills.loc[bills["bill_month"] == bills["bill_month"].max(), "data_amount"] = 0.0
    bills.to_parquet(data / "bills.parquet", index=False)
    before, posted = world.live_version(), len(world.webhook.received)
    kept = baselines(world)
    assert kept, "the published night is the baseline of the next"

    state = nightly(data_dir=str(data), config=str(world.config), return_state=True)

    assert state.is_failed()
    assert world.webhook.received[posted]["error"].startswith(FAILURES[kind] + "(")
    assert world.live_version() == before
    assert baselines(world) == kept  # the refused night is not what the next night compares with
    assert raw_numbers_left(world) == []
    numbers = set(pd.read_parquet(world.data_dir / "subscribers.parquet")["msisdn"].astype(str))
    reported = json.dumps(world.webhook.received[posted:]) + str(state.message)
    assert world.webhook.received[posted:], "the failure was reported"
    assert not numbers & {m.group(1) for m in CANDIDATE.finditer(reported)}


def test_the_nightly_publishes_the_call_back_list_as_a_table_and_files(
    world: World, published: dict[str, Any], tmp_path: Path
) -> None:
    """Given abandoned calls planted on the as_of day (two high, two mid, one low; one mid called back after),
    the published table and callback.parquet hold exactly the owed callers, due 24 h after their call."""
    from pipelines.privacy import privacy_key, subscriber_key

    as_of = pd.Timestamp(published["summary"]["as_of"])
    settings = load_settings(world.config, environ={})
    data = tmp_path / "raw"
    shutil.copytree(world.data_dir, data, ignore=shutil.ignore_patterns("_truth"))
    subscribers = pd.read_parquet(data / "subscribers.parquet")
    keys = subscriber_key(subscribers["msisdn"], privacy_key(settings.privacy))
    tier_of = {row[0]: row for row in world.tier_table()}  # subscriber_key, tier, ..., is_black_list, flea_flag
    live = subscribers.assign(subscriber_key=keys, tier=keys.map({k: row[1] for k, row in tier_of.items()}))
    live = live[live["subscriber_key"].isin(tier_of) & ~live["do_not_contact"].astype(bool)]
    planted = pd.concat([live[live["tier"] == tier].head(n) for tier, n in (("high", 2), ("mid", 2), ("low", 1))])
    contacts = pd.read_parquet(data / "contacts.parquet")
    at = [as_of + pd.Timedelta(hours=9 + i, minutes=7) for i in range(len(planted))]
    extra = pd.DataFrame(
        {
            "subscriber_id": [*planted["subscriber_id"], planted["subscriber_id"].iloc[3]],
            "contact_time": [*at, as_of + pd.Timedelta(hours=21)],  # the second mid caller is called back
            "channel": ["voice"] * len(planted) + ["outbound"],
            "reason": ["billing"] * len(planted) + ["other"],
            "resolved": False,
            "wait_seconds": [95.0 + i for i in range(len(planted))] + [0.0],
            "handle_seconds": 0.0,
            "abandoned": [True] * len(planted) + [False],
            "agent_group": None,  # abandoned and outbound calls reach no agent group
        }
    )
    extra = extra[[c for c in contacts.columns if c in extra.columns]]
    extra["contact_id"] = contacts["contact_id"].max() + 1 + np.arange(len(extra))
    contacts = pd.concat([contacts, extra.astype(contacts.dtypes.to_dict())], ignore_index=True)
    contacts.to_parquet(data / "contacts.parquet", index=False)

    state = nightly(data_dir=str(data), config=str(world.config), return_state=True)
    assert state.is_completed(), state.message

    with sqlite3.connect(world.root / "data" / "published" / "tiercast.db") as conn:
        rows = pd.read_sql("SELECT * FROM callback_list WHERE as_of = ? ORDER BY rank", conn, params=[f"{as_of:%F}"])
        tiers = pd.read_sql("SELECT subscriber_key, tier, is_black_list, flea_flag FROM tier_table", conn)
    file = pd.read_parquet(world.root / "data" / "published" / "retention" / f"{as_of:%F}" / "callback.parquet")
    time = pd.to_datetime(contacts["contact_time"])
    today = contacts[(time >= as_of) & (time < as_of + pd.Timedelta(days=1))]
    missed = today[(today["channel"] == "voice") & today["abandoned"]]
    last = missed.assign(at=pd.to_datetime(missed["contact_time"])).groupby("subscriber_id")["at"].max()
    outbound = today[today["channel"] == "outbound"].groupby("subscriber_id")["contact_time"].max()
    after = pd.Series(last.index, index=last.index).map(outbound.to_dict())
    owed = last[~(pd.to_datetime(after) > last)]
    people = subscribers.assign(subscriber_key=keys).set_index("subscriber_id").loc[owed.index]
    people = people.assign(missed_at=owed).merge(tiers, on="subscriber_key")  # active, published subscribers
    callable_ = people["tier"].isin(["high", "mid"]) & ~people["is_black_list"].astype(bool)
    callable_ &= ~people["flea_flag"].astype(bool) & ~people["do_not_contact"].astype(bool)
    expected = people[callable_].sort_values(["missed_at", "subscriber_key"])

    assert len(expected) >= 3  # the planted high and first mid callers (unless their tier moved)
    assert rows["subscriber_key"].tolist() == expected["subscriber_key"].tolist() == file["subscriber_key"].tolist()
    assert pd.to_datetime(rows["missed_at"]).tolist() == expected["missed_at"].tolist()
    assert (pd.to_datetime(rows["due_by"]) - pd.to_datetime(rows["missed_at"]) == pd.Timedelta(hours=24)).all()
    assert planted["subscriber_key"].iloc[3] not in set(rows["subscriber_key"])  # called back: not listed
    assert state.result()["outputs"]["call-back list"].endswith("callback.parquet")
