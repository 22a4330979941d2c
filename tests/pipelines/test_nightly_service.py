"""The nightly's service-level step on a hand-built night: the day's KPIs per tier, FCR a week back, the replay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from models.service_kpis import UNTIMED
from pipelines.database import engine_for, publications_table
from pipelines.nightly_service import ServiceNight, night_from_shards, service_night, service_step, tiers_by_key
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.publish import publish
from pipelines.run_summary import _service_lines
from tests.pipelines.publish_db import retention_frame, tier_frame
from tiercast.settings import Settings

AS_OF = date(2026, 10, 20)  # a Tuesday: tomorrow's staffing replays Wednesday 2026-10-14


def subscribers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 4],
            "msisdn": ["13800000001", "13800000002", "13800000003", "13800000004"],
            "activation_date": pd.to_datetime(["2025-01-01"] * 4),
        }
    )


def routing(settings: Settings) -> pd.DataFrame:
    keys = subscriber_key(subscribers()["msisdn"], privacy_key(settings.privacy))
    return pd.DataFrame(
        {
            "subscriber_key": keys,
            "tier": ["high", "low", "mid", "high"],
            "priority": [2, 5, 4, 2],
            "queue": ["vip", "standard", "standard", "vip"],
        }
    )


def contacts() -> pd.DataFrame:
    rows = [
        # the as-of day: two high-tier calls (one within 20 s), one low-tier call abandoned, a mid-tier chat complaint
        (1, "2026-10-20 09:00:00", "voice", "inquiry", 5.0, False, 100.0),
        (1, "2026-10-20 10:00:00", "voice", "billing", 30.0, False, 200.0),
        (2, "2026-10-20 11:00:00", "voice", "fault", 10.0, True, 0.0),
        (3, "2026-10-20 12:00:00", "chat", "complaint", 0.0, False, 50.0),
        # a week back: high caller 4 never came back, 1 did the next day; the low caller did two days later
        (4, "2026-10-13 08:00:00", "voice", "inquiry", 0.0, False, 60.0),
        (1, "2026-10-13 09:00:00", "voice", "inquiry", 0.0, False, 60.0),
        (2, "2026-10-13 09:30:00", "voice", "fault", 0.0, False, 60.0),
        (2, "2026-10-15 09:30:00", "app", "fault", 0.0, False, 0.0),
        # the day tomorrow's replay takes its calls from
        (1, "2026-10-14 09:00:00", "voice", "inquiry", 3.0, False, 120.0),
        (2, "2026-10-14 09:01:00", "voice", "billing", 40.0, True, 0.0),
        (3, "2026-10-14 09:02:00", "voice", "fault", 8.0, False, 180.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["subscriber_id", "contact_time", "channel", "reason", "wait_seconds", "abandoned", "handle_seconds"],
    )
    return frame.assign(contact_time=pd.to_datetime(frame["contact_time"]), resolved=True)


def night_of(settings: Settings, contacts: pd.DataFrame, out_dir: Path) -> ServiceNight:
    """`service_night` on the hand-built base, every subscriber keyed and looked up in the tier table."""
    base, table = subscribers(), routing(settings)
    tiers = tiers_by_key(base, table, privacy_key(settings.privacy))
    return service_night(settings, AS_OF, contacts, base, tiers, base, table, out_dir)


def test_the_days_kpis_per_tier_fcr_a_week_back_and_tomorrows_replay(settings: Settings, tmp_path) -> None:
    night = night_of(settings, contacts(), tmp_path)
    kpis = night.kpis.set_index("tier")
    assert kpis.loc["high", "offered"] == 2 and kpis.loc["high", "service_level"] == 0.5
    assert kpis.loc["high", "asa_s"] == 17.5 and kpis.loc["high", "aht_s"] == 150.0
    assert bool(kpis.loc["high", "below_target"])  # 50% < 90%
    assert kpis.loc["low", "offered"] == 1 and kpis.loc["low", "abandon_rate"] == 1.0
    assert kpis.loc["all", "offered"] == 3 and kpis.loc["all", "service_level"] == pytest.approx(1 / 3)
    assert kpis.loc["mid", "complaint_rate"] == 1000.0  # one complaint, one mid-tier subscriber, per 1,000
    assert night.fcr_day == date(2026, 10, 13)
    assert night.fcr["high"] == 0.5 and night.fcr["low"] == 0.0  # came back within 7 days: not resolved
    assert night.staffing_day == date(2026, 10, 21) and night.replayed_day == date(2026, 10, 14)
    assert night.staffing is not None and set(night.staffing["tier"]) == {"high", "mid", "low"}
    assert night.staffing.set_index("tier")["offered"].to_dict() == {"high": 1, "mid": 1, "low": 1}
    assert night.seats == settings.service.seats and night.peak_required >= 1
    assert (tmp_path / "staffing_2026-10-21.png").is_file() and (tmp_path / "staffing_2026-10-21.csv").is_file()
    summary = night.summary()
    assert summary["kpis"]["high"]["service_level"] == 0.5
    assert summary["staffing"]["replays_calls_of"] == "2026-10-14"
    text = "\n".join(_service_lines(summary))
    assert "| high | 2 | 50.0% | 90.0% | no |" in text
    assert "first-contact resolution of the calls of 2026-10-13: " in text


def test_an_export_without_queue_columns_gets_the_kpis_it_can_and_says_why_no_replay(
    settings: Settings, tmp_path
) -> None:
    bare = contacts().drop(columns=["wait_seconds", "abandoned", "handle_seconds"])
    night = night_of(settings, bare, tmp_path)
    assert night.staffing is None
    assert night.note == "no staffing replay: the contacts have no wait_seconds, abandoned, handle_seconds"
    assert night.kpis.set_index("tier").loc["high", "offered"] == 2
    assert {"service_level", "aht_s"} <= set(night.unavailable)
    assert not list(tmp_path.iterdir())


def test_contacts_with_dates_only_get_the_days_kpis_and_no_replay(settings: Settings, tmp_path) -> None:
    """A CRM export's contact dates: every call at 00:00, so tomorrow's hours cannot be replayed."""
    dated = contacts().assign(contact_time=lambda f: f["contact_time"].dt.normalize())
    night = night_of(settings, dated, tmp_path)
    assert night.staffing is None and night.note == f"no staffing replay: {UNTIMED}"
    high = night.kpis.set_index("tier").loc["high"]
    assert (high["offered"], high["service_level"]) == (2, 0.5)
    assert night.unavailable["hours_below_target"] == UNTIMED
    assert not list(tmp_path.iterdir())


def generated_night(
    settings: Settings, folder: Path, seed: int = 15
) -> tuple[list[SimpleNamespace], list[SimpleNamespace]]:
    """Two shards' files for a random night as of AS_OF: keys, kept contacts (callers outside the base among
    them), tier tables in key order (black list, a queue outside the groups) and scores (one shard's shuffled)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, 301)
    base = pd.DataFrame(
        {
            "subscriber_id": ids,
            "msisdn": [f"139{n:08d}" for n in rng.choice(10**8, len(ids), replace=False)],
            "activation_date": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 40, len(ids)), unit="D"),
        }
    )
    tiers = rng.choice(["high", "mid", "low"], len(ids))
    queues = [*settings.service.groups, "not-a-group"]
    table = pd.DataFrame(
        {
            "subscriber_key": subscriber_key(base["msisdn"], privacy_key(settings.privacy)),
            "tier": tiers,
            "priority": rng.choice([1, 2, 4, 5, 7, 9], len(ids)),
            "queue": rng.choice(queues, len(ids)),
        }
    )
    n = 2500
    start = pd.Timestamp(AS_OF - timedelta(days=settings.service.fcr_window_days))
    calls = pd.DataFrame(
        {
            "subscriber_id": rng.integers(1, 331, n),  # 301-330: left or quarantined, not in tonight's base
            "contact_time": start + pd.to_timedelta(rng.integers(0, 8 * 86400, n), unit="s"),
            "channel": rng.choice(["voice", "voice", "voice", "chat", "app", "outbound"], n),
            "reason": rng.choice(["inquiry", "billing", "fault", "complaint"], n),
            "wait_seconds": (1.0 + rng.exponential(15.0, n)).round(),
            "abandoned": rng.random(n) < 0.1,
            "handle_seconds": rng.lognormal(5.5, 0.4, n).round(),
            "resolved": True,
        }
    ).sort_values("contact_time", kind="stable")
    parts, outputs = [], []
    for shard in (0, 1):
        where = folder / f"shard-{shard}"
        where.mkdir(parents=True)
        mine = base["subscriber_id"] % 2 == shard
        base[mine].to_parquet(where / "keys.parquet", index=False)
        calls[calls["subscriber_id"] % 2 == shard].to_parquet(where / "service.parquet", index=False)
        table[mine].sort_values("subscriber_key").to_parquet(where / "tier_table.parquet", index=False)
        scores = pd.DataFrame({"subscriber_id": ids[mine], "churn_score": rng.random(mine.sum()), "tier": tiers[mine]})
        scores.sample(frac=1.0, random_state=shard).to_parquet(where / "scores.parquet", index=False)
        parts.append(SimpleNamespace(keys_path=where / "keys.parquet", service_path=where / "service.parquet"))
        outputs.append(SimpleNamespace(tier_path=where / "tier_table.parquet", scores_path=where / "scores.parquet"))
    return parts, outputs


