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


def column_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a numeric column as float64 (missing -> NaN); KeyError naming the column when it is absent."""
    if column not in frame.columns:
        raise KeyError(f"rule needs column {column!r}, which the frame lacks")
    return pd.to_numeric(frame[column], errors="raise").astype("float64").to_numpy()


def condition_holds(frame: pd.DataFrame, condition: Condition, threshold: float | None = None) -> np.ndarray:
    """Return a bool array: `column op threshold` per row; a missing value never holds."""
    values = column_values(frame, condition.column)
    cut = condition.threshold if threshold is None else threshold
    with np.errstate(invalid="ignore"):
        return np.asarray(_OPS[condition.op](values, cut), dtype=bool) & ~np.isnan(values)


def relaxed_threshold(condition: Condition, margin: float) -> float:
    """Return the threshold moved by `margin` towards easier holding (up for < and <=, down for > and >=)."""
    return condition.threshold + margin if condition.op in ("<", "<=") else condition.threshold - margin


def describe(frame: pd.DataFrame, parts: Iterable[tuple[Condition, np.ndarray]], sep: str = ", ") -> np.ndarray:
    """Return per row the labels (formatted with the row's value) of the conditions whose mask is set, joined.

    An object array of str, "" where no part applies; conditions with an empty label add no text.
    """
    texts = np.full(len(frame), "", dtype=object)
    for condition, mask in parts:
        rows = np.flatnonzero(mask)
        if not condition.label or rows.size == 0:
            continue
        values = column_values(frame, condition.column)[rows]
        # formatted once per distinct value (by bit pattern: -0.0 and NaN keep their own text), not once per row
        codes, uniques = pd.factorize(values.view(np.int64))
        labels = np.array([condition.label.format(value=value) for value in uniques.view(np.float64)], dtype=object)
        before = texts[rows]
        texts[rows] = np.where(before == "", labels[codes], before + sep + labels[codes])
    return texts
