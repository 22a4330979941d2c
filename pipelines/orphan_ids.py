"""Why a table's subscriber ids are not among the subscribers': the same ids written another way.

An export assembled from several systems, or passed through a spreadsheet, often writes one id in two
forms: `00012345` in the subscriber file and `12345` in the bills (a spreadsheet drops leading zeros),
`CL-12345` against `12345` (one system's prefix), `ab12` against `AB12 `. Every such row then fails
`known_subscriber`, and a run refused with "100% quarantined" says nothing about why. `written_otherwise`
tries each of these readings on the unknown ids and says which one finds them, with an example pair, so
the person who runs the export knows what to fix. It only explains: ids are never matched this way unless
the mapping says so for leading zeros (`leading_zeros: strip`), since `0123` and `123` may be two customers.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

# Share of the unknown ids a reading must find to be named (a few coincidences are no explanation).
MIN_FOUND = 0.5
ZEROS = "once leading zeros are ignored"  # the one reading a mapping can take (leading_zeros: strip)
SAMPLE = 10_000  # unknown ids tried (distinct, the first ones): enough to tell, cheap at 10M rows


def _text(ids: pd.Series) -> pd.Series:
    return ids.astype("string")


def _common_prefix(ids: pd.Series) -> str:
    """Return the non-digit prefix every id shares (`CL-` of CL-0001, CL-0002), "" when there is none."""
    sample = [str(v) for v in ids.dropna().head(SAMPLE)]
    if not sample:
        return ""
    first, last = min(sample), max(sample)  # the common prefix of all is that of the extremes
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[:size].rstrip("0123456789")


def _without(prefix: str) -> Callable[[pd.Series], pd.Series]:
    return lambda s: s.str.removeprefix(prefix)


def _readings(known: pd.Series, orphans: pd.Series) -> list[tuple[str, Callable[[pd.Series], pd.Series]]]:
    """Return the ways of writing an id to try, each with what it means, as one function for both sides."""
    readings: list[tuple[str, Callable[[pd.Series], pd.Series]]] = [
        ("once spaces and letter case are ignored", lambda s: s.str.strip().str.casefold()),
        (ZEROS, lambda s: s.str.strip().str.lstrip("0")),
    ]
    for side, other, whose in ((known, orphans, "the subscribers' ids carry"), (orphans, known, "these ids carry")):
        prefix = _common_prefix(side)
        if prefix and not _common_prefix(other).startswith(prefix):
            readings.append((f"once the prefix {prefix!r} {whose} is taken off", _without(prefix)))
    readings.append(("once prefixes and leading zeros are ignored", lambda s: s.str.replace(r"^\D*0*", "", regex=True)))
    return readings


def written_otherwise(orphans: pd.Series, known: pd.Series, table: str, parent: str = "subscribers") -> str:
    """Return why `orphans` (ids of `table` not in `parent`) are unknown when most of them are `known` ids
    written another way: "<found> of <tried> ... match subscribers' ids once leading zeros are ignored (bills
    '123', subscribers '00000123')"; "" when no reading explains them."""
    tried = _text(pd.Series(orphans.dropna().unique()).head(SAMPLE))
    if tried.empty:
        return ""
    ids = _text(pd.Series(known.dropna().unique()))
    for means, read in _readings(ids, tried):
        theirs = pd.Series(ids.to_numpy(), index=read(ids).to_numpy())
        theirs = theirs[~theirs.index.duplicated()]
        found = read(tried).map(theirs)
        hits = found.notna()
        if hits.mean() >= MIN_FOUND:
            at = int(hits.to_numpy().argmax())
            example = f"{table} {tried.iloc[at]!r}, {parent} {found.iloc[at]!r}"
            remedy = (
                "if both forms are one customer, set leading_zeros: strip in the mapping; else fix the export"
                if means == ZEROS
                else "fix the export (they are not matched so)"
            )
            return (
                f"{int(hits.sum()):,} of the {len(tried):,} unknown ids tried match {parent}' ids {means} "
                f"({example}): the export writes the ids two ways; {remedy}"
            )
    return ""
