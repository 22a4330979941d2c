"""The weekly training flow: read inputs -> rolling snapshots and backtest -> fit -> evaluate -> MLflow -> gate.

Only orchestration; every task calls a function of `pipelines.training`. A new model is registered
as `challenger` and becomes `champion` only through the promotion gate, so a worse model never
replaces a better one, and tonight's scoring keeps using the champion whatever happens here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.executor import TaskExecutor
from flows.reliability import report_failure, retry_options, retry_transient_io, time_limit
from pipelines import training as steps
from pipelines import training_report as report
from tiercast.runtime import prepare_environment
from tiercast.settings import load_settings, with_mapping


@flow(
    name="tiercast-training",
    on_failure=[report_failure],
    on_crashed=[report_failure],
)
def training(
    as_of: date | None = None, data_dir: str | None = None, config: str | None = None, mapping: str | None = None
) -> dict[str, Any]:
    """Train a churn model on rolling snapshots up to `as_of` (default: the data's last day) and gate it.

    `mapping` names the source mapping of the export (default: inputs.mapping).
    """
    settings = with_mapping(load_settings(Path(config) if config else None), mapping)
    prepare_environment(settings)
    logger = get_run_logger()
    reading = retry_options(settings.flows, settings.flows.read_retries, retry_transient_io)
    folder = Path(data_dir) if data_dir else None
    with time_limit("training", settings.flows.training_timeout_seconds, "training_timeout_seconds"):
        result = steps.run_training(settings, folder, as_of, TaskExecutor({"read-inputs": reading}), "training-flow")
    markdown = report.summary_markdown(settings, result)
    end = result.fitted.backtest.data_end
    create_markdown_artifact(markdown, key="tiercast-training-summary", description=f"training up to {end}")
    logger.info("training summary\n%s", markdown)
    return report.summary_dict(result)
