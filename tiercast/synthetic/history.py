"""What the tables show about each line's recent months, kept in small rings for the churn hazard.

Bills and payments live in the `PaymentBook`; this keeps monthly usage (data MB + voice minutes)
for six months and the contact counts that the hazard reads (complaints, cancel intents,
retention calls) for three.
"""

from __future__ import annotations

import numpy as np

USAGE_SLOTS = 6
CONTACT_SLOTS = 3


class History:
    """Rings of recent usage and contact counts per line."""

    def __init__(self, capacity: int) -> None:
        self.usage = np.zeros((USAGE_SLOTS, capacity), dtype=np.float32)
        self.complaints = np.zeros((CONTACT_SLOTS, capacity), dtype=np.int16)
        self.cancel_intents = np.zeros((CONTACT_SLOTS, capacity), dtype=np.int16)
        self.retention_calls = np.zeros((CONTACT_SLOTS, capacity), dtype=bool)

    def reserve(self, capacity: int) -> None:
        """Make room for `capacity` lines."""
        if self.usage.shape[1] >= capacity:
            return
        size = max(capacity, int(self.usage.shape[1] * 1.25))
        for name in ("usage", "complaints", "cancel_intents", "retention_calls"):
            old = getattr(self, name)
            new = np.zeros((old.shape[0], size), dtype=old.dtype)
            new[:, : old.shape[1]] = old
            setattr(self, name, new)

    def record(
        self,
        t: int,
        idx: np.ndarray,
        usage: np.ndarray,
        complaints: np.ndarray,
        cancel_intents: np.ndarray,
        retention_calls: np.ndarray,
    ) -> None:
        """Store month t of lines `idx` (lines not billed in month t get zeros)."""
        slot, contact_slot = t % USAGE_SLOTS, t % CONTACT_SLOTS
        self.usage[slot] = 0.0
        self.usage[slot, idx] = usage
        for name, values in (
            ("complaints", complaints),
            ("cancel_intents", cancel_intents),
            ("retention_calls", retention_calls),
        ):
            ring = getattr(self, name)
            ring[contact_slot] = 0
            ring[contact_slot, idx] = values

    def recent(self, name: str, t: int, n: int, months: int) -> np.ndarray:
        """Return the sum over months t - months + 1 .. t of a contact ring for lines 0..n-1."""
        ring = getattr(self, name)
        total = np.zeros(n, dtype=np.int64)
        for u in range(max(0, t - months + 1), t + 1):
            total += ring[u % CONTACT_SLOTS, :n]
        return total
