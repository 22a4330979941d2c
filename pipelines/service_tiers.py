"""Each contact's tier from the tier table the routing service read when the contact happened.

The publish database keeps every publication in its registry (version, as_of, status and published_at, set when
the view was switched to it) and the tables of the newest `publish.keep_versions` publications (pipelines/publish.py
`prune`; older ones are dropped, status 'dropped'). The routing service reads the view live, so a contact at time t
was routed with the version whose switch is the latest at or before t. Not the version as of t's day: the nightly as
of D switches on D+1 at about 02:00, so D's calls were routed with the table as of D-1 (its first hours with D-2's).
Switch times are stored in UTC and compared with contact times in `flows.timezone`, the operator's local time.

A contact whose version's table is gone, or made before the first recorded switch, gets its caller's tier from
the live table; the report says so per day. Each version is asked only for its callers' keys; the complaint rate's
base (every subscriber, per day) reads one version at a time, streamed, for the days it served longest.

The registry does not record when a rollback happened: a rolled-back version counts from its switch until the next
switch, and the report names it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models.service_kpis import ALL, UNLISTED, ContactTiers, active_base
from pipelines.database import display_url, engine_for, publications_table
from pipelines.privacy import privacy_key, subscriber_key
from pipelines.publish import DROPPED, HAS_TABLE, LIVE, ROLLED_BACK
from tiercast.settings import Settings

# a publication that was ever pointed at by the view (rejected, failed or building ones never were)
EVER_LIVE = (*HAS_TABLE, DROPPED)
# keys per `IN (...)` lookup. The table is streamed instead (STREAM_ROWS rows at a time) when the keys are over
# STREAM_SHARE of its rows (the registry's count), or over LOOKUP_KEYS when its rows are not known. A 3M-row table
# with its unique index (benchmarks/bench_tier_lookup.py, medians of 3): 500k keys looked up in 9.7 s on
# PostgreSQL, 6.8 s on SQLite, the table streamed in 21 s and 25 s; 200k keys 4.0 s and 2.8 s. Lookups cost
# ~19 us a key on PostgreSQL, streaming ~7 us a row: they win up to about a third of the rows.
IN_KEYS = 5000
LOOKUP_KEYS = 100_000
STREAM_SHARE = 0.3
Sizes = Mapping[str, int | None]  # table name ('': the view) -> its rows in the registry
STREAM_ROWS = 200_000
DAY = pd.Timedelta(days=1)
# the end of the note when no tiers could be read (a caller with tiers of its own drops it)
ALL_ONLY = f"reporting '{ALL}' only"


@dataclass(frozen=True)
class Switch:
    """One publication that went live: its version, table, as_of, switch time (local) and whether its table is kept."""

    version: int
    table_name: str
    as_of: date
    live_from: pd.Timestamp
    status: str
    kept: bool
    rows: int | None = None  # the registry's row count of its table


@dataclass(frozen=True)
class AttributedTiers:
    """Each contact's tier (None: nothing published), the per-day sources (one row per day and version serving
    it) and one line saying where the tiers came from."""

    tiers: ContactTiers | None
    days: pd.DataFrame
    note: str


def local_time(value: datetime | str, timezone: str) -> pd.Timestamp:
    """Return a stored switch time (UTC; naive from SQLite) as a naive wall-clock time in `timezone`."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(timezone).tz_localize(None)


def switch_history(conn: Connection, settings: Settings) -> list[Switch]:
    """Return the publications that went live, in switch order, each with whether its table is still there."""
    registry = publications_table(settings.publish, sa.MetaData())
    query = sa.select(registry).where(registry.c.status.in_(EVER_LIVE))
    rows = conn.execute(query.order_by(registry.c.published_at, registry.c.version)).all()
    tables = set(sa.inspect(conn).get_table_names())
    return [
        Switch(
            row.version,
            row.table_name,
            pd.Timestamp(row.as_of).date(),
            local_time(row.published_at, settings.flows.timezone),
            row.status,
            row.status in HAS_TABLE and row.table_name in tables,
            None if row.rows is None else int(row.rows),
        )
        for row in rows
    ]


