"""Keyed pseudonyms: HMAC-SHA256 of the normalised MSISDN, key from the environment, demo key labelled."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from pipelines.privacy import PrivacyKeyError, key_for_number, normalise_msisdn, privacy_key, subscriber_key
from tiercast.settings.privacy import PrivacySettings

KEY = b"k" * 32


def privacy(**changes: object) -> PrivacySettings:
    data: dict[str, object] = {
        "key_env": "TEST_PRIVACY_KEY",
        "demo_key": "demo-key-not-a-secret-0123456789",
        "allow_demo_key": True,
        "min_key_bytes": 32,
        "country_code": "86",
    }
    data.update(changes)
    return PrivacySettings.model_validate(data)


def test_key_is_the_hex_hmac_sha256_of_the_number() -> None:
    keys = subscriber_key(pd.Series(["13800138000", "19912345678"], index=[7, 9]), KEY)
    assert keys.tolist() == [
        hmac.new(KEY, n.encode(), hashlib.sha256).hexdigest() for n in ("13800138000", "19912345678")
    ]
    assert keys.index.tolist() == [7, 9]
    assert keys.str.fullmatch(r"[0-9a-f]{64}").all()


def test_another_key_gives_other_pseudonyms_and_a_plain_hash_is_not_used() -> None:
    numbers = pd.Series(["13800138000"])
    assert subscriber_key(numbers, KEY)[0] != subscriber_key(numbers, b"j" * 32)[0]
    assert subscriber_key(numbers, KEY)[0] != hashlib.sha256(b"13800138000").hexdigest()


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "008613800138000", "8613800138000", "138-0013-8000"]
)
def test_numbers_as_dialled_normalise_to_the_same_key(raw: str) -> None:
    assert normalise_msisdn(raw, privacy()) == "13800138000"
    assert key_for_number(raw, privacy(), KEY) == subscriber_key(pd.Series(["13800138000"]), KEY)[0]


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "+44 20 7946 0958", ""])
def test_invalid_numbers_are_rejected_without_echoing_them(raw: str) -> None:
    with pytest.raises(ValueError, match="not an 11-digit mobile number") as caught:
        normalise_msisdn(raw, privacy())
    assert str(caught.value) == "not an 11-digit mobile number"


def test_a_bad_number_in_a_column_is_counted_not_shown() -> None:
    with pytest.raises(ValueError, match="1 MSISDN value") as caught:
        subscriber_key(pd.Series(["13800138000", "99999"]), KEY)
    assert "99999" not in str(caught.value)


def test_key_comes_from_the_named_environment_variable() -> None:
    assert privacy_key(privacy(), {"TEST_PRIVACY_KEY": "s" * 40}) == b"s" * 40


def test_a_short_key_is_refused() -> None:
    with pytest.raises(PrivacyKeyError, match="at least 32"):
        privacy_key(privacy(), {"TEST_PRIVACY_KEY": "short"})


def test_demo_key_only_when_allowed_and_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert privacy_key(privacy(), {}) == b"demo-key-not-a-secret-0123456789"
    assert "PUBLIC demo pseudonymisation key" in caplog.text
    with pytest.raises(PrivacyKeyError, match="set \\$TEST_PRIVACY_KEY"):
        privacy_key(privacy(allow_demo_key=False), {})


def test_packaged_demo_key_is_labelled_as_not_secret() -> None:
    from importlib import resources

    import yaml

    text = (resources.files("tiercast") / "defaults" / "privacy.yaml").read_text()
    settings = PrivacySettings.model_validate(yaml.safe_load(text))
    assert "not-a-secret" in settings.demo_key
    assert "DEMO ONLY, NOT A SECRET" in text
