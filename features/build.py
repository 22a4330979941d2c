"""The feature table: one row per subscriber active at D, every feature of docs/interfaces.md, as of D.

Every feature depends on one subscriber's rows only, so the table built on any subset of
subscribers (a shard, see pipelines/shards.py) equals the same rows of the table built on all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

import numpy as np
import pandas as pd

from features.arpu import arpu_features
from features.availability import mask_unavailable
from features.contacts import contact_features
from features.credit import credit_features, credit_score
from features.profile import STATIC_COLUMNS, profile_features
from features.tenure import contract_months_left, tenure_months
from features.usage import usage_features
from features.windows import as_of_day, as_of_timestamp, day_numbers, known_bills
from tiercast.settings.features import FeaturesSettings

# Subscriber columns the feature table reads.
SUBSCRIBER_COLUMNS = (
    "subscriber_id",
    "activation_date",
    "deactivation_date",
    "contract_end_date",
    "birth_year",
    "do_not_contact",
    *STATIC_COLUMNS,
)
ARPU_MONTHS = 6  # the longest ARPU / usage window, in bill months


def active_rows(subscribers: pd.DataFrame, as_of: date) -> np.ndarray:
    """Return the positions of the subscribers active at D (activated by D, not deactivated by D), by subscriber_id."""
    today = as_of_day(as_of)
    activated = day_numbers(subscribers["activation_date"], missing=today + 1) <= today
    still_on = day_numbers(subscribers["deactivation_date"], missing=today + 1) > today
    rows = np.flatnonzero(activated & still_on)
    ids = subscribers["subscriber_id"].to_numpy()[rows]
    if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
        rows = rows[np.argsort(ids, kind="stable")]
    return rows


def _integer_ids(tables: list[pd.DataFrame]) -> tuple[list[pd.DataFrame], pd.Index | None]:
    """Return the tables with text subscriber ids replaced by int64 codes, and the ids by code (None for int ids).

    Codes follow the sorted order of the subscribers' ids (the first table's), so a table sorted by
    code is sorted by id; ids no subscriber has get -1. Integer ids are returned as they are.
    """
    subscribers = tables[0]["subscriber_id"]
    if subscribers.dtype.kind in "iu":
        return tables, None
    ids = pd.Index(subscribers.unique()).sort_values()
    coded = [table.assign(subscriber_id=ids.get_indexer(table["subscriber_id"]).astype(np.int64)) for table in tables]
    return coded, ids


def active_subscribers(subscribers: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Return the subscribers active at D, sorted by subscriber_id, with a fresh RangeIndex."""
    return subscribers.take(active_rows(subscribers, as_of)).reset_index(drop=True)


def feature_table(
    subscribers: pd.DataFrame,
    bills: pd.DataFrame,
    payments: pd.DataFrame,
    contacts: pd.DataFrame,
    as_of: date,
    settings: FeaturesSettings,
    absent: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Return the feature table as of D: one row per subscriber active at D, sorted by subscriber_id.

    `absent` names the optional input columns the export lacks (per table): the features that read
    them are null (features/availability.py). Subscriber ids may be int64 or text.
    """
    (subscribers, bills, payments, contacts), text_ids = _integer_ids([subscribers, bills, payments, contacts])
    table = _feature_table(subscribers, bills, payments, contacts, as_of, settings)
    if text_ids is not None:
        table = table.assign(subscriber_id=text_ids.take(table["subscriber_id"].to_numpy()).array)
    return mask_unavailable(table, absent or {})


def _feature_table(
    subscribers: pd.DataFrame,
    bills: pd.DataFrame,
    payments: pd.DataFrame,
    contacts: pd.DataFrame,
    as_of: date,
    settings: FeaturesSettings,
) -> pd.DataFrame:
    active = active_subscribers(subscribers[list(SUBSCRIBER_COLUMNS)], as_of)
    ids = active["subscriber_id"].to_numpy(dtype=np.int64)
    known = known_bills(bills, ids, as_of, max(ARPU_MONTHS, settings.credit_window_months))
    billed, amount = known.grids([None, "amount"])
    credit = credit_features(payments, known, billed, amount, as_of, settings.settled_tolerance_cny)
    day = np.full(len(ids), as_of_timestamp(as_of).to_datetime64())
    keys = pd.DataFrame({"subscriber_id": ids, "as_of": day}, copy=False)
    return pd.concat(
        [
            keys,
            tenure_months(active, as_of),
            arpu_features(billed, amount),
            usage_features(known, billed, amount),
            credit,
            credit_score(credit, settings.credit_score),
            contact_features(contacts, ids, as_of, settings.repeat_contact_days),
            profile_features(active, as_of),
            contract_months_left(active, as_of),
        ],
        axis=1,
    )
