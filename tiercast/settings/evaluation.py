"""Evaluation: top-k shares, calibration bins and the retention profit model."""

from tiercast.settings.base import Section


class EvaluationSettings(Section):
    """Evaluation: top-k shares, calibration bins and the retention profit model."""
