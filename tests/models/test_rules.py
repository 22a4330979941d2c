"""Rule texts: each row's labels, formatted with that row's own value and joined in the conditions' order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.rules import describe
from tiercast.settings.tiers import Condition


def test_describe_formats_each_rows_own_value_and_joins_in_order() -> None:
    frame = pd.DataFrame({"arrears": [120.4, 0.0, -0.0, np.nan, 120.4], "calls": [3.0, 5.0, 3.0, 1.0, 2.0]})
    arrears = Condition(column="arrears", op=">=", threshold=0, label="arrears {value:.0f} CNY")
    calls = Condition(column="calls", op=">", threshold=2, label="{value:.0f} calls")
    silent = Condition(column="calls", op=">", threshold=0, label="")
    parts = [
        (arrears, np.array([True, True, True, True, False])),
        (silent, np.ones(5, dtype=bool)),
        (calls, np.array([True, False, True, False, True])),
    ]
    texts = describe(frame, parts, sep="; ")
    assert texts.tolist() == [
        "arrears 120 CNY; 3 calls",
        "arrears 0 CNY",
        "arrears -0 CNY; 3 calls",
        "arrears nan CNY",
        "2 calls",
    ]


def test_describe_gives_empty_text_where_no_condition_applies() -> None:
    frame = pd.DataFrame({"calls": [1.0, 2.0]})
    calls = Condition(column="calls", op=">", threshold=2, label="{value:.0f} calls")
    assert describe(frame, [(calls, np.array([False, False]))]).tolist() == ["", ""]
