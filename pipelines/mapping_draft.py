"""A first source mapping for an operator's export, guessed from a sample, for a person to finish.

`draft_mapping(data_dir)` reads the first rows of each CSV / Parquet file (CSV in UTF-8, with or
without BOM, else GBK / GB18030), places each file as one of tiercast's tables (file-name words
and content), maps columns (names, then values), and proposes date formats, code values and
scales. `draft_text(draft)` writes it as mapping YAML (the keys `load_mapping` reads) where every
guess says `# guess: <why>` and what could not be guessed is "?" with a comment saying what is
needed. Nothing is guessed silently. Guessing lives in pipelines/mapping_guess.py.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data_contracts.loader import Contract, load_contract
from pipelines.coerce import is_text
from pipelines.mapping import ENCODINGS
from pipelines.mapping_guess import (
    VALUE_RULES,
    Profile,
    best_name,
    code_guess,
    code_share,
    file_hint,
    fits,
    matches_rule,
    profile,
)
from pipelines.sources import CSV_NULLS, Source, header

TABLES = ("subscribers", "bills", "payments", "contacts")
SAMPLE_ROWS = 100_000
HEAD_BYTES = 1 << 20  # bytes of a CSV file its encoding is told from
UNKNOWN = "?"
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
MONEY: tuple[str, ...] = (
    "amount",
    "base_fee",
    "data_amount",
    "long_distance_amount",
    "roaming_amount",
    "value_added_amount",
)
MONEY += ("amount_paid",)
FEN_MEDIAN = 1000  # whole amounts with a median of 1,000 or more on a monthly bill are fen, not CNY
# What a file's content says about its table: (shape of a column, points, words).
CONTENT: dict[str, tuple[tuple[str, int, str], ...]] = {
    "subscribers": (("msisdn", 3, "11-digit mobile numbers"), ("date", 1, "dates")),
    "bills": (("month", 2, "billing months"), ("number", 1, "amounts"), ("date", -1, "")),
    "payments": (("month", 2, "billing months"), ("date", 2, "dates"), ("number", 1, "amounts")),
    "contacts": (("datetime", 3, "date-times"), ("code", 1, "codes")),
}
PLACED = 3  # points a file needs to be placed as a table


@dataclass(frozen=True)
class Guess:
    """A guessed value (UNKNOWN when there is none), why it was guessed or what is needed, and how."""

    value: str
    why: str
    how: str = ""  # short: name, values, name + values, same name, file name + content ...

    @property
    def unknown(self) -> bool:
        """True when nothing could be guessed."""
        return self.value == UNKNOWN


@dataclass(frozen=True)
class Sample:
    """The first rows of one export file, and how its text was decoded."""

    name: str
    table: pa.Table
    encoding: str | None  # CSV: the codec it reads in; Parquet: None
    complete: bool  # the sample is the whole file

    @property
    def rows(self) -> str:
        """Return which rows the sample holds, in words."""
        return f"the first {self.table.num_rows:,} rows" + (" (the whole file)" if self.complete else "")


@dataclass(frozen=True)
class Codes:
    """A closed column's codes in the sample: (code, rows) most frequent first, empties, and guesses."""

    counts: tuple[tuple[str, int], ...] | None  # None: too many distinct values to be codes
    empty: int
    entries: dict[str, Guess]  # export's code -> tiercast's, for codes that are not tiercast's own


@dataclass(frozen=True)
class TableDraft:
    """The draft mapping of one table."""

    table: str
    file: Guess
    sampled: str = ""
    columns: dict[str, Guess] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # optional columns not found
    unused: tuple[str, ...] = ()  # export columns not mapped
    dates: dict[str, Guess] = field(default_factory=dict)
    codes: dict[str, Codes] = field(default_factory=dict)
    scales: dict[str, Guess] = field(default_factory=dict)

    @property
    def unknowns(self) -> int:
        """Return the number of "?" entries left to fill."""
        guesses = [self.file, *self.columns.values(), *self.dates.values(), *self.scales.values()]
        guesses += [g for codes in self.codes.values() for g in codes.entries.values()]
        return sum(g.unknown for g in guesses)


@dataclass(frozen=True)
class Draft:
    """A whole export's draft mapping: encoding, one TableDraft per table, files not placed."""

    data_dir: Path
    encoding: Guess
    tables: dict[str, TableDraft]
    unplaced: tuple[str, ...]


def export_files(data_dir: Path) -> list[Path]:
    """Return the export's CSV and Parquet files (not hidden ones), sorted by name."""
    suffixes = (".csv", ".parquet")
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes and p.name[0] != ".")


