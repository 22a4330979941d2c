"""A first source mapping for an operator's export, guessed from a sample, for a person to finish.

`draft_mapping(data_dir)` reads the first rows of each CSV / Parquet file (pipelines/export_sample.py),
places each file as one of tiercast's tables (file-name words and content), maps columns
(pipelines/column_assignment.py), and proposes date formats, code values and scales. Every guess says
why and what could not be guessed is "?" (pipelines/draft.py); pipelines/mapping_text.py writes it as
mapping YAML. Nothing is guessed silently. The heuristics live in pipelines/mapping_guess.py and
pipelines/column_profile.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.loader import Contract, load_contract
from pipelines.coerce import is_text
from pipelines.column_assignment import guess_columns
from pipelines.column_profile import Profile, profile
from pipelines.draft import UNKNOWN, Codes, Draft, Guess, TableDraft, row_count
from pipelines.export_sample import SAMPLE_ROWS, Sample, export_files, read_sample
from pipelines.mapping import EPOCH_FORMATS, OPTIONAL_TABLES
from pipelines.mapping_guess import code_guess, file_hint

TABLES = ("subscribers", "bills", "payments", "contacts", *OPTIONAL_TABLES)  # an optional one is drafted when found
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
    "contacts": (("datetime", 3, "date-times"), ("code", 1, "codes"), ("date", -1, "")),
    "campaigns": (("date", 2, "campaign dates"), ("datetime", 1, "call times"), ("code", 1, "codes")),
}
PLACED = 3  # points a file needs to be placed as a table


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
    zoned: list[str] = []  # mapped columns of typed timestamps with a time zone (instants)
    ids: pa.Array | None = None
    for table in TABLES:
        found = files[table]
        if found.unknown and table in OPTIONAL_TABLES:
            continue  # the export does not have it: no entry
        if found.unknown:
            tables[table] = _unknown_table(load_contract(table), found)
            continue
        sample = samples[found.value]
        share = None if ids is None else _id_share(sample.table, ids)
        bills_fen = "bills" in tables and "amount" in tables["bills"].scales
        tables[table] = draft_table(
            load_contract(table), found, sample, profiles[found.value], share, bills_fen, settled_formats(tables)
        )
        mapped = [(c, profiles[found.value].get(g.value)) for c, g in tables[table].columns.items() if not g.unknown]
        zoned += [f"{table}.{c} ({p.zone})" for c, p in mapped if p is not None and p.zone]
        key = tables[table].columns.get("subscriber_id")
        if table == "subscribers" and key is not None and not key.unknown:
            ids = pc.unique(_text(sample.table[key.value]).combine_chunks())
    placed = {g.value for g in files.values()}
    unplaced = tuple(f"{name}: no table's names or content" for name in samples if name not in placed)
    read = [samples[name] for name in samples if name in placed] or list(samples.values())
    encoding, own_encodings = guess_encoding(read)
    delimiter, own_delimiters = guess_delimiter(read)
    for table_name, drafted in tables.items():
        file = drafted.file.value
        tables[table_name] = replace(drafted, encoding=own_encodings.get(file), delimiter=own_delimiters.get(file))
    return Draft(
        data_dir,
        encoding,
        tables,
        unplaced + tuple(unreadable),
        delimiter,
        guess_decimal(profiles),
        guess_timezone(tables, zoned),
    )


def guess_encoding(samples: list[Sample]) -> tuple[Guess, dict[str, Guess]]:
    """Return the mapping's `encoding` and, per file that reads in another one (an export assembled from several
    systems), that file's own: the export's is the one most of the files whose bytes tell (not ASCII only) read in."""
    csvs = [s for s in samples if s.encoding is not None]
    if not csvs:
        return Guess("utf-8", "no CSV files: Parquet carries its own encoding", "none needed"), {}
    telling = [s for s in csvs if not s.ascii]  # ASCII-only files read in any of them
    families: dict[str, list[Sample]] = {}
    for sample in telling:
        families.setdefault(FAMILY.get(str(sample.encoding), str(sample.encoding)), []).append(sample)
    if len(families) <= 1:
        return _one_encoding(csvs), {}
    ranked = sorted(families.values(), key=lambda files: (-len(files), files[0].name))
    main = _one_encoding(ranked[0])
    own = {}
    for files in ranked[1:]:
        guess = _one_encoding(files)
        for sample in files:
            why = f"{guess.why}; the export's other files read in {main.value}"
            own[sample.name] = Guess(guess.value, why, guess.how)
    shown = ", ".join(s.name for s in ranked[0][:3])
    return Guess(main.value, f"{shown} ({len(ranked[0])} of {len(telling)} files): {main.why}", main.how), own


# Encodings that read the same files: a Chinese export in GBK or GB18030, a Western one in cp1252 or latin-1.
FAMILY = {"gbk": "chinese", "gb18030": "chinese", "cp1252": "western", "iso8859-1": "western"}


def _one_encoding(csvs: list[Sample]) -> Guess:
    """Return the encoding every one of these CSV files reads in (the widest of one family)."""
    for encoding in ("utf-16", "gb18030", "gbk", "iso8859-1", "cp1252"):
        named = [s.name for s in csvs if s.encoding == encoding]
        if named:
            shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
            return Guess(encoding, f"{shown}: {_encoding_why(encoding, csvs)}", "bytes")
    return Guess("utf-8", "the CSV files read as UTF-8 (a BOM is fine)", "bytes")


def _encoding_why(encoding: str, csvs: list[Sample]) -> str:
    """Return why the CSV files read in `encoding`, with a non-ASCII header of theirs for a Western encoding."""
    if encoding == "utf-16":
        return "a UTF-16 byte order mark"
    if encoding in ("gbk", "gb18030"):
        return f"not UTF-8 text, read as {encoding.upper()}"
    word = next((n for s in csvs if s.encoding == encoding for n in s.table.column_names if not n.isascii()), None)
    seen = f" ({word})" if word else ""
    # cp1252 is Windows' Western European text (what Excel saves as "CSV"): latin-1's printable characters plus
    # € ‘ ’ “ ” … in bytes latin-1 spends on control characters, so it reads a latin-1 export the same.
    if encoding == "cp1252":
        return f"not UTF-8 text; accented Latin letters inside words{seen}, not GBK: Western European (Windows) text"
    return f"not UTF-8 text; accented Latin letters inside words{seen}, bytes cp1252 leaves undefined: latin-1"


def guess_delimiter(samples: list[Sample]) -> tuple[Guess | None, dict[str, Guess]]:
    """Return the mapping's `delimiter` when the CSV files are not comma separated (None: no entry needed) and, per
    file with another separator, its own: the export's is the one most files use."""
    files = [s for s in samples if s.delimiter is not None]
    counts: dict[str, int] = {}
    for sample in files:
        counts[str(sample.delimiter)] = counts.get(str(sample.delimiter), 0) + 1
    if not counts:
        return None, {}
    main = max(sorted(counts), key=lambda d: (counts[d], d == ","))
    own = {
        s.name: Guess(str(s.delimiter), f"its header line is separated by {s.delimiter!r}", "header")
        for s in files
        if s.delimiter != main
    }
    if main == ",":
        return None, own
    return Guess(main, f"the CSV header lines are separated by {main!r}", "header"), own