def serving(switches: list[Switch], times: pd.Series) -> np.ndarray:
    """Return per time the position in `switches` of the version live then (-1: before the first switch)."""
    starts = np.array([s.live_from.to_datetime64() for s in switches], dtype="datetime64[ns]")
    return np.searchsorted(starts, times.to_numpy(dtype="datetime64[ns]"), side="right") - 1


def streamed(keys: int, rows: int | None) -> bool:
    """Whether looking up `keys` keys in a table of `rows` rows (None: not known) reads the whole table instead."""
    return keys > (LOOKUP_KEYS if rows is None else STREAM_SHARE * rows)


def _rows(
    conn: Connection, table: sa.TableClause, keys: pd.Index, rows: int | None
) -> Iterator[Sequence[sa.Row[Any, Any]]]:
    """Yield (subscriber_key, tier) rows of `table` in pieces: the keys asked for, or the whole table streamed."""
    columns = (table.c.subscriber_key, table.c.tier)
    if not streamed(len(keys), rows):
        for at in range(0, len(keys), IN_KEYS):
            wanted = keys[at : at + IN_KEYS].tolist()
            yield conn.execute(sa.select(*columns).where(table.c.subscriber_key.in_(wanted))).all()
        return
    yield from conn.execution_options(yield_per=STREAM_ROWS).execute(sa.select(*columns)).partitions()


def read_tiers(conn: Connection, table_name: str, keys: pd.Index, rows: int | None = None) -> pd.Series:
    """Return the tier of each key (categorical, aligned with `keys`, NaN when the table lacks it), reading only those
    keys or streaming the table of `rows` rows (`streamed`): memory is one byte per key, whatever the table's size."""
    table = sa.table(table_name, sa.column("subscriber_key"), sa.column("tier"))
    codes = np.full(len(keys), -1, dtype="int8")
    names: dict[str, int] = {}
    for piece in _rows(conn, table, keys, rows):
        found = pd.DataFrame(list(piece), columns=["subscriber_key", "tier"], dtype="str")
        at = keys.get_indexer(pd.Index(found["subscriber_key"]))
        mine = at >= 0
        piece_codes, piece_names = pd.factorize(found["tier"])
        mapped = np.array([names.setdefault(str(tier), len(names)) for tier in piece_names], dtype="int8")
        codes[at[mine]] = mapped[piece_codes[mine]]
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(list(names), dtype="str")), index=keys)


def _segments(switches: list[Switch], days: pd.DatetimeIndex) -> pd.DataFrame:
    """Return per day the versions serving it: day, position in `switches` (-1: before any), from, until."""
    starts = [s.live_from for s in switches]
    rows = []
    for day in days:
        first = int(serving(switches, pd.Series([day]))[0])
        last = int(np.searchsorted(np.array(starts, dtype="datetime64[ns]"), (day + DAY).to_datetime64(), "left")) - 1
        for at in range(first, last + 1):
            begin = max(day, starts[at]) if at >= 0 else day
            end = min(day + DAY, starts[at + 1]) if at + 1 < len(starts) else day + DAY
            rows.append({"day": day, "at": at, "from": begin, "until": end})
    return pd.DataFrame(rows, columns=["day", "at", "from", "until"])


def _described(segments: pd.DataFrame, switches: list[Switch], live: Switch) -> pd.DataFrame:
    """Return the segments with their version, as_of and where their tiers were read (the live table when gone)."""
    fallback = f"the live table v{live.version} as of {live.as_of}"

    def read_from(at: int) -> str:
        if at < 0:
            return f"{fallback} (before the first recorded switch)"
        switch = switches[at]
        if not switch.kept:
            return f"{fallback} (v{switch.version}'s table is no longer kept)"
        rolled = "; rolled back at a time not recorded" if switch.status == ROLLED_BACK else ""
        return f"{switch.table_name}{rolled}"

    ats = segments["at"].tolist()
    return segments.assign(
        version=pd.array([switches[at].version if at >= 0 else None for at in ats], dtype="Int64"),
        as_of=pd.Series([switches[at].as_of if at >= 0 else None for at in ats], index=segments.index, dtype=object),
        tiers_from=[read_from(at) for at in ats],
        source=[switches[at].table_name if at >= 0 and switches[at].kept else "" for at in ats],
        known=segments["at"] >= 0,
    )


