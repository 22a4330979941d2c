"""The monitoring report's charts: what they draw, in which order."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.collections import PathCollection

from pipelines.monitoring_report import churn_rate_figure


def rows(kind: str, subject: str, night: str, value: float, level: str = "ok") -> dict[str, object]:
    return {
        "kind": kind,
        "subject": subject,
        "metric": "churn_rate",
        "as_of": pd.Timestamp(night),
        "value": value,
        "low": value - 0.001,
        "high": value + 0.001,
        "level": level,
    }


def test_churn_rate_chart_lists_all_then_high_mid_low_and_rings_the_alarm() -> None:
    history = pd.DataFrame(
        [
            rows(kind, subject, night, 0.02)
            for subject in ("low", "mid", "all", "high")
            for kind in ("estimate", "realised")
            for night in ("2026-06-01", "2026-06-02")
        ]
        + [rows("realised", "high", "2026-06-03", 0.03, "significant")]
    )
    ax = churn_rate_figure(history).axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [f"{g}: {what}" for g in ("all", "high", "mid", "low") for what in ("expected (band)", "realised")]
    rings = [c for c in ax.collections if isinstance(c, PathCollection)]  # scatter: the alarm rings
    ringed = [point for c in rings for point in np.asarray(c.get_offsets()).tolist()]
    assert [value for _, value in ringed] == [0.03]
