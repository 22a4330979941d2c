"""The model registry as the retention team relies on it: champion, challenger, previous champion.

A new version gets alias `challenger`. It becomes `champion` only if it passes the sanity checks
and beats the current champion, scored on the SAME holdout rows, by the configured margin; the first
version becomes champion on sanity alone. The replaced champion keeps alias `previous-champion`,
and every version records the one it replaced (tag `replaced_version`), so `rollback` can step back
more than once. All MLflow calls go through `pipelines.tracking`.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation import pr_auc, profit, roc_auc
from pipelines import tracking
from tiercast.errors import ModelError
from tiercast.settings import Settings

log = logging.getLogger(__name__)


class RegistryError(ModelError, RuntimeError):
    """A registry operation that cannot be done (no champion, nothing to roll back to, ...)."""


@dataclass(frozen=True)
class GateDecision:
    """Whether the challenger was promoted, and why."""

    version: str
    promoted: bool
    reason: str
    metric: str
    challenger_value: float
    champion_version: str | None
    champion_value: float | None


def sanity_problems(scores: Any) -> list[str]:
    """Return what is wrong with a score vector (empty when it is usable)."""
    values = np.asarray(scores, dtype=float)
    problems = []
    if values.size == 0:
        return ["no scores"]
    if np.isnan(values).any():
        problems.append(f"{int(np.isnan(values).sum())} NaN scores")
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        problems.append(f"scores outside [0, 1] (min {finite.min():.4g}, max {finite.max():.4g})")
    if finite.size and np.ptp(finite) == 0:
        problems.append(f"constant scores ({finite[0]:.4g})")
    return problems


def gate_metric(settings: Settings, y: Any, scores: Any) -> float:
    """Return the configured gate metric (higher is better) of `scores` against labels `y`."""
    metric = settings.churn.gate.metric
    if metric == "roc_auc":
        return roc_auc(y, scores)
    if metric == "pr_auc":
        return pr_auc(y, scores)
    if metric == "emp":
        return profit(y, scores, settings.evaluation.profit)["emp"]
    return -float(np.mean((np.asarray(scores, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def decide(
    settings: Settings,
    version: str,
    problems: list[str],
    challenger: float,
    champion_version: str | None,
    champion: float | None,
) -> GateDecision:
    """Return the promotion decision from sanity problems and the two gate metric values (pure)."""
    gate = settings.churn.gate

    def decision(promoted: bool, reason: str) -> GateDecision:
        return GateDecision(version, promoted, reason, gate.metric, challenger, champion_version, champion)

    if problems:
        return decision(False, "failed sanity checks: " + "; ".join(problems))
    if champion_version is None:
        return decision(True, "first model: passes the sanity checks")
    if champion is None or math.isnan(champion):
        return decision(True, f"champion v{champion_version} cannot be scored on the current features")
    needed = champion + gate.margin
    if challenger >= needed:
        return decision(
            True, f"{gate.metric} {challenger:.4f} >= champion v{champion_version} {champion:.4f} + {gate.margin}"
        )
    return decision(
        False, f"{gate.metric} {challenger:.4f} < champion v{champion_version} {champion:.4f} + {gate.margin}"
    )


def register_challenger(settings: Settings, model_uri: str, tags: dict[str, Any]) -> str:
    """Register the logged model as a new version with alias `challenger`; return the version."""
    version = tracking.register(settings, model_uri, {**tags, "status": "challenger"})
    tracking.set_alias(settings, settings.tracking.aliases.challenger, version)
    return version


def for_model(settings: Settings, registered_model: str) -> Settings:
    """Return `settings` with the registry pointed at `registered_model` (e.g. uplift.registered_model): every
    function here then moves that model's aliases (champion, challenger, previous-champion) instead."""
    return settings.model_copy(
        update={"tracking": settings.tracking.model_copy(update={"registered_model": registered_model})}
    )


def champion_version(settings: Settings) -> str | None:
    """Return the champion's version number, or None before the first promotion."""
    return tracking.alias_version(settings, settings.tracking.aliases.champion)


