"""Keyed pseudonyms for phone numbers: nothing published carries a raw MSISDN.

subscriber_key = hex(HMAC-SHA256(key, national 11-digit MSISDN)). A plain hash would not do:
there are only about 10^10 mobile numbers, so an unkeyed hash is reversed by enumeration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable, Mapping

import pandas as pd

from tiercast.errors import ConfigurationError
from tiercast.settings.privacy import PrivacySettings

log = logging.getLogger(__name__)

MSISDN_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


class PrivacyKeyError(ConfigurationError, RuntimeError):
    """The pseudonymisation key is missing or too short."""


def privacy_key(settings: PrivacySettings, environ: Mapping[str, str] | None = None) -> bytes:
    """Return the HMAC key from the environment, or the labelled demo key when that is allowed."""
    environ = os.environ if environ is None else environ
    if settings.key_env in environ and not environ[settings.key_env]:
        raise PrivacyKeyError(
            f"${settings.key_env} is set but empty: unset it to use the demo key, or set the pseudonymisation key"
        )
    secret = environ.get(settings.key_env, "")
    if secret:
        key = secret.encode()
        if len(key) < settings.min_key_bytes:
            raise PrivacyKeyError(
                f"${settings.key_env} holds {len(key)} bytes; at least {settings.min_key_bytes} needed"
            )
        return key
    if not settings.allow_demo_key:
        raise PrivacyKeyError(f"set ${settings.key_env} to the pseudonymisation key (privacy.allow_demo_key is false)")
    log.warning("using the PUBLIC demo pseudonymisation key: set $%s for real data", settings.key_env)
    return settings.demo_key.encode()


def normalise_msisdn(raw: str, settings: PrivacySettings) -> str:
    """Return the 11 national digits of a phone number written with spaces, dashes, +86, 0086 or 86."""
    digits = re.sub(r"\D", "", raw)
    for prefix in ("00" + settings.country_code, settings.country_code):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not MSISDN_PATTERN.match(digits):
        raise ValueError("not an 11-digit mobile number")  # never echo the number itself
    return digits


def _keys(numbers: Iterable[str], key: bytes) -> list[str]:
    base = hmac.new(key, digestmod=hashlib.sha256)
    out = []
    for number in numbers:
        mac = base.copy()
        mac.update(number.encode())
        out.append(mac.hexdigest())
    return out


def subscriber_key(msisdn: pd.Series, key: bytes) -> pd.Series:
    """Return the hex HMAC-SHA256 of each (already normalised, 11-digit) MSISDN, same index."""
    values = msisdn.astype("str")
    bad = ~values.str.fullmatch(MSISDN_PATTERN.pattern)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} MSISDN value(s) are not 11-digit mobile numbers")
    return pd.Series(_keys(values.tolist(), key), index=msisdn.index, dtype="str", name="subscriber_key")


def key_for_number(raw: str, settings: PrivacySettings, key: bytes) -> str:
    """Return the subscriber_key of one phone number as a caller would dial it (e.g. '+86 138 0013 8000')."""
    return _keys([normalise_msisdn(raw, settings)], key)[0]