def guess_decimal(profiles: dict[str, dict[str, Profile]]) -> Guess | None:
    """Return the mapping's `decimal` when text numbers carry a decimal comma (None: the default point)."""
    commas = [f"{name}: {p.name} ({p.example})" for name, columns in profiles.items() for p in columns.values()
              if p.decimal_comma]  # fmt: skip
    if not commas:
        return None
    return Guess(",", f"numbers with a decimal comma in {', '.join(commas[:3])}", "values")


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
    lacking = "no file's name or content looks like {}: name the file (a file, folder or glob pattern in the export)"
    return {table: chosen.get(table, Guess(UNKNOWN, lacking.format(table))) for table in TABLES}


def _placement(table: str, file_name: str, columns: list[Profile]) -> tuple[int, str]:
    hint = file_hint(table, file_name)
    score, parts = (3, [f"file name ({hint})"]) if hint else (0, [])
    for shape, points, words in CONTENT[table]:
        named = [p.name for p in columns if _has_shape(p, shape)]
        if named:
            score += points
            parts += [f"{words} in {', '.join(named[:3])}"] if points > 0 else []
    return score, "; ".join(parts)


def _has_shape(found: Profile, shape: str) -> bool:
    """True if a column is of a CONTENT shape (codes: text codes; date-times: epoch seconds / ms too)."""
    if shape == "code":
        return found.is_code and found.shape == "text"
    return found.shape == shape or (shape == "datetime" and found.time_digits)


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
    settled: frozenset[str] = frozenset(),
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
        dates=guess_dates(contract, found, settled),
        codes=guess_codes(contract, found),
        scales=guess_scales(contract.table, found, bills_fen),
    )


