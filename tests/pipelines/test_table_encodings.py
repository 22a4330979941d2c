"""An export assembled from several systems: one table's file in its own encoding and separator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from data_contracts.loader import ContractError
from pipelines.mapping import MappingError, load_mapping
from pipelines.mapping_draft import draft_mapping
from pipelines.mapping_text import draft_text
from pipelines.sources import locate
from tests.data_contracts.tables import valid_tables, write_tables
from tests.pipelines.test_mapping import validate
from tests.pipelines.test_mapping_draft import answered, parsed


def crm_beside_billing(folder: Path) -> Path:
    """The CRM's subscriber file in GBK with ';' (Chinese plan names), the other files UTF-8 with ',' (the contact
    log with a Chinese remark column, which tiercast does not read)."""
    tables = valid_tables()
    tables["contacts"] = tables["contacts"].assign(
        备注=[("已处理", "回访")[i % 2] for i in range(len(tables["contacts"]))]
    )
    subscribers = tables.pop("subscribers")
    subscribers = subscribers.assign(plan=[("畅享套餐", "校园卡")[i % 2] for i in range(len(subscribers))])
    write_tables(folder, tables, "csv")
    subscribers.to_csv(folder / "subscribers.csv", sep=";", index=False, encoding="gbk")
    return folder


def test_a_table_reads_in_its_own_encoding_and_separator(settings, tmp_path: Path) -> None:
    folder = crm_beside_billing(tmp_path / "export")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('tables:\n  subscribers: {encoding: gbk, delimiter: ";"}\n', encoding="utf-8")

    result = validate(settings, folder, mapping)

    assert {t: r.quarantined for t, r in result.reports.items()} == dict.fromkeys(result.reports, 0)
    assert set(result.tables["subscribers"]["plan"]) == {"畅享套餐", "校园卡"}
    sources = {t: locate(folder, t, load_mapping(mapping)) for t in ("subscribers", "bills")}
    assert [(s.encoding, s.delimiter) for s in sources.values()] == [("gbk", ";"), ("utf-8", ",")]


def test_without_the_tables_own_entry_the_header_is_not_read(settings, tmp_path: Path) -> None:
    folder = crm_beside_billing(tmp_path / "export")
    told = (
        "subscribers.csv: the header is not utf-8 text (it reads as gbk: set `encoding: gbk` in the mapping, or "
        "under tables.subscribers for this table alone)"
    )
    with pytest.raises(ContractError, match=re.escape(told)):
        validate(settings, folder, None)


def test_a_tables_encoding_and_separator_are_checked_like_the_exports(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("tables:\n  bills: {encoding: klingon}\n")
    with pytest.raises(MappingError, match="klingon"):
        load_mapping(path)
    path.write_text('tables:\n  bills: {delimiter: "#"}\n')
    with pytest.raises(MappingError, match="delimiter"):
        load_mapping(path)
    path.write_text("tables:\n  bills: {delimiter: tab}\n")
    assert load_mapping(path).table("bills").delimiter == "\t"


def test_the_draft_gives_the_odd_table_its_own_encoding_and_separator(settings, tmp_path: Path) -> None:
    folder = crm_beside_billing(tmp_path / "export")

    text = draft_text(draft_mapping(folder))

    draft = parsed(text)
    assert draft["encoding"] == "utf-8" and "delimiter" not in draft
    assert (draft["tables"]["subscribers"]["encoding"], draft["tables"]["subscribers"]["delimiter"]) == ("gbk", ";")
    assert "encoding" not in draft["tables"]["bills"] and "delimiter" not in draft["tables"]["bills"]
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(answered(draft, {}), allow_unicode=True), encoding="utf-8")
    result = validate(settings, folder, mapping)
    assert {t: r.quarantined for t, r in result.reports.items()} == dict.fromkeys(result.reports, 0)
