"""A draft source mapping written as mapping YAML, every guess commented with why and every "?" with what is needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipelines.draft import Codes, Draft, Guess, TableDraft, row_count


def _scalar(text: str) -> str:
    """Return text as a YAML scalar: plain when safe, else double-quoted (JSON quoting is YAML's)."""
    return text if re.fullmatch(r"\w[\w .+()/-]*(?<! )", text) else json.dumps(text, ensure_ascii=False)


def _comment(guess: Guess) -> str:
    words = guess.why.replace("\n", " ")
    return f"  # needed: {words}" if guess.unknown else f"  # guess: {words}"


def _entry(indent: int, key: str, guess: Guess) -> str:
    return " " * indent + f"{_scalar(key)}: {_scalar(guess.value)}{_comment(guess)}"


def draft_text(draft: Draft, out: Path | None = None) -> str:
    """Return the draft as mapping YAML with comments (load_mapping reads it once every "?" is answered)."""
    lines = [
        f"# Draft source mapping of the export in {draft.data_dir}, written by `tiercast mapping draft`.",
        "# It was guessed from file names, column names and the first rows of each file.",
        '# Check every line marked "# guess:", and replace every "?" (its "# needed:" comment says with what).',
        "# values: map the export's codes to tiercast's; dates: strptime formats (epoch_s / epoch_ms: instants, read",
        "# in timezone:); scales: multiply (fen -> CNY).",
        f"# Then run: tiercast validate --data {draft.data_dir} --mapping {out or 'THIS_FILE'}",
        f"encoding: {_scalar(draft.encoding.value)}{_comment(draft.encoding)}",
    ]
    lines += [
        _entry(0, key, guess)
        for key, guess in (("delimiter", draft.delimiter), ("decimal", draft.decimal), ("timezone", draft.timezone))
        if guess
    ]
    lines += [f"# file not placed: {note}" for note in draft.unplaced]
    lines.append("tables:")
    for table in draft.tables.values():
        lines += _table_lines(table)
    return "\n".join(lines) + "\n"


def _table_lines(table: TableDraft) -> list[str]:
    lines = [f"  {table.table}:", f"    file: {_scalar(table.file.value)}{_comment(table.file)}"]
    lines += [
        _entry(4, key, guess) for key, guess in (("encoding", table.encoding), ("delimiter", table.delimiter)) if guess
    ]
    lines.append("    columns:")
    lines += [_entry(6, column, guess) for column, guess in table.columns.items()]
    if table.absent:
        lines.append(f"      # optional columns not found: {', '.join(table.absent)}")
    if table.unused:
        lines.append(f"      # export columns not used: {', '.join(table.unused)}")
    if table.dates:
        lines += ["    dates:", *(_entry(6, column, guess) for column, guess in table.dates.items())]
    if any(codes.entries for codes in table.codes.values()):
        lines.append("    values:")
    for column, codes in table.codes.items():
        lines += _code_lines(table, column, codes)
    if table.scales:
        lines += ["    scales:", *(_entry(6, column, guess) for column, guess in table.scales.items())]
    return lines


def _code_lines(table: TableDraft, column: str, codes: Codes) -> list[str]:
    counted = f"counts from {table.sampled}" + (f"; {codes.empty:,} empty" if codes.empty else "")
    if codes.counts is None:
        return [f"    # values of {column}: more than 200 distinct values in {table.sampled}: is it {column}?"]
    own = [f"{code} ({row_count(rows)})" for code, rows in codes.counts if code not in codes.entries]
    if not codes.entries:
        return [
            f"    # values of {column}: {', '.join(own) or 'none'} are tiercast's own codes, no entry needed; {counted}"
        ]
    lines = [f"      {column}:  # {counted}"]
    lines += [_entry(8, code, guess) for code, guess in codes.entries.items()]
    if own:
        lines.append(f"        # {', '.join(own)}: tiercast's own codes, no entry needed")
    return lines