def settled_formats(tables: dict[str, TableDraft]) -> frozenset[str]:
    """Return the date formats the tables drafted so far settled on (their date parts too: `%d/%m/%Y`)."""
    formats = {g.value for t in tables.values() for g in t.dates.values() if not g.unknown}
    return frozenset(formats | {fmt.split(" %H")[0] for fmt in formats})


def guess_dates(
    contract: Contract, found: dict[str, Profile], settled: frozenset[str] = frozenset()
) -> dict[str, Guess]:
    """Return `dates:` entries: a strptime format for text dates that need one or read better with one.

    Values that fit several formats (01/12/2024: day first or month first?) take the one the table's other
    dates or the export's other tables settled on, when exactly one of them is.
    """
    dates: dict[str, Guess] = {}
    own = {p.date_format for p in found.values() if p.date_format not in (None, "", UNKNOWN)}
    settled = settled | own | {fmt.split(" %H")[0] for fmt in own if fmt}
    for column, p in found.items():
        if contract.columns[column].type not in ("date", "datetime") or p.shape == "empty":
            continue
        # An hour YYYYMMDDHH or epoch seconds is never settled by the other dates: the two readings are hours apart.
        known = [
            fmt
            for fmt in p.formats
            if (fmt in settled or fmt.split(" %H")[0] in settled) and "epoch_s" not in p.formats
        ]
        if p.date_format == UNKNOWN and len(known) == 1:
            why = f"values like {p.example} fit {' and '.join(p.formats)}; the export's other dates read {known[0]}"
            dates[column] = Guess(known[0], why, "values + other tables")
        elif p.date_format == UNKNOWN:
            zone = " (epoch_s needs timezone: at the top too)" if "epoch_s" in p.formats else ""
            dates[column] = Guess(UNKNOWN, f"values like {p.example} fit {' and '.join(p.formats)}: which one?{zone}")
        elif p.date_format is None and p.shape == "text":
            dates[column] = Guess(UNKNOWN, f"values like {p.example}: give their strptime format")
        elif p.date_format in EPOCH_FORMATS:
            dates[column] = Guess(p.date_format, _epoch_why(p.example, p.date_format), "values")
        elif p.date_format:
            dates[column] = Guess(p.date_format, f"values like {p.example}", "values")
    return dates


def _epoch_why(example: str, fmt: str) -> str:
    """Return why digits are taken for epoch instants: the example read as one (UTC), the unit, the time zone."""
    seconds = int(example) / (1000 if fmt == "epoch_ms" else 1)
    utc = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    unit = "milliseconds" if fmt == "epoch_ms" else "seconds"
    return f"values like {example}: {unit} since 1970 ({utc} UTC), read in the mapping's timezone"


def guess_timezone(tables: dict[str, TableDraft], zoned: Sequence[str] = ()) -> Guess | None:
    """Return the mapping's `timezone` when a table reads epoch instants or `zoned` timestamps with a time zone
    (None: no entry needed)."""
    epochs = [f"{t.table}.{c}" for t in tables.values() for c, g in t.dates.items() if g.value in EPOCH_FORMATS]
    instants = [*epochs, *zoned]
    if not instants:
        return None
    what = "are epoch instants" if not zoned else "are instants" if epochs else "are timestamps with a time zone"
    why = f"{', '.join(instants)} {what}: the operator's local time zone they become (e.g. Asia/Shanghai)?"
    return Guess(UNKNOWN, why)


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
                entries[code] = Guess(hit[0], f"{row_count(rows)}; '{hit[1]}' means {hit[0]}", "values")
            elif code not in allowed:
                entries[code] = Guess(UNKNOWN, f"{row_count(rows)}: which of {', '.join(allowed)}?")
        codes[column] = Codes(p.codes, p.nulls, entries)
    return codes


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
