"""Test scenarios of `tiercast generate --scenario`: drift and an export fault from a known date on.

- price_rise (concept drift): from the start month the configured plans' fees rise by fee_increase,
  and from that month's end the voluntary churn logit gains price_sensitivity x log(arpu_3m /
  reference_arpu) (clipped to [0, 2.5]): what a line pays above the reference now drives churn,
  which below high_arpu it did not before.
- competitor_promo (covariate and concept drift): for `months` months from the start, the lines of
  one region make extra cancel-intent contacts and use less (what the tables show), and their
  voluntary logit gains `hazard` at those months' ends (what the tables do not show).
- broken_export (export fault): bills issued on or after the start day (a month's bill is issued on
  its last day) are written with one charge column as 0; the simulation and its truth are unchanged.

Nothing here draws random numbers and a scenario changes nothing before its start, so a run
without scenarios is the run as it was before scenarios existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from tiercast.settings.generator import GeneratorSettings, ScenarioSettings
from tiercast.synthetic.behaviour import Usage
from tiercast.synthetic.calendar import Window, make_window
from tiercast.synthetic.codes import Catalog

ScenarioName = Literal["price_rise", "competitor_promo", "broken_export"]
SCENARIO_NAMES: tuple[ScenarioName, ...] = ("price_rise", "competitor_promo", "broken_export")
KINDS = {
    "price_rise": "concept drift",
    "competitor_promo": "covariate and concept drift",
    "broken_export": "export fault",
}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-\d{2}$")


@dataclass(frozen=True)
class ScenarioRequest:
    """A scenario asked for: its name and start (YYYY-MM; broken_export also YYYY-MM-DD); None: the default."""

    name: ScenarioName
    start: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A scenario placed in the window: its first day and the months (window indices) it affects."""

    name: ScenarioName
    start_day: int
    first_month: int
    last_month: int | None  # None: to the end of the window

    def active(self, t: int) -> bool:
        """Return whether the scenario affects month t."""
        return self.first_month <= t and (self.last_month is None or t <= self.last_month)


def _iso(day: int) -> str:
    return str(np.datetime64(day, "D"))


def _start_day(request: ScenarioRequest) -> int:
    """Return the day number a requested start names (a month: its first day)."""
    text = request.start or ""
    if MONTH.match(text):
        return int(np.datetime64(text, "M").astype("datetime64[D]").astype(np.int64))
    if request.name == "broken_export" and DAY.match(text):
        try:
            return int(np.datetime64(text, "D").astype(np.int64))
        except ValueError as exc:
            raise ValueError(f"broken_export: {text!r} is not a date") from exc
    formats = "YYYY-MM or YYYY-MM-DD" if request.name == "broken_export" else "YYYY-MM"
    raise ValueError(f"{request.name} starts {text!r}: give {formats}")


def place(request: ScenarioRequest, window: Window, cfg: ScenarioSettings) -> Scenario:
    """Return the scenario placed in the window; raise ValueError for a start outside it.

    The default start is the first day of the month `start_months_before_end` before the window's
    last month (the window's first month when that is earlier).
    """
    spec = getattr(cfg, request.name)
    last = window.months - 1
    default = window.start(max(last - spec.start_months_before_end, 0))
    day = default if request.start is None else _start_day(request)
    if not window.start(0) <= day <= window.end(last):
        raise ValueError(
            f"{request.name} starts {_iso(day)}, outside the generated window "
            f"{_iso(window.start(0))} .. {_iso(window.end(last))}"
        )
    month = int(np.searchsorted(window.starts, day, side="right")) - 2
    until = month + cfg.competitor_promo.months - 1 if request.name == "competitor_promo" else None
    return Scenario(request.name, day, month, until)


