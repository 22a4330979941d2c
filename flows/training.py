"""The weekly training flow: read inputs -> rolling snapshots and backtest -> fit -> evaluate -> MLflow -> gate.

Only orchestration; every task calls a function of `pipelines.training`. A new model is registered
as `challenger` and becomes `champion` only through the promotion gate, so a worse model never
replaces a better one, and tonight's scoring keeps using the champion whatever happens here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.reliability import report_failure, retry_options, retry_transient_io
from pipelines import training as steps
from pipelines import training_report as report
from pipelines.quarantine import ValidationResult
from tiercast.runtime import prepare_environment
from tiercast.settings import Settings, load_settings, with_mapping

FLOW_TIMEOUT_SECONDS = 6 * 3600


@task(name="read-inputs", cache_policy=NO_CACHE)
def read_inputs(settings: Settings, data_dir: Path) -> ValidationResult:
    """Read and validate the input tables (bad rows quarantined)."""
    from pipelines.ingest import validate_inputs

    return validate_inputs(settings, data_dir, kind="training-flow")


@task(name="plan-backtest", cache_policy=NO_CACHE)
def plan_backtest(settings: Settings, tables: dict[str, pd.DataFrame], as_of: date | None) -> steps.Backtest:
    """Choose the training snapshots and the validation snapshot."""
    return report.plan_backtest(settings, tables, as_of)


@task(name="fit-and-evaluate", cache_policy=NO_CACHE)
def fit_and_evaluate(
    settings: Settings, inputs: ValidationResult, backtest: steps.Backtest, data_dir: Path
) -> steps.FittedBacktest:
    """Build the snapshots, fit the model with early stopping, calibrate, evaluate on the holdout."""
    return steps.fit_backtest(inputs.tables, backtest, settings, data_dir, inputs.absent)


@task(name="log-register-gate", cache_policy=NO_CACHE)
def log_register_gate(settings: Settings, fitted: steps.FittedBacktest) -> steps.TrainingResult:
    """Log the run to MLflow, register the model as challenger and apply the promotion gate."""
    return steps.log_and_gate(settings, fitted)


@flow(
    name="tiercast-training",
    timeout_seconds=FLOW_TIMEOUT_SECONDS,
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
    folder = Path(data_dir) if data_dir else settings.paths.resolve(settings.paths.raw)
    reading = retry_options(settings.flows, settings.flows.read_retries, retry_transient_io)
    inputs = read_inputs.with_options(**reading)(settings, folder)
    backtest = plan_backtest(settings, inputs.tables, as_of)
    fitted = fit_and_evaluate(settings, inputs, backtest, folder)
    result = log_register_gate(settings, fitted)
    markdown = report.summary_markdown(settings, result)
    create_markdown_artifact(
        markdown, key="tiercast-training-summary", description=f"training up to {backtest.data_end}"
    )
    logger.info("training summary\n%s", markdown)
    return report.summary_dict(result)
