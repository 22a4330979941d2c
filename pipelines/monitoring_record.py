"""Where a night's monitoring goes besides its Parquet history: the publish database and MLflow.

The table (`publish.monitoring_table`, contract `monitoring`) is what a dashboard reads. MLflow gets
one run per champion version in the `monitoring.experiment` experiment, every metric logged at
step = the scored night's day number, so the MLflow UI draws PSI, the estimated and the realised
ROC AUC as time series; a realised value lands on the step of the night it judges, beside the
estimate made that night. Neither write can stop a publication: a failure is logged and reported.
"""

from __future__ import annotations

import logging
from datetime import date

import pandas as pd

from pipelines.monitoring import NightMonitoring
from tiercast.settings import Settings

log = logging.getLogger(__name__)

LOGGED_DRIFT = ("psi", "missing_share", "cell_jump")


def metric_key(row: pd.Series) -> str:
    """Return the MLflow metric name of one monitoring row, e.g. `psi.reference.arpu_3m`, `estimate.high.roc_auc`."""
    if row["kind"] == "drift":
        return f"{row['metric']}.{row['against']}.{row['subject']}"
    return f"{row['kind']}.{row['subject']}.{row['metric']}"


def series(rows: pd.DataFrame) -> dict[tuple[str, date], dict[str, float]]:
    """Return the metrics to log per (model version, scored night); estimates carry their band as `.low` / `.high`."""
    logged = rows[(rows["kind"] != "drift") | rows["metric"].isin(LOGGED_DRIFT)]
    out: dict[tuple[str, date], dict[str, float]] = {}
    for _, row in logged.iterrows():
        metrics = out.setdefault((str(row["model_version"]), pd.Timestamp(row["as_of"]).date()), {})
        key = metric_key(row)
        metrics[key] = float(row["value"])
        if row["kind"] == "estimate":
            metrics[f"{key}.low"], metrics[f"{key}.high"] = float(row["low"]), float(row["high"])
    return out


def to_database(settings: Settings, night: NightMonitoring) -> str:
    """Write the night's rows to the monitoring table; return where (or why not)."""
    from pipelines.database import display_url, engine_for
    from pipelines.publish import record_monitoring

    try:
        engine = engine_for(settings)
        try:
            count = record_monitoring(engine, settings.publish, night.rows)
            return f"{count} rows in {settings.publish.monitoring_table} at {display_url(engine)}"
        finally:
            engine.dispose()
    except Exception as exc:  # monitoring must not stop the night: say so and go on
        log.error("monitoring rows not written to the database: %s: %s", type(exc).__name__, exc)
        return f"not written: {type(exc).__name__}: {exc}"


def to_mlflow(settings: Settings, night: NightMonitoring) -> str:
    """Log the night's metrics as time series to the monitoring experiment; return where (or why not)."""
    from pipelines import tracking

    experiment = settings.monitoring.experiment
    try:
        runs = set()
        for (version, day), metrics in sorted(series(night.rows).items()):
            tags = {"model_version": version, "tiercast.kind": "monitoring"}
            runs.add(tracking.log_series(settings, experiment, f"champion-v{version}", metrics, day, tags))
        link = tracking.experiment_link(settings, experiment)
        return (
            f"experiment {experiment} ({link}), run(s) {', '.join(sorted(runs))} at {tracking.tracking_uri(settings)}"
        )
    except Exception as exc:  # monitoring must not stop the night: say so and go on
        log.error("monitoring metrics not logged to MLflow: %s: %s", type(exc).__name__, exc)
        return f"not logged: {type(exc).__name__}: {exc}"


def record(settings: Settings, night: NightMonitoring) -> dict[str, str]:
    """Write the night's monitoring to the database and MLflow; return where each went."""
    return {"monitoring table": to_database(settings, night), "monitoring MLflow": to_mlflow(settings, night)}
