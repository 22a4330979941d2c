from datetime import date

import numpy as np
import pandas as pd

from features.profile import STATIC_COLUMNS, profile_features
from tests.features import frames


def test_profile_copies_static_columns_and_derives_age() -> None:
    active = frames.subscribers(
        {"subscriber_id": 1, "birth_year": 1980, "list_flag": "red", "do_not_contact": True, "plan": "prepaid_19"},
        {"subscriber_id": 2, "birth_year": None, "gender": None},
    )
    profile = profile_features(active, date(2025, 3, 31))
    assert list(profile.columns) == [*STATIC_COLUMNS, "age", "do_not_contact"]
    assert profile["plan"].tolist() == ["prepaid_19", "postpaid_58"]
    assert profile["list_flag"].iloc[0] == "red"
    assert pd.isna(profile["list_flag"].iloc[1])
    assert pd.isna(profile["gender"].iloc[1])
    assert profile["age"].iloc[0] == 45.0
    assert np.isnan(profile["age"].iloc[1])
    assert profile["do_not_contact"].dtype == bool
    assert profile["do_not_contact"].tolist() == [True, False]
