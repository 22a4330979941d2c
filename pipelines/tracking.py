"""Every MLflow call in tiercast goes through this module (tracking, artifacts, model registry).

Default (no setup): SQLite at `<paths.mlflow>/mlflow.db` and artifacts under `<paths.mlflow>/artifacts`.
Production: `tracking.tracking_uri` names the MLflow server. The churn model is logged with the
scikit-learn flavour: the whole fitted `ChurnModel` (LightGBM booster + calibrator) is pickled, so the
nightly scoring loads it in a few milliseconds and still has `contributions()` (LightGBM pred_contrib)
for reason codes; its pyfunc `predict` returns `predict_proba` for generic MLflow serving.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from tiercast.settings import Settings

log = logging.getLogger(__name__)

# MLflow 3's UI opens an experiment in its GenAI view unless it is tagged as model development; with
# this tag it opens the model-training view (runs, metric charts over steps, artifacts).
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def tracking_uri(settings: Settings) -> str:
    """Return the tracking URI: the configured one, or SQLite under the project's MLflow folder."""
    if settings.tracking.tracking_uri:
        return settings.tracking.tracking_uri
    return f"sqlite:///{settings.paths.resolve(settings.paths.mlflow) / 'mlflow.db'}"


def artifact_location(settings: Settings) -> str | None:
    """Return where new experiments keep artifacts (None when a tracking server decides)."""
    if settings.tracking.artifact_location:
        return settings.tracking.artifact_location
    if settings.tracking.tracking_uri and not settings.tracking.tracking_uri.startswith("sqlite"):
        return None
    return (settings.paths.resolve(settings.paths.mlflow) / "artifacts").as_uri()


def configure(settings: Settings) -> str:
    """Point MLflow at the configured tracking and registry store (creating the local folder); return the URI."""
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = tracking_uri(settings)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _experiment_id(settings: Settings, name: str) -> str:
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        return str(mlflow.create_experiment(name, artifact_location=artifact_location(settings), tags=EXPERIMENT_TAGS))
    for key, value in EXPERIMENT_TAGS.items():  # experiments made before the tag was set
        if experiment.tags.get(key) != value:
            mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, key, value)
    return str(experiment.experiment_id)


def experiment_link(settings: Settings, name: str) -> str:
    """Return the MLflow UI route of an experiment in its model-training view (runs, metric charts).

    MLflow 3.17's UI opens every experiment in its GenAI view unless the route asks for the other
    one (the experimentKind tag is not read by this UI build; mlflow/mlflow#24498).
    """
    configure(settings)
    return f"#/experiments/{_experiment_id(settings, name)}?workflowType=machine_learning"


@contextlib.contextmanager
def run(settings: Settings, experiment: str, run_name: str | None = None) -> Iterator[str]:
    """Open an MLflow run in `experiment` (created on first use); yield its run id."""
    import mlflow

    configure(settings)
    experiment_id = _experiment_id(settings, experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as active:
        yield active.info.run_id


def log_params(params: Mapping[str, Any]) -> None:
    """Log parameters of the active run (values turned into text, long ones cut to MLflow's limit)."""
    import mlflow

    mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})


def log_metrics(metrics: Mapping[str, float], prefix: str = "", day: date | None = None) -> None:
    """Log the finite numeric metrics of the active run, names prefixed (e.g. "tier.high.").

    With `day`, at step = days since 1970-01-01 and that midnight's timestamp (as `log_series`), so the
    MLflow UI draws each metric over the days.
    """
    import math

    import mlflow

    clean = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            clean[_metric_name(prefix + key)] = float(value)
    if day is None:
        mlflow.log_metrics(clean)
        return
    step = (day - date(1970, 1, 1)).days
    mlflow.log_metrics(clean, step=step, timestamp=step * 86_400_000)


def _metric_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)


def log_sliced_metrics(table: pd.DataFrame) -> None:
    """Log a sliced metrics table (columns slice, value, metrics...) as `<slice>.<value>.<metric>`."""
    for record in table.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        prefix = f"{row.pop('slice')}.{row.pop('value')}."
        log_metrics(row, prefix)


def log_figure(figure: Any, path: str) -> None:
    """Store a matplotlib figure as an artifact of the active run."""
    import mlflow

    mlflow.log_figure(figure, path)


def log_table(frame: pd.DataFrame, path: str) -> None:
    """Store a small table as a JSON artifact of the active run (shown as a table in the UI)."""
    import mlflow

    mlflow.log_table(frame.reset_index(drop=True), artifact_file=path)


def log_artifact(path: Path, folder: str) -> None:
    """Store a file (e.g. a PNG chart) under `folder` in the active run's artifacts."""
    import mlflow

    mlflow.log_artifact(str(path), artifact_path=folder)


def log_dict(data: Mapping[str, Any], path: str) -> None:
    """Store a JSON/YAML document as an artifact of the active run."""
    import mlflow

    mlflow.log_dict(dict(data), path)


def load_run_dict(settings: Settings, run_id: str, path: str) -> dict[str, Any] | None:
    """Return the JSON artifact `path` of run `run_id`, or None when the run has no such artifact."""
    import mlflow
    from mlflow.exceptions import MlflowException

    configure(settings)
    try:
        return dict(mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}"))
    except (MlflowException, OSError) as exc:
        log.info("run %s has no artifact %s (%s)", run_id, path, type(exc).__name__)
        return None