def reference_night(settings: Settings, parts: list[SimpleNamespace], outputs, out_dir: Path) -> ServiceNight:
    """The step before issue 15: every active subscriber keyed and looked up in the whole tier table."""
    contacts = pd.concat([pd.read_parquet(p.service_path) for p in parts], ignore_index=True)
    base = pd.concat([pd.read_parquet(p.keys_path) for p in parts], ignore_index=True)
    columns = ["subscriber_key", "tier", "priority", "queue"]
    table = pd.concat([pd.read_parquet(o.tier_path, columns=columns) for o in outputs], ignore_index=True)
    tiers = tiers_by_key(base, table, privacy_key(settings.privacy))
    return service_night(settings, AS_OF, contacts, base, tiers, base, table, out_dir)


@pytest.mark.parametrize("scores", [True, False], ids=["tiers-from-scores", "no-scores-every-subscriber-keyed"])
def test_the_step_on_the_shards_files_gives_what_keying_every_subscriber_gives(
    settings: Settings, tmp_path: Path, scores: bool
) -> None:
    """Given a generated night's shard files, when the step keys only the replayed day's callers (tiers by
    subscriber_id from the scores), then every KPI, the staffing verdict and the files are the reference's."""
    parts, outputs = generated_night(settings, tmp_path / "work")
    if not scores:
        outputs = [SimpleNamespace(tier_path=o.tier_path, scores_path=None) for o in outputs]
    expected = reference_night(settings, parts, outputs, tmp_path / "expected")
    night = night_from_shards(settings, AS_OF, parts, outputs, tmp_path / "got")
    assert expected.staffing is not None and night.staffing is not None
    assert set(expected.kpis["tier"]) == {"all", "high", "mid", "low", "unlisted"}
    pd.testing.assert_frame_equal(night.kpis, expected.kpis)
    pd.testing.assert_frame_equal(night.staffing, expected.staffing)
    assert (night.fcr, night.black_list_longest_wait_s, night.peak_required) == (
        expected.fcr,
        expected.black_list_longest_wait_s,
        expected.peak_required,
    )
    # no publish database here: tonight's tiers, said
    said = {"files": {}, "note": "", "tiers_from": {}}
    assert night.summary() | said == expected.summary() | said
    assert night.note.startswith("tiers of 2026-10-20's calls: tonight's (no tier table published (")
    assert night.tiers_from == {"2026-10-20": "tonight's tiers (the tier table just published)"}
    for name, path in expected.files.items():
        assert Path(night.files[name]).read_bytes() == Path(path).read_bytes(), name


