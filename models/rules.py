"""Configured conditions (`column op threshold`) evaluated on a feature frame, and their reason texts."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from tiercast.settings.tiers import Condition

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def condition_holds(frame: pd.DataFrame, condition: Condition, threshold: float | None = None) -> pd.Series:
    """Return a bool Series: `column op threshold` per row; a missing value never holds."""
    if condition.column not in frame.columns:
        raise KeyError(f"rule needs column {condition.column!r}, which the frame lacks")
    values = pd.to_numeric(frame[condition.column], errors="raise").astype("float64").to_numpy()
    cut = condition.threshold if threshold is None else threshold
    with np.errstate(invalid="ignore"):
        holds = np.asarray(_OPS[condition.op](values, cut), dtype=bool) & ~np.isnan(values)
    return pd.Series(holds, index=frame.index, name=condition.column)


def relaxed_threshold(condition: Condition, margin: float) -> float:
    """Return the threshold moved by `margin` towards easier holding (up for < and <=, down for > and >=)."""
    return condition.threshold + margin if condition.op in ("<", "<=") else condition.threshold - margin


def condition_text(frame: pd.DataFrame, condition: Condition, mask: pd.Series) -> pd.Series:
    """Return the condition's label formatted with each row's value where `mask`, else an empty string."""
    rows = mask.to_numpy(dtype=bool)
    texts = np.full(len(frame), "", dtype=object)
    texts[rows] = [
        condition.label.format(value=value) for value in frame[condition.column].astype("float64").to_numpy()[rows]
    ]
    return pd.Series(texts, index=frame.index, dtype="str")


def join_texts(parts: Iterable[pd.Series], sep: str = ", ") -> pd.Series:
    """Return the non-empty parts of each row joined by `sep` (an empty string when none)."""
    joined: pd.Series | None = None
    for part in parts:
        if joined is None:
            joined = part.astype("str")
            continue
        both = (joined != "") & (part != "")
        joined = (joined + sep + part).where(both, joined + part)
    if joined is None:
        raise ValueError("join_texts needs at least one part")
    return joined
