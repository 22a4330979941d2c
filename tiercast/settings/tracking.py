"""MLflow tracking: URIs, experiment names, registered model name."""

from __future__ import annotations

from tiercast.settings.base import Section


class ExperimentNames(Section):
    """One MLflow experiment per purpose."""

    training: str
    evaluate_table: str


class AliasNames(Section):
    """Registry aliases the promotion gate moves."""

    champion: str
    challenger: str
    previous: str


class TrackingSettings(Section):
    """MLflow tracking: URIs, experiment names, registered model name."""

    tracking_uri: str | None
    artifact_location: str | None
    experiments: ExperimentNames
    registered_model: str
    aliases: AliasNames
    log_plots: bool
    pip_requirements: tuple[str, ...]