def evaluate_challenger(settings: Settings, version: str, scores: Any, holdout: pd.DataFrame, y: Any) -> GateDecision:
    """Score the champion on the challenger's holdout rows and apply the gate; promote when it passes."""
    problems = sanity_problems(scores)
    challenger = gate_metric(settings, y, scores) if not problems else math.nan
    current = champion_version(settings)
    champion = None
    if current is not None and not problems:
        try:
            champion_model = tracking.load_version(settings, current)
            champion = gate_metric(settings, y, champion_model.predict_proba(holdout)[:, 1])
        except (KeyError, ValueError) as exc:
            log.warning("champion v%s cannot score the holdout: %s", current, exc)
    decision = decide(settings, version, problems, challenger, current, champion)
    tags = {"gate_metric": decision.metric, "gate_value": challenger, "gate_reason": decision.reason}
    if champion is not None:
        tags["gate_champion_value"] = champion
    tracking.set_version_tags(settings, version, tags)
    if decision.promoted:
        promote(settings, version, decision.reason)
    else:
        tracking.set_version_tags(settings, version, {"status": "rejected"})
    return decision


def promote(settings: Settings, version: str, reason: str = "manual promotion") -> None:
    """Make `version` the champion; the replaced champion becomes `previous-champion`."""
    aliases = settings.tracking.aliases
    tracking.version_info(settings, version)  # KeyError for an unknown version
    current = champion_version(settings)
    if current == str(version):
        return
    tags: dict[str, Any] = {
        "status": "champion",
        "promoted_at": datetime.now(UTC).isoformat(),
        "promotion_reason": reason,
    }
    if current is not None:
        tags["replaced_version"] = current
        tracking.set_alias(settings, aliases.previous, current)
        tracking.set_version_tags(settings, current, {"status": "retired"})
    tracking.set_version_tags(settings, version, tags)
    tracking.set_alias(settings, aliases.champion, version)
    log.info("model %s v%s is champion (%s)", settings.tracking.registered_model, version, reason)


def rollback(settings: Settings) -> tuple[str, str]:
    """Restore the previous champion; return (rolled back version, restored version)."""
    aliases = settings.tracking.aliases
    current = champion_version(settings)
    previous = tracking.alias_version(settings, aliases.previous)
    if current is None or previous is None:
        raise RegistryError("nothing to roll back to: no champion or no previous champion")
    tracking.set_alias(settings, aliases.champion, previous)
    tracking.set_version_tags(
        settings, current, {"status": "rolled_back", "rolled_back_at": datetime.now(UTC).isoformat()}
    )
    tracking.set_version_tags(settings, previous, {"status": "champion"})
    before = tracking.version_info(settings, previous).tags.get("replaced_version")
    if before:
        tracking.set_alias(settings, aliases.previous, before)
    else:
        tracking.delete_alias(settings, aliases.previous)
    log.info("rolled back %s v%s -> v%s", settings.tracking.registered_model, current, previous)
    return current, previous


def load_champion(settings: Settings) -> tuple[Any, str]:
    """Return (champion model, its version): the alias is resolved ONCE, then that version is loaded."""
    version = champion_version(settings)
    if version is None:
        raise RegistryError(f"{settings.tracking.registered_model} has no champion yet: run `tiercast train` first")
    return tracking.load_version(settings, version), version


def _gate_text(tags: dict[str, str]) -> str:
    """Return "roc_auc 0.7889" from a version's gate tags ("" before the gate ran, "nan" for failed checks)."""
    value = tags.get("gate_value", "")
    with contextlib.suppress(ValueError):
        value = f"{float(value):.4f}"
    return f"{tags.get('gate_metric', '')} {value}".strip()


def list_models(settings: Settings) -> pd.DataFrame:
    """Return one row per registered version: version, aliases, status, gate metric, run id, created."""
    rows = [
        {
            "version": info.version,
            "aliases": ", ".join(info.aliases),
            "status": info.tags.get("status", ""),
            "gate": _gate_text(info.tags),
            "validation_as_of": info.tags.get("validation_as_of", ""),
            "run_id": info.run_id,
            "created": info.created.floor("s"),
        }
        for info in tracking.list_versions(settings)
    ]
    return pd.DataFrame(rows, columns=["version", "aliases", "status", "gate", "validation_as_of", "run_id", "created"])