def csv_encoding(path: Path) -> str | None:
    """Return the first of utf-8 / gbk / gb18030 the start of a CSV file decodes in (None when none does)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for encoding in ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def read_sample(path: Path, rows: int = SAMPLE_ROWS) -> Sample:
    """Return the first `rows` rows of a file (CSV as text); ValueError when it cannot be read."""
    if path.suffix.lower() == ".parquet":
        parquet = pq.ParquetFile(path)
        batches = []
        for batch in parquet.iter_batches(batch_size=rows):
            batches.append(batch)
            if sum(b.num_rows for b in batches) >= rows:
                break
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow).slice(0, rows)
        return Sample(path.name, table, None, parquet.metadata.num_rows <= rows)
    first = csv_encoding(path)
    for encoding in ENCODINGS[ENCODINGS.index(first) :] if first else ():
        try:
            return _csv_sample(path, encoding, rows)
        except UnicodeDecodeError:
            continue  # the start was ASCII, a later row is not: try the next encoding
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):  # Arrow's own UTF-8 reader says so this way
                continue
            raise ValueError(f"{path.name}: not a readable CSV file ({exc})") from exc
    raise ValueError(f"{path.name}: neither UTF-8 nor GBK / GB18030 text")


def _csv_sample(path: Path, encoding: str, rows: int) -> Sample:
    names = header(Source("?", path, encoding))
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), null_values=CSV_NULLS, strings_can_be_null=True
    )
    options = pa_csv.ReadOptions(encoding=encoding, block_size=4 << 20)
    reader = pa_csv.open_csv(path, read_options=options, convert_options=convert)
    batches, read = [], 0
    for batch in reader:  # reads block by block: stops one block after `rows`
        batches.append(batch)
        read += batch.num_rows
        if read > rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows)
    return Sample(path.name, table, encoding, read <= rows)


def draft_mapping(data_dir: Path, rows: int = SAMPLE_ROWS) -> Draft:
    """Return the draft mapping of the export in `data_dir`, guessed from the first `rows` rows of each file."""
    samples, unreadable = {}, []
    for path in export_files(data_dir):
        try:
            samples[path.name] = read_sample(path, rows)
        except ValueError as exc:
            unreadable.append(str(exc))
    profiles = {name: {c: profile(c, s.table[c]) for c in s.table.column_names} for name, s in samples.items()}
    files = place_files(profiles)
    tables: dict[str, TableDraft] = {}
    ids: pa.Array | None = None
    for table in TABLES:
        found = files[table]
        if found.unknown:
            tables[table] = _unknown_table(load_contract(table), found)
            continue
        sample = samples[found.value]
        share = None if ids is None else _id_share(sample.table, ids)
        bills_fen = "bills" in tables and "amount" in tables["bills"].scales
        tables[table] = draft_table(load_contract(table), found, sample, profiles[found.value], share, bills_fen)
        key = tables[table].columns.get("subscriber_id")
        if table == "subscribers" and key is not None and not key.unknown:
            ids = pc.unique(_text(sample.table[key.value]).combine_chunks())
    placed = {g.value for g in files.values()}
    unplaced = tuple(f"{name}: no table's names or content" for name in samples if name not in placed)
    return Draft(data_dir, guess_encoding(list(samples.values())), tables, unplaced + tuple(unreadable))


def guess_encoding(samples: list[Sample]) -> Guess:
    """Return the mapping's `encoding`: the one every CSV file of the export reads in."""
    csvs = [s for s in samples if s.encoding is not None]
    if not csvs:
        return Guess("utf-8", "no CSV files: Parquet carries its own encoding", "none needed")
    for encoding in ("gb18030", "gbk"):
        named = [s.name for s in csvs if s.encoding == encoding]
        if named:
            shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
            return Guess(encoding, f"{shown}: not UTF-8 text, read as {encoding.upper()}", "bytes")
    return Guess("utf-8", "the CSV files read as UTF-8 (a BOM is fine)", "bytes")


def place_files(profiles: dict[str, dict[str, Profile]]) -> dict[str, Guess]:
    """Return the file guessed for each table (UNKNOWN where none fits), from file names and content."""
    scored = sorted(
        ((*_placement(table, name, list(columns.values())), table, name) for table in TABLES
         for name, columns in profiles.items()),
        key=lambda item: -item[0],
    )  # fmt: skip
    chosen: dict[str, Guess] = {}
    for score, why, table, name in scored:
        if score >= PLACED and table not in chosen and name not in {g.value for g in chosen.values()}:
            chosen[table] = Guess(name, why, "file name + content" if "file name" in why else "content")
    lacking = "no file's name or content looks like {}: name the file (a .csv or .parquet in the folder)"
    return {table: chosen.get(table, Guess(UNKNOWN, lacking.format(table))) for table in TABLES}


def _placement(table: str, file_name: str, columns: list[Profile]) -> tuple[int, str]:
    hint = file_hint(table, file_name)
    score, parts = (3, [f"file name ({hint})"]) if hint else (0, [])
    for shape, points, words in CONTENT[table]:
        named = [p.name for p in columns if (p.is_code and p.shape == "text" if shape == "code" else p.shape == shape)]
        if named:
            score += points
            parts += [f"{words} in {', '.join(named[:3])}"] if points > 0 else []
    return score, "; ".join(parts)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    text = column if is_text(column.type) else column.cast(pa.string())
    return pc.utf8_trim_whitespace(text)