def day_text(days: pd.DataFrame) -> pd.Series:
    """Return per day one line: each version serving it, with its as_of, hours and where its tiers were read."""

    def line(rows: pd.DataFrame) -> str:
        parts = []
        for row in rows.to_dict("records"):
            until = "24:00" if row["until"] == row["day"] + DAY else f"{row['until']:%H:%M}"
            name = f"v{row['version']} (as of {row['as_of']})" if row["known"] else "no version live"
            parts.append(f"{row['from']:%H:%M}-{until} {name}: {row['tiers_from']}")
        return "; ".join(parts)

    lines = {day: line(rows) for day, rows in days.groupby("day", sort=True)}
    return pd.Series(lines, dtype="str", name="tiers_from").rename_axis("day")


def _keys(subscribers: pd.DataFrame, ids: np.ndarray, key: bytes) -> pd.Series:
    """Return subscriber_id -> subscriber_key of the subscribers `ids` (the MSISDNs are keyed, not kept)."""
    chosen = subscribers.loc[subscribers["subscriber_id"].isin(ids), ["subscriber_id", "msisdn"]]
    return pd.Series(subscriber_key(chosen["msisdn"], key).to_numpy(), index=chosen["subscriber_id"].to_numpy())


def _contact_tiers(
    conn: Connection, contacts: pd.DataFrame, sources: pd.Series, keys: pd.Series, view: str, sizes: Sizes
) -> tuple[pd.Series, int]:
    """Return each contact's tier from its source table ('' : the view; `sizes`: their rows), and how many callers
    were found."""
    tiers = pd.Series(UNLISTED, index=contacts.index, dtype="str")
    found: set[object] = set()
    for source, mine in contacts.groupby(sources.to_numpy(), sort=True)["subscriber_id"]:
        callers = keys.reindex(mine.unique()).dropna()
        read = read_tiers(conn, str(source) or view, pd.Index(callers.unique()), sizes.get(str(source)))
        by_id = pd.Series(read.reindex(callers.to_numpy()).to_numpy(), index=callers.index).dropna()
        found.update(by_id.index)
        tiers.loc[mine.index] = mine.map(by_id).fillna(UNLISTED).astype("str").to_numpy()
    return tiers, len(found)


def _base(
    conn: Connection, subscribers: pd.DataFrame, base_source: pd.Series, key: bytes, view: str, sizes: Sizes
) -> pd.DataFrame:
    """Return the active base per day and tier, each day's tiers read from its `base_source` table ('': the view)."""
    keys = pd.Index(subscriber_key(subscribers["msisdn"], key).to_numpy())
    parts = []
    for source, days in base_source.groupby(base_source.to_numpy(), sort=True):
        tiers = read_tiers(conn, str(source) or view, keys, sizes.get(str(source)))
        tiers = tiers.cat.add_categories([UNLISTED]).fillna(UNLISTED)
        served = pd.DatetimeIndex(days.index)
        parts.append(active_base(subscribers, pd.Series(tiers.to_numpy(), index=subscribers.index), served))
        del tiers
    base = pd.concat(parts, ignore_index=True)
    return base.astype({"day": "datetime64[ns]"}).sort_values(["day", "tier"], ignore_index=True)


def _no_base() -> pd.DataFrame:
    """Return an empty active base (`active_base`'s columns), for a caller that brings its own."""
    return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), "tier": pd.Series(dtype="str"), "subscribers": 0})


def day_ranges(days: pd.Series) -> str:
    """Return the distinct days as runs of consecutive days: '2024-02-01..2024-02-03, 2024-02-07'."""
    ordered = pd.DatetimeIndex(days.drop_duplicates()).sort_values()
    runs = (ordered.to_series().diff() != DAY).cumsum()
    spans = ordered.to_series().groupby(runs.to_numpy()).agg(["first", "last"])
    return ", ".join(
        f"{a:%Y-%m-%d}" if a == b else f"{a:%Y-%m-%d}..{b:%Y-%m-%d}"
        for a, b in zip(spans["first"], spans["last"], strict=True)
    )


