"""Find or start the Prefect server that schedules need (the temporary local API cannot fire schedules)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

log = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """The Prefect server could not be reached or started."""


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """Return True when the Prefect API at `api_url` answers its health check."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def api_url(host: str, port: int) -> str:
    """Return the API address of a Prefect server on host:port."""
    return f"http://{host}:{port}/api"


@contextmanager
def prefect_server(
    host: str, port: int, home: Path, log_file: Path, wait_seconds: float = 120.0, scheduler_loop_seconds: int = 60
) -> Iterator[str]:
    """Yield the API URL of a Prefect server on host:port, starting one (and stopping it after) if none answers."""
    url = api_url(host, port)
    if healthy(url):
        log.info("using the Prefect server already running at %s", url)
        yield url
        return
    home.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="true",
        PREFECT_API_SERVICES_SCHEDULER_LOOP_SECONDS=str(scheduler_loop_seconds),
    )
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    log.info("starting a Prefect server at %s (log: %s)", url, log_file)
    with log_file.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + wait_seconds
        while not healthy(url):
            if process.poll() is not None:
                raise ServerError(f"the Prefect server exited with code {process.returncode}; see {log_file}")
            if time.monotonic() > deadline:
                raise ServerError(
                    f"the Prefect server at {url} was not healthy after {wait_seconds:.0f} s; see {log_file}"
                )
            time.sleep(0.5)
        log.info("Prefect server healthy at %s; UI at %s", url, url.removesuffix("/api"))
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