class Scenarios:
    """The scenarios of one run and what each changes in a month; without them every method returns its input."""

    def __init__(
        self, requests: tuple[ScenarioRequest, ...], window: Window, settings: GeneratorSettings, catalog: Catalog
    ) -> None:
        names = [r.name for r in requests]
        if len(set(names)) < len(names):
            raise ValueError(f"each scenario at most once: {names}")
        cfg = settings.scenarios
        self.placed = {r.name: place(r, window, cfg) for r in requests}
        self.cfg, self.window, self.base = cfg, window, catalog
        self.reference_arpu = settings.hazard.voluntary.reference_arpu
        raised = np.isin(np.array(catalog.plans), cfg.price_rise.plans)
        self.raised = replace(catalog, fee=catalog.fee * np.where(raised, 1.0 + cfg.price_rise.fee_increase, 1.0))
        self.region = catalog.regions.index(cfg.competitor_promo.region)

    def _on(self, name: ScenarioName, t: int) -> bool:
        scenario = self.placed.get(name)
        return scenario is not None and scenario.active(t)

    def catalog(self, t: int) -> Catalog:
        """Return the catalogue month t's bills are priced with."""
        return self.raised if self._on("price_rise", t) else self.base

    def usage(self, t: int, region: np.ndarray, usage: Usage) -> Usage:
        """Return month t's usage of lines whose region codes are `region`."""
        if not self._on("competitor_promo", t):
            return usage
        there, factor = region == self.region, self.cfg.competitor_promo.usage_multiplier
        return replace(
            usage,
            voice_minutes=np.where(there, np.round(usage.voice_minutes * factor, 1), usage.voice_minutes),
            data_mb=np.where(there, np.round(usage.data_mb * factor, 1), usage.data_mb),
        )

    def cancel_intent_rate(self, t: int, region: np.ndarray) -> np.ndarray | None:
        """Return the extra cancel-intent contacts a full month in month t of lines in `region` (None: none)."""
        if not self._on("competitor_promo", t):
            return None
        return np.where(region == self.region, self.cfg.competitor_promo.cancel_intent_rate, 0.0)

    def voluntary_shift(self, t: int, arpu: np.ndarray, region: np.ndarray) -> np.ndarray | None:
        """Return what the scenarios add to the voluntary churn logit at the end of month t (None: nothing).

        `arpu`, `region`: every line's arpu_3m (the hazard's observable) and region code.
        """
        shift = None
        if self._on("price_rise", t):
            above = np.clip(np.log(np.maximum(arpu, 0.5) / self.reference_arpu), 0.0, 2.5)  # as hazard.py's log_arpu
            shift = self.cfg.price_rise.price_sensitivity * above
        if self._on("competitor_promo", t):
            promo = self.cfg.competitor_promo.hazard * (region == self.region)
            shift = promo if shift is None else shift + promo
        return shift

    def exported_bills(self, t: int, bill: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Return month t's bill columns as the export writes them (the simulation keeps the true ones)."""
        if not self._on("broken_export", t):
            return bill
        column = self.cfg.broken_export.column
        return {**bill, column: np.zeros_like(bill[column])}

    def metadata(self) -> list[str]:
        """Return the scenarios as NAME@START for the files' metadata."""
        return [f"{name}@{_iso(s.start_day)}" for name, s in self.placed.items()]

    def records(self) -> list[dict[str, Any]]:
        """Return what each scenario changed and from when (the rows of _truth/scenarios.json)."""
        return [self._record(s) for s in self.placed.values()]

    def _record(self, s: Scenario) -> dict[str, Any]:
        window, first = self.window, self.window.start(s.first_month)
        issued = _iso(window.end(s.first_month))  # the first affected bill is issued on its month's last day
        record: dict[str, Any] = {"name": s.name, "kind": KINDS[s.name], "start": _iso(s.start_day), "end": None}
        if s.name == "price_rise":
            rise = self.cfg.price_rise
            record |= {"first_bill_month": _iso(first), "inputs_from": issued, "truth_from": issued}
            record |= {"table": "bills", "columns": ["base_fee", "amount"], "plans": list(rise.plans)}
            record["magnitude"] = {"fee_increase": rise.fee_increase, "price_sensitivity": rise.price_sensitivity}
        elif s.name == "competitor_promo":
            promo = self.cfg.competitor_promo
            months = np.datetime64(_iso(first), "M") + np.timedelta64(promo.months, "M")
            record["end"] = str(months.astype("datetime64[D]") - np.timedelta64(1, "D"))
            record |= {"first_bill_month": _iso(first), "inputs_from": _iso(first), "truth_from": issued}
            record |= {"region": promo.region, "months": promo.months}
            record["magnitude"] = {
                "hazard": promo.hazard,
                "cancel_intent_rate": promo.cancel_intent_rate,
                "usage_multiplier": promo.usage_multiplier,
            }
        else:
            record |= {"first_bill_month": _iso(first), "inputs_from": issued, "truth_from": None}
            record |= {"table": "bills", "column": self.cfg.broken_export.column, "magnitude": {"exported_as": 0.0}}
        return record


def scenario_records(
    requests: tuple[ScenarioRequest, ...], settings: GeneratorSettings, months: int
) -> list[dict[str, Any]]:
    """Return the records of the scenarios placed in the window of `months` months ending settings.end_month.

    Raises ValueError when a scenario is asked for twice or its start is not in the window.
    """
    window = make_window(settings.end_month, months, settings.due_day)
    return Scenarios(requests, window, settings, Catalog.from_settings(settings)).records()
