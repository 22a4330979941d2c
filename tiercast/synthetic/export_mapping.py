"""The source mapping of an export style: which file, column names, codes, date formats and units.

An `ExportStyle` lists, per canonical table, the export's file and its columns (export_csv.Column);
its mapping.yaml is derived from those same columns, so the mapping and the files cannot disagree.
Keys: encoding, tables.<table>.file / columns / dates / values / scales.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from tiercast.synthetic.export_csv import Column, Formatter


@dataclass(frozen=True)
class TableExport:
    """How one canonical table is exported: its file, its columns and notes for the mapping file."""

    file: str
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportStyle:
    """An operator's export: text encoding, subscriber-id format and one file per canonical table."""

    name: str
    summary: str
    encoding: str  # Python codec of the files and the mapping's `encoding`
    bom: bool
    ids: Formatter  # canonical subscriber_id -> the export's id text (also used for _truth/)
    tables: Mapping[str, TableExport]


def table_mapping(export: TableExport) -> dict[str, Any]:
    """Return the mapping entry of one table: file, columns and, where needed, dates, values and scales."""
    entry: dict[str, Any] = {"file": export.file, "columns": {c.source: c.name for c in export.columns}}
    sections = {
        "dates": {c.source: c.date_format for c in export.columns if c.date_format},
        "values": {c.source: dict(c.values) for c in export.columns if c.values},
        "scales": {c.source: c.scale for c in export.columns if c.scale is not None},
    }
    return entry | {key: section for key, section in sections.items() if section}


def style_mapping(style: ExportStyle) -> dict[str, Any]:
    """Return the source mapping of an export style (the content of its mapping.yaml)."""
    return {"encoding": style.encoding, "tables": {name: table_mapping(t) for name, t in style.tables.items()}}


def mapping_text(style: ExportStyle) -> str:
    """Return mapping.yaml of an export style: the mapping with comments saying what each part means."""

    def dump(data: Mapping[str, Any]) -> list[str]:
        text = yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False, default_flow_style=None, width=10_000)
        return text.splitlines()

    lines = [
        f"# {style.name}: {style.summary}.",
        f"# Written by `tiercast generate --export-style {style.name}`: this source mapping reads the export",
        "# back as tiercast's canonical tables (data_contracts/*.yaml). Per table:",
        "#   columns: tiercast name: export's name (tiercast columns not listed are not in the export)",
        "#   dates:   strptime format of a text date or time",
        "#   values:  export's code: tiercast value, for the closed vocabularies only (an isin check in the",
        "#            contract); open ones (plan, brand, region, segment, ...) keep the export's own names",
        "#   scales:  multiply the export's number by this to get tiercast's unit (fen -> CNY)",
        "# Booleans (是/否, Y/N, 1/0, true/false), thousands separators and empty fields (null) need no entry.",
        f"encoding: {style.encoding}  # CSV text encoding: utf-8 (BOM ok), gbk, gb18030, utf-16, cp1252, any codec",
        "tables:",
    ]
    for name, export in style.tables.items():
        lines += [f"  # {note}" for note in export.notes]
        lines += ["  " + line for line in dump({name: table_mapping(export)})]
    return "\n".join(lines) + "\n"
