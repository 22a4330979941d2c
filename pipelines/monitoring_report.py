"""`tiercast monitor report`: the monitoring history as a drift table and three charts (PNG, also in MLflow).

- PSI over time of the features that moved most, with the moderate / significant levels drawn and
  the nights that alerted marked;
- estimated vs realised ROC AUC over time: the label-free estimate with its band each night, and
  the realised value on the same night once its horizon has passed, alarms marked;
- estimated vs realised churn rate over time, overall and per tier (high, mid, low): where concept drift
  that raises a whole tier's risk (a price rise) shows first, alarms marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from pipelines.monitoring import folder
from pipelines.plots import new_figure
from tiercast.settings import Settings

WIDE = (9.0, 4.8)  # a time axis of many nights
TOP_FEATURES = 8  # lines in the PSI chart: more is unreadable


@dataclass(frozen=True)
class MonitoringReport:
    """The history read, the drift table of the latest night, the charts written and the alerts."""

    history: pd.DataFrame
    drift: pd.DataFrame
    alerts: pd.DataFrame
    charts: dict[str, Path]


def read_history(settings: Settings, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Return every monitoring row recorded between `start` and `end` (nights recorded, inclusive)."""
    files = sorted(folder(settings, "history").glob("*.parquet"))
    chosen = [f for f in files if (start is None or date.fromisoformat(f.stem) >= start)]
    chosen = [f for f in chosen if end is None or date.fromisoformat(f.stem) <= end]
    if not chosen:
        raise FileNotFoundError(
            f"no monitoring history in {folder(settings, 'history')} for that period: "
            "run the nightly or `tiercast monitor backfill` first"
        )
    return pd.concat([pd.read_parquet(f) for f in chosen], ignore_index=True)


