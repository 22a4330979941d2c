"""Test-wide setup: no telemetry, every home folder inside the test session's temporary area.

The suite runs on two pytest-xdist workers (pyproject.toml: `-n 2 --dist loadfile`): each test file on one
worker, so its module fixtures are built once; `-n 0` runs everything in one process.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tiercast.runtime import QUIET_ENV

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="tiercast-tests-"))  # one per process: each xdist worker has its own
os.environ.update(QUIET_ENV)
os.environ.setdefault("PREFECT_HOME", str(_SESSION_HOME / "prefect"))
os.environ.setdefault("MPLBACKEND", "Agg")


# Files whose tests share a costly session fixture run on one worker: test_exports.py reads test_nightly.py's `world`.
SAME_WORKER = {"tests/flows/test_exports.py": "tests/flows/test_nightly.py"}
# Started first, the longest files do not finish alone at the end (the rest follow, most tests first).
START_FIRST = ("tests/flows/test_nightly.py", "tests/flows/test_deployments.py")


def _scope(nodeid: str) -> str:
    """Return the xdist work unit of a test: its file, or the file it shares a worker with."""
    path = nodeid.split("::", 1)[0]
    return SAME_WORKER.get(path, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, each file on one worker (its module fixtures built once), SAME_WORKER files together.

    (`--dist loadgroup` cannot do it: pytest 9 ignores the group suffix pytest-xdist 3.8 writes into the node id.)
    """
    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "loadfile":
        return None

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    config.option.loadscopereorder = False  # the workers' collection already has the order wanted
    return FileScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On an xdist worker, order the files START_FIRST, then by test count (a file's own order is kept)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    count = Counter(_scope(item.nodeid) for item in items)

    def rank(item: pytest.Item) -> tuple[int, int, str]:
        scope = _scope(item.nodeid)
        first = START_FIRST.index(scope) if scope in START_FIRST else len(START_FIRST)
        return first, -count[scope], scope

    items.sort(key=rank)  # stable: the tests of a file keep their order


def shared_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], dict[str, Path]]
) -> dict[str, Path]:
    """Return `make(folder)`'s paths, made once per test run even across xdist workers (they wait on a file lock).

    `make` must be deterministic and its files read-only to the tests, as for any session fixture.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, shared by its workers (each has a popen-gwN under it)
    folder, index = base / f"shared-{name}", base / f"shared-{name}.json"
    with (base / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not index.exists():
            paths = make(folder)
            index.write_text(json.dumps({key: str(path) for key, path in paths.items()}))
    return {key: Path(path) for key, path in json.loads(index.read_text()).items()}


@pytest.fixture
def settings(tmp_path: Path):
    """Packaged default settings with every path under this test's tmp_path."""
    from tiercast.settings import load_settings

    return load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path)})