def _note(where: str, days: pd.DataFrame, live: Switch, found: int, callers: int) -> str:
    """Return the report's line on where the tiers came from."""
    served = days[days["known"] & days["source"].ne("")]
    versions = ", ".join(f"v{v}" for v in sorted(set(served["version"].dropna())))
    note = f"{where}: each contact's tier from the table live when it happened ({versions or 'no kept version'})"
    missing = day_ranges(days.loc[days["source"].eq(""), "day"])
    if missing:
        note += f"; tiers of days without a kept version ({missing}): from the live table v{live.version}"
        note += f" as of {live.as_of}"
    rolled = sorted({f"v{v}" for v in days.loc[days["tiers_from"].str.contains("rolled back"), "version"]})
    if rolled:
        note += f"; {', '.join(rolled)} rolled back at a time the registry does not record (counted to the next switch)"
    return f"{note}; {found:,} of {callers:,} callers found in their table"


def attributed_tiers(
    settings: Settings,
    contacts: pd.DataFrame,
    subscribers: pd.DataFrame,
    start: date,
    end: date,
    url: str | None,
    with_base: bool = True,
) -> AttributedTiers:
    """Return the tier of each contact from `start` to `end` in the tier table live at its time, and each day's
    sources; tiers None (and why in the note) when nothing was ever published.

    `with_base` False reads no base (ContactTiers.base empty, no segment marked `base`): only the callers' keys
    are read, so `subscribers` may hold only the callers (the nightly brings its own base)."""
    engine = engine_for(settings, url, read_only=True)
    view = settings.publish.tier_view
    where = f"{display_url(engine)} :: {view}"
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    empty = pd.DataFrame({"day": days, "tiers_from": "nothing published"})
    try:
        with engine.connect() as conn:
            switches = switch_history(conn, settings)
            live = next((s for s in switches if s.status == LIVE), None)
            if live is None:
                return AttributedTiers(None, empty, f"no tier table live in {where}; {ALL_ONLY}")
            segments = _described(_segments(switches, days), switches, live)
            times = contacts["contact_time"]
            if times.dt.tz is not None:
                times = times.dt.tz_convert(settings.flows.timezone).dt.tz_localize(None)
            inside = contacts.loc[(times >= days[0]) & (times < days[-1] + DAY)]
            at = serving(switches, times.loc[inside.index])
            kept = np.array([s.table_name if s.kept else "" for s in switches] + [""], dtype=object)
            sources = pd.Series(kept[at], index=inside.index)  # at -1 takes the last entry: the view
            key = privacy_key(settings.privacy)
            keys = _keys(subscribers, inside["subscriber_id"].unique(), key)
            sizes = {s.table_name: s.rows for s in switches} | {"": live.rows}  # "": the view, the live table
            tiers, found = _contact_tiers(conn, inside, sources, keys, view, sizes)
            counted = pd.DataFrame({"day": times.loc[inside.index].dt.normalize(), "at": at}).value_counts()
            segments = segments.assign(
                contacts=[int(counted.get((d, a), 0)) for d, a in zip(segments["day"], segments["at"], strict=True)]
            )
            longest = segments.assign(hours=segments["until"] - segments["from"]).sort_values("hours", kind="stable")
            chosen = longest.groupby("day").tail(1).set_index("day").sort_index()
            segments = segments.assign(base=segments.index.isin(longest.groupby("day").tail(1).index) & with_base)
            base = _base(conn, subscribers, chosen["source"], key, view, sizes) if with_base else _no_base()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        return AttributedTiers(None, empty, f"no tier table published ({where}: {exc.orig}); {ALL_ONLY}")
    finally:
        engine.dispose()
    note = _note(display_url(engine), segments, live, found, int(inside["subscriber_id"].nunique()))
    columns = ["day", "version", "as_of", "from", "until", "tiers_from", "contacts", "base", "known", "source"]
    return AttributedTiers(ContactTiers(tiers, base), segments[columns], note)
