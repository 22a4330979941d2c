"""Which export column is which tiercast column: by names first, then by values (`tiercast mapping draft`)."""

from __future__ import annotations

from collections.abc import Callable

from data_contracts.loader import Contract
from pipelines.column_profile import Profile
from pipelines.draft import UNKNOWN, Guess
from pipelines.mapping_guess import VALUE_RULES, best_name, code_share, fits, matches_rule

# Required columns found by values when no name fits, most telling first (closed optional ones too).
VALUE_ORDER: tuple[str, ...] = (
    "msisdn",
    "subscriber_id",
    "bill_month",
    "contact_time",
    "activation_date",
    "deactivation_date",
)
VALUE_ORDER += ("due_date", "paid_date", "deactivation_reason", "channel", "reason", "list_flag", "contract_type")
VALUE_ORDER += ("amount", "amount_paid", "plan")
VALUE_ORDER += ("campaign_date", "called_at", "group", "offer", "outcome")


def guess_columns(
    contract: Contract, profiles: dict[str, Profile], id_share: Callable[[str], float] | None
) -> dict[str, Guess]:
    """Return tiercast column -> export column: by names first, then by values; "?" for a required one not found."""
    chosen = _by_name(contract, profiles, id_share)
    for column in VALUE_ORDER:
        spec = contract.columns.get(column)
        if spec is None or column in chosen or not (spec.required or spec.closed_values):
            continue
        free = {n: p for n, p in profiles.items() if n not in {g.value for g in chosen.values()}}
        guess = _by_values(contract, column, free, id_share)
        if guess is not None or spec.required:
            what = VALUE_RULES[column][0] if column in VALUE_RULES else spec.description or column
            chosen[column] = guess or Guess(UNKNOWN, f"no column found: which one holds {column} ({what})?")
    for column in contract.required_columns:  # no name fits and no value rule: a person says which
        if column not in chosen:
            what = contract.columns[column].description or column
            chosen[column] = Guess(UNKNOWN, f"no column found: which one holds {column} ({what})?")
    return {c: chosen[c] for c in contract.columns if c in chosen}


def _by_name(
    contract: Contract, profiles: dict[str, Profile], id_share: Callable[[str], float] | None
) -> dict[str, Guess]:
    scored = [
        (*best_name(column, name), column, name)
        for column, spec in contract.columns.items()
        for name, found in profiles.items()
        if fits(spec, found, named=True)
    ]
    chosen: dict[str, Guess] = {}
    for _, synonym, column, name in sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0]):
        if column not in chosen and name not in {g.value for g in chosen.values()}:
            if name == column:
                chosen[column] = Guess(name, "same name as tiercast's", "same name")
                continue
            confirmed = _confirmation(contract, column, profiles[name], id_share)
            how = "name + values" if confirmed.startswith("values") else "name"
            chosen[column] = Guess(name, f"name like '{synonym}'" + (f"; {confirmed}" if confirmed else ""), how)
    return chosen


def _confirmation(contract: Contract, column: str, found: Profile, id_share: Callable[[str], float] | None) -> str:
    """Return what the values of a column found by name say: `values: ...`, `check: ...` or nothing."""
    if column == "subscriber_id" and id_share is None:
        return "values: unique, none empty" if found.nulls == 0 and found.distinct == found.rows else ""
    if column == "subscriber_id" and id_share is not None:
        share = id_share(found.name)
        return f"values: {share:.0%} are subscriber ids" if share >= 0.5 else f"check: {share:.0%} are subscriber ids"
    allowed = contract.columns[column].closed_values
    if allowed is not None:
        return f"values: {code_share(column, found, allowed):.0%} of the codes recognised"
    if column in VALUE_RULES:
        words = VALUE_RULES[column][0]
        return f"values: {words}" if matches_rule(column, found) else ""
    return ""


def _by_values(
    contract: Contract, column: str, free: dict[str, Profile], id_share: Callable[[str], float] | None
) -> Guess | None:
    """Return the column whose values look like `column` when only one does (or one clearly best), else None."""
    allowed = contract.columns[column].closed_values
    if column == "subscriber_id" and id_share is None:
        unique = [n for n, p in free.items() if p.shape in ("text", "number") and p.nulls == 0 and p.distinct == p.rows]
        return Guess(unique[0], "values: unique, none empty (the first such column)", "values") if unique else None
    if column == "subscriber_id" and id_share is not None:
        ranked = [(id_share(n), n) for n, p in free.items() if fits(contract.columns[column], p)]
        return _best(ranked, 0.5, "values: {:.0%} are subscriber ids of the subscribers file")
    if allowed is not None:
        return _best(
            [(code_share(column, p, allowed), n) for n, p in free.items()],
            0.5,
            "values: {:.0%} of the codes recognised",
        )
    candidates = [n for n, p in free.items() if column in VALUE_RULES and matches_rule(column, p)]
    if column in ("amount", "amount_paid") and candidates:
        return _best(
            [(free[n].median or 0.0, n) for n in candidates], 0.0, "values: the largest amounts (median {:,g})"
        )
    if len(candidates) == 1:
        return Guess(candidates[0], f"values: {VALUE_RULES[column][0]}", "values")
    if candidates:
        return Guess(UNKNOWN, f"several columns hold {VALUE_RULES[column][0]}: which of {', '.join(candidates)}?")
    return None


def _best(ranked: list[tuple[float, str]], least: float, why: str) -> Guess | None:
    """Return the column with the highest score above `least` if no other has the same score."""
    ranked = sorted((r for r in ranked if r[0] > least), reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return None
    return Guess(ranked[0][1], why.format(ranked[0][0]), "values")
