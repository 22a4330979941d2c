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


def test_text_whose_values_repeat_is_a_category(settings) -> None:
    # given 5,000 rows of 51 cities, each about 100 times: more than max_categories (50) distinct values
    cities = pd.Series([f"City{i % 51:02d}" for i in range(5000)])
    kind, column = infer_column(cities, settings.evaluation.table)
    # then a category with every city a level (none is rare), not "id or free text"
    assert kind == "category"
    assert column is not None
    assert len(column.cat.categories) == 51
    assert column.tolist() == cities.tolist()


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([f"C{i:05d}" for i in range(5000)], "text id (every value distinct)"),
        (
            [f"called about bill {i % 2500}" for i in range(5000)],
            "text with 2500 distinct values in 5000 rows (2.0 rows per value, < 5): id or free text",
        ),
    ],
)
def test_values_that_barely_repeat_are_excluded(values: list[str], reason: str, settings) -> None:
    assert infer_column(pd.Series(values), settings.evaluation.table) == (reason, None)


def test_rare_levels_of_a_wide_category_are_pooled(settings) -> None:
    # given 60 levels of 100 rows and 10 levels of 3 rows (below rare_level_rows, 20)
    values = [f"L{i:02d}" for i in range(60) for _ in range(100)] + [f"R{i}" for i in range(10) for _ in range(3)]
    frame = pd.DataFrame({"plan": values, "churn": ["Yes", "No"] * (len(values) // 2)})
    prepared = prepare_table(frame, "churn", "Yes", None, settings.evaluation.table)
    plan = prepared.features["plan"]
    assert prepared.kinds == {"plan": "category"}
    assert list(plan.cat.categories) == ["(other)"] + [f"L{i:02d}" for i in range(60)]
    assert int((plan == "(other)").sum()) == 30
    assert prepared.pooled == {"plan": 10}


def test_a_wide_category_of_only_rare_levels_is_excluded(settings) -> None:
    # given 60 levels of 6 rows: values repeat (6 rows per value) but no level reaches 20 rows
    values = pd.Series([f"L{i:02d}" for i in range(60) for _ in range(6)])
    reason, column = infer_column(values, settings.evaluation.table)
    assert (reason, column) == ("category with 60 levels, fewer than 2 seen in 20+ rows", None)


def test_small_tables_keep_few_valued_text_as_categories(settings) -> None:
    # given 30 rows with 10 values of 3 rows each: at most max_categories levels, never pooled
    values = pd.Series([f"V{i % 10}" for i in range(30)])
    kind, column = infer_column(values, settings.evaluation.table)
    assert kind == "category"
    assert column is not None
    assert len(column.cat.categories) == 10
