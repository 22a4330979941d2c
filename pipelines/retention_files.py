"""Retention lists as files: <paths.retention>/<as_of>/<desk>.parquet and .csv, one pair per desk and day.

The files are the desks' call files: the treated rows only, without the column `group`. The control group
(models.control_groups) is published in the table `retention_list` alone, so no desk ever calls a member.

The call-back list goes to the same day folder as <retention.callbacks.desk>.parquet and .csv.

Each file is written next to its final name and renamed into place, so a reader sees the old
file or the new one. Every configured desk gets its pair (header only when nobody is listed);
files of desks no longer configured are removed (never the call-back desk's), so a rerun for
the same as_of replaces the day.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd

from data_contracts.loader import validate_output
from models.retention import to_call
from tiercast.settings.retention import RetentionSettings

log = logging.getLogger(__name__)

SUFFIXES = (".parquet", ".csv")
# Excel opens UTF-8 CSV with Chinese text (e.g. 客户经理) correctly only with a byte-order mark.
CSV_ENCODING = "utf-8-sig"


def day_folder(root: Path, as_of: date) -> Path:
    """Return the folder of one day's lists."""
    return root / as_of.isoformat()


def _replace(frame: pd.DataFrame, path: Path) -> None:
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix == ".parquet":
        frame.to_parquet(partial, index=False)
    else:
        frame.to_csv(partial, index=False, encoding=CSV_ENCODING, date_format="%Y-%m-%d")
    partial.replace(path)


def write_retention_files(listed: pd.DataFrame, root: Path, as_of: date, settings: RetentionSettings) -> list[Path]:
    """Write one Parquet and one CSV call file per desk for `as_of` under `root` (control members left out);
    return the paths written."""
    listed = validate_output(listed, "retention_list", examples=0)
    calls = to_call(listed).drop(columns="group")
    folder = day_folder(root, as_of)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for desk in settings.desks:
        rows = calls[calls["desk"] == desk].sort_values("rank").reset_index(drop=True)
        for suffix in SUFFIXES:
            path = folder / f"{desk}{suffix}"
            _replace(rows, path)
            written.append(path)
    kept = {folder / f"{settings.callbacks.desk}{suffix}" for suffix in SUFFIXES}
    for stale in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p not in written and p not in kept):
        stale.unlink()
        log.info("removed %s (desk no longer configured)", stale)
    log.info(
        "retention lists for %s: %d calls (%d held out as control) in %d desks under %s",
        as_of,
        len(calls),
        len(listed) - len(calls),
        len(settings.desks),
        folder,
    )
    return written


def write_callback_files(listed: pd.DataFrame, root: Path, as_of: date, settings: RetentionSettings) -> list[Path]:
    """Write the call-back list for `as_of` as <callbacks.desk>.parquet and .csv under `root`; return the paths."""
    listed = validate_output(listed, "callback_list", examples=0).sort_values("rank").reset_index(drop=True)
    folder = day_folder(root, as_of)
    folder.mkdir(parents=True, exist_ok=True)
    # the CSV shows missed_at and due_by to the second (the day files' date format would drop the time)
    text = listed.assign(**{c: listed[c].dt.strftime("%Y-%m-%d %H:%M:%S") for c in ("missed_at", "due_by")})
    written = []
    for suffix in SUFFIXES:
        path = folder / f"{settings.callbacks.desk}{suffix}"
        _replace(listed if suffix == ".parquet" else text, path)
        written.append(path)
    log.info("call-back list for %s: %d rows in %s", as_of, len(listed), written[0])
    return written
