"""Process-wide setup done once by entry points (CLI, flows, scripts), never at import time."""

from __future__ import annotations

import logging
import os

from rich.console import Console
from rich.logging import RichHandler

from tiercast.settings import Settings

# Offline machines: telemetry calls only produce errors (see ../shared/stack-notes.md).
QUIET_ENV = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The temporary local API needs more than the default 20 s to start on a busy 2-core machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def prepare_environment(settings: Settings) -> None:
    """Switch off telemetry and point PREFECT_HOME at the project's data folder (unless already set)."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PREFECT_HOME", str(settings.paths.resolve(settings.paths.prefect_home)))


def configure_logging(verbose: bool = False) -> None:
    """Send log records to stderr (stdout stays for results) through rich, at INFO (or DEBUG when verbose)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=True)],
        force=True,
    )
    for noisy in ("alembic", "urllib3", "httpx", "matplotlib", "numexpr"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
