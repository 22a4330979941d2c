"""Fixtures for flow tests: one Prefect test harness, small generated data, a trained champion."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

SUBSCRIBERS = 2500  # about 4 shards of 800
MONTHS = 12
SEED = 11


@dataclass
class Webhook:
    """A local HTTP endpoint that records the JSON bodies posted to it."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class World:
    """Generated inputs, a settings file pointing everything at a temporary folder, and the training result."""

    root: Path
    data_dir: Path
    config: Path
    training: dict[str, Any]
    webhook: Webhook

    def with_overrides(self, name: str, overrides: dict[str, Any]) -> Path:
        """Write a settings file: this world's settings plus `overrides` (merged one level deep)."""
        base = yaml.safe_load(self.config.read_text())
        for section, values in overrides.items():
            base.setdefault(section, {}).update(values)
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(base))
        return path

    def tier_table(self) -> list[tuple[Any, ...]]:
        """Return the published tier table (the view the routing service reads), ordered by key."""
        with sqlite3.connect(self.root / "data" / "published" / "tiercast.db") as conn:
            return conn.execute("SELECT * FROM tier_table ORDER BY subscriber_key").fetchall()

    def retention_rows(self) -> list[tuple[Any, ...]]:
        """Return every published retention-list row."""
        with sqlite3.connect(self.root / "data" / "published" / "tiercast.db") as conn:
            return conn.execute("SELECT * FROM retention_list ORDER BY as_of, desk, rank").fetchall()

    def live_version(self) -> int | None:
        """Return the live publication's version number."""
        with sqlite3.connect(self.root / "data" / "published" / "tiercast.db") as conn:
            row = conn.execute("SELECT version FROM publications WHERE status = 'live'").fetchone()
        return None if row is None else int(row[0])


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    """A failure webhook on 127.0.0.1 that records what the flows post."""
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            hook.received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None, webhook: Webhook) -> World:
    """Small generated data, settings for fast runs, and a champion trained by the training flow.

    Built once per session for test_nightly.py and test_exports.py (tests/conftest.py runs both on one worker);
    test_exports.py only reads it and works under folders of its own.
    """
    from flows.training import training
    from tiercast.settings import load_settings
    from tiercast.synthetic.simulation import generate

    root = tmp_path_factory.mktemp("flows")
    config = root / "settings.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "paths": {"root": str(root)},
                "flows": {
                    "shard_size": 800,
                    "retry_backoff_seconds": 0.05,
                    "read_retries": 2,
                    "publish_retries": 2,
                    "failure_webhook_url": webhook.url,
                },
                "churn": {
                    "snapshots": 3,
                    "model": {"n_estimators": 80, "early_stopping_rounds": 20, "calibration_folds": 2},
                },
            }
        )
    )
    data_dir = root / "raw"
    generate(data_dir, SUBSCRIBERS, MONTHS, SEED, load_settings(config, environ={}).generator)
    result = training(data_dir=str(data_dir), config=str(config))
    return World(root, data_dir, config, result, webhook)
