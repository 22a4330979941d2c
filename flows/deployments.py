"""The scheduled deployments: nightly scoring and weekly training, with cron schedules in the configured time zone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.schedules import Cron

from flows.nightly import nightly
from flows.training import training
from tiercast.settings.flows import FlowsSettings

NIGHTLY = "nightly"
TRAINING = "weekly-training"


def parameters(config: Path | None) -> dict[str, Any]:
    """Return the flow parameters every scheduled run gets (the settings file, when one is used)."""
    return {"config": str(config.resolve())} if config else {}


def deployments(settings: FlowsSettings, config: Path | None = None) -> list[Any]:
    """Return the nightly and weekly-training deployments, scheduled by `settings` (cron + time zone)."""
    return [
        nightly.to_deployment(
            name=NIGHTLY,
            schedules=[Cron(settings.nightly_cron, timezone=settings.timezone)],
            parameters=parameters(config),
            tags=["tiercast", "nightly"],
            description="Score every active subscriber and publish the tier table and retention lists.",
        ),
        training.to_deployment(
            name=TRAINING,
            schedules=[Cron(settings.training_cron, timezone=settings.timezone)],
            parameters=parameters(config),
            tags=["tiercast", "training"],
            description="Retrain the churn model on rolling snapshots; promote it only through the gate.",
        ),
    ]