def log_series(
    settings: Settings,
    experiment: str,
    run_name: str,
    metrics: Mapping[str, float],
    day: date,
    tags: Mapping[str, Any] | None = None,
) -> str:
    """Log `metrics` at step = `day` (days since 1970-01-01, timestamp that midnight) to the run named `run_name`
    of `experiment` (created on first use), so the MLflow UI draws each metric as a time series; return the run id."""
    import math

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    configure(settings)
    client = MlflowClient()
    experiment_id = _experiment_id(settings, experiment)
    found = client.search_runs([experiment_id], filter_string=f"tags.mlflow.runName = '{run_name}'", max_results=1)
    run_id = found[0].info.run_id if found else client.create_run(experiment_id, run_name=run_name).info.run_id
    for key, value in (tags or {}).items():
        client.set_tag(run_id, key, str(value))
    step = (day - date(1970, 1, 1)).days
    stamp = step * 86_400_000
    batch = [
        Metric(_metric_name(key), float(value), stamp, step)
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and math.isfinite(float(value))
    ]
    for start in range(0, len(batch), 900):  # MLflow takes at most 1,000 metrics per batch
        client.log_batch(run_id, metrics=batch[start : start + 900])
    client.set_terminated(run_id)
    return str(run_id)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Tag the active run."""
    import mlflow

    mlflow.set_tags({k: str(v) for k, v in tags.items()})


def log_model(settings: Settings, model: Any, input_example: pd.DataFrame, predict_fn: str = "predict_proba") -> str:
    """Log a fitted model (sklearn flavour, signature + input example); return its model URI.

    `predict_fn`: the method generic pyfunc serving calls: predict_proba for the churn model, predict
    (uplift per row) for the uplift model.
    """
    import mlflow
    from mlflow.models import infer_signature

    example = _plain_example(input_example)
    signature = infer_signature(example, getattr(model, predict_fn)(input_example))
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        pip_requirements=list(settings.tracking.pip_requirements),
        pyfunc_predict_fn=predict_fn,
        serialization_format="cloudpickle",
    )
    return str(info.model_uri)


def _plain_example(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the example with categories as text (no category type in MLflow schemas) and numbers as doubles."""
    out = {}
    for col in frame.columns:
        series = frame[col]
        if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
            out[col] = series.astype(object).where(series.notna(), None)
        elif pd.api.types.is_bool_dtype(series):
            out[col] = series
        else:  # counts may be missing at scoring time: declare every number a double
            out[col] = series.astype("float64")
    return pd.DataFrame(out)


# --- registry -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionInfo:
    """One registered model version as tiercast uses it."""

    version: str
    run_id: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    created: pd.Timestamp
    description: str = ""


def _client(settings: Settings) -> Any:
    from mlflow import MlflowClient

    uri = configure(settings)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def register(settings: Settings, model_uri: str, tags: Mapping[str, Any] | None = None) -> str:
    """Register `model_uri` under the configured model name; return the new version number."""
    import mlflow

    configure(settings)
    version = mlflow.register_model(
        model_uri, settings.tracking.registered_model, tags={k: str(v) for k, v in (tags or {}).items()}
    )
    return str(version.version)


def set_alias(settings: Settings, alias: str, version: str) -> None:
    """Point `alias` at `version` of the registered model."""
    _client(settings).set_registered_model_alias(settings.tracking.registered_model, alias, version)


def delete_alias(settings: Settings, alias: str) -> None:
    """Remove `alias` from the registered model (no error if it is not set)."""
    if alias_version(settings, alias) is not None:
        _client(settings).delete_registered_model_alias(settings.tracking.registered_model, alias)


def alias_version(settings: Settings, alias: str) -> str | None:
    """Return the version `alias` points to, or None (also when no model is registered yet)."""
    from mlflow.exceptions import MlflowException

    try:
        version = _client(settings).get_model_version_by_alias(settings.tracking.registered_model, alias)
    except MlflowException:
        return None
    return str(version.version)


def set_version_tags(settings: Settings, version: str, tags: Mapping[str, Any]) -> None:
    """Tag one model version."""
    client = _client(settings)
    for key, value in tags.items():
        client.set_model_version_tag(settings.tracking.registered_model, version, key, str(value))


def describe_version(settings: Settings, version: str, text: str) -> None:
    """Set the description the MLflow UI shows on a model version's page."""
    _client(settings).update_model_version(settings.tracking.registered_model, version, description=text)


def list_versions(settings: Settings) -> list[VersionInfo]:
    """Return every version of the registered model, newest first (empty before the first training)."""
    client = _client(settings)
    name = settings.tracking.registered_model
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        return []
    by_version: dict[str, list[str]] = {}
    for alias, number in (client.get_registered_model(name).aliases or {}).items():
        by_version.setdefault(str(number), []).append(alias)
    infos = [
        VersionInfo(
            version=str(v.version),
            run_id=str(v.run_id or ""),
            aliases=tuple(sorted(by_version.get(str(v.version), []))),
            tags=dict(v.tags or {}),
            created=pd.Timestamp(v.creation_timestamp, unit="ms"),
            description=str(v.description or ""),
        )
        for v in versions
    ]
    return sorted(infos, key=lambda v: int(v.version), reverse=True)


def version_info(settings: Settings, version: str) -> VersionInfo:
    """Return one version (KeyError if it does not exist)."""
    for info in list_versions(settings):
        if info.version == str(version):
            return info
    raise KeyError(f"{settings.tracking.registered_model} has no version {version}")


def load_version(settings: Settings, version: str) -> Any:
    """Load version `version` of the registered model as the fitted Python object (a `ChurnModel`)."""
    import mlflow

    configure(settings)
    return mlflow.sklearn.load_model(f"models:/{settings.tracking.registered_model}/{version}")
