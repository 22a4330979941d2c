from datetime import date

import numpy as np
import pytest

from features.contacts import contact_features
from tests.features import frames

D = date(2025, 3, 31)
ROWS = [
    # subscriber 1: window edges
    {"subscriber_id": 1, "contact_time": "2024-12-31T10:00:00", "reason": "complaint"},  # day D-90: outside 90d
    {"subscriber_id": 1, "contact_time": "2025-01-01T00:00:00", "reason": "complaint", "resolved": False},
    {"subscriber_id": 1, "contact_time": "2025-02-10T09:00:00", "channel": "chat", "reason": "cancel_intent"},
    {"subscriber_id": 1, "contact_time": "2025-03-01T23:59:59", "reason": "complaint", "abandoned": True},  # D-30
    {"subscriber_id": 1, "contact_time": "2025-03-02T00:00:00", "abandoned": True, "resolved": False},
    {"subscriber_id": 1, "contact_time": "2025-03-31T23:59:59", "channel": "app", "reason": "billing"},
    {"subscriber_id": 1, "contact_time": "2025-04-01T00:00:00", "reason": "complaint"},  # after D
    # subscriber 2: repeats and retention calls
    {"subscriber_id": 2, "contact_time": "2025-03-10T12:00:00"},
    {"subscriber_id": 2, "contact_time": "2025-03-17T12:00:00"},  # exactly 7 days later: a repeat
    {"subscriber_id": 2, "contact_time": "2025-03-20T12:00:00", "channel": "outbound", "reason": "retention_call"},
    {"subscriber_id": 2, "contact_time": "2025-03-24T12:00:01"},  # 7 days + 1 s after the last inbound one
    {"subscriber_id": 2, "contact_time": "2025-04-02T09:00:00", "channel": "outbound", "reason": "retention_call"},
    # subscriber 3: one old retention call; subscriber 99 is not active
    {"subscriber_id": 3, "contact_time": "2024-06-01T15:00:00", "channel": "outbound", "reason": "retention_call"},
    {"subscriber_id": 99, "contact_time": "2025-03-30T10:00:00", "reason": "complaint"},
]
NAN = float("nan")
FLOATS = {"unresolved_share_90d", "days_since_retention_call", "abandoned_30d"}  # abandoned_30d: null without the flag
EXPECTED = {  # subscribers 1, 2, 3, 4 (4 has no contact)
    "contacts_30d": [2, 3, 0, 0],
    "contacts_90d": [5, 3, 0, 0],
    "complaints_30d": [0, 0, 0, 0],
    "complaints_90d": [2, 0, 0, 0],
    "repeat_contacts_30d": [1, 1, 0, 0],  # subscriber 1: 2 March follows 1 March 23:59:59
    "abandoned_30d": [1, 0, 0, 0],
    "cancel_intent_90d": [1, 0, 0, 0],
    "unresolved_share_90d": [2 / 5, 0.0, NAN, NAN],
    "days_since_retention_call": [NAN, 11.0, 303.0, NAN],
}


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
@pytest.mark.parametrize("order", ["as_listed", "reversed"])
def test_contact_features_per_window_and_reason(unit: str, order: str) -> None:
    contacts = frames.contacts(*ROWS, unit=unit)
    if order == "reversed":
        contacts = contacts.iloc[::-1]
    features = contact_features(contacts, np.array([1, 2, 3, 4]), D, repeat_days=7)
    assert list(features.columns) == list(EXPECTED)
    for name, values in EXPECTED.items():
        np.testing.assert_array_equal(features[name].to_numpy(), values, err_msg=name)
        assert features[name].dtype == (np.float64 if name in FLOATS else np.int64)


def test_no_contacts_give_zero_counts() -> None:
    features = contact_features(frames.no_contacts(), np.array([1]), D, repeat_days=7)
    assert features.iloc[0]["contacts_90d"] == 0
    assert np.isnan(features.iloc[0]["days_since_retention_call"])
