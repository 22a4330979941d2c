"""MLflow tracking: URIs, experiment names, registered model name."""

from tiercast.settings.base import Section


class TrackingSettings(Section):
    """MLflow tracking: URIs, experiment names, registered model name."""
