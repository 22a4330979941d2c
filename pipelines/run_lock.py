"""One nightly run per date at a time, and no scratch left behind by a run that was killed.

A run holds an exclusive `flock` on `<work>/nightly/<date>.lock` while it works. The operating
system releases it when the process ends, however it ends (also `kill -9`), so a killed run never
leaves the date locked; a second run for the same date refuses at once with a clear message.
Scratch folders whose date is not locked belong to runs that are over: they are removed before a
run starts (staged inputs hold raw phone numbers), and a run removes its own when it ends.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tiercast.errors import ConcurrentRunError

log = logging.getLogger(__name__)

# A run starting while another one checks for abandoned scratch finds its lock held for a moment.
WAIT_SECONDS = 5.0


class RunInProgressError(ConcurrentRunError, RuntimeError):
    """Another run for the same date holds its lock."""


@contextmanager
def _flock(path: Path, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Yield True while holding an exclusive lock on `path`, False when another process holds it for `wait_seconds`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
            handle.flush()
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def exclusive_run(scratch: Path) -> Iterator[None]:
    """Hold the lock of the run whose scratch folder is `scratch` (`<work>/nightly/<date>`); remove the folder after.

    Raises RunInProgressError when another run holds it. Abandoned scratch of other dates is removed first.
    """
    lock = scratch.with_name(f"{scratch.name}.lock")
    with _flock(lock, wait_seconds=WAIT_SECONDS) as held:
        if not held:
            holder = lock.read_text().strip() or "another process"
            raise RunInProgressError(
                f"another nightly run as of {scratch.name} is in progress ({holder}; lock {lock}); "
                "this one stops without touching it"
            )
        clear_abandoned(scratch.parent, keep=scratch)
        try:
            yield
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # staged inputs hold raw MSISDNs: never outlive the run


def clear_abandoned(folder: Path, keep: Path | None = None) -> list[Path]:
    """Remove the scratch folders under `folder` whose run is over (lock not held); return them."""
    removed = []
    for scratch in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        if keep is not None and scratch == keep:
            shutil.rmtree(scratch, ignore_errors=True)  # this date's earlier, killed run: start clean
            removed.append(scratch)
            continue
        with _flock(scratch.with_name(f"{scratch.name}.lock")) as free:
            if free:
                shutil.rmtree(scratch, ignore_errors=True)
                removed.append(scratch)
    if removed:
        log.warning("removed scratch left by runs that did not finish: %s", ", ".join(str(p) for p in removed))
    return removed
