"""Prefect flows: schedules, time zone, retries, timeouts, task runner and shards."""

from typing import Literal

from pydantic import Field

from tiercast.settings.base import Section


class FlowsSettings(Section):
    """How the nightly and training flows are scheduled, retried, timed out and spread over workers."""

    timezone: str
    nightly_cron: str
    training_cron: str
    shard_size: int = Field(gt=0)
    lifecycle_states_kept: int = Field(ge=1)
    batch_rows: int = Field(gt=0)
    stage_format: Literal["arrow", "parquet"]
    task_runner: Literal["threads", "dask"]
    thread_workers: int = Field(gt=0)
    dask_address: str | None
    dask_workers: int = Field(gt=0)
    dask_threads_per_worker: int = Field(gt=0)
    read_retries: int = Field(ge=0)
    publish_retries: int = Field(ge=0)
    retry_backoff_seconds: float = Field(ge=0)
    task_timeout_seconds: float = Field(gt=0)
    nightly_timeout_seconds: float = Field(gt=0)
    training_timeout_seconds: float = Field(gt=0)
    failure_webhook_url: str | None
    server_host: str
    server_port: int = Field(gt=0, lt=65536)
