"""The nightly scoring run, cut into steps a flow calls one by one, per shard where it can.

plan -> stage inputs into shards -> per shard: validate, features, value score -> global tier
cut-offs -> per shard: tiers, churn score, lifecycle, routing rows, retention candidates, call-back
rows -> merge retention and call-back lists -> publish (guardrails, atomic switch) -> keep state for tomorrow.

Each per-shard step reads its inputs from files and writes its outputs to files under the run's
work folder, returning only paths and small summaries, so it runs the same in a thread or on a
Dask worker, and memory is bounded by the shard size. Nothing is published before `nightly_results.publish_tables`.
"""

from __future__ import annotations

import logging
import math
import threading
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from data_contracts.loader import ContractError, load_contract, validate_output
from features.build import feature_table
from models.callbacks import window_contacts
from models.drift import ReferenceProfile
from models.lifecycle import assign_stages
from models.tiers import Cutoffs, assign_tiers, score_cutoffs, value_score
from pipelines.coerce import national_numbers
from pipelines.data_end import export_data_end
from pipelines.ingest import input_mapping, validate_tables
from pipelines.mapping import SourceMapping
from pipelines.monitoring import REFERENCE_ARTIFACT, input_counts, recent_inputs, shard_counts
from pipelines.nightly_service import recent_contacts
from pipelines.privacy import privacy_key
from pipelines.quarantine import TableReport
from pipelines.score import build_outputs, run_id_for
from pipelines.shards import id_numbers
from pipelines.source_files import ARROW, PARQUET, count_lines, file_format
from pipelines.sources import Source, header, iter_batches, locate, unreadable
from pipelines.stage_clock import StageClock, summed
from pipelines.staging import read_export_facts, shard_folder, stage_shards
from pipelines.uplift_inputs import stage_campaign_history, staged_history
from tiercast.settings import Settings
from tiercast.settings.flows import FlowsSettings

log = logging.getLogger(__name__)

SCORE_BINS = 20  # churn-score histogram resolution in the run summary
REPEATED_MSISDN = "repeated-msisdn.npy"  # numbers held by several subscribers across shards (scratch)


@dataclass(frozen=True)
class NightlyPlan:
    """What one nightly run works on: the date, the inputs, the shards and its scratch folder."""

    as_of: date
    data_dir: Path
    work_dir: Path
    n_shards: int
    n_subscribers: int
    data_end: date | None = None  # where the export's data ends (rows beyond it are future_dated)

    @property
    def inputs_dir(self) -> Path:
        """Folder of the per-shard input tables."""
        return self.work_dir / "inputs"

    def shard_dir(self, kind: str, shard: int) -> Path:
        """Folder of one shard's outputs of one kind (features, outputs, quarantine)."""
        return self.work_dir / kind / f"shard-{shard:05d}"


@dataclass(frozen=True)
class ShardFeatures:
    """One shard's feature table on disk, its value scores and what validation did to its rows."""

    shard: int
    features_path: Path
    keys_path: Path
    value_scores: np.ndarray
    reports: dict[str, TableReport]
    leavers_path: Path | None = None  # subscriber_id, deactivation_date of those who left (realised monitoring)
    input_counts: ReferenceProfile | None = None  # recent input columns on the reference's bins (monitoring)
    contacts_path: Path | None = None  # the as_of day's voice and outbound contacts (the call-back list)
    service_path: Path | None = None  # the last fcr_window_days + 1 days' contacts (the service-level step)
    seconds: dict[str, float] = field(default_factory=dict)  # this shard's seconds per stage (the run's profile)


@dataclass(frozen=True)
class ShardOutputs:
    """One shard's tier-table rows, retention candidates and lifecycle stages on disk, with counts."""

    shard: int
    tier_path: Path
    retention_path: Path
    stages_path: Path
    rows: int
    tier_stage_counts: dict[str, dict[str, int]]
    score_histogram: list[int]
    scores_path: Path | None = None  # subscriber_id, churn_score, tier (monitoring's score history)
    counts: ReferenceProfile | None = None  # features, score and mixes on the reference's bins (monitoring)
    callbacks_path: Path | None = None  # the shard's call-back list (ranked again when merged)
    seconds: dict[str, float] = field(default_factory=dict)  # this shard's seconds per stage (the run's profile)
    explain_path: Path | None = None  # the candidates' scored rows: their reason codes are added after the merge


