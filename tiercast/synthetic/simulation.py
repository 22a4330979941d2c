"""The month-by-month simulation behind `tiercast generate`.

Each month: joiners arrive, last month's churn and credit-control decisions take effect, every
billed line gets usage, a bill and a payment plan, contacts happen; at the month's end the true
churn hazard is computed from what the tables show and next month's leavers are drawn from it.
Everything is vectorised over lines with numpy; one random generator seeded once makes the output
a pure function of (settings, subscribers, months, seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.behaviour import draw_usage, step_latent
from tiercast.synthetic.billing import bill_columns
from tiercast.synthetic.calendar import make_window
from tiercast.synthetic.call_queue import answer_calls, caller_classes
from tiercast.synthetic.campaign_records import CampaignDesk, remove_stale
from tiercast.synthetic.contacts import Contacts, after_leaving, month_contacts
from tiercast.synthetic.hazard import Observables, non_payment_probabilities, observe, sigmoid, voluntary_logits
from tiercast.synthetic.history import History
from tiercast.synthetic.payments import BILL_SLOTS, NEVER, PaymentBook, draw_paid_days
from tiercast.synthetic.population import empty_population, initial_activations, new_lines
from tiercast.synthetic.scenarios import ScenarioRequest, Scenarios
from tiercast.synthetic.writer import Output, dates, labels, nullable_ints, numbers_as_text

FLEA_INITIAL_MAX_TENURE_DAYS = 75  # flea users of the initial base joined within the last ~2 months
MSISDN_BASE = 13_000_000_000  # data_contracts/subscribers.yaml: ^1[3-9][0-9]{9}$
MSISDN_PRIME = 6_999_999_989  # prime below 7e9: i -> (a*i + b) mod p is a bijection onto 13..19 numbers
EMPTY = np.zeros(0, dtype=np.int64)


class Simulation:
    """State of one run: the lines, their bill book and history, and decisions pending for next month."""

    def __init__(
        self,
        cfg: GeneratorSettings,
        subscribers: int,
        months: int,
        seed: int,
        scenarios: Sequence[ScenarioRequest] = (),
    ) -> None:
        self.cfg, self.months = cfg, months
        self.window = make_window(cfg.end_month, months, cfg.due_day)
        self.catalog = c.Catalog.from_settings(cfg)
        self.scenarios = Scenarios(tuple(scenarios), self.window, cfg, self.catalog)
        self.rng = np.random.default_rng(seed)
        capacity = int(subscribers * (1.0 + 0.04 * months)) + 1000
        self.pop = empty_population(capacity)
        self.book = PaymentBook(capacity)
        self.history = History(capacity)
        self.next_contact_id = 1
        self.leaving = 0
        self.settle_idx, self.settle_day, self.withhold_idx = EMPTY, EMPTY, EMPTY
        self.triggered_idx, self.called_idx, self.arrears_idx, self.proactive_idx = EMPTY, EMPTY, EMPTY, EMPTY
        self.arpu = np.zeros(0)  # arpu_3m of every line at the end of last month: the operator's tiers
        self.campaigns = CampaignDesk(cfg.campaigns, cfg.contacts, seed) if cfg.campaigns.enabled else None
        rng, window = self.rng, self.window
        activation = initial_activations(rng, cfg, window, subscribers)
        recent = window.start(0) - activation < FLEA_INITIAL_MAX_TENURE_DAYS
        flea = recent & (rng.random(subscribers) < cfg.flea.share_of_joiners)
        base = self.pop.extend(new_lines(rng, cfg, self.catalog, window, activation, flea, initial=True))
        self._decide(-1, base, self._observe(-1))

    def _observe(self, t: int) -> Observables:
        """Return the observables of every line at the end of month t."""
        return observe(t, self.pop.n, self.pop, self.book, self.history, self.window, self.catalog.fee)

    def _mask(self, chosen: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Return, for each line of `idx`, whether it is among `chosen`."""
        mask = np.zeros(self.pop.n, dtype=bool)
        mask[chosen] = True
        return mask[idx]

    def month(self, t: int, out: Output) -> tuple[int, int]:
        """Simulate month t and write its bills, contacts and truth; return (bills, contacts) written."""
        cfg, rng, pop, window = self.cfg, self.rng, self.pop, self.window
        first, last, days = window.start(t), window.end(t), window.days(t)
        self._join(t)
        n = pop.n
        idx = np.flatnonzero((pop.activation[:n] <= last) & (pop.deactivation[:n] > first))
        start = np.maximum(pop.activation[idx], first).astype(np.int64)
        stop = np.minimum(pop.deactivation[idx], last + 1).astype(np.int64)
        fraction = (stop - start) / days
        self.book.settle(self.settle_idx, self.settle_day)
        self.book.withhold(self.withhold_idx, first)
        step_latent(
            rng, pop, idx, self._mask(self.triggered_idx, idx), self._mask(self.called_idx, idx), cfg, self.catalog
        )
        usage = self.scenarios.usage(t, pop.region[idx], draw_usage(rng, pop, idx, fraction, cfg))
        bill = bill_columns(rng, pop, idx, fraction, usage, cfg, self.scenarios.catalog(t))
        paid = draw_paid_days(rng, pop.payer[idx], last, window.due(t), cfg)
        paid[self._mask(self.withhold_idx, idx)] = NEVER
        self.book.record(t, idx, bill["amount"], paid)
        arrears, proactive = self._mask(self.arrears_idx, idx), self._mask(self.proactive_idx, idx)
        extra = self.scenarios.cancel_intent_rate(t, pop.region[idx])
        contacts = month_contacts(rng, pop, idx, start, stop, arrears, proactive, cfg, extra_cancel_intents=extra)
        exported = self.scenarios.exported_bills(t, bill)
        out["bills"].write({"subscriber_id": idx + 1, "bill_month": dates(np.full(len(idx), first)), **exported})
        left = np.flatnonzero((pop.deactivation[:n] >= window.start(t - 1)) & (pop.deactivation[:n] <= first))
        former = after_leaving(rng, pop, left, first, last + 1, cfg)
        moved = replace(former, line=former.line + len(idx))
        lines = np.concatenate([idx, left])
        known = np.minimum(lines, len(self.arpu) - 1)
        value = np.where(lines < len(self.arpu), self.arpu[known], self.catalog.fee[pop.plan[lines]])
        listed = np.arange(len(lines)) < len(idx)  # former subscribers are out of the tier table
        classes = caller_classes(value, pop.list_flag[lines], listed, cfg.contacts.voice_queue)
        queued = answer_calls(rng, Contacts.concat([contacts, moved]), classes, first, days, cfg.contacts)
        self._remember(t, idx, usage.data_mb + usage.voice_minutes, queued.rows(queued.line < len(idx)))
        if self.campaigns is not None:  # written, not remembered: a campaign call's effect is its month's only
            calls = self.campaigns.call_contacts(idx)
            queued = queued if calls is None else Contacts.concat([queued, calls])
        self._write_contacts(lines, queued, out)
        alive = idx[pop.deactivation[idx] > last]
        self.book.close_due(t, window)
        probabilities = self._decide(t, alive, self._observe(t))
        out["churn_probability"].write(
            {"subscriber_id": alive + 1, "as_of": dates(np.full(len(alive), last)), **probabilities}
        )
        if self.campaigns is not None and self.campaigns.pending is not None:
            self.campaigns.write(out, self.campaigns.pending)
        if t >= BILL_SLOTS - 1:
            self._write_payments(t - BILL_SLOTS + 1, out)
        return len(idx), len(contacts.line)

    def _join(self, t: int) -> None:
        """Add this month's joiners: as many as leave this month (x joiners_per_leaver)."""
        rng, window = self.rng, self.window
        count = int(rng.poisson(self.leaving * self.cfg.joiners_per_leaver))
        if count == 0:
            return
        activation = window.start(t) + rng.integers(0, window.days(t), count)
        flea = rng.random(count) < self.cfg.flea.share_of_joiners
        self.pop.extend(new_lines(rng, self.cfg, self.catalog, window, activation, flea, initial=False))
        self.book.reserve(self.pop.n)
        self.history.reserve(self.pop.n)

    def _remember(self, t: int, idx: np.ndarray, usage: np.ndarray, contacts: Contacts) -> None:
        """Keep what the hazard and next month's behaviour need from this month's contacts."""
        size = len(idx)

        def count(mask: np.ndarray) -> np.ndarray:
            return np.bincount(contacts.line[mask], minlength=size)

        retention = count(contacts.reason == c.RETENTION_CALL) > 0
        self.history.record(
            t, idx, usage, count(contacts.reason == c.COMPLAINT), count(contacts.reason == c.CANCEL_INTENT), retention
        )
        upsetting = np.isin(contacts.reason, [c.FAULT, c.BILLING, c.COMPLAINT]) & ~contacts.resolved
        self.triggered_idx = idx[count(upsetting) > 0]
        self.called_idx = idx[retention]

    def _decide(self, t: int, alive: np.ndarray, obs: Observables) -> dict[str, np.ndarray]:
        """Return the truth of lines `alive` at the end of month t and draw month t + 1's leavers.

        `obs` holds every line's observables (indexed by line).
        """
        self.arpu = obs.arpu
        noise = np.zeros(self.pop.n)
        noise[alive] = self.rng.standard_normal(len(alive))
        logit_now, logit_later = voluntary_logits(obs, self.cfg, noise)
        # Scenarios in force at the end of month t; the 60-day figure keeps them for its second month too.
        shift = self.scenarios.voluntary_shift(t, obs.arpu, self.pop.region[: self.pop.n])
        if shift is not None:
            logit_now, logit_later = logit_now + shift, logit_later + shift
        suspend_now, suspend_within_two = non_payment_probabilities(obs, self.cfg)
        p_voluntary, p_non_payment = sigmoid(logit_now[alive]), suspend_now[alive]
        earliest = None
        if self.campaigns is not None and 0 <= t < self.months - 1:
            # Next month's campaign: a reached line leaves (or stays) with its call's effect.
            campaign = self.campaigns.plan(
                self.window.start(t + 1), alive, obs, logit_now[alive], p_non_payment, self.pop
            )
            p_voluntary, earliest = campaign.p_voluntary, campaign.earliest_leave_day()
        p_next = 1.0 - (1.0 - p_voluntary) * (1.0 - p_non_payment)
        # 60 days (approximation): voluntary hazard for two months with today's behaviour, one month
        # older the second; suspension within two months as non_payment_probabilities explains.
        stay_two = (1.0 - p_voluntary) * (1.0 - sigmoid(logit_later[alive])) * (1.0 - suspend_within_two[alive])
        if t + 1 < self.months:
            self._draw_leavers(t + 1, alive, obs, p_voluntary, p_non_payment, earliest)
        return {
            "p_churn_next_month": p_next,
            "p_churn_60d": 1.0 - stay_two,
            "p_voluntary": p_voluntary,
            "p_non_payment": p_non_payment,
        }

    def _draw_leavers(
        self,
        t: int,
        alive: np.ndarray,
        obs: Observables,
        p_voluntary: np.ndarray,
        p_non_payment: np.ndarray,
        earliest: np.ndarray | None = None,
    ) -> None:
        """Draw who leaves in month t (and on which day), and what lines at risk of suspension do.

        `earliest`: per line the first day it may leave voluntarily (after a campaign call), else the 2nd.
        """
        cfg, rng, pop, window = self.cfg, self.rng, self.pop, self.window
        n, first, days, due_day = len(alive), window.start(t), window.days(t), cfg.due_day
        cut = rng.random(n) < p_non_payment
        voluntary = ~cut & (rng.random(n) < p_voluntary)
        # Suspension follows the missed due date; voluntary leavers go on any day after the 1st.
        cut_day = first + due_day + np.floor(rng.random(n) * (days - due_day)).astype(np.int64)
        low = first + 1 if earliest is None else earliest
        leave_day = low + np.floor(rng.random(n) * (first + days - low)).astype(np.int64)
        pop.deactivation[alive[cut]] = cut_day[cut]
        pop.reason[alive[cut]] = c.NON_PAYMENT
        pop.deactivation[alive[voluntary]] = leave_day[voluntary]
        pop.reason[alive[voluntary]] = c.VOLUNTARY
        self.leaving = int(cut.sum() + voluntary.sum())
        overdue = obs.standing.overdue[alive]
        spared = (overdue >= cfg.suspend_after_unpaid_bills - 1) & ~cut
        habits = [cfg.payments.payers[p].settle_when_spared for p in c.PAYERS]
        settle_p = np.array([*habits, 1.0, cfg.flea.settle_when_spared], dtype=np.float64)
        settles = spared & (rng.random(n) < settle_p[pop.payer[alive]])
        self.settle_idx = alive[settles]
        self.settle_day = first + np.floor(rng.random(int(settles.sum())) * (due_day - 1)).astype(np.int64)
        self.withhold_idx = alive[cut | (spared & ~settles)]
        self.arrears_idx = alive[overdue > 0]
        retention = cfg.contacts.retention
        falling = obs.arpu_trend[alive] <= retention.proactive_max_trend  # NaN (unknown) is not falling
        self.proactive_idx = alive[(obs.arpu[alive] >= retention.proactive_min_arpu) & falling]

    def _write_contacts(self, idx: np.ndarray, contacts: Contacts, out: Output) -> None:
        ids = np.arange(self.next_contact_id, self.next_contact_id + len(contacts.line), dtype=np.int64)
        self.next_contact_id += len(ids)
        out["contacts"].write(
            {
                "contact_id": ids,
                "subscriber_id": idx[contacts.line] + 1,
                "contact_time": contacts.time_ms,
                "channel": labels(contacts.channel, c.CHANNELS),
                "reason": labels(contacts.reason, c.REASONS),
                "resolved": contacts.resolved,
                "wait_seconds": contacts.wait_seconds,
                "handle_seconds": contacts.handle_seconds,
                "abandoned": contacts.abandoned,
                "agent_group": labels(contacts.agent_group, tuple(self.cfg.contacts.voice_queue.groups)),
            }
        )

    def _write_payments(self, u: int, out: Output) -> None:
        """Write the payments of bill month u as the export on the window's last day shows them."""
        idx, amount, paid = self.book.bills(u, self.pop.n)
        known = paid <= self.window.end(self.months - 1)
        out["payments"].write(
            {
                "subscriber_id": idx + 1,
                "bill_month": dates(np.full(len(idx), self.window.start(u))),
                "due_date": dates(np.full(len(idx), self.window.due(u))),
                "paid_date": dates(np.where(known, paid, 0), missing=~known),
                "amount_paid": np.where(known, amount, 0.0),
            }
        )

    def finish(self, out: Output) -> None:
        """Write the payments still in the book, the subscribers table and the truth (scenarios.json with scenarios)."""
        if self.scenarios.placed:
            out.document("scenarios", {"scenarios": self.scenarios.records()})
        for u in range(max(0, self.months - BILL_SLOTS + 1), self.months):
            self._write_payments(u, out)
        pop, n = self.pop, self.pop.n
        ids = np.arange(1, n + 1, dtype=np.int64)
        a, b = (int(x) for x in self.rng.integers(1, MSISDN_PRIME, 2))
        msisdn = MSISDN_BASE + (a * np.arange(n, dtype=np.int64) + b) % MSISDN_PRIME
        left = pop.deactivation[:n] != c.NO_DAY
        contract_end = pop.contract_end[:n]
        birth_year = pop.birth_year[:n].astype(np.int64)
        out["subscribers"].write(
            {
                "subscriber_id": ids,
                "msisdn": numbers_as_text(msisdn),
                "activation_date": dates(pop.activation[:n]),
                "deactivation_date": dates(np.where(left, pop.deactivation[:n], 0), missing=~left),
                "deactivation_reason": labels(pop.reason[:n], c.DEACTIVATION_REASONS),
                "plan": labels(pop.plan[:n], self.catalog.plans),
                "contract_type": labels(pop.contract[:n], c.CONTRACT_TYPES),
                "contract_end_date": dates(
                    np.where(contract_end == c.NO_DAY, 0, contract_end), contract_end == c.NO_DAY
                ),
                "brand": labels(pop.brand[:n], c.BRANDS),
                "segment": labels(pop.business[:n].astype(np.int8), c.SEGMENTS),
                "birth_year": nullable_ints(birth_year, birth_year == 0),
                "gender": labels(pop.gender[:n], c.GENDERS),
                "region": labels(pop.region[:n], self.catalog.regions),
                "sales_channel": labels(pop.channel[:n], c.SALES_CHANNELS),
                "list_flag": labels(pop.list_flag[:n], c.LIST_FLAGS),
                "do_not_contact": pop.do_not_contact[:n],
            }
        )
        out["subscriber_types"].write(
            {
                "subscriber_id": ids,
                "true_type": labels(pop.true_type[:n], c.TYPES),
                "is_flea": pop.flea[:n],
                "payer_type": labels(pop.payer[:n], (*c.PAYERS, "prepaid", "flea")),
            }
        )


