"""The summary of a nightly run: what was read, quarantined, decided, listed and published, and where.

Rendered as Markdown (a Prefect artifact and the log) and kept as JSON under
`paths.state/summaries/<as_of>.json`, so the next run can show what changed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

TIERS = ("high", "mid", "low")
STAGES = ("identification", "growth", "stable", "warning")


@dataclass(frozen=True)
class NightlySummary:
    """Everything an operator wants to know about one nightly run, without reading its logs."""

    as_of: str
    run_id: str
    model_version: str
    model_run: str
    shards: int
    validation: dict[str, dict[str, Any]]
    tier_stage: dict[str, dict[str, int]]
    score_histogram: list[int]
    retention: dict[str, list[int]]
    outputs: dict[str, str]
    publication: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    previous: dict[str, Any] | None = None
    export: dict[str, Any] = field(default_factory=dict)  # mapping, absent columns, unavailable features, codes
    monitoring: dict[str, Any] = field(default_factory=dict)  # alerts, top PSI, estimates, realised (issue 12)
    service: dict[str, Any] = field(default_factory=dict)  # the day's KPIs per tier, tomorrow's staffing (issue 13)
    campaigns: dict[str, Any] = field(default_factory=dict)  # the latest campaign report's lift (issue 14)
    ranking: str = "churn_value"  # how the retention lists were ranked: uplift (a champion) or churn_value
    ranking_note: str = ""  # why an uplift champion did not rank them (pipelines.uplift_inputs.ranking_note)
    profile: dict[str, Any] = field(default_factory=dict)  # seconds per stage (pipelines.stage_clock.run_profile)

    def to_json(self) -> dict[str, Any]:
        """Return the summary as JSON-ready values."""
        return asdict(self)

    def save(self, state_dir: Path) -> Path:
        """Write the summary to `<state_dir>/summaries/<as_of>.json` and return the path."""
        folder = state_dir / "summaries"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.as_of}.json"
        data = self.to_json()
        data.pop("previous", None)
        path.write_text(json.dumps(data, indent=2, sort_keys=True))
        return path

    def to_markdown(self) -> str:
        """Return the summary as Markdown for the Prefect UI."""
        lines = [
            f"# tiercast nightly run as of {self.as_of}",
            "",
            f"- run id `{self.run_id}`, churn model **v{self.model_version}** ({self.model_run})",
            f"- published: {self.publication.get('view', '?')} v{self.publication.get('version', '?')} "
            f"with {self.publication.get('rows', 0):,} rows in {self.publication.get('database', '?')}",
            f"- {self.shards} shard(s); steps: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items()),
            "",
            "## Inputs",
            "",
            "| table | rows read | clean | quarantined | rules |",
            "|---|---:|---:|---:|---|",
        ]
        for table, info in self.validation.items():
            rules = ", ".join(f"{rule}: {rows}" for rule, rows in info["rules"].items() if rows) or "-"
            lines.append(f"| {table} | {info['rows_read']:,} | {info['clean']:,} | {info['quarantined']:,} | {rules} |")
        lines += _export_lines(self.export)
        lines += ["", "## Tiers x lifecycle stages (change since the previous run)", ""]
        lines += _tier_stage_table(self.tier_stage, (self.previous or {}).get("tier_stage"))
        if self.previous:
            lines.append(
                f"\nPrevious run: as of {self.previous.get('as_of')}, model v{self.previous.get('model_version')}."
            )
        lines += ["", "## Churn scores", "", _histogram_text(self.score_histogram), "", "## Retention lists", ""]
        lines += ["| desk | listed | capacity |", "|---|---:|---:|"]
        lines += [f"| {desk} | {used:,} | {cap:,} |" for desk, (used, cap) in self.retention.items()]
        lines.append(
            "\nRanked by expected incremental value (the uplift champion: uplift x value at risk - offer cost)."
            if self.ranking == "uplift"
            else f"\nRanked by churn probability x value at risk ({self.ranking_note})."
            if self.ranking_note
            else "\nRanked by churn probability x value at risk (no uplift champion: `tiercast uplift train`)."
        )
        lines += _monitoring_lines(self.monitoring)
        lines += _service_lines(self.service)
        lines += _campaign_lines(self.campaigns)
        lines += _profile_lines(self.profile, self.shards)
        lines += ["", "## Where everything went", ""]
        lines += [f"- {name}: `{where}`" for name, where in self.outputs.items()]
        return "\n".join(lines) + "\n"


def _monitoring_lines(monitoring: dict[str, Any]) -> list[str]:
    """Return the monitoring section: alerts first, then the largest shifts, tonight's estimate, matured nights."""
    if not monitoring:
        return []
    lines = ["", "## Monitoring", ""]
    if monitoring.get("note"):
        lines.append(f"- {monitoring['note']}")
    alerts = monitoring.get("alerts") or []
    lines.append(f"- **{len(alerts)} alert(s)**" + (": " + "; ".join(alerts) if alerts else ""))
    if monitoring.get("top_psi"):
        lines.append("- largest PSI: " + ", ".join(f"{k} {v:.3f}" for k, v in monitoring["top_psi"].items()))
    for metric, (value, low, high) in (monitoring.get("estimate") or {}).items():
        lines.append(f"- estimated {metric}: {value:.4f} (band {low:.4f} to {high:.4f})")
    for key, (realised, estimate) in (monitoring.get("realised") or {}).items():
        lines.append(f"- matured {key}: realised {realised:.4f}, estimated that night {estimate:.4f}")
    for name, where in (monitoring.get("recorded") or {}).items():
        lines.append(f"- {name}: {where}")
    if monitoring.get("history"):
        lines.append(f"- history: `{monitoring['history']}`")
    return lines