# The tier table live during the as-of day 2026-10-20: Asia/Shanghai is UTC+8, so a switch at 18:00 UTC is 02:00
# local the next day, when the nightly switches. v1 (as of 10-18) served until 10-20 02:00, v2 (as of 10-19) the
# rest of the day; tonight's v3 (as of 10-20) goes live on 10-21 at 02:00.
SWITCHES = {date(2026, 10, 18): "2026-10-18 18:00", date(2026, 10, 19): "2026-10-19 18:00", AS_OF: "2026-10-20 18:00"}


def publish_night(settings: Settings, tiers: list[str], as_of: date, switched: str | None = None) -> None:
    """Publish `tiers` (of subscribers 1-4) as of `as_of` in the settings' publish database, switched at
    `switched` (UTC; by default SWITCHES[as_of])."""
    frame = tier_frame(4, as_of, f"run-{as_of}")
    frame["subscriber_key"] = subscriber_key(subscribers()["msisdn"], privacy_key(settings.privacy))
    frame["tier"] = pd.Series(tiers, dtype="str")
    rules = settings.publish.guardrails.model_copy(update={"max_tier_share_change": 1.0})  # tiny tables move a lot
    publishing = settings.publish.model_copy(update={"guardrails": rules})
    engine = engine_for(settings)
    try:
        published = publish(engine, publishing, frame.sort_values("subscriber_key"), retention_frame(frame, 0))
        registry = publications_table(settings.publish, sa.MetaData())
        stamp = datetime.fromisoformat(switched or SWITCHES[as_of]).replace(tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(registry.update().where(registry.c.version == published.version).values(published_at=stamp))
    finally:
        engine.dispose()


def one_shard(settings: Settings, folder: Path, calls: pd.DataFrame) -> tuple[list[SimpleNamespace], ...]:
    """The hand-built night as one shard's files: keys, kept contacts, tonight's tier table and scores."""
    folder.mkdir(parents=True)
    subscribers().to_parquet(folder / "keys.parquet", index=False)
    calls.to_parquet(folder / "service.parquet", index=False)
    table = routing(settings)
    table.to_parquet(folder / "tier_table.parquet", index=False)
    scores = pd.DataFrame({"subscriber_id": [1, 2, 3, 4], "churn_score": 0.5, "tier": table["tier"]})
    scores.to_parquet(folder / "scores.parquet", index=False)
    parts = [SimpleNamespace(keys_path=folder / "keys.parquet", service_path=folder / "service.parquet")]
    return parts, [SimpleNamespace(tier_path=folder / "tier_table.parquet", scores_path=folder / "scores.parquet")]


def calls_across_the_switch() -> pd.DataFrame:
    """The hand-built contacts and one more call of subscriber 1 on the as-of day, before the 02:00 switch."""
    early = contacts().iloc[:1].assign(contact_time=pd.Timestamp("2026-10-20 01:30:00"), wait_seconds=12.0)
    return pd.concat([contacts(), early], ignore_index=True)


def test_a_caller_whose_tier_changed_tonight_counts_in_the_tier_live_when_he_called(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given subscriber 1 low in v1, mid in v2 and high tonight (v3), the others the same in all three; he called
    # on the as-of day at 01:30 (v1 live), 09:00 and 10:00 (v2 live)
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    publish_night(settings, ["low", "low", "mid", "high"], date(2026, 10, 18))
    publish_night(settings, ["mid", "low", "mid", "high"], date(2026, 10, 19))
    publish_night(settings, ["high", "low", "mid", "high"], AS_OF)
    parts, outputs = one_shard(settings, tmp_path / "shard-0", calls_across_the_switch())
    # when the nightly's step runs after tonight's publication
    summary = service_step(settings, AS_OF, parts, outputs)
    # then his 01:30 call is low (with subscriber 2's), his 09:00 and 10:00 calls mid, none high (tonight's tier)
    kpis = summary["kpis"]
    offered = {tier: kpis[tier]["offered"] for tier in kpis}
    assert offered == {"all": 4, "high": 0, "low": 2, "mid": 2}
    assert (kpis["mid"]["service_level"], kpis["mid"]["asa_s"]) == (0.5, 17.5)
    assert kpis["mid"]["complaint_rate"] == 1000.0  # subscriber 3's chat; the base: tonight's one mid subscriber
    assert summary["tiers_from"]["2026-10-20"] == (
        "00:00-02:00 v1 (as of 2026-10-18): tier_table_v000001; 02:00-24:00 v2 (as of 2026-10-19): tier_table_v000002"
    )
    # the FCR day's calls (10-13) came before any recorded switch: the live table's tiers (tonight's), said
    assert summary["tiers_from"]["2026-10-13"].endswith(
        "the live table v3 as of 2026-10-20 (before the first recorded switch)"
    )
    assert summary["fcr"] == {"calls_of": "2026-10-13", "all": 0.3333, "high": 0.5, "low": 0.0, "mid": None}
    text = "\n".join(_service_lines(summary))
    assert "- tiers of 2026-10-20's calls from the tier table live when each was made: 00:00-02:00 v1" in text
    assert summary["note"].endswith("tier_table_v000002; complaint rate's base: tonight's tiers")
    assert summary["staffing"]["replays_calls_of"] == "2026-10-14"


def test_the_first_night_takes_tonights_tiers_and_says_so(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given only tonight's publication (subscriber 1 high), switched after the as-of day
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    publish_night(settings, ["high", "low", "mid", "high"], AS_OF)
    parts, outputs = one_shard(settings, tmp_path / "shard-0", calls_across_the_switch())
    summary = service_step(settings, AS_OF, parts, outputs)
    # then every call of the day takes tonight's tier, and the summary says why
    assert {tier: k["offered"] for tier, k in summary["kpis"].items()} == {"all": 4, "high": 3, "low": 1, "mid": 0}
    note = (
        "tiers of 2026-10-20's calls: tonight's, as no publication was live yet that day (the first night, or a day"
        " before the first recorded switch)"
    )
    assert summary["note"] == note
    assert summary["tiers_from"] == {"2026-10-20": "tonight's tiers (the tier table just published)"}
    assert f"- {note}" in _service_lines(summary)


def test_a_day_whose_tables_are_no_longer_kept_takes_tonights_tiers_and_says_so(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given v1 and v2 live on the as-of day, then tonight published twice (a re-run) with two versions kept
    monkeypatch.delenv(settings.privacy.key_env, raising=False)
    settings = settings.model_copy(update={"publish": settings.publish.model_copy(update={"keep_versions": 2})})
    publish_night(settings, ["low", "low", "mid", "high"], date(2026, 10, 18))
    publish_night(settings, ["mid", "low", "mid", "high"], date(2026, 10, 19))
    publish_night(settings, ["high", "low", "mid", "high"], AS_OF)
    publish_night(settings, ["high", "low", "mid", "high"], AS_OF, "2026-10-20 19:00")
    parts, outputs = one_shard(settings, tmp_path / "shard-0", calls_across_the_switch())
    summary = service_step(settings, AS_OF, parts, outputs)
    # then tonight's tiers, and the note names the versions whose tables are gone
    assert {tier: k["offered"] for tier, k in summary["kpis"].items()} == {"all": 4, "high": 3, "low": 1, "mid": 0}
    assert summary["note"] == (
        "tiers of 2026-10-20's calls: tonight's, as the tables live that day are no longer kept"
        " (publish.keep_versions): 00:00-02:00 v1 (as of 2026-10-18): the live table v4 as of 2026-10-20 (v1's table"
        " is no longer kept); 02:00-24:00 v2 (as of 2026-10-19): the live table v4 as of 2026-10-20 (v2's table is no"
        " longer kept)"
    )


def test_an_unreadable_publish_database_takes_tonights_tiers_and_the_night_goes_on(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a publish database that fails with something other than a SQL error
    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionResetError("peer went away")

    monkeypatch.setattr("pipelines.nightly_service.attributed_tiers", broken)
    parts, outputs = one_shard(settings, tmp_path / "shard-0", calls_across_the_switch())
    summary = service_step(settings, AS_OF, parts, outputs)
    # then the day's KPIs with tonight's tiers and tomorrow's staffing, and the note says why
    assert {tier: k["offered"] for tier, k in summary["kpis"].items()} == {"all": 4, "high": 3, "low": 1, "mid": 0}
    assert summary["note"] == (
        "tiers of 2026-10-20's calls: tonight's (the publish database could not be read: peer went away)"
    )
    assert summary["staffing"]["replays_calls_of"] == "2026-10-14"