def generate(
    out_dir: Path,
    subscribers: int,
    months: int,
    seed: int,
    settings: GeneratorSettings,
    progress: Progress | None = None,
    scenarios: Sequence[ScenarioRequest] = (),
) -> dict[str, Path]:
    """Simulate `subscribers` active lines over `months` months and write the tables; return their paths.

    Writes `subscribers`, `bills`, `payments`, `contacts` (`<out_dir>/<name>.parquet`, matching
    data_contracts/) and the truth `_truth/churn_probability.parquet`, `_truth/subscriber_types.parquet`;
    with `scenarios` (tiercast/synthetic/scenarios.py) also `_truth/scenarios.json`.
    """
    out_dir = Path(out_dir)
    sim = Simulation(settings, subscribers, months, seed, scenarios)
    tagged: dict[str, Any] = {"scenarios": sim.scenarios.metadata()} if sim.scenarios.placed else {}
    if sim.campaigns is not None:
        tagged["campaigns"] = settings.campaigns.mix
    else:
        remove_stale(out_dir)  # campaign files of an earlier run must not be read as this one's
    metadata = {"subscribers": subscribers, "months": months, "seed": seed, "end_month": settings.end_month, **tagged}
    task = progress.add_task("simulating", total=months + 1) if progress is not None else None
    with Output(out_dir, metadata) as out:
        if sim.campaigns is not None:
            sim.campaigns.add_writers(out, metadata)
        for t in range(months):
            bills, contacts = sim.month(t, out)
            if progress is not None and task is not None:
                label = str(np.datetime64(sim.window.start(t), "D").astype("datetime64[M]"))
                progress.update(task, advance=1, description=f"{label}: {bills:,} bills, {contacts:,} contacts")
        sim.finish(out)
        if progress is not None and task is not None:
            progress.update(task, advance=1, description="subscribers, payments and truth written")
    return out.paths
