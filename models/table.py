"""Type inference for `tiercast evaluate-table`: any customer table -> model-ready features and a 0/1 target.

Pure and dataset-agnostic: numeric strings ("29.85", with " " blanks) become numbers with NaN, yes/no
style columns become 0/1, text whose values repeat becomes a category (the rare levels of a wide one
pooled into "(other)"), and id-like or free-text columns (values that barely repeat) and constant
columns are dropped with the reason recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tiercast.settings.evaluation import TableSettings

TRUE_WORDS = frozenset({"yes", "y", "true", "t"})
FALSE_WORDS = frozenset({"no", "n", "false", "f"})
# Below this many rows every column looks unique: id-like detection needs some rows to mean anything.
MIN_ROWS_FOR_ID = 20
OTHER_LEVEL = "(other)"


@dataclass(frozen=True)
class PreparedTable:
    """Features, the 0/1 target, and what happened to every input column."""

    features: pd.DataFrame
    target: pd.Series
    kinds: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    dropped_rows: int = 0
    pooled: dict[str, int] = field(default_factory=dict)


def _clean_text(series: pd.Series) -> pd.Series:
    text = series.astype("str").str.strip()
    return text.where(series.notna() & (text != "")).astype("str")


def _normalise(value: object) -> str:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text.lower()
    return repr(int(number)) if number.is_integer() else repr(number)


def target_vector(series: pd.Series, positive: str) -> pd.Series:
    """Return 1 where the target equals `positive` (case, blanks and 1 vs 1.0 ignored), 0 elsewhere, NA if blank."""
    known = series.notna() & (series.astype("str").str.strip() != "")
    flags = series.map(_normalise) == _normalise(positive)
    return flags.astype("Int8").where(known)


def text_category(text: pd.Series, settings: TableSettings) -> tuple[str, pd.Series | None]:
    """Return ("category", column with rare levels pooled) when the text values repeat, else (reason, None).

    Up to `max_categories` levels is always a category; above it, only when values repeat
    (`min_rows_per_level` rows per value on average), and levels under `rare_level_rows` rows are pooled.
    """
    known = text.dropna()
    counts = known.value_counts()
    if len(counts) <= 1:
        return "constant", None
    if len(counts) >= settings.id_unique_share * len(text) and len(text) > MIN_ROWS_FOR_ID:
        return "text id (every value distinct)", None
    if len(counts) <= settings.max_categories:
        return "category", text.astype(pd.CategoricalDtype(sorted(counts.index)))
    rows_per_level = len(known) / len(counts)
    if rows_per_level < settings.min_rows_per_level:
        return (
            f"text with {len(counts)} distinct values in {len(known)} rows ({rows_per_level:.1f} rows per value, "
            f"< {settings.min_rows_per_level:g}): id or free text"
        ), None
    rare = counts.index[counts < settings.rare_level_rows]
    levels = sorted(set(counts.index.difference(rare)) | ({OTHER_LEVEL} if len(rare) else set()))
    if len(levels) < 2:
        return f"category with {len(counts)} levels, fewer than 2 seen in {settings.rare_level_rows}+ rows", None
    pooled = text.where(~text.isin(rare) | text.isna(), OTHER_LEVEL)
    return "category", pooled.astype(pd.CategoricalDtype(levels))


def infer_column(series: pd.Series, settings: TableSettings) -> tuple[str, pd.Series | None]:
    """Return (kind, converted column) or (reason for exclusion, None) for one input column."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean", series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        converted = series.astype("float64")
    else:
        text = _clean_text(series)
        known = text.dropna()
        if known.empty:
            return "empty", None
        numbers = pd.to_numeric(known, errors="coerce")
        if numbers.notna().mean() < settings.numeric_share:
            lowered = set(known.str.lower().unique())
            if lowered <= TRUE_WORDS | FALSE_WORDS and lowered & TRUE_WORDS and lowered & FALSE_WORDS:
                return "boolean", text.str.lower().isin(TRUE_WORDS).astype("float64").where(text.notna())
            return text_category(text, settings)
        converted = pd.to_numeric(text, errors="coerce").astype("float64")
    known_numbers = converted.dropna()
    if known_numbers.empty or (known_numbers == known_numbers.iloc[0]).all():
        return "constant", None
    is_integer = bool(np.all(np.mod(known_numbers, 1) == 0))
    if (
        is_integer
        and known_numbers.nunique() >= settings.id_unique_share * len(series)
        and len(series) > MIN_ROWS_FOR_ID
    ):
        return "integer id (every value distinct)", None
    return "numeric", converted


def prepare_table(
    frame: pd.DataFrame, target: str, positive: str, id_column: str | None, settings: TableSettings
) -> PreparedTable:
    """Return the model-ready table: rows with a known target, inferred feature types, exclusions listed."""
    if target not in frame.columns:
        raise KeyError(f"target column {target!r} not in the table; columns: {list(frame.columns)}")
    if id_column is not None and id_column not in frame.columns:
        raise KeyError(f"id column {id_column!r} not in the table")
    y = target_vector(frame[target], positive)
    keep = y.notna()
    if int(y[keep].sum()) == 0:
        raise ValueError(f"no row has {target} == {positive!r}: check --positive")
    rows = frame.loc[keep]
    kinds, excluded, columns, pooled = {}, {}, {}, {}
    for name in rows.columns:
        if name == target:
            continue
        if name == id_column:
            excluded[name] = "id column (--id)"
            continue
        kind, converted = infer_column(rows[name], settings)
        if converted is None:
            excluded[name] = kind
        else:
            kinds[name], columns[name] = kind, converted
            if kind == "category" and OTHER_LEVEL in converted.cat.categories:
                pooled[name] = int(_clean_text(rows[name]).nunique()) - len(converted.cat.categories) + 1
    features = pd.DataFrame(columns, index=rows.index)
    return PreparedTable(features, y[keep].astype("int64"), kinds, excluded, int((~keep).sum()), pooled)
