"""Random control groups for retention campaigns, drawn from a keyed hash (reproducible, unbiased, unguessable).

draw = the first 53 bits of HMAC-SHA256(key, "<subscriber_key>|<campaign date ISO>") as a number in [0, 1);
a customer is `control` when draw < share. The draw depends on nothing but the key, the customer and the
date, so it is independent of tier, score and rank (assignment is random with respect to everything a
campaign is evaluated on), the same customer gets the same group however often a night is rerun or
however the base is sharded, and another campaign date draws a new, independent group.

The key is the pseudonymisation key (pipelines.privacy.privacy_key): without it nobody, a desk agent
included, can tell from a published subscriber_key who is held out. Pega Customer Decision Hub keeps a
random 2% of decisions as control (issue 14); tiercast's default is 5% (retention.control_share).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import numpy as np
import pandas as pd

TREATED = "treated"
CONTROL = "control"
GROUPS = (TREATED, CONTROL)

_MANTISSA_BITS = 53  # a float64 holds every multiple of 2**-53 in [0, 1) exactly


def control_draw(subscriber_key: pd.Series, campaign_date: date, key: bytes) -> pd.Series:
    """Return each customer's uniform number in [0, 1) for `campaign_date`, keyed by `key` (same index)."""
    suffix = f"|{campaign_date.isoformat()}".encode()
    base = hmac.new(key, digestmod=hashlib.sha256)
    digests = bytearray()
    for value in subscriber_key.astype("str").tolist():
        mac = base.copy()
        mac.update(value.encode())
        mac.update(suffix)
        digests += mac.digest()[:8]
    leading = np.frombuffer(bytes(digests), dtype=">u8") >> np.uint64(64 - _MANTISSA_BITS)
    draw = leading.astype("float64") * 2.0**-_MANTISSA_BITS
    return pd.Series(draw, index=subscriber_key.index, dtype="float64", name="control_draw")


def is_control(subscriber_key: pd.Series, campaign_date: date, key: bytes, share: float | pd.Series) -> pd.Series:
    """Return True for the customers held out as control on `campaign_date` (draw < share; `share` per row or one)."""
    if np.any(np.asarray(share, dtype="float64") < 0.0) or np.any(np.asarray(share, dtype="float64") > 1.0):
        raise ValueError("control share must lie in [0, 1]")
    draw = control_draw(subscriber_key, campaign_date, key)
    return (draw < share).astype(bool).rename("is_control")


def campaign_group(subscriber_key: pd.Series, campaign_date: date, key: bytes, share: float | pd.Series) -> pd.Series:
    """Return 'control' or 'treated' per customer for `campaign_date` (see `is_control`)."""
    control = is_control(subscriber_key, campaign_date, key, share)
    group = np.where(control.to_numpy(), CONTROL, TREATED)
    return pd.Series(group, index=subscriber_key.index, dtype="str", name="group")
