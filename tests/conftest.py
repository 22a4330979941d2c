"""Test-wide setup: no telemetry, every home folder inside the test session's temporary area."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tiercast.runtime import QUIET_ENV

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="tiercast-tests-"))
os.environ.update(QUIET_ENV)
os.environ.setdefault("PREFECT_HOME", str(_SESSION_HOME / "prefect"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def settings(tmp_path: Path):
    """Packaged default settings with every path under this test's tmp_path."""
    from tiercast.settings import load_settings

    return load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path)})
