"""The training run as the flow and the demo report it: backtest plan, Markdown summary, JSON summary."""

from __future__ import annotations

from typing import Any

from pipelines.training import TrainingResult
from tiercast.settings import Settings

HEADLINE = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top10", "emp", "mp_share")


def summary_dict(result: TrainingResult) -> dict[str, Any]:
    """Return what a caller needs from a training run: version, gate decision, run id, headline metrics."""
    fitted, decision = result.fitted, result.decision
    return {
        "run_id": result.run_id,
        "version": str(result.version),
        "promoted": bool(decision.promoted),
        "gate_reason": decision.reason,
        "validation_as_of": str(fitted.backtest.validation_date),
        "train_as_of": [str(d) for d in fitted.backtest.train_dates],
        "metrics": {name: float(fitted.metrics[name]) for name in HEADLINE if name in fitted.metrics},
        "unavailable_features": list(fitted.unavailable),
        "oracle": {name: float(value) for name, value in (fitted.oracle or {}).items()},
    }


def summary_markdown(settings: Settings, result: TrainingResult) -> str:
    """Return the training summary as Markdown for the Prefect UI."""
    data = summary_dict(result)
    verdict = "promoted to **champion**" if data["promoted"] else "**not promoted** (the champion stays)"
    lines = [
        f"# tiercast training: {settings.tracking.registered_model} v{data['version']}",
        "",
        f"- {verdict}: {data['gate_reason']}",
        f"- MLflow run `{data['run_id']}` (experiment {settings.tracking.experiments.training})",
        f"- trained on snapshots {', '.join(data['train_as_of'])}; validated on {data['validation_as_of']}",
        f"- features not available in this export: {', '.join(data['unavailable_features']) or 'none'}",
        "",
        "| metric | holdout |",
        "|---|---:|",
        *(f"| {name} | {value:.4f} |" for name, value in data["metrics"].items()),
    ]
    if data["oracle"]:
        lines += ["", "| vs the generator's truth | value |", "|---|---:|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in data["oracle"].items()]
    return "\n".join(lines) + "\n"
