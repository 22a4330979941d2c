"""The uplift champion's own input at scoring: each line's campaign history as of the night (issue 14).

An uplift model trained with `uplift.campaign_history` has the HISTORY_COLUMNS (features.campaign_history)
among the features it was trained on (`feature_names_in_`, also the MLflow version tag `needs_campaigns`), so
it scores only with the optional input table `campaigns`. The nightly reads that table once per run, through
the run's source mapping (its file, column names and codes, as for every input), keeps the rows that pass the
contract's own checks (closed vocabularies, called only when treated, calls after the campaign date; the
cross-table `known_subscriber` is `tiercast validate`'s: a row of an unknown line joins no scored line), puts
the others with their failed rules in the run's quarantine folder (campaigns.parquet), and
writes each line's history as of the night's as-of date into the run's inputs folder. Each shard joins it to
its lines (pipelines.score.build_outputs). Without the table the lists rank by churn x value that night: logged
here and in every shard, and said in the run summary (`ranking_note`). Nothing is read when the champion needs
no history.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.loader import Contract, load_contract
from features.campaign_history import HISTORY_COLUMNS, campaign_history, with_campaign_history
from pipelines import quarantine
from pipelines.ingest import input_mapping, read_table
from pipelines.mapping import SourceMapping
from pipelines.sources import find
from tiercast.settings import Settings

log = logging.getLogger(__name__)

TABLE = "campaigns"
HISTORY_FILE = "campaign_history.parquet"  # in the nightly's inputs folder (scratch, removed with the run)
QUARANTINE_DIR = "campaigns-quarantine"  # beside it: the rows left out, until the run copies them to its quarantine


def history_inputs(model: Any) -> tuple[str, ...]:
    """Return the campaign-history columns `model` was trained with (empty: it scores without `campaigns`)."""
    trained = {str(name) for name in getattr(model, "feature_names_in_", ())}
    return tuple(column for column in HISTORY_COLUMNS if column in trained)


def missing_campaigns_note(version: str | None) -> str:
    """Return what the log and the run summary say when the champion needs `campaigns` and the export lacks it."""
    return (
        f"the uplift champion v{version} was trained with the campaign history ({', '.join(HISTORY_COLUMNS)}) "
        f"and this export has no `{TABLE}` table: ranked by churn x value tonight "
        "(export the campaign records, or train without them: uplift.campaign_history false)"
    )


def _self_contained(contract: Contract) -> Contract:
    """Return `contract` without the rules and references that look rows up in other tables."""
    data = contract.model_dump()
    data["row_rules"] = [rule.model_dump() for rule in contract.row_rules if not rule.needs]
    data["references"] = []
    return Contract.model_validate(data)


def read_campaigns(
    data_dir: Path, mapping: SourceMapping, examples: int = 5, quarantine_to: Path | None = None
) -> pd.DataFrame | None:
    """Return the export's campaign records in contract types, read through `mapping`, without the rows that fail
    the contract's own checks (written with their failed rules to `quarantine_to/campaigns.parquet` when given);
    None when the export has no campaigns table."""
    if find(data_dir, TABLE, mapping) is None:
        return None
    contract = load_contract(TABLE)
    raw = read_table(data_dir, contract, examples, mapping)
    parts = quarantine.split(raw.frame, _self_contained(contract.without(raw.absent_columns)), {})
    if len(parts.quarantined):
        failed = {rule: n for rule, n in parts.rule_counts.items() if n}
        log.warning("%s: %d row(s) left out of the campaign history: %s", TABLE, len(parts.quarantined), failed)
        if quarantine_to is not None:
            quarantine.write_quarantine(parts.quarantined, quarantine_to, TABLE, csv=False)
    return parts.clean


def staged_quarantine(out_dir: Path) -> Path | None:
    """Return the campaign rows `stage_campaign_history` quarantined into `out_dir` (None: none), for the run's
    quarantine folder (`pipelines.nightly_results.check_quarantine`)."""
    path = out_dir / QUARANTINE_DIR / f"{TABLE}.parquet"
    return path if path.is_file() else None


def stage_campaign_history(settings: Settings, data_dir: Path, as_of: date, out_dir: Path) -> Path | None:
    """Write every line's campaign history as of `as_of` to `out_dir/HISTORY_FILE` when the uplift champion needs
    it and the export has the campaigns table; return the file, None when nothing was needed or found (logged)."""
    from pipelines.score import uplift_champion

    targeting, version = uplift_champion(settings)
    if targeting is None or not history_inputs(targeting.model):
        return None
    mapping, examples = input_mapping(settings), settings.validation.examples
    campaigns = read_campaigns(data_dir, mapping, examples, quarantine_to=out_dir / QUARANTINE_DIR)
    if campaigns is None:
        log.warning(missing_campaigns_note(version))
        return None
    history = campaign_history(campaigns, campaigns["subscriber_id"].unique(), as_of)
    path = out_dir / HISTORY_FILE
    history.to_parquet(path, index=False)
    log.info("campaign history as of %s: %d lines with records (%s)", as_of, len(history), path)
    return path


def staged_history(out_dir: Path) -> pd.DataFrame | None:
    """Return the campaign history `stage_campaign_history` wrote to `out_dir`, None when it wrote none."""
    path = out_dir / HISTORY_FILE
    return pd.read_parquet(path) if path.is_file() else None


def scoring_rows(
    model: Any, version: str | None, scored: pd.DataFrame, history: pd.DataFrame | None, warn: bool = True
) -> pd.DataFrame | None:
    """Return `scored` as the uplift `model` scores it: with the campaign history joined when it was trained
    with it; None when it needs the history and there is none (the caller ranks by churn x value; a warning, or
    with `warn=False`, when the caller has said so already, as the nightly's staging has for every shard, a
    debug line)."""
    if not history_inputs(model):
        return scored
    if history is None:
        log.log(logging.WARNING if warn else logging.DEBUG, missing_campaigns_note(version))
        return None
    return with_campaign_history(scored, history)


def ranking_note(settings: Settings, data_dir: Path, ranking: str) -> str:
    """Return why tonight's lists, ranked by `ranking`, are not ranked by the uplift champion ('' when they are,
    or when there is none)."""
    if ranking == "uplift":
        return ""
    from pipelines.score import uplift_champion

    targeting, version = uplift_champion(settings)
    if targeting is None or not history_inputs(targeting.model):
        return ""
    if find(data_dir, TABLE, input_mapping(settings)) is not None:
        return ""
    return missing_campaigns_note(version)
