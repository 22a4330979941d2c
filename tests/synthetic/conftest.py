"""Generated data shared by the synthetic-data tests (generated once per test run, under a temp folder)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import shared_folder
from tiercast.settings import load_settings
from tiercast.synthetic import generate

SMALL = (3000, 8, 11)  # subscribers, months, seed
# Large enough for stable statistics (churn shares, revenue concentration), small enough for ~5 s.
SAMPLE = (30000, 12, 7)


@pytest.fixture(scope="session")
def generator_settings():
    """The packaged generator settings."""
    return load_settings(environ={}).generator


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory, generator_settings) -> dict[str, Path]:
    """Paths of a small generated data set (3,000 subscribers x 8 months)."""
    return shared_folder(tmp_path_factory, "small", lambda folder: generate(folder, *SMALL, generator_settings))


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory, generator_settings) -> dict[str, Path]:
    """Paths of the statistics sample (30,000 subscribers x 12 months)."""
    return shared_folder(tmp_path_factory, "sample", lambda folder: generate(folder, *SAMPLE, generator_settings))


@pytest.fixture(scope="session")
def sample(sample_run: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """The statistics sample's tables as pandas frames (dates as datetime64)."""
    frames = {name: pd.read_parquet(path) for name, path in sample_run.items()}
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith("_date") or column in ("bill_month", "as_of"):
                frame[column] = pd.to_datetime(frame[column])
    return frames
