"""The same-results check of issue 15 compares what two revisions published, table by table."""

from __future__ import annotations

import pandas as pd

from benchmarks.compare_published import compare


def test_tables_equal_but_for_an_ignored_column_are_the_same_and_the_column_is_reported() -> None:
    base = {"tier_table": pd.DataFrame({"subscriber_key": ["a", "b"], "tier": ["high", "low"], "run_id": ["r1", "r1"]})}
    head = {"tier_table": pd.DataFrame({"subscriber_key": ["a", "b"], "tier": ["high", "low"], "run_id": ["r2", "r2"]})}
    assert compare(base, head)[0].startswith("DIFFERENT tier_table: 2 / 2 rows")
    lines = compare(base, head, ["run_id"])
    assert lines[0].startswith("same      tier_table: 2 / 2 rows")
    assert lines[1] == "ignored   run_id: base ['r1'] / head ['r2']"


def test_a_changed_value_or_a_missing_table_is_different() -> None:
    base = {"t": pd.DataFrame({"x": [1.0, 2.0]}), "only_base": pd.DataFrame({"x": [1]})}
    head = {"t": pd.DataFrame({"x": [1.0, 2.5]})}
    assert compare(base, head, ["run_id"]) == [
        "DIFFERENT only_base: only in base",
        compare(base, head)[1],
    ]
    assert compare(base, head)[1].startswith("DIFFERENT t: 2 / 2 rows")
