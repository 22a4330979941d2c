"""Retention list files: one Parquet + CSV pair per desk and day, replaced whole on a rerun."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.loader import ContractError
from pipelines.retention_files import write_callback_files, write_retention_files
from tests.pipelines.publish_db import msisdn_leaks, retention_frame, tier_frame

AS_OF = date(2025, 6, 30)


def listed() -> pd.DataFrame:
    frame = retention_frame(tier_frame(20, AS_OF, "run-1"), rows=5)
    frame["desk"] = pd.Series(["tariff", "product", "tariff", "product", "tariff"], dtype="str")
    frame["rank"] = [1, 1, 2, 2, 3]
    frame["suggested_action"] = pd.Series(["cheaper plan (优惠政策)"] * 5, dtype="str")
    return frame


def test_one_pair_per_configured_desk_with_the_desks_rows_in_rank_order(settings, tmp_path: Path) -> None:
    written = write_retention_files(listed(), tmp_path, AS_OF, settings.retention)
    folder = tmp_path / "2025-06-30"
    assert sorted(p.name for p in written) == sorted(
        f"{desk}{suffix}" for desk in settings.retention.desks for suffix in (".parquet", ".csv")
    )
    tariff = pd.read_parquet(folder / "tariff.parquet")
    assert tariff["rank"].tolist() == [1, 2, 3]
    assert pd.read_csv(folder / "product.csv", encoding="utf-8-sig")["rank"].tolist() == [1, 2]
    assert len(pd.read_parquet(folder / "account_manager.parquet")) == 0  # header only: nobody today
    assert "优惠政策" in (folder / "tariff.csv").read_text(encoding="utf-8-sig")
    assert pd.read_csv(folder / "tariff.csv")["as_of"].tolist() == ["2025-06-30"] * 3


def test_no_control_member_in_any_call_file(settings, tmp_path: Path) -> None:
    # given two of five listed customers held out as control; then no file holds their key, nor a `group` column
    frame = listed().assign(group=pd.Series(["treated", "control", "control", "treated", "treated"], dtype="str"))
    write_retention_files(frame, tmp_path, AS_OF, settings.retention)
    files = list((tmp_path / "2025-06-30").glob("*.parquet"))
    rows = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    held_out = set(frame.loc[frame["group"] == "control", "subscriber_key"])
    assert sorted(rows["subscriber_key"]) == sorted(frame.loc[frame["group"] == "treated", "subscriber_key"])
    assert not held_out & set(rows["subscriber_key"])
    text = "".join(p.read_text(encoding="utf-8-sig") for p in (tmp_path / "2025-06-30").glob("*.csv"))
    assert not any(k in text for k in held_out)
    assert "group" not in rows.columns
    # the tariff desk's call file keeps the list's ranks: 1 and 3 (rank 2 is a control member)
    assert pd.read_parquet(tmp_path / "2025-06-30" / "tariff.parquet")["rank"].tolist() == [1, 3]


def test_rerun_replaces_the_day_and_removes_stale_desks(settings, tmp_path: Path) -> None:
    folder = tmp_path / "2025-06-30"
    folder.mkdir(parents=True)
    (folder / "old_desk.csv").write_text("stale")
    write_retention_files(listed(), tmp_path, AS_OF, settings.retention)
    first = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    write_retention_files(listed(), tmp_path, AS_OF, settings.retention)
    assert {p.name: p.read_bytes() for p in folder.glob("*.csv")} == first
    assert not (folder / "old_desk.csv").exists()
    assert not list(folder.glob(".*partial"))


def test_no_phone_number_in_any_file(settings, tmp_path: Path) -> None:
    write_retention_files(listed(), tmp_path, AS_OF, settings.retention)
    assert msisdn_leaks_in(tmp_path) == []


def msisdn_leaks_in(folder: Path) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    try:
        return msisdn_leaks(engine, folder)
    finally:
        engine.dispose()


def test_a_list_breaking_its_contract_is_not_written(settings, tmp_path: Path) -> None:
    bad = listed()
    bad.loc[0, "subscriber_key"] = "13800138000"
    with pytest.raises(ContractError):
        write_retention_files(bad, tmp_path, AS_OF, settings.retention)
    assert not (tmp_path / "2025-06-30").exists()


def callbacks() -> pd.DataFrame:
    stamps = pd.to_datetime(["2025-06-30 08:05:00", "2025-06-30 17:40:30"])
    return pd.DataFrame(
        {
            "run_date": pd.Timestamp("2025-07-01"),
            "desk": pd.Series(["callback"] * 2, dtype="str"),
            "rank": pd.Series([2, 1], dtype="int64"),
            "subscriber_key": pd.Series([f"{n:064x}" for n in (1, 2)], dtype="str"),
            "tier": pd.Series(["mid", "high"], dtype="str"),
            "missed_at": stamps,
            "due_by": stamps + pd.Timedelta(hours=24),
            "wait_seconds": [62.0, None],
            "as_of": pd.Timestamp(AS_OF),
            "run_id": pd.Series(["run-1"] * 2, dtype="str"),
        }
    )


def test_call_back_list_files_in_rank_order_with_times_to_the_second(settings, tmp_path: Path) -> None:
    written = write_callback_files(callbacks(), tmp_path, AS_OF, settings.retention)
    folder = tmp_path / "2025-06-30"
    assert written == [folder / "callback.parquet", folder / "callback.csv"]
    table = pd.read_parquet(folder / "callback.parquet")
    assert table["rank"].tolist() == [1, 2]
    assert table["due_by"].tolist() == [pd.Timestamp("2025-07-01 17:40:30"), pd.Timestamp("2025-07-01 08:05:00")]
    text = pd.read_csv(folder / "callback.csv", encoding="utf-8-sig")
    assert text[["missed_at", "due_by", "as_of"]].values.tolist() == [
        ["2025-06-30 17:40:30", "2025-07-01 17:40:30", "2025-06-30"],
        ["2025-06-30 08:05:00", "2025-07-01 08:05:00", "2025-06-30"],
    ]
    assert msisdn_leaks_in(tmp_path) == []


def test_retention_files_keep_the_call_back_files_of_the_day(settings, tmp_path: Path) -> None:
    write_callback_files(callbacks(), tmp_path, AS_OF, settings.retention)
    write_retention_files(listed(), tmp_path, AS_OF, settings.retention)
    folder = tmp_path / "2025-06-30"
    assert (folder / "callback.parquet").exists() and (folder / "callback.csv").exists()
    assert len(pd.read_parquet(folder / "callback.parquet")) == 2
