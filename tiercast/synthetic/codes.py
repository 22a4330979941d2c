"""Category vocabularies (values allowed by data_contracts/*.yaml) and the plan catalogue as arrays.

The simulation keeps categorical columns as small integer codes into these tuples; the writer
turns them into strings only when a table is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from tiercast.settings.generator import GeneratorSettings

AgeGroup = Literal["young", "adult", "senior"]
Payer = Literal["punctual", "late", "arrears"]

AGE_GROUPS: tuple[AgeGroup, ...] = ("young", "adult", "senior")
YOUNG, ADULT, SENIOR = 0, 1, 2
CONTRACT_TYPES = ("prepaid", "postpaid", "contract_12m", "contract_24m")
PREPAID, POSTPAID, CONTRACT_12M, CONTRACT_24M = 0, 1, 2, 3
CONTRACT_TERM_MONTHS = np.array([0, 0, 12, 24])
BRANDS = ("gotone", "mzone", "easyown")
MZONE = 1
SEGMENTS = ("individual", "business")
SALES_CHANNELS = ("store", "online", "agent", "telesales")
GENDERS = ("F", "M")
LIST_FLAGS = ("red", "black")
RED, BLACK = 0, 1
DEACTIVATION_REASONS = ("voluntary", "non_payment")
VOLUNTARY, NON_PAYMENT = 0, 1
CHANNELS = ("voice", "chat", "app", "store", "outbound")
VOICE, OUTBOUND = 0, 4
REASONS = ("inquiry", "billing", "complaint", "fault", "cancel_intent", "plan_change", "retention_call")
INBOUND_REASONS = REASONS[:-1]
INQUIRY, BILLING, COMPLAINT, FAULT, CANCEL_INTENT, PLAN_CHANGE, RETENTION_CALL = range(7)
TYPES = ("loyal_low", "loyal_mid", "casual", "high_value", "business", "growing", "declining", "flea")
LOYAL_LOW, LOYAL_MID, CASUAL, HIGH_VALUE, BUSINESS, GROWING, DECLINING, FLEA = range(8)
PAYERS: tuple[Payer, ...] = ("punctual", "late", "arrears")
PREPAID_PAYER, FLEA_PAYER = 3, 4
# Missing-value markers of the integer-coded columns.
NO_CODE = -1
NO_DAY = np.iinfo(np.int32).max


def shares(mix: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """Return the probabilities of `names` (in that order) from a {name: weight} mix, normalised."""
    unknown = set(mix) - set(names)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}; allowed: {names}")
    weights = np.array([mix.get(name, 0.0) for name in names], dtype=np.float64)
    return weights / weights.sum()


@dataclass(frozen=True)
class Catalog:
    """Plans, regions and per-plan numbers as arrays indexed by plan code."""

    plans: tuple[str, ...]
    regions: tuple[str, ...]
    region_p: np.ndarray
    fee: np.ndarray
    allowance_mb: np.ndarray
    voice_minutes: np.ndarray
    data_mb: np.ndarray
    sms: np.ndarray
    long_distance_rate: np.ndarray
    business: np.ndarray
    popularity: np.ndarray  # (age group, plan)
    contract_p: np.ndarray  # (plan, contract type)
    brand_p: np.ndarray  # (plan, brand)
    type_drift: np.ndarray  # by type code (TYPES)
    type_persistence: np.ndarray
    type_noise: np.ndarray
    type_dissatisfaction: np.ndarray

    @classmethod
    def from_settings(cls, cfg: GeneratorSettings) -> Catalog:
        """Return the catalogue of the configured plans and regions."""
        specs = list(cfg.plans.values())
        share = np.array([p.share for p in specs])
        young = np.array([p.young_weight for p in specs])
        senior = np.array([p.senior_weight for p in specs])
        business = np.array([p.segment == "business" for p in specs])
        popularity = np.stack([share * young, share, share * senior])
        popularity = popularity / popularity.sum(axis=1, keepdims=True)
        return cls(
            plans=tuple(cfg.plans),
            regions=tuple(cfg.regions),
            region_p=shares(cfg.regions, tuple(cfg.regions)),
            fee=np.array([p.fee for p in specs]),
            allowance_mb=np.array([np.inf if p.data_allowance_mb is None else p.data_allowance_mb for p in specs]),
            voice_minutes=np.array([p.voice_minutes for p in specs]),
            data_mb=np.array([p.data_mb for p in specs]),
            sms=np.array([p.sms for p in specs]),
            long_distance_rate=np.array([p.long_distance_rate for p in specs]),
            business=business,
            popularity=popularity,
            contract_p=np.stack([shares(p.contracts, CONTRACT_TYPES) for p in specs]),
            brand_p=np.stack([shares(p.brands, BRANDS) for p in specs]),
            type_drift=np.array([cfg.types[t].drift for t in TYPES]),
            type_persistence=np.array([cfg.types[t].persistence for t in TYPES]),
            type_noise=np.array([cfg.types[t].noise for t in TYPES]),
            type_dissatisfaction=np.array([cfg.types[t].dissatisfaction for t in TYPES]),
        )


def draw(rng: np.random.Generator, p: np.ndarray, groups: np.ndarray | None = None, n: int | None = None) -> np.ndarray:
    """Return category codes (int8) drawn from probabilities `p`, one row of `p` per group when `groups` is given."""
    if groups is None:
        codes = np.searchsorted(np.cumsum(p), rng.random(int(n or 0)) * np.sum(p), side="right")
        return np.minimum(codes, len(p) - 1).astype(np.int8)
    u = rng.random(len(groups))
    out = np.zeros(len(groups), dtype=np.int8)
    cum = np.cumsum(p, axis=1)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        out[rows] = np.searchsorted(cum[g], u[rows] * cum[g, -1], side="right")
    return np.minimum(out, p.shape[-1] - 1).astype(np.int8)
