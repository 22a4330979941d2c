"""The nightly run after its per-shard steps: quarantine limits, retention and call-back merge, publish, state, summary.

Every function here works on what the shards left on disk (`pipelines.nightly`) and holds at most
one shard's table, or small per-shard summaries, in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.loader import ContractError, validate_output
from features.availability import unavailable_features
from models.callbacks import rank_callbacks
from models.lifecycle import new_customer_months
from models.retention import capacity_used, rank_by_desk, ranking_of, rounded_for_output
from pipelines import nightly as shard_steps
from pipelines.campaigns import latest_summary
from pipelines.database import display_url, engine_for
from pipelines.evidence import LATEST, evidence_for
from pipelines.ingest import check_volumes, input_mapping, table_path
from pipelines.monitoring import NightMonitoring
from pipelines.nightly import ModelRef, NightlyPlan, ShardFeatures, ShardOutputs
from pipelines.publish import CheckedParts, Publication, live_publication, publish
from pipelines.quarantine import QuarantineLimitError, TableReport, ValidationResult, write_quarantine, write_report
from pipelines.retention_files import write_callback_files, write_retention_files
from pipelines.run_summary import NightlySummary, previous_summary
from pipelines.score import add_reasons, explained_rows
from pipelines.staging import read_export_facts
from pipelines.uplift_inputs import ranking_note, staged_quarantine
from tiercast.settings import Settings

log = logging.getLogger(__name__)


def merge_retention(settings: Settings, parts: list[ShardOutputs], model: ModelRef | None = None) -> pd.DataFrame:
    """Return today's retention list from the shards' candidates: per desk the top value at risk, up to capacity.

    Each shard listed at most a desk's capacity, so the global top of a desk is among the union. Shards that
    left the churn reasons out (`explain_path`) get them here, for the chosen customers only, with `model`
    (the run's champion): reason codes cost ~3 ms a customer, and most candidates are not chosen.
    """
    frames = [pd.read_parquet(part.retention_path) for part in parts]
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if merged.empty:
        return validate_output(frames[0] if frames else merged, "retention_list", examples=0)
    chosen = rank_by_desk(merged, settings.retention)
    deferred = [part.explain_path for part in parts if part.explain_path is not None]
    if deferred and len(chosen):
        if model is None:
            raise ValueError("the shards left their reason codes to the merge, which needs the run's model")
        rows = pd.concat([pd.read_parquet(path) for path in deferred], ignore_index=True)
        explained = explained_rows(chosen, rows)
        loaded = shard_steps.load_model(settings, model.version)  # cached: the shards' threads loaded it
        chosen = add_reasons(
            chosen, explained, loaded, settings.churn.reasons_top_k, new_customer_months(settings.lifecycle)
        )
    listed = rounded_for_output(chosen, settings.retention)
    return validate_output(listed.reset_index(drop=True), "retention_list", examples=0)


def merge_callbacks(parts: list[ShardOutputs]) -> pd.DataFrame | None:
    """Return tonight's call-back list from the shards' rows, earliest due first; None when no shard built one."""
    frames = [pd.read_parquet(part.callbacks_path) for part in parts if part.callbacks_path is not None]
    if not frames:
        return None
    merged = pd.concat(frames, ignore_index=True)
    return validate_output(rank_callbacks(merged) if len(merged) else frames[0], "callback_list", examples=0)


def combined_reports(parts: list[ShardFeatures], settings: Settings, plan: NightlyPlan) -> dict[str, TableReport]:
    """Return one validation report per table, summed over shards, with the configured limits applied."""
    limits = settings.validation.max_quarantined_share_by_table
    mapping = input_mapping(settings)
    combined: dict[str, TableReport] = {}
    for table in settings.validation.tables:
        reports = [part.reports[table] for part in parts]
        rules: dict[str, int] = {}
        unmapped: dict[str, dict[str, int]] = {}
        for report in reports:
            for rule, rows in report.rules.items():
                rules[rule] = rules.get(rule, 0) + rows
            for column, codes in report.unmapped_codes.items():
                counts = unmapped.setdefault(column, {})
                for code, rows in codes.items():
                    counts[code] = counts.get(code, 0) + rows
        ignored: dict[str, list[str]] = read_export_facts(plan.inputs_dir).get("ignored") or {}  # type: ignore[assignment]
        combined[table] = replace(
            reports[0],
            source=table_path(plan.data_dir, table, mapping),
            ignored_columns=tuple(ignored.get(table, ())),
            unmapped_codes={c: dict(sorted(n.items(), key=lambda kv: -kv[1])) for c, n in unmapped.items()},
            rows_read=sum(r.rows_read for r in reports),
            clean=sum(r.clean for r in reports),
            quarantined=sum(r.quarantined for r in reports),
            limit=limits.get(table, settings.validation.max_quarantined_share),
            rules=rules,
            quarantine_files=[],
        )
    return combined


def write_quarantine_files(
    settings: Settings, plan: NightlyPlan, reports: dict[str, TableReport], folder: Path
) -> dict[str, TableReport]:
    """Gather the shards' quarantined rows into one file per table in `folder`; return updated reports."""
    updated = {}
    for table, report in reports.items():
        shards = sorted((plan.work_dir / "quarantine").glob(f"shard-*/{table}.parquet"))
        rows = pd.concat([pd.read_parquet(p) for p in shards], ignore_index=True) if shards else pd.DataFrame()
        written = write_quarantine(rows, folder, table, settings.validation.quarantine_csv)
        updated[table] = replace(report, quarantine_files=written)
    return updated


def save_stages(settings: Settings, plan: NightlyPlan, parts: list[ShardOutputs]) -> Path:
    """Keep tonight's lifecycle stages for tomorrow's hysteresis; prune old files; return the file."""
    folder = settings.paths.resolve(settings.paths.state) / "lifecycle"
    folder.mkdir(parents=True, exist_ok=True)
    stages = pd.concat([pd.read_parquet(part.stages_path) for part in parts], ignore_index=True)
    path = folder / f"{plan.as_of:%Y-%m-%d}.parquet"
    partial = path.with_name(f".{path.name}.partial")
    stages.sort_values("subscriber_id").to_parquet(partial, index=False)
    partial.replace(path)
    for old in sorted(folder.glob("*.parquet"))[: -settings.flows.lifecycle_states_kept]:
        old.unlink()
    return path


@dataclass(frozen=True)
class PublishedRun:
    """Where a nightly run's outputs went."""

    publication: Publication
    database: str
    retention_files: list[Path]
    stages_file: Path
    callback_files: list[Path] = field(default_factory=list)


def check_quarantine(settings: Settings, plan: NightlyPlan, parts: list[ShardFeatures]) -> dict[str, TableReport]:
    """Gather the shards' validation into one report and quarantine file per table; raise over the limits
    (quarantine share, minimum rows, drop against the previous run)."""
    evidence = evidence_for(settings, f"nightly-{plan.as_of:%Y-%m-%d}")
    reports = write_quarantine_files(settings, plan, combined_reports(parts, settings, plan), evidence.quarantine)
    left_out = staged_quarantine(plan.inputs_dir)  # campaign records the uplift champion's history could not use
    if left_out is not None:
        csv = settings.validation.quarantine_csv  # as the validated tables' quarantine files
        written = write_quarantine(pd.read_parquet(left_out), evidence.quarantine, "campaigns", csv)
        log.warning("campaigns: the rows left out of the campaign history are quarantined in %s", written[0])
    report_file = evidence.report
    previous = previous_summary(settings.paths.resolve(settings.paths.state), plan.as_of) or {}
    before = {table: int(info.get("rows_read", 0)) for table, info in (previous.get("validation") or {}).items()}
    try:
        check_volumes(reports, settings.validation, before)
    except ContractError as exc:
        write_report(report_file, plan.data_dir, datetime.now(UTC), reports, error=str(exc))
        raise
    result = ValidationResult({}, reports, report_file)
    write_report(report_file, plan.data_dir, datetime.now(UTC), reports, error=None, mapping=settings.inputs.mapping)
    if result.exceeded:
        raise QuarantineLimitError(result)
    return reports


@dataclass(frozen=True)
class Switched:
    """A publication that is live: the tier table version and where (the database, password hidden)."""

    publication: Publication
    database: str


def publish_tables(settings: Settings, parts: list[ShardOutputs], retention: pd.DataFrame) -> Switched:
    """Publish the tier table, retention list and call-back list atomically (the view switch); nothing else.

    The shards validated their tier tables against the contract right before writing them
    (`pipelines.score.tier_table`), so the publisher checks only the files' columns and dtypes.
    """
    callbacks = merge_callbacks(parts)
    engine = engine_for(settings)
    tier_parts = CheckedParts(tuple(part.tier_path for part in parts))
    try:
        publication = publish(engine, settings.publish, tier_parts, retention, callbacks)
        return Switched(publication, display_url(engine))
    finally:
        engine.dispose()


def write_outputs(
    settings: Settings, plan: NightlyPlan, parts: list[ShardOutputs], retention: pd.DataFrame, switched: Switched
) -> PublishedRun:
    """After the switch: write the retention and call-back list files and tomorrow's lifecycle state (never
    republishes)."""
    folder = settings.paths.resolve(settings.paths.retention)
    files = write_retention_files(retention, folder, plan.as_of, settings.retention)
    callbacks = merge_callbacks(parts)
    called = [] if callbacks is None else write_callback_files(callbacks, folder, plan.as_of, settings.retention)
    stages = save_stages(settings, plan, parts)
    return PublishedRun(switched.publication, switched.database, files, stages, called)


def live_state(settings: Settings) -> str:
    """Return one line saying which tier table is live now (read from the publish database), for failure messages."""
    try:
        engine = engine_for(settings, read_only=True)
        try:
            live = live_publication(engine, settings.publish)
            where = display_url(engine)
        finally:
            engine.dispose()
    except Exception as exc:  # the message must still go out when the database cannot be read
        return f"could not read which tier table is live ({type(exc).__name__}: {exc})"
    if live is None:
        return f"no tier table is published yet in {where}"
    return (
        f"live: {settings.publish.tier_view} v{live.version} (as of {live.as_of}, model v{live.model_version}, "
        f"run {live.run_id}, {live.rows:,} rows) in {where}"
    )


def summarize(
    settings: Settings,
    plan: NightlyPlan,
    reports: dict[str, TableReport],
    parts: list[ShardOutputs],
    retention: pd.DataFrame,
    published: PublishedRun,
    model_run: str,
    seconds: dict[str, float],
    monitoring: NightMonitoring | None = None,
    service: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
) -> NightlySummary:
    """Return the run summary (and keep it in state/ for tomorrow's comparison); `profile`: the run's stage
    profile (`stage_clock.run_profile`)."""
    tier_stage: dict[str, dict[str, int]] = {}
    for part in parts:
        for tier, stages in part.tier_stage_counts.items():
            row = tier_stage.setdefault(tier, {})
            for stage, count in stages.items():
                row[stage] = row.get(stage, 0) + count
    state = settings.paths.resolve(settings.paths.state)
    publication = published.publication
    summary = NightlySummary(
        as_of=f"{plan.as_of:%Y-%m-%d}",
        run_id=publication.run_id,
        model_version=publication.model_version,
        model_run=model_run,
        shards=plan.n_shards,
        validation={
            table: {"rows_read": r.rows_read, "clean": r.clean, "quarantined": r.quarantined, "rules": r.rules}
            for table, r in reports.items()
        },
        tier_stage=tier_stage,
        score_histogram=[int(sum(h)) for h in zip(*(part.score_histogram for part in parts), strict=True)],
        retention={desk: list(used) for desk, used in capacity_used(retention, settings.retention).items()},
        ranking=ranking_of(retention),
        ranking_note=ranking_note(settings, plan.data_dir, ranking_of(retention)),
        outputs={
            "tier table (routing service reads this view)": f"{published.database} :: {settings.publish.tier_view}",
            "retention lists": str(published.retention_files[0].parent) if published.retention_files else "-",
            "call-back list": str(published.callback_files[0]) if published.callback_files else "-",
            "quarantined rows": str(reports_folder(reports)),
            "validation report": str(report_location(settings, reports)),
            "lifecycle stages kept for tomorrow": str(published.stages_file),
        },
        publication={
            "view": settings.publish.tier_view,
            "version": publication.version,
            "rows": publication.rows,
            "database": published.database,
        },
        seconds=seconds,
        previous=previous_summary(state, plan.as_of),
        export=export_facts(settings, reports),
        monitoring=monitoring.summary() if monitoring is not None else {"note": "monitoring off (monitoring.enabled)"},
        service=service or {},
        campaigns=latest_summary(settings, plan.as_of),
        profile=profile or {},
    )
    summary.save(state)
    return summary


def export_facts(settings: Settings, reports: dict[str, TableReport]) -> dict[str, Any]:
    """Return what the run summary says of the export: its mapping, absent columns, unavailable features, codes."""
    absent = {table: list(report.absent_columns) for table, report in reports.items()}
    return {
        "mapping": None if settings.inputs.mapping is None else str(settings.inputs.mapping),
        "absent_columns": absent,
        "unavailable_features": unavailable_features(absent),
        "unmapped_codes": {t: r.unmapped_codes for t, r in reports.items() if r.unmapped_codes},
    }


def reports_folder(reports: dict[str, TableReport]) -> Path | str:
    """Return the folder this run's quarantine files went to."""
    files = [path for report in reports.values() for path in report.quarantine_files]
    return files[0].parent if files else "-"


def report_location(settings: Settings, reports: dict[str, TableReport]) -> Path:
    """Return this run's validation report: `paths.reports/<stamp>/<report_file>` (the quarantine folder's stamp)."""
    folder = reports_folder(reports)
    stamp = folder.name if isinstance(folder, Path) else LATEST
    return settings.paths.resolve(settings.paths.reports) / stamp / settings.validation.report_file
