"""Churn model: label horizon, snapshots, LightGBM parameters, calibration, promotion gate."""

from tiercast.settings.base import Section


class ChurnSettings(Section):
    """Churn model: label horizon, snapshots, LightGBM parameters, calibration, promotion gate."""
