"""The features step: validated inputs -> feature table as of D -> value tiers -> lifecycle stages -> contract -> file.

One row per subscriber active at D (docs/interfaces.md "Feature table") plus the tier columns
(models.tiers) and lifecycle columns (models.lifecycle), checked against
data_contracts/features.yaml before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.loader import validate_output
from features.build import feature_table
from models.lifecycle import assign_stages
from models.tiers import Cutoffs, assign_tiers
from pipelines.data_end import bill_month_counts, data_end
from pipelines.ingest import validate_inputs
from tiercast.settings import Settings

log = logging.getLogger(__name__)

CONTRACT = "features"
PREVIOUS_COLUMNS = ["subscriber_id", "lifecycle_stage"]
INPUT_TABLES = ("subscribers", "bills", "payments", "contacts")


def data_end_date(bills: pd.DataFrame, min_share: float) -> date:
    """Return the last day the data covers: the end of the latest bill month holding a usual month's bills
    (at least `min_share`, validation.data_end_min_share, of the median month's)."""
    return data_end(bill_month_counts(bills["bill_month"]), min_share)


def features_as_of(
    tables: Mapping[str, pd.DataFrame],
    as_of: date,
    settings: Settings,
    absent: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Return the feature table as of `as_of` from the four clean input tables (`features.build.feature_table`)."""
    return feature_table(
        tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"], as_of, settings.features, absent
    )


def for_subscribers(tables: Mapping[str, pd.DataFrame], ids: Iterable[Any]) -> dict[str, pd.DataFrame]:
    """Return the four input tables reduced to the rows of subscribers `ids` (features of a few, cheaply)."""
    wanted = pd.Index(ids)
    return {name: tables[name][tables[name]["subscriber_id"].isin(wanted)] for name in INPUT_TABLES}


def decide(
    tables: Mapping[str, pd.DataFrame],
    as_of: date,
    settings: Settings,
    previous_stages: pd.DataFrame | None = None,
    cutoffs: Cutoffs | None = None,
    absent: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Return the contract-checked feature table with tiers and lifecycle stages, from clean input tables.

    `absent`: the optional input columns the export lacks (the features that need them are null).
    """
    tiered = assign_tiers(features_as_of(tables, as_of, settings, absent), settings.tiers, cutoffs=cutoffs)
    staged = assign_stages(tiered, settings.lifecycle, previous=previous_stages)
    return validate_output(staged, CONTRACT)


def build_feature_table(
    settings: Settings,
    data_dir: Path | None = None,
    as_of: date | None = None,
    previous_stages: pd.DataFrame | None = None,
    subscriber_ids: Iterable[int | str] | None = None,
    cutoffs: Cutoffs | None = None,
) -> pd.DataFrame:
    """Return the feature table with tiers and stages as of D (default: the data's last day) from `data_dir`.

    Inputs are read and validated through pipelines.ingest (bad rows quarantined). With
    `subscriber_ids`, only those subscribers are built; quantile tier cut-offs are then taken over
    that subset unless `cutoffs` (high_min, mid_min) computed over the whole base are given.
    """
    inputs = validate_inputs(settings, data_dir, kind="features")
    tables = inputs.tables
    as_of = as_of or data_end_date(tables["bills"], settings.validation.data_end_min_share)
    if subscriber_ids is not None:
        wanted = pd.Index(list(subscriber_ids))
        tables = {name: tables[name][tables[name]["subscriber_id"].isin(wanted)] for name in INPUT_TABLES}
        if cutoffs is None and settings.tiers.cutoffs.mode == "quantile":
            log.warning("tier quantiles taken over the %d selected subscribers only", len(wanted))
    table = decide(tables, as_of, settings, previous_stages, cutoffs, inputs.absent)
    log.info("feature table as of %s: %d subscribers", as_of, len(table))
    return table


def read_previous_stages(path: Path) -> pd.DataFrame:
    """Return yesterday's (subscriber_id, lifecycle_stage) from a feature table file written by this step."""
    return pd.read_parquet(path, columns=PREVIOUS_COLUMNS)


def write_feature_table(table: pd.DataFrame, path: Path) -> Path:
    """Write `table` to Parquet at `path` atomically (a reader sees the old file or the new one) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    table.to_parquet(partial, index=False)
    partial.replace(path)
    log.info("feature table written to %s (%d rows)", path, len(table))
    return path


def stage_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Return subscriber counts by tier (rows: high, mid, low) and lifecycle stage (columns), with totals."""
    counts = pd.crosstab(table["tier"], table["lifecycle_stage"], margins=True, margins_name="total")
    rows = [t for t in ("high", "mid", "low", "total") if t in counts.index]
    stages = [s for s in ("identification", "growth", "stable", "warning", "total") if s in counts.columns]
    return counts.reindex(index=rows, columns=stages, fill_value=0)
