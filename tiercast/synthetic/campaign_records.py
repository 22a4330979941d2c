"""What the simulated campaigns leave behind: the `campaigns` table, the truth about them, and their calls.

`CampaignDesk` plans each month's campaign (tiercast/synthetic/campaigns.py) on its own random
stream, writes the campaign records (`campaigns.parquet`, data_contracts/campaigns.yaml) and three
truth tables under `_truth/`:

- `campaign_response.parquet` (with `whole_base_truth`): every line active at the end of the month
  before each campaign: subscriber_id, campaign_date, desk, eligible, response_type (null in a
  proportional mix), p_churn_if_not_called and p_churn_if_called_<offer> for each offer: the chance
  of leaving in the campaign month without a call, and if reached with that offer.
- `campaign_members.parquet`: every targeted line (treated and control): subscriber_id,
  campaign_date, desk, group, offer, answered, response_type, p_churn_if_not_called,
  p_churn_if_called (its offer, if reached), p_churn (what its leaving was drawn from).
- `campaign_effects.parquet`: per campaign_date, desk and offer: treated, control, answered and the
  true effects (campaigns.true_effects).

The calls themselves become outbound retention-call contacts in the campaign month (`call_contacts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tiercast.settings.campaigns import OFFERS, RESPONSE_TYPES, CampaignSettings
from tiercast.settings.generator import ContactSettings
from tiercast.synthetic import campaigns as cp
from tiercast.synthetic import codes as c
from tiercast.synthetic.contacts import Contacts
from tiercast.synthetic.hazard import Observables
from tiercast.synthetic.population import Population
from tiercast.synthetic.writer import Output, TableWriter, contract_schema, dates, labels

CAMPAIGN_STREAM = 14  # the campaigns' own random stream: (seed, 14), issue 14
TABLE = "campaigns"


def _fields(*spec: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=nullable) for name, kind, nullable in spec])


_KEY = (("subscriber_id", pa.int64(), False), ("campaign_date", pa.date32(), False), ("desk", pa.string(), False))
TRUTH_SCHEMAS = {
    "campaign_response": _fields(
        *_KEY,
        ("eligible", pa.bool_(), False),
        ("response_type", pa.string(), True),
        ("p_churn_if_not_called", pa.float64(), False),
        *((f"p_churn_if_called_{offer}", pa.float64(), False) for offer in OFFERS),
    ),
    "campaign_members": _fields(
        *_KEY,
        ("group", pa.string(), False),
        ("offer", pa.string(), False),
        ("answered", pa.bool_(), False),
        ("response_type", pa.string(), True),
        ("p_churn_if_not_called", pa.float64(), False),
        ("p_churn_if_called", pa.float64(), False),
        ("p_churn", pa.float64(), False),
    ),
    "campaign_effects": _fields(
        ("campaign_date", pa.date32(), False),
        ("desk", pa.string(), False),
        ("offer", pa.string(), False),
        ("treated", pa.int64(), False),
        ("control", pa.int64(), False),
        ("answered", pa.int64(), False),
        ("true_effect", pa.float64(), False),
        ("true_effect_if_answered", pa.float64(), False),
        ("true_effect_treated", pa.float64(), True),
        ("expected_churn_treated", pa.float64(), True),
        ("expected_churn_control", pa.float64(), True),
        ("expected_saved", pa.float64(), False),
    ),
}


def remove_stale(out_dir: Path) -> None:
    """Delete the campaign table and truth an earlier run left in `out_dir` (a run without campaigns)."""
    for path in [out_dir / f"{TABLE}.parquet", *(out_dir / "_truth" / f"{name}.parquet" for name in TRUTH_SCHEMAS)]:
        path.unlink(missing_ok=True)


def _nulls_to_nan(values: np.ndarray) -> pa.Array:
    """Return float values with NaN (an empty cell's mean) as null."""
    return pa.array(values, type=pa.float64(), from_pandas=True)


class CampaignDesk:
    """Plans, records and calls the simulated campaigns of one run."""

    def __init__(self, settings: CampaignSettings, contacts: ContactSettings, seed: int) -> None:
        self.settings, self.contact_settings, self.seed = settings, contacts, seed
        self.rng = np.random.default_rng([seed, CAMPAIGN_STREAM])
        self.desks = tuple(settings.desks)
        self.pending: cp.CampaignMonth | None = None

    def add_writers(self, out: Output, metadata: dict[str, Any]) -> None:
        """Register the campaigns table and the campaign truth tables with `out`."""
        root = out.truth.parent
        out.writers[TABLE] = TableWriter(root / f"{TABLE}.parquet", contract_schema(TABLE), metadata, out)
        whole = self.settings.whole_base_truth
        for name, schema in TRUTH_SCHEMAS.items():
            if name != "campaign_response" or whole:
                out.writers[name] = TableWriter(out.truth / f"{name}.parquet", schema, metadata, out)

    def plan(
        self, campaign_day: int, alive: np.ndarray, obs: Observables, logit: np.ndarray, p_non_payment: np.ndarray,
        pop: Population,
    ) -> cp.CampaignMonth:  # fmt: skip
        """Plan the campaign starting on `campaign_day` (see campaigns.plan_month); keep it for its calls."""
        eligible = ~pop.do_not_contact[alive] & (pop.list_flag[alive] != c.BLACK)
        month = cp.plan_month(
            self.rng, self.settings, self.seed, campaign_day, alive, obs, logit, p_non_payment,
            pop.true_type[alive], pop.satisfaction[alive], eligible,
        )  # fmt: skip
        self.pending = month
        return month

    def write(self, out: Output, month: cp.CampaignMonth) -> None:
        """Write the month's campaign records and truth."""
        m, control = month.members, month.control
        ids = month.alive[m] + 1
        day = dates(np.full(len(m), month.campaign_day))
        desk = labels(month.desk[m], self.desks)
        group = labels(control.astype(np.int8), cp.GROUPS)
        offer = labels(month.offer, OFFERS)
        out[TABLE].write(
            {
                "subscriber_id": ids,
                "campaign_date": day,
                "desk": desk,
                "group": group,
                "offer": offer,
                "called_at": pa.array(month.called_ms, type=pa.int64(), mask=control).cast(pa.timestamp("ms")),
                "outcome": labels(month.outcome, cp.OUTCOMES),
            }
        )
        types = labels(month.types, RESPONSE_TYPES)
        out["campaign_members"].write(
            {
                "subscriber_id": ids,
                "campaign_date": day,
                "desk": desk,
                "group": group,
                "offer": offer,
                "answered": ~control & (month.outcome != cp.NO_ANSWER),
                "response_type": types.take(pa.array(m)),
                "p_churn_if_not_called": month.p_without[m],
                "p_churn_if_called": month.p_called[m, month.offer],
                "p_churn": month.p_churn[m],
            }
        )
        effects = cp.true_effects(month, self.settings.answer_rate, len(self.desks))
        cells = len(effects["desk"])
        out["campaign_effects"].write(
            {
                "campaign_date": dates(np.full(cells, month.campaign_day)),
                "desk": labels(effects["desk"], self.desks),
                "offer": labels(effects["offer"], OFFERS),
                **{k: effects[k] for k in ("treated", "control", "answered", "true_effect", "true_effect_if_answered")},
                **{k: _nulls_to_nan(effects[k]) for k in ("true_effect_treated", "expected_churn_treated")},
                "expected_churn_control": _nulls_to_nan(effects["expected_churn_control"]),
                "expected_saved": effects["expected_saved"],
            }
        )
        if self.settings.whole_base_truth:
            n = len(month.alive)
            out["campaign_response"].write(
                {
                    "subscriber_id": month.alive + 1,
                    "campaign_date": dates(np.full(n, month.campaign_day)),
                    "desk": labels(month.desk, self.desks),
                    "eligible": month.eligible,
                    "response_type": types,
                    "p_churn_if_not_called": month.p_without,
                    **{f"p_churn_if_called_{offer}": month.p_called[:, k] for k, offer in enumerate(OFFERS)},
                }
            )

    def call_contacts(self, idx: np.ndarray) -> Contacts | None:
        """Return the pending campaign's calls as outbound retention-call contacts of the month's lines `idx`.

        `line` is the position in `idx` (sorted); every treated line is there (it was active when
        the month began). Answered calls take a retention call's handling time; unanswered ones none.
        """
        month, self.pending = self.pending, None
        if month is None:
            return None
        treated = month.treated
        line = np.searchsorted(idx, month.alive[month.members[treated]])
        outcome = month.outcome[treated]
        answered = outcome != cp.NO_ANSWER
        cc = self.contact_settings
        median = cc.handle_seconds_median["retention_call"] * cc.channel_handle_multiplier["outbound"]
        handle = np.round(median * self.rng.lognormal(0.0, cc.handle_sigma, len(line)))
        n = len(line)
        return Contacts(
            line=line,
            time_ms=month.called_ms[treated],
            channel=np.full(n, c.OUTBOUND, dtype=np.int8),
            reason=np.full(n, c.RETENTION_CALL, dtype=np.int8),
            resolved=outcome == cp.ACCEPTED,
            wait_seconds=np.zeros(n),
            handle_seconds=np.where(answered, handle, 0.0),
            abandoned=np.zeros(n, dtype=bool),
            agent_group=np.full(n, c.NO_CODE, dtype=np.int8),  # outbound: no inbound agent group
        )
