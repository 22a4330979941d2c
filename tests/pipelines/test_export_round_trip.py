"""Round trip: generated data written the way another system exports it and read back through its mapping
gives the canonical feature table, for every feature whose inputs the export carries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.availability import unavailable_features
from features.build import feature_table
from pipelines.features import data_end_date
from pipelines.ingest import validate_tables
from pipelines.mapping import load_mapping
from pipelines.quarantine import ValidationResult
from tiercast.synthetic import generate
from tiercast.synthetic.export_styles import write_export

TABLES = ("subscribers", "bills", "payments", "contacts")
OPEN_VOCABULARIES = ("plan", "brand", "region", "segment", "gender", "sales_channel")
ID_TEXT = {"crm-b": "U{:08d}".format, "bss-a": "86{:018d}".format}


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory, settings_module) -> Path:
    folder = tmp_path_factory.mktemp("canonical")
    generate(folder, 2000, 8, 5, settings_module.generator)
    return folder


@pytest.fixture(scope="module")
def settings_module(tmp_path_factory: pytest.TempPathFactory):
    from tiercast.settings import load_settings

    return load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path_factory.mktemp("root"))})


def read(settings, folder: Path, mapping: Path | None) -> ValidationResult:
    return validate_tables(
        folder,
        settings.validation,
        folder.parent / f"{folder.name}-quarantine",
        folder.parent / f"{folder.name}-report.json",
        mapping=None if mapping is None else load_mapping(mapping),
    )


def features(settings, result: ValidationResult) -> pd.DataFrame:
    s, b, p, c = (result.tables[t] for t in TABLES)
    return feature_table(
        s, b, p, c, data_end_date(b, settings.validation.data_end_min_share), settings.features, result.absent
    )


@pytest.mark.parametrize("style", ["crm-b", "bss-a"])
def test_an_export_read_through_its_mapping_gives_the_canonical_features(
    settings_module, canonical: Path, tmp_path: Path, style: str
) -> None:
    settings = settings_module
    export = tmp_path / style
    write_export(canonical, export, style)

    full, exported = read(settings, canonical, None), read(settings, export, export / "mapping.yaml")

    assert all(exported.reports[t].quarantined == 0 for t in TABLES)
    assert [exported.reports[t].rows_read for t in TABLES] == [full.reports[t].rows_read for t in TABLES]
    expected, got = features(settings, full), features(settings, exported)
    unavailable = unavailable_features(exported.absent)
    assert got["subscriber_id"].tolist() == [ID_TEXT[style](i) for i in expected["subscriber_id"]]
    for name in OPEN_VOCABULARIES:
        if name not in unavailable:  # the export's own names, one to one with the generator's
            pairs = pd.DataFrame({"ours": expected[name], "theirs": got[name]}).drop_duplicates()
            assert pairs["ours"].is_unique and pairs["theirs"].is_unique, name
            assert (pairs["ours"].isna() == pairs["theirs"].isna()).all(), name
    compared = expected.columns.drop(["subscriber_id", *OPEN_VOCABULARIES, *unavailable], errors="ignore")
    assert len(compared) >= 25  # ARPU, usage, credit, contacts, tenure: every feature the export can feed
    for name in compared:
        pd.testing.assert_series_equal(got[name], expected[name], check_dtype=False, obj=name)
    for name in unavailable:
        values = got[name]
        assert values.isna().all() or name == "do_not_contact", name
    if style == "crm-b":
        assert {"usage_trend", "long_distance_share", "contract_months_left", "abandoned_30d", "age"} <= set(
            unavailable
        )
        assert "data_share" not in unavailable and "unresolved_share_90d" not in unavailable
        assert not np.isnan(got["data_share"]).all()
    else:
        assert unavailable == []