def _profile_lines(profile: dict[str, Any], shards: int) -> list[str]:
    """Return the stage profile: seconds per stage in the one-off steps and summed over the shards, then the
    per-shard steps' wall time and what of the run's wall time none of it accounts for."""
    if not profile:
        return []
    steps, summed = profile.get("steps_s") or {}, profile.get("shards_s") or {}
    lines = ["", "## Where the time went (seconds)", "", f"| stage | in steps | summed over {shards} shard(s) |"]
    lines.append("|---|---:|---:|")
    for stage in (*steps, *(name for name in summed if name not in steps)):
        lines.append(f"| {stage} | {_seconds(steps.get(stage))} | {_seconds(summed.get(stage))} |")
    walls, work = profile.get("shard_steps_wall_s") or {}, profile.get("shard_steps_summed_s") or {}
    for step, wall in walls.items():
        lines.append(f"| {step} (wall; shards' work {_seconds(work.get(step))}) | {_seconds(wall)} | |")
    lines.append(f"| not in any stage (task overhead, waits) | {_seconds(profile.get('unaccounted_s'))} | |")
    lines.append(f"| **run wall time** | **{_seconds(profile.get('wall_s'))}** | |")
    return lines


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _share(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _service_lines(service: dict[str, Any]) -> list[str]:
    """Return the service-level section: the day's KPIs per tier, then tomorrow's staffing verdict."""
    if not service:
        return []
    lines = ["", f"## Service levels {service.get('day', '')}", ""]
    if service.get("kpis"):
        lines += [
            "| tier | calls | within target time | target | met | abandoned | ASA s | AHT s | hours below target"
            " | complaints per 1,000 |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for tier, k in service["kpis"].items():
            lines.append(
                f"| {tier} | {k.get('offered') or 0:,.0f} | {_share(k.get('service_level'))}"
                f" | {_share(k.get('target'))}"
                f" | {'-' if k.get('target') is None else 'no' if k.get('below_target') else 'yes'}"
                f" | {_share(k.get('abandon_rate'))} | {k.get('asa_s') if k.get('asa_s') is not None else '-'}"
                f" | {k.get('aht_s') if k.get('aht_s') is not None else '-'} | {k.get('hours_below_target') or 0:.0f}"
                f" | {k.get('complaint_rate') if k.get('complaint_rate') is not None else '-'} |"
            )
    fcr = {t: v for t, v in (service.get("fcr") or {}).items() if t != "calls_of" and v is not None}
    if fcr:
        shown = ", ".join(f"{t} {v:.1%}" for t, v in fcr.items())
        lines.append(f"\n- first-contact resolution of the calls of {service['fcr']['calls_of']}: {shown}")
    for kpi, why in (service.get("unavailable") or {}).items():
        lines.append(f"- {kpi}: not computed ({why})")
    staffing = service.get("staffing")
    if staffing:
        verdict = ", ".join(
            f"{t} {_share(v.get('service_level'))} ({'met' if v.get('met') else 'missed'})"
            for t, v in staffing["tiers"].items()
        )
        lines.append(
            f"- staffing for {staffing['for']} with {staffing['seats']:,} seats"
            f" (calls of {staffing['replays_calls_of']} replayed under tonight's priorities): {verdict};"
            f" peak required {staffing['peak_required_agents']:,} agents"
        )
        if staffing.get("black_list_longest_wait_s") is not None:
            lines.append(f"- black list's longest wait in the replay: {staffing['black_list_longest_wait_s']:.0f} s")
    if service.get("note"):
        lines.append(f"- {service['note']}")
    for name, where in (service.get("files") or {}).items():
        lines.append(f"- staffing {name}: `{where}`")
    return lines


def _interval(values: dict[str, Any], name: str, form: str) -> str:
    low, high = values.get(f"{name}_low"), values.get(f"{name}_high")
    value = values.get(name)
    if value is None:
        return "-"
    shown = format(value, form)
    return shown if low is None or high is None else f"{shown} ({format(low, form)} to {format(high, form)})"


def _campaign_lines(campaigns: dict[str, Any]) -> list[str]:
    """Return the campaign section: the latest matured campaign's lift against its control group."""
    if not campaigns:
        return []
    lines = ["", "## Retention campaigns (treated vs control)", ""]
    latest = campaigns.get("latest")
    if latest:
        lines.append(
            f"- campaign of {campaigns['latest_campaign_date']}: churn {_share(latest.get('churn_rate_treated'))}"
            f" called vs {_share(latest.get('churn_rate_control'))} control; lift {_interval(latest, 'lift', '.2%')};"
            f" customers saved {_interval(latest, 'customers_saved', ',.0f')};"
            f" value saved {_interval(latest, 'value_saved', ',.0f')} CNY"
        )
        lines.append(f"- {campaigns.get('matured_campaigns', 0)} matured campaign(s) in `{campaigns.get('report')}`")
    if campaigns.get("note"):
        lines.append(f"- {campaigns['note']}")
    return lines


def _export_lines(export: dict[str, Any]) -> list[str]:
    """Return Markdown lines on what the export lacked: optional columns, features, unmapped codes."""
    lines = ["", f"Source mapping: `{export.get('mapping') or 'none (tiercast names)'}`."]
    absent = export.get("absent_columns") or {}
    if absent:
        columns = "; ".join(f"{table}: {', '.join(cols)}" for table, cols in absent.items() if cols)
        lines.append(f"Optional columns not in this export: {columns}.")
        lines.append(f"Features not available: {', '.join(export.get('unavailable_features') or []) or 'none'}.")
    for table, columns in (export.get("unmapped_codes") or {}).items():
        for column, codes in columns.items():
            shown = ", ".join(f"`{code}` ({rows:,})" for code, rows in codes.items())
            lines.append(f"Unmapped codes in {table}.{column} (rows quarantined): {shown}.")
    return lines


def _tier_stage_table(now: dict[str, dict[str, int]], before: dict[str, dict[str, int]] | None) -> list[str]:
    header = ["| tier | " + " | ".join(STAGES) + " | total |", "|---|" + "---:|" * (len(STAGES) + 1)]
    rows = []
    for tier in TIERS:
        cells = []
        for stage in (*STAGES, "total"):
            count = _count(now, tier, stage)
            change = "" if before is None else f" ({count - _count(before, tier, stage):+,})"
            cells.append(f"{count:,}{change}")
        rows.append(f"| {tier} | " + " | ".join(cells) + " |")
    return header + rows


def _count(table: dict[str, dict[str, int]], tier: str, stage: str) -> int:
    row = table.get(tier, {})
    return sum(row.values()) if stage == "total" else int(row.get(stage, 0))


def _histogram_text(histogram: list[int]) -> str:
    total = sum(histogram) or 1
    width = 1 / len(histogram) if histogram else 1
    parts = [
        f"| {i * width:.2f}-{(i + 1) * width:.2f} | {n:,} | {n / total:.1%} |" for i, n in enumerate(histogram) if n
    ]
    return "\n".join(["| churn score | subscribers | share |", "|---|---:|---:|", *parts])


def previous_summary(state_dir: Path, as_of: date) -> dict[str, Any] | None:
    """Return the summary JSON of the newest run for a date before `as_of`, if one was kept."""
    folder = state_dir / "summaries"
    earlier = sorted(p for p in folder.glob("*.json") if p.stem < f"{as_of:%Y-%m-%d}") if folder.is_dir() else []
    if not earlier:
        return None
    data: dict[str, Any] = json.loads(earlier[-1].read_text())
    return data