def drift_summary(history: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Return the latest night's drift against the reference: one row per column, largest PSI first."""
    drift = history[(history["kind"] == "drift") & (history["against"] == "reference")]
    if drift.empty:
        return pd.DataFrame(columns=["feature", "role", "psi", "missing", "level", "message"])
    night = drift[drift["recorded_on"] == drift["recorded_on"].max()]
    wide = night.pivot_table(index=["subject", "role"], columns="metric", values="value", aggfunc="first")
    levels = night.groupby("subject")["level"].agg(
        lambda s: max(s, key=["ok", "moderate", "significant", "guardrail"].index)
    )
    messages = night[night["message"] != ""].groupby("subject")["message"].agg("; ".join)
    table = wide.reset_index().rename(columns={"subject": "feature", "missing_share": "missing"})
    table = table.assign(level=table["feature"].map(levels), message=table["feature"].map(messages).fillna(""))
    return (
        table[["feature", "role", "psi", "missing", "level", "message"]].sort_values("psi", ascending=False).head(top)
    )


def psi_figure(history: pd.DataFrame, moderate: float, significant: float) -> Figure:
    """Return PSI against the reference per night for the features that moved most, alerts marked."""
    drift = history[(history["kind"] == "drift") & (history["against"] == "reference") & (history["metric"] == "psi")]
    fig, ax = new_figure("PSI against the champion's reference, per night", WIDE)
    if drift.empty:
        ax.text(0.5, 0.5, "no drift rows (no reference profile?)", ha="center", transform=ax.transAxes)
        return fig
    worst = drift.groupby("subject")["value"].max().nlargest(TOP_FEATURES).index
    for feature in worst:
        rows = drift[drift["subject"] == feature].sort_values("as_of")
        ax.plot(rows["as_of"], rows["value"], marker=".", label=feature)
        alarms = rows[rows["level"].isin(["significant", "guardrail"])]
        ax.scatter(alarms["as_of"], alarms["value"], s=60, facecolors="none", edgecolors="red")
    ax.axhline(moderate, ls="--", c="orange", lw=0.8, label=f"moderate {moderate:g}")
    ax.axhline(significant, ls="--", c="red", lw=0.8, label=f"significant {significant:g}")
    ax.set(xlabel="night scored", ylabel="PSI")
    ax.legend(fontsize=7, loc="best")
    fig.autofmt_xdate()
    return fig


def auc_figure(history: pd.DataFrame, group: str = "all") -> Figure:
    """Return estimated ROC AUC (with band) and realised ROC AUC per scored night, alarms marked."""
    auc = history[(history["metric"] == "roc_auc") & (history["subject"] == group)]
    estimated = auc[auc["kind"] == "estimate"].sort_values("as_of").drop_duplicates("as_of", keep="last")
    realised = auc[auc["kind"] == "realised"].sort_values("as_of").drop_duplicates("as_of", keep="last")
    fig, ax = new_figure(
        f"ROC AUC, {group}: estimated from calibrated scores vs realised once the horizon passed", WIDE
    )
    ax.fill_between(estimated["as_of"], estimated["low"], estimated["high"], alpha=0.25, label="estimate band")
    ax.plot(estimated["as_of"], estimated["value"], marker=".", label="estimated (that night)")
    ax.plot(realised["as_of"], realised["value"], marker="o", c="black", label="realised")
    alarms = realised[realised["level"] != "ok"]
    ax.scatter(alarms["as_of"], alarms["value"], s=90, facecolors="none", edgecolors="red", label="alarm")
    ax.set(xlabel="night scored", ylabel="ROC AUC")
    ax.legend(fontsize=8, loc="best")
    fig.autofmt_xdate()
    return fig


GROUP_ORDER = ("all", "high", "mid", "low")  # tiers in the order the business reads them (issue 12, item 8)


def churn_rate_figure(history: pd.DataFrame) -> Figure:
    """Return the churn rate estimated each night (band) and realised once matured, per group, alarms marked."""
    rate = history[history["metric"] == "churn_rate"]
    fig, ax = new_figure("Churn rate within the horizon: expected from calibrated scores vs realised", WIDE)
    groups = [g for g in GROUP_ORDER if g in set(rate["subject"])]
    groups += sorted(set(rate["subject"]) - set(groups))
    for i, group in enumerate(groups):
        colour = f"C{i}"
        rows = rate[rate["subject"] == group].sort_values("as_of")
        estimated = rows[rows["kind"] == "estimate"].drop_duplicates("as_of", keep="last")
        realised = rows[rows["kind"] == "realised"].drop_duplicates("as_of", keep="last")
        ax.fill_between(estimated["as_of"], estimated["low"], estimated["high"], alpha=0.2, color=colour)
        ax.plot(estimated["as_of"], estimated["value"], c=colour, lw=1, label=f"{group}: expected (band)")
        ax.plot(realised["as_of"], realised["value"], c=colour, marker="o", ls="none", label=f"{group}: realised")
        alarms = realised[realised["level"] != "ok"]
        ax.scatter(alarms["as_of"], alarms["value"], s=90, facecolors="none", edgecolors="red")
    ax.set(xlabel="night scored (red ring: alarm)", ylabel="churn rate within the horizon")
    ax.legend(fontsize=7, loc="best", ncol=2)
    fig.autofmt_xdate()
    return fig


def build_report(
    settings: Settings, out_dir: Path, start: date | None = None, end: date | None = None
) -> MonitoringReport:
    """Read the history, write the charts to `out_dir`, return the report."""
    history = read_history(settings, start, end)
    out_dir.mkdir(parents=True, exist_ok=True)
    psi = settings.monitoring.psi
    figures = {
        "psi_over_time.png": psi_figure(history, psi.moderate, psi.significant),
        "roc_auc_over_time.png": auc_figure(history),
        "churn_rate_over_time.png": churn_rate_figure(history),
    }
    charts = {}
    for name, figure in figures.items():
        figure.savefig(out_dir / name, bbox_inches="tight")
        charts[name] = out_dir / name
    alerts = history[history["level"].isin(settings.monitoring.alerts.levels)]
    return MonitoringReport(history, drift_summary(history), alerts, charts)


def log_report(settings: Settings, report: MonitoringReport) -> str:
    """Log the charts and the drift table to a run of the monitoring experiment; return the run id."""
    from pipelines import tracking

    nights = report.history["recorded_on"]
    name = f"report-{nights.min():%Y-%m-%d}-to-{nights.max():%Y-%m-%d}"
    with tracking.run(settings, settings.monitoring.experiment, run_name=name) as run_id:
        for path in report.charts.values():
            tracking.log_artifact(path, "plots")
        tracking.log_table(report.drift, "drift_latest_night.json")
        tracking.set_tags({"tiercast.kind": "monitoring report", "alerts": len(report.alerts)})
    return run_id