@dataclass(frozen=True)
class ModelRef:
    """The churn model a run scores with, resolved once: registered name, version and its MLflow run."""

    name: str
    version: str
    run_id: str
    run_link: str


def resolve_model(settings: Settings) -> ModelRef:
    """Resolve the champion alias to a version (once per run) and say where its training run is."""
    from pipelines import registry, tracking

    version = registry.champion_version(settings)
    if version is None:
        raise registry.RegistryError(
            f"{settings.tracking.registered_model} has no champion yet: run `tiercast train` or the training flow first"
        )
    run_id = tracking.version_info(settings, version).run_id
    link = f"MLflow run {run_id} at {tracking.tracking_uri(settings)}"
    return ModelRef(settings.tracking.registered_model, str(version), run_id, link)


def load_reference(settings: Settings, model: ModelRef) -> ReferenceProfile | None:
    """Return the champion's reference profile (logged at its training), None when monitoring is off or it has none."""
    if not settings.monitoring.enabled:
        return None
    from pipelines import tracking

    data = tracking.load_run_dict(settings, model.run_id, REFERENCE_ARTIFACT)
    if data is None:
        log.warning(
            "model v%s has no reference profile (%s): no drift monitoring tonight", model.version, REFERENCE_ARTIFACT
        )
        return None
    return ReferenceProfile.from_dict(data)


_MODELS: dict[tuple[str, str], Any] = {}  # one loaded model per process (thread or Dask worker)
_MODELS_LOCK = threading.Lock()


def load_model(settings: Settings, version: str) -> Any:
    """Return the churn model of `version`, loaded once per process (thread or Dask worker) and tracking URI."""
    from pipelines import tracking

    key = (tracking.tracking_uri(settings), version)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS.clear()
            _MODELS[key] = tracking.load_version(settings, version)
        return _MODELS[key]


def run_identity(settings: Settings, plan: NightlyPlan, model: ModelRef) -> str:
    """Return the run id: the same as_of, model and settings give the same id (and the same content)."""
    return run_id_for(settings, plan.as_of, model.version, privacy_key(settings.privacy))


def shard_outputs_for(
    settings: Settings,
    plan: NightlyPlan,
    part: ShardFeatures,
    cutoffs: Cutoffs,
    model: ModelRef,
    run_id: str,
    previous_stages: Path | None,
    reference: ReferenceProfile | None = None,
) -> ShardOutputs:
    """`shard_outputs` with the model loaded by version (once per process) and the key read from the environment."""
    clock = StageClock()
    with clock.timed("model load"):  # once per process; later shards find it loaded
        loaded = load_model(settings, model.version)
    key = privacy_key(settings.privacy)
    outputs = shard_outputs(
        settings, plan, part, cutoffs, loaded, model.version, run_id, key, previous_stages, reference
    )
    return replace(outputs, seconds=summed([clock.seconds, outputs.seconds]))


