"""Ids of a table that the subscribers lack, explained when they are the subscribers' ids written another way."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.ingest import validate_tables
from pipelines.orphan_ids import written_otherwise
from pipelines.quarantine import QuarantineLimitError
from tests.data_contracts.tables import valid_tables, write_tables

KNOWN = pd.Series(["00000123", "00000456", "00000789"])


@pytest.mark.parametrize(
    ("orphans", "known", "means", "example"),
    [
        (["123", "456"], KNOWN, "once leading zeros are ignored", "bills '123', subscribers '00000123'"),
        (
            ["ab12 ", "CD34"],
            ["AB12", "cd34"],
            "once spaces and letter case are ignored",
            "bills 'ab12 ', subscribers 'AB12'",
        ),
        (
            ["0001", "0002"],
            ["CL-0001", "CL-0002"],
            "once the prefix 'CL-' the subscribers' ids carry is taken off",
            "bills '0001'",
        ),
        (["U0001", "U0002"], ["0001", "0002"], "once the prefix 'U' these ids carry is taken off", "bills 'U0001'"),
        (
            ["1", "2"],
            ["CL-0001", "CL-0002"],
            "once prefixes and leading zeros are ignored",
            "bills '1', subscribers 'CL-0001'",
        ),
    ],
    ids=["zeros", "case", "their-prefix", "our-prefix", "prefix-and-zeros"],
)
def test_ids_written_another_way_are_named_with_an_example(orphans, known, means, example) -> None:
    hint = written_otherwise(pd.Series(orphans), pd.Series(known), "bills")
    assert f"2 of the 2 unknown ids tried match subscribers' ids {means}" in hint
    assert example in hint and hint.endswith("fix the export (they are not matched so)")


def test_ids_that_are_simply_unknown_get_no_explanation() -> None:
    assert written_otherwise(pd.Series(["999", "888", "00000123"]), KNOWN, "bills") == ""  # 1 of 3 is no pattern
    assert written_otherwise(pd.Series([], dtype="string"), KNOWN, "bills") == ""


def test_integer_ids_against_zero_padded_text_ids() -> None:
    hint = written_otherwise(pd.Series([123, 456, 789]), KNOWN, "contacts")
    assert hint.startswith("3 of the 3 unknown ids tried match subscribers' ids once leading zeros are ignored")


def test_a_run_refused_for_unknown_ids_says_they_are_the_subscribers_written_without_zeros(settings, tmp_path) -> None:
    """Given a spreadsheet's export: zero-padded ids in the subscriber file, the zeros dropped everywhere else."""
    tables = valid_tables()
    padded = tables["subscribers"].assign(subscriber_id=lambda f: f["subscriber_id"].astype(str).str.zfill(8))
    plain = {t: f.assign(subscriber_id=f["subscriber_id"].astype(str)) for t, f in tables.items() if t != "subscribers"}
    folder = write_tables(tmp_path / "export", {"subscribers": padded, **plain})

    with pytest.raises(QuarantineLimitError) as refused:
        validate_tables(folder, settings.validation, tmp_path / "q", tmp_path / "report.json")

    bills = len(tables["bills"])
    assert (
        f"bills: {bills} of {bills} rows quarantined (100.00%), limit 1.00% (known_subscriber; likely cause: "
        in str(refused.value)
    )
    assert "match subscribers' ids once leading zeros are ignored (bills '1', subscribers '00000001')" in str(
        refused.value
    )
    described = refused.value.result.reports["bills"].descriptions["known_subscriber"]
    assert described.startswith("subscriber_id exists in subscribers; likely cause: ")
