"""Pseudonymisation of phone numbers in published outputs."""

from pydantic import Field

from tiercast.settings.base import Section


class PrivacySettings(Section):
    """Pseudonymisation of phone numbers: subscriber_key = HMAC-SHA256(key, normalised MSISDN), hex.

    The key is read from the environment variable named by `key_env`. Without it, `demo_key` is
    used only when `allow_demo_key` is true (a warning is logged); production sets it false.
    """

    key_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    demo_key: str = Field(min_length=16)
    allow_demo_key: bool
    min_key_bytes: int = Field(ge=16)
    country_code: str = Field(pattern=r"^[0-9]{1,3}$")