def count_rows(source: Source) -> int:
    """Return the number of rows of a table's files: Parquet and Arrow IPC from their metadata, text as lines
    (decompressed) minus the header."""
    total = 0
    for path in source.parts:
        try:
            if file_format(path) == PARQUET:
                total += int(pq.ParquetFile(path).metadata.num_rows)
            elif file_format(path) == ARROW:
                with ipc.open_file(pa.memory_map(str(path))) as reader:
                    total += sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            else:
                total += max(count_lines(path) - 1, 0)
        except (pa.ArrowException, OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
            raise unreadable(source.part(path), exc) from exc
    return total


def balanced_shards(n_subscribers: int, flows: FlowsSettings) -> int:
    """Return how many shards a base needs (at most flows.shard_size subscribers each), rounded up to a multiple
    of the shards the runner processes at once when there are more shards than that: 5 shards on 2 threads run
    in 3 rounds with one core idle in the last, 6 smaller ones in 3 full rounds (1M x 12 here: see the README).
    An existing Dask cluster (flows.dask_address) is not sized here: its shards are not rounded."""
    needed = max(1, math.ceil(n_subscribers / flows.shard_size))
    if flows.task_runner == "threads":
        at_once = flows.thread_workers
    else:
        at_once = flows.dask_workers if flows.dask_address is None else 1
    return needed if needed <= at_once else math.ceil(needed / at_once) * at_once


def plan_nightly(
    settings: Settings, data_dir: Path | None = None, as_of: date | None = None, shards: int | None = None
) -> NightlyPlan:
    """Return the plan of a nightly run: as_of defaults to the last day the data covers; `shards` (default:
    as many as flows.shard_size makes) the number of shards."""
    paths = settings.paths
    data_dir = data_dir or paths.resolve(paths.raw)
    mapping = input_mapping(settings)
    n_subscribers = count_rows(locate(data_dir, "subscribers", mapping))
    end = export_data_end(data_dir, mapping, settings.validation.data_end_min_share)
    as_of = as_of or end
    n_shards = shards or balanced_shards(n_subscribers, settings.flows)
    work_dir = paths.resolve(paths.work) / "nightly" / f"{as_of:%Y-%m-%d}"
    log.info("nightly run as of %s: %d subscriber rows in %s, %d shard(s)", as_of, n_subscribers, data_dir, n_shards)
    return NightlyPlan(as_of, data_dir, work_dir, n_shards, n_subscribers, end)


def _key_values(source: Source, column: str, batch_rows: int, prefixes: tuple[str, ...] = ()) -> np.ndarray:
    """Return one key column as uint64 numbers (an MSISDN's digits; a text id's hash), streamed; nulls skipped.

    Phone numbers are read as the validator reads them (`national_numbers`: +86 138-... is 138...).
    """
    parts = []
    for batch in iter_batches(source, [column], batch_rows):
        values = pc.drop_null(batch.column(0))
        if prefixes or not pa.types.is_integer(values.type):
            values = pc.cast(values, pa.string())
            values = national_numbers(values, prefixes) if prefixes else values
        parts.append(id_numbers(values))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


def check_global_keys(
    data_dir: Path, batch_rows: int, examples: int = 5, mapping: SourceMapping | None = None
) -> dict[str, np.ndarray]:
    """Return the MSISDNs that repeat across the export; raise ContractError when a contact_id repeats.

    Shards are cut by subscriber, so the validator sees each shard alone; these two keys are the
    only ones whose duplicates can sit in different shards. A repeated contact_id (the contacts'
    primary key) is structural, as in `tiercast validate`; a repeated MSISDN quarantines its rows
    (`msisdn:unique`), as in `tiercast validate`: the shards get the repeated numbers
    (`id_numbers`, 8 bytes each). A key column the export lacks (contact_id is optional) is not checked.
    """
    mapping = mapping or SourceMapping()
    found: dict[str, np.ndarray] = {}
    for table, column in (("subscribers", "msisdn"), ("contacts", "contact_id")):
        source = locate(data_dir, table, mapping)
        name = mapping.table(table).source_name(column)
        if name not in header(source):
            continue
        prefixes = load_contract(table).columns[column].phone_prefixes
        values = np.sort(_key_values(source, name, batch_rows, prefixes))
        repeated = np.unique(values[1:][values[1:] == values[:-1]])
        if len(repeated) and column == "contact_id":
            shown = repeated[:examples].tolist()
            raise ContractError(
                table, f"duplicate {column}: {len(repeated)} values repeat, e.g. {shown}", column, "primary_key"
            )
        found[column] = repeated
    return found


def stage_inputs(settings: Settings, plan: NightlyPlan) -> list[int]:
    """Split the inputs into the plan's shard folders (through the source mapping); return the shard numbers."""
    mapping = input_mapping(settings)
    repeated = check_global_keys(plan.data_dir, settings.flows.batch_rows, mapping=mapping)
    stage_shards(
        plan.data_dir,
        plan.inputs_dir,
        list(settings.validation.tables),
        plan.n_shards,
        settings.flows.batch_rows,
        mapping,
        workers=settings.flows.thread_workers,
        fmt=settings.flows.stage_format,
    )
    np.save(plan.inputs_dir / REPEATED_MSISDN, repeated.get("msisdn", np.empty(0, dtype=np.uint64)))
    stage_campaign_history(settings, plan.data_dir, plan.as_of, plan.inputs_dir)  # an uplift champion's input
    return list(range(plan.n_shards))


def shard_features(
    settings: Settings, plan: NightlyPlan, shard: int, reference: ReferenceProfile | None = None
) -> ShardFeatures:
    """Validate one shard's inputs, build its feature table as of D and its value scores; write them to disk.
    With the champion's `reference`, count its recent input columns for monitoring.

    Quarantine limits are checked over all shards together (`validation_reports`), not per shard.
    """
    clock = StageClock()
    with clock.timed("shard files"):
        unlimited = settings.validation.model_copy(
            update={"max_quarantined_share": 1.0, "max_quarantined_share_by_table": {}}
        )
        facts = read_export_facts(plan.inputs_dir)
        repeated = {"msisdn": np.load(plan.inputs_dir / REPEATED_MSISDN)}
    with clock.timed("validate"):
        checked = validate_tables(
            shard_folder(plan.inputs_dir, shard),
            unlimited,
            plan.shard_dir("quarantine", shard),
            plan.shard_dir("quarantine", shard) / "validation.json",
            mapping=input_mapping(settings).staged(),
            id_kind=str(facts["id_kind"]) if facts.get("id_kind") else None,
            data_end=plan.data_end,
            repeated=repeated,
        )
    tables = checked.tables
    with clock.timed("features"):
        features = feature_table(
            tables["subscribers"],
            tables["bills"],
            tables["payments"],
            tables["contacts"],
            plan.as_of,
            settings.features,
            checked.absent,
        )
    folder = plan.shard_dir("features", shard)
    with clock.timed("shard files"):
        folder.mkdir(parents=True, exist_ok=True)
        features.to_parquet(folder / "features.parquet", index=False)
        active = tables["subscribers"][["subscriber_id", "msisdn", "activation_date"]]
        active[active["subscriber_id"].isin(features["subscriber_id"])].to_parquet(folder / "keys.parquet", index=False)
        subscribers = tables["subscribers"]
        left = subscribers.loc[subscribers["deactivation_date"].notna(), ["subscriber_id", "deactivation_date"]]
        left.to_parquet(folder / "leavers.parquet", index=False)
    contacts = tables["contacts"]
    with clock.timed("retention"):
        if "abandoned" in checked.absent.get("contacts", ()):  # filled with false: the list must say it cannot tell
            contacts = contacts.drop(columns="abandoned")
        window_contacts(contacts, plan.as_of, settings.retention).to_parquet(folder / "contacts.parquet", index=False)
    with clock.timed("service levels"):
        days = settings.service.fcr_window_days + 1
        absent = [c for c in checked.absent.get("contacts", ()) if c in contacts.columns]  # filled, not exported
        recent = recent_contacts(contacts.drop(columns=absent), plan.as_of, days)
        recent.to_parquet(folder / "service.parquet", index=False)
    with clock.timed("tiers and lifecycle"):
        scores = value_score(features, settings.tiers.value_score).to_numpy(dtype="float64")
    paths = (folder / "features.parquet", folder / "keys.parquet")
    with clock.timed("monitoring"):
        counted = input_counts(recent_inputs(tables, plan.as_of, settings.monitoring.contact_mix), reference)
    return ShardFeatures(
        shard,
        *paths,
        scores,
        checked.reports,
        folder / "leavers.parquet",
        counted,
        folder / "contacts.parquet",
        folder / "service.parquet",
        clock.seconds,
    )


def tier_cutoffs(settings: Settings, parts: list[ShardFeatures]) -> Cutoffs:
    """Return the (high_min, mid_min) value-score cut-offs over the whole base."""
    scores = np.concatenate([part.value_scores for part in parts]) if parts else np.empty(0)
    return score_cutoffs(pd.Series(scores, dtype="float64"), settings.tiers.cutoffs)


def previous_stages_file(settings: Settings, as_of: date) -> Path | None:
    """Return the newest lifecycle-stage file written by a run for a date before `as_of`, if any."""
    folder = settings.paths.resolve(settings.paths.state) / "lifecycle"
    earlier = sorted(p for p in folder.glob("*.parquet") if p.stem < f"{as_of:%Y-%m-%d}") if folder.is_dir() else []
    return earlier[-1] if earlier else None


def _previous_stages(path: Path | None, subscriber_ids: pd.Series) -> pd.DataFrame | None:
    if path is None:
        return None
    stages = pd.read_parquet(path, columns=["subscriber_id", "lifecycle_stage"])
    return stages[stages["subscriber_id"].isin(subscriber_ids)].reset_index(drop=True)


def shard_outputs(
    settings: Settings,
    plan: NightlyPlan,
    part: ShardFeatures,
    cutoffs: Cutoffs,
    model: Any,
    model_version: str,
    run_id: str,
    key: bytes,
    previous_stages: Path | None,
    reference: ReferenceProfile | None = None,
) -> ShardOutputs:
    """Tier, score, stage, route and list one shard; write its tier rows, retention candidates and stages,
    its scores for monitoring, and count its features on the reference's bins."""
    clock = StageClock()
    with clock.timed("shard files"):
        features = pd.read_parquet(part.features_path)
        previous = _previous_stages(previous_stages, features["subscriber_id"])
    with clock.timed("tiers and lifecycle"):
        tiered = assign_tiers(features, settings.tiers, cutoffs=cutoffs)
        decided = validate_output(assign_stages(tiered, settings.lifecycle, previous=previous), "features")
    with clock.timed("shard files"):
        contacts = pd.read_parquet(part.contacts_path) if part.contacts_path is not None else None
        keys = pd.read_parquet(part.keys_path)
        history = staged_history(plan.inputs_dir)
    result = build_outputs(
        decided, keys, model, model_version, plan.as_of, settings, key, previous, contacts, clock=clock, explain=False,
        campaign_history=history, history_noted=True,  # stage_campaign_history warned once for every shard
    )  # fmt: skip
    if result.run_id != run_id:
        raise ValueError(f"shard {part.shard} scored as run {result.run_id}, the flow planned {run_id}")
    rows, candidates = result.tier_table, result.retention
    folder = plan.shard_dir("outputs", part.shard)
    scored = result.scored if result.scored is not None else pd.DataFrame()
    callbacks_path = None
    with clock.timed("shard files"):
        folder.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(folder / "tier_table.parquet", index=False)
        candidates.to_parquet(folder / "retention.parquet", index=False)
        if result.to_explain is not None:
            result.to_explain.to_parquet(folder / "explain.parquet", index=False)
        result.stages.to_parquet(folder / "stages.parquet", index=False)
        scored[["subscriber_id", "churn_score", "tier"]].to_parquet(folder / "scores.parquet", index=False)
        if result.callbacks is not None:
            callbacks_path = folder / "callbacks.parquet"
            result.callbacks.to_parquet(callbacks_path, index=False)
    with clock.timed("monitoring"):
        counts = pd.crosstab(rows["tier"], rows["lifecycle_stage"])
        histogram, _ = np.histogram(rows["churn_score"].to_numpy(), bins=SCORE_BINS, range=(0.0, 1.0))
        monitored = shard_counts(scored, reference)
    return ShardOutputs(
        shard=part.shard,
        tier_path=folder / "tier_table.parquet",
        retention_path=folder / "retention.parquet",
        stages_path=folder / "stages.parquet",
        rows=len(rows),
        tier_stage_counts={str(t): {str(s): int(n) for s, n in row.items()} for t, row in counts.iterrows()},
        score_histogram=[int(n) for n in histogram],
        scores_path=folder / "scores.parquet",
        counts=monitored,
        callbacks_path=callbacks_path,
        seconds=clock.seconds,
        explain_path=folder / "explain.parquet" if result.to_explain is not None else None,
    )
