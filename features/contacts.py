"""Contact-centre behaviour as of D: contacts, complaints, repeats, abandons, cancel intents, retention calls.

Windows are (D - N days, D] on the contact's calendar day; a contact is known from its contact_time.
Counts of contacts, repeats and the unresolved share are over inbound contacts (every channel but
`outbound`); complaints, cancel intents and abandons are counted by their own flag or reason.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.windows import NAT, as_of_day, datetime_ticks, last_days, max_by_row, positions, ratio, sums_by_row


def contact_features(contacts: pd.DataFrame, subscriber_ids: np.ndarray, as_of: date, repeat_days: int) -> pd.DataFrame:
    """Return contacts_30d/90d, complaints_30d/90d, repeat_contacts_30d, abandoned_30d, cancel_intent_90d,
    unresolved_share_90d and days_since_retention_call for the sorted `subscriber_ids`.

    A repeat contact is an inbound contact at most `repeat_days` days after the subscriber's previous
    inbound contact (which may lie before the 30-day window).
    """
    today, n = as_of_day(as_of), len(subscriber_ids)
    all_ticks, per_day = datetime_ticks(contacts["contact_time"])
    end = (today + 1) * per_day  # contacts strictly before the end of day D are known
    span = max(90, 30 + repeat_days)
    rows = np.flatnonzero((all_ticks < end) & (all_ticks >= (today + 1 - span) * per_day))
    ticks = all_ticks[rows]
    pos = positions(contacts["subscriber_id"].to_numpy(dtype=np.int64)[rows], subscriber_ids)
    day = ticks // per_day
    in_90d, in_30d = last_days(day, today, 90), last_days(day, today, 30)
    inbound = pos >= 0
    inbound[_is(contacts, "channel", "outbound")[rows]] = False
    complaint = _is(contacts, "reason", "complaint")[rows]
    resolved = contacts["resolved"].to_numpy(dtype=bool)[rows]
    abandoned = contacts["abandoned"].to_numpy(dtype=bool)[rows]
    cancel_intent = _is(contacts, "reason", "cancel_intent")[rows]
    contacts_90d = sums_by_row(np.where(inbound & in_90d, pos, -1), n)
    return pd.DataFrame(
        {
            "contacts_30d": sums_by_row(np.where(inbound & in_30d, pos, -1), n),
            "contacts_90d": contacts_90d,
            "complaints_30d": sums_by_row(np.where(complaint & in_30d, pos, -1), n),
            "complaints_90d": sums_by_row(np.where(complaint & in_90d, pos, -1), n),
            "repeat_contacts_30d": _repeat_contacts(pos, ticks, inbound & in_30d, inbound, repeat_days * per_day, n),
            "abandoned_30d": sums_by_row(np.where(abandoned & in_30d, pos, -1), n).astype(np.float64),
            "cancel_intent_90d": sums_by_row(np.where(cancel_intent & in_90d, pos, -1), n),
            "unresolved_share_90d": ratio(
                sums_by_row(np.where(inbound & in_90d & ~resolved, pos, -1), n), contacts_90d
            ),
            "days_since_retention_call": _days_since_retention_call(
                contacts, all_ticks, subscriber_ids, today, per_day
            ),
        },
        copy=False,  # no consolidation copy of the arrays
    )


def _is(contacts: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Return a bool mask of the rows whose `column` equals `value` (str or category columns)."""
    return (contacts[column] == value).to_numpy(dtype=bool, na_value=False)


def _repeat_contacts(
    pos: np.ndarray, ticks: np.ndarray, counted: np.ndarray, inbound: np.ndarray, gap: int, n: int
) -> np.ndarray:
    """Return per subscriber the `counted` contacts coming at most `gap` ticks after its previous inbound one."""
    rows = np.flatnonzero(inbound)
    who, when = pos[rows], ticks[rows]
    step_who, step_when = np.diff(who), np.diff(when)
    if not np.all((step_who > 0) | ((step_who == 0) & (step_when >= 0))):
        order = np.lexsort((when, who))
        rows, who, when = rows[order], who[order], when[order]
        step_who, step_when = np.diff(who), np.diff(when)
    repeat = np.zeros(len(rows), dtype=bool)
    repeat[1:] = (step_who == 0) & (step_when <= gap)
    return sums_by_row(np.where(repeat & counted[rows], who, -1), n)


def _days_since_retention_call(
    contacts: pd.DataFrame, ticks: np.ndarray, subscriber_ids: np.ndarray, today: int, per_day: int
) -> np.ndarray:
    """Return days from the last retention call known at D to D (NaN when never called)."""
    known = (ticks < (today + 1) * per_day) & (ticks != NAT)
    rows = np.flatnonzero(_is(contacts, "reason", "retention_call") & known)
    pos = positions(contacts["subscriber_id"].to_numpy(dtype=np.int64)[rows], subscriber_ids)
    return today - max_by_row(pos, len(subscriber_ids), ticks[rows] // per_day)