def _id_share(table: pa.Table, ids: pa.Array) -> Callable[[str], float]:
    """Return a function giving the share of a column's values that are subscriber ids of the subscribers file."""

    def share(name: str) -> float:
        values = pc.drop_null(_text(table[name]))
        return float(pc.mean(pc.is_in(values, value_set=ids)).as_py() or 0.0) if len(values) else 0.0

    return share


def _unknown_table(contract: Contract, file: Guess) -> TableDraft:
    need = "the file of this table is not known"
    return TableDraft(contract.table, file, columns={c: Guess(UNKNOWN, need) for c in contract.required_columns})


def draft_table(
    contract: Contract,
    file: Guess,
    sample: Sample,
    profiles: dict[str, Profile],
    id_share: Callable[[str], float] | None,
    bills_fen: bool = False,
) -> TableDraft:
    """Return the draft of one table from its file's sample: columns, dates, codes and scales."""
    columns = guess_columns(contract, profiles, id_share)
    found = {c: profiles[g.value] for c, g in columns.items() if not g.unknown}
    used = {g.value for g in columns.values()}
    return TableDraft(
        contract.table,
        file,
        sample.rows,
        columns,
        absent=tuple(c for c in contract.optional_columns if c not in columns),
        unused=tuple(name for name in profiles if name not in used),
        dates=guess_dates(contract, found),
        codes=guess_codes(contract, found),
        scales=guess_scales(contract.table, found, bills_fen),
    )


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


def guess_dates(contract: Contract, found: dict[str, Profile]) -> dict[str, Guess]:
    """Return `dates:` entries: a strptime format for text dates that need one or read better with one."""
    dates: dict[str, Guess] = {}
    for column, p in found.items():
        if contract.columns[column].type not in ("date", "datetime") or p.shape == "empty":
            continue
        if p.date_format == UNKNOWN:
            dates[column] = Guess(UNKNOWN, f"values like {p.example} fit {' and '.join(p.formats)}: which one?")
        elif p.date_format is None and p.shape == "text":
            dates[column] = Guess(UNKNOWN, f"values like {p.example}: give their strptime format")
        elif p.date_format:
            dates[column] = Guess(p.date_format, f"values like {p.example}", "values")
    return dates


def guess_codes(contract: Contract, found: dict[str, Profile]) -> dict[str, Codes]:
    """Return, for each closed column found, its codes and a guessed tiercast value for each code not tiercast's."""
    codes: dict[str, Codes] = {}
    for column, p in found.items():
        allowed = contract.columns[column].closed_values
        if allowed is None:
            continue
        entries = {}
        for code, rows in p.codes or ():
            hit = None if code in allowed else code_guess(column, code)
            if hit is not None:
                entries[code] = Guess(hit[0], f"{_rows(rows)}; '{hit[1]}' means {hit[0]}", "values")
            elif code not in allowed:
                entries[code] = Guess(UNKNOWN, f"{_rows(rows)}: which of {', '.join(allowed)}?")
        codes[column] = Codes(p.codes, p.nulls, entries)
    return codes


def _rows(count: int) -> str:
    return f"{count:,} row" + "s" * (count != 1)


def guess_scales(table: str, found: dict[str, Profile], bills_fen: bool) -> dict[str, Guess]:
    """Return `scales:` entries: 0.01 for whole-number amounts that look like fen (分)."""
    main = found.get("amount" if table == "bills" else "amount_paid")
    if main is None or main.shape != "number" or not main.integral:
        return {}
    typical = main.median or 0.0
    if typical >= FEN_MEDIAN:
        why = f"whole numbers, median {typical:,.0f}: fen? (0.01 turns fen into CNY)"
    elif bills_fen:
        why = "whole numbers, and the bills' amounts look like fen"
    else:
        return {}
    money = [c for c, p in found.items() if c in MONEY and p.shape == "number" and p.integral]
    return {c: Guess("0.01", why if found[c] is main else "whole numbers like the amount: the same unit", "values")
            for c in money}  # fmt: skip


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
        "# values: map the export's codes to tiercast's; dates: strptime formats; scales: multiply (fen -> CNY).",
        f"# Then run: tiercast validate --data {draft.data_dir} --mapping {out or 'THIS_FILE'}",
        f"encoding: {_scalar(draft.encoding.value)}{_comment(draft.encoding)}",
    ]
    lines += [f"# file not placed: {note}" for note in draft.unplaced]
    lines.append("tables:")
    for table in draft.tables.values():
        lines += _table_lines(table)
    return "\n".join(lines) + "\n"


def _table_lines(table: TableDraft) -> list[str]:
    lines = [f"  {table.table}:", f"    file: {_scalar(table.file.value)}{_comment(table.file)}", "    columns:"]
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
    own = [f"{code} ({_rows(rows)})" for code, rows in codes.counts if code not in codes.entries]
    if not codes.entries:
        return [
            f"    # values of {column}: {', '.join(own) or 'none'} are tiercast's own codes, no entry needed; {counted}"
        ]
    lines = [f"      {column}:  # {counted}"]
    lines += [_entry(8, code, guess) for code, guess in codes.entries.items()]
    if own:
        lines.append(f"        # {', '.join(own)}: tiercast's own codes, no entry needed")
    return lines
