"""Where a run leaves its validation evidence: a dated folder per run, a `latest` pointer, old ones pruned.

Every run that validates inputs (`tiercast validate`, `features`, `train`, the nightly and training
flows) writes its quarantine files under `paths.quarantine/<stamp>/` and its report under
`paths.reports/<stamp>/`, where the stamp is the run's start time (UTC) and kind, e.g.
`20261204T235959-nightly`. So a training run on Sunday does not wipe the evidence of Saturday
night's quarantine. `<root>/latest` points at the newest folder; folders older than
`validation.keep_days` are removed when a new run starts.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tiercast.settings import Settings

log = logging.getLogger(__name__)

LATEST = "latest"
STAMP = re.compile(r"^(\d{8}T\d{6})-[a-z0-9-]+$")


@dataclass(frozen=True)
class Evidence:
    """One run's quarantine folder and report file."""

    quarantine: Path
    report: Path


def run_stamp(kind: str, now: datetime | None = None) -> str:
    """Return the folder name of a run started `now` (UTC), e.g. 20261204T235959-nightly."""
    started = now or datetime.now(UTC)
    return f"{started:%Y%m%dT%H%M%S}-{re.sub(r'[^a-z0-9-]+', '-', kind.lower()).strip('-')}"


def evidence_for(settings: Settings, kind: str, now: datetime | None = None) -> Evidence:
    """Return (and create) this run's dated quarantine folder and report path; point `latest` at them; prune."""
    now = now or datetime.now(UTC)
    stamp = run_stamp(kind, now)
    roots = (settings.paths.resolve(settings.paths.quarantine), settings.paths.resolve(settings.paths.reports))
    for root in roots:
        prune(root, now - timedelta(days=settings.validation.keep_days))
        folder = root / stamp
        folder.mkdir(parents=True, exist_ok=True)
        point_latest(root, folder)
    return Evidence(roots[0] / stamp, roots[1] / stamp / settings.validation.report_file)


def point_latest(root: Path, folder: Path) -> None:
    """Make `<root>/latest` a relative symlink to `folder` (replaced atomically)."""
    link = root / LATEST
    partial = root / f".{LATEST}.{os.getpid()}"
    partial.unlink(missing_ok=True)
    partial.symlink_to(folder.name, target_is_directory=True)
    partial.replace(link)


def prune(root: Path, before: datetime) -> list[Path]:
    """Remove the dated run folders under `root` started before `before`; return them."""
    removed = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        match = STAMP.match(folder.name)
        if match and folder.is_dir() and not folder.is_symlink():
            started = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            if started < before:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    if removed:
        log.info("removed %d run folder(s) older than %s under %s", len(removed), f"{before:%Y-%m-%d}", root)
    return removed
