"""The base class every settings section derives from."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A frozen settings section that rejects unknown keys (a typo in YAML is an error, not a no-op)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
