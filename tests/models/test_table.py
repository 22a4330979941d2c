"""Type inference of `evaluate-table`: blanks, numeric strings, yes/no, categories, ids, constants."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from models.table import infer_column, prepare_table, target_vector

CSV = """customerID,gender,SeniorCitizen,tenure,TotalCharges,Partner,Contract,Notes,Const,Churn
7590-VHVEG,Female,0,1,29.85,Yes,Month-to-month,called twice,x,No
5575-GNVDE,Male,0,34,1889.5,No,One year,moved,x,No
3668-QPYBK,Male,0,2, ,No,Month-to-month,angry,x,Yes
7795-CFOCW,Male,1,45,1840.75,No,One year,,x,No
9237-HQITU,Female,0,2,151.65,Yes,Month-to-month,billing,x,Yes
9305-CDSKC,Female,1,8,820.5,No,Two year,price,x,
"""


@pytest.fixture
def telco() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(CSV))


def test_prepare_table_infers_every_kind(telco: pd.DataFrame, settings) -> None:
    table_settings = settings.evaluation.table.model_copy(update={"max_categories": 3})
    prepared = prepare_table(telco, "Churn", "Yes", "customerID", table_settings)
    assert prepared.dropped_rows == 1  # blank target
    assert prepared.target.tolist() == [0, 0, 1, 0, 1]
    assert prepared.kinds == {
        "gender": "category",
        "SeniorCitizen": "numeric",
        "tenure": "numeric",
        "TotalCharges": "numeric",
        "Partner": "boolean",
        "Contract": "category",
    }
    assert prepared.excluded["customerID"] == "id column (--id)"
    assert prepared.excluded["Const"] == "constant"
    assert prepared.excluded["Notes"].startswith("text with 4 distinct")  # free text: more than 3 values
    features = prepared.features
    assert features["TotalCharges"].isna().tolist() == [False, False, True, False, False]
    assert features["TotalCharges"].iloc[0] == 29.85
    assert features["Partner"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert list(features["Contract"].cat.categories) == ["Month-to-month", "One year"]


@pytest.mark.parametrize(
    ("values", "positive", "expected"),
    [
        (["Yes", "no", " yes ", None], "yes", [1, 0, 1, None]),
        ([1, 0, 1.0, 0], "1", [1, 0, 1, 0]),
        (["True", "False", "", "True"], "True", [1, 0, None, 1]),
    ],
)
def test_target_vector(values: list, positive: str, expected: list) -> None:
    result = target_vector(pd.Series(values, dtype=object), positive)
    assert [None if pd.isna(v) else int(v) for v in result] == expected


def test_id_like_columns_are_excluded_without_id_flag(settings) -> None:
    frame = pd.DataFrame({"cust": [f"C{i:04d}" for i in range(30)], "num_id": range(1000, 1030)})
    assert infer_column(frame["cust"], settings.evaluation.table)[0] == "text id (every value distinct)"
    assert infer_column(frame["num_id"], settings.evaluation.table)[0] == "integer id (every value distinct)"


def test_unknown_positive_value_is_a_clear_error(telco: pd.DataFrame, settings) -> None:
    with pytest.raises(ValueError, match="check --positive"):
        prepare_table(telco, "Churn", "Churned", None, settings.evaluation.table)
