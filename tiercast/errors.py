"""tiercast's domain errors and the exit code each one ends a command with.

Every error that tiercast raises on purpose (bad input, a refused model, a refused publication, ...)
derives from one of the classes below; the CLI turns each into one clear line on stderr and its
exit code (tiercast/cli/app.py). Anything else is a bug or an environment problem: exit code 1,
with the traceback in the log.
"""

from __future__ import annotations

from typing import ClassVar

# The exit code table (README "Exit codes", `tiercast --help`).
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected failure (a bug or the environment: the log has the traceback), or a flow failed for such a reason",
    2: "usage or configuration: a bad option, settings file, source mapping or privacy key",
    3: "input data broken: a missing table or required column, an unreadable file or value, a duplicate key, "
    "an empty or shrunken table",
    4: "too many input rows quarantined (validation.max_quarantined_share)",
    5: "model refused or missing: leakage, no champion, features the model needs",
    6: "publication refused or failed: a guardrail, a database that refused the switch; the live tables are unchanged",
    7: "another run for the same date is in progress",
}


class TiercastError(Exception):
    """An error tiercast raises on purpose; `exit_code` is what a command ends with."""

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"


class ConfigurationError(TiercastError):
    """A setting, option, mapping or key that cannot be used."""

    exit_code = 2
    kind = "configuration error"


class InputError(TiercastError):
    """Input data that breaks its contract in a way no row-level quarantine can absorb."""

    exit_code = 3
    kind = "input error"


class QuarantineError(TiercastError):
    """More input rows quarantined than a table's limit allows."""

    exit_code = 4
    kind = "quarantine limit"


class ModelError(TiercastError):
    """A model that must not be trained, promoted or used."""

    exit_code = 5
    kind = "model error"


class PublicationError(TiercastError):
    """A publication that did not happen; the live tables are unchanged."""

    exit_code = 6
    kind = "publication refused"


class ConcurrentRunError(TiercastError):
    """Another run holds the lock this one needs."""

    exit_code = 7
    kind = "busy"


class RunTimeoutError(TiercastError):
    """A flow that ran past its time limit (flows.*_timeout_seconds) and was stopped."""

    kind = "timed out"
