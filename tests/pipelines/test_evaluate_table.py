"""evaluate-table end to end on small CSVs: blanks, numeric strings, categories, a Yes/No target, an id;
the choice between LightGBM and the spline logistic regression by inner cross-validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.table import PreparedTable
from pipelines import evaluate_table as pipeline
from pipelines.evaluate_table import cross_validate, evaluate_table, read_any
from tests.cli.cli_app import app_with
from tiercast.settings import Settings
from tiercast.settings.evaluation import TableSettings

FAST_LIGHTGBM = {
    "learning_rate": 0.1,
    "n_estimators": 300,
    "early_stopping_rounds": 30,
    "calibration_folds": 3,
    "n_jobs": 1,  # one thread: small fits, and no OpenMP spinning against the other tests on a shared machine
}
FAST_LINEAR = {"c_grid": [0.01, 0.1, 1.0], "c_folds": 2}


def fast(settings: Settings, **table: object) -> Settings:
    """Return `settings` with quick candidates (few trees, 3 penalties) and the given evaluation.table fields."""
    current = settings.evaluation.table
    updated = TableSettings.model_validate(
        current.model_dump()
        | {"model": current.model.model_dump() | FAST_LIGHTGBM, "linear": current.linear.model_dump() | FAST_LINEAR}
        | table
    )
    evaluation = settings.evaluation.model_copy(update={"table": updated})
    return settings.model_copy(update={"evaluation": evaluation})


def numeric_table(n: int, interaction: bool) -> PreparedTable:
    """Six numeric columns; churn linear in four of them, or a threshold interaction (XOR) of two."""
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    if interaction:
        p = np.where((x["x0"] > 0) ^ (x["x1"] > 0), 0.85, 0.15)
    else:
        p = 1 / (1 + np.exp(-(0.8 * x["x0"] - 0.8 * x["x1"] + 0.6 * x["x2"] + 0.6 * x["x3"] - 1.0)))
    y = pd.Series((rng.uniform(size=n) < p).astype("int64"))
    return PreparedTable(x, y, dict.fromkeys(x.columns, "numeric"))


def write_telco_like(path: Path, n: int = 400, sep: str = ",") -> Path:
    """A Telco-shaped CSV: id, numeric text with blanks, Yes/No columns, categories, free text."""
    rng = np.random.default_rng(3)
    tenure = rng.integers(0, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n)
    churn = (rng.uniform(size=n) < np.where(contract == "Month-to-month", 0.6, 0.1) * np.exp(-tenure / 60)).astype(bool)
    total = np.array([f"{v:.2f}" for v in tenure * rng.uniform(20, 100, n)], dtype=object)
    total[tenure == 0] = " "
    frame = pd.DataFrame(
        {
            "customerID": [f"{i:04d}-{c}" for i, c in enumerate(rng.choice(list("ABCDEFG"), n))],
            "tenure": tenure,
            "Contract": contract,
            "Partner": rng.choice(["Yes", "No"], n),
            "TotalCharges": total,
            "Comment": [f"note {i}" for i in range(n)],
            "Churn": np.where(churn, "Yes", "No"),
        }
    )
    frame.to_csv(path, index=False, sep=sep)
    return path


@pytest.mark.parametrize("sep", [",", ";"])
def test_read_any_sniffs_the_delimiter(tmp_path: Path, sep: str) -> None:
    frame = read_any(write_telco_like(tmp_path / "t.csv", n=30, sep=sep))
    assert list(frame.columns) == ["customerID", "tenure", "Contract", "Partner", "TotalCharges", "Comment", "Churn"]


def test_evaluate_table_cross_validates(settings, tmp_path: Path) -> None:
    path = write_telco_like(tmp_path / "telco.csv")
    result = evaluate_table(fast(settings), path, "Churn", "Yes", "customerID", folds=3, seed=1)
    summary = result.summary
    assert summary["n_rows"] == 400 and summary["folds"] == 3
    assert summary["n_features"] == 4  # tenure, Contract, Partner, TotalCharges
    assert result.prepared.kinds == {
        "tenure": "numeric",
        "Contract": "category",
        "Partner": "boolean",
        "TotalCharges": "numeric",
    }
    assert set(summary["excluded_columns"]) == {"customerID", "Comment"}
    assert len(result.folds) == 3
    assert summary["roc_auc_mean"] > 0.7  # contract and tenure drive churn
    assert 0 <= summary["roc_auc_std"] < 0.2


@pytest.mark.parametrize(("interaction", "winner"), [(False, "linear"), (True, "lightgbm")])
def test_inner_cross_validation_chooses_the_better_model(settings, interaction: bool, winner: str) -> None:
    # given 1,000 rows whose churn is linear in four numbers (or an XOR of two thresholds)
    prepared = numeric_table(1000, interaction)
    folds, _ = cross_validate(prepared, fast(settings).evaluation, folds=3, seed=0)
    # then every outer fold picks the model whose inner mean ROC AUC is higher, and scores it
    assert folds["chosen"].tolist() == [winner] * 3
    loser = {"linear": "lightgbm", "lightgbm": "linear"}[winner]
    assert (folds[f"inner_roc_auc_{winner}"] > folds[f"inner_roc_auc_{loser}"]).all()
    assert folds["roc_auc"].tolist() == folds[f"{winner}_roc_auc"].tolist()


def test_summary_carries_the_choice_and_both_scores(settings, tmp_path: Path) -> None:
    path = write_telco_like(tmp_path / "telco.csv", n=500)
    summary = evaluate_table(fast(settings), path, "Churn", "Yes", "customerID", folds=3, seed=1).summary
    assert summary["candidates"] == ["lightgbm", "linear"]
    assert summary["inner_folds"] == 3
    assert sum(summary["model_choice"].values()) == 3
    assert summary["chosen_model"] in {"lightgbm", "linear"}
    for key in ("inner_roc_auc_lightgbm", "inner_roc_auc_linear", "lightgbm_roc_auc_mean", "linear_roc_auc_mean"):
        assert 0.6 < summary[key] <= 1.0, key
    assert summary["chosen_roc_auc_mean"] == summary["roc_auc_mean"]
    json.dumps(summary, allow_nan=False)


def test_one_candidate_means_no_inner_cross_validation(settings, tmp_path: Path, monkeypatch) -> None:
    def no_inner_cv(*args: object) -> float:
        raise AssertionError("inner cross-validation ran with a single candidate")

    monkeypatch.setattr(pipeline, "inner_roc_auc", no_inner_cv)
    path = write_telco_like(tmp_path / "telco.csv", n=200)
    result = evaluate_table(fast(settings, candidates=["linear"]), path, "Churn", "Yes", None, folds=2, seed=1)
    summary = result.summary
    assert summary["model_choice"] == {"linear": 2}
    assert summary["inner_folds"] == 0
    assert summary["inner_roc_auc_linear"] is None and summary["lightgbm_roc_auc_mean"] is None
    assert summary["trees_mean"] is None
    assert summary["model"] == "spline logistic regression (L2)"
    json.dumps(summary, allow_nan=False)


def test_candidates_are_listed_once(settings) -> None:
    with pytest.raises(ValueError, match="lists a model twice"):
        fast(settings, candidates=["linear", "linear"])


def test_track_logs_the_choice_as_numbers(settings, tmp_path: Path, monkeypatch) -> None:
    import contextlib

    from pipelines import tracking

    logged: dict[str, dict] = {}
    monkeypatch.setattr(tracking, "run", lambda *args, **kwargs: contextlib.nullcontext("run-1"))
    monkeypatch.setattr(tracking, "log_params", lambda params: logged.update(params=dict(params)))
    monkeypatch.setattr(tracking, "log_metrics", lambda metrics: logged.update(metrics=dict(metrics)))
    monkeypatch.setattr(tracking, "log_table", lambda *args: None)
    monkeypatch.setattr(tracking, "log_dict", lambda *args: None)
    quick = fast(settings, candidates=["linear"])
    result = evaluate_table(quick, write_telco_like(tmp_path / "t.csv", n=200), "Churn", "Yes", None, 2, 1)
    assert pipeline.track(quick, result) == "run-1"
    metrics, params = logged["metrics"], logged["params"]
    assert metrics["wins_linear"] == 2.0
    assert metrics["linear_roc_auc_mean"] == metrics["chosen_roc_auc_mean"] == result.summary["roc_auc_mean"]
    assert "lightgbm_roc_auc_mean" not in metrics  # not run: no metric rather than a null one
    assert all(isinstance(value, float) for value in metrics.values())
    assert params["chosen_model"] == "linear" and params["candidates"] == ["linear"]
    assert params["linear_n_knots"] == 5


def test_cli_prints_exactly_one_json_line(settings, tmp_path: Path) -> None:
    from tiercast.cli import evaluate_table as command

    app = app_with(fast(settings), command)
    path = write_telco_like(tmp_path / "telco.csv", n=300)
    result = CliRunner().invoke(
        app, ["evaluate-table", str(path), "--target", "Churn", "--positive", "Yes", "--folds", "3", "--no-track"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert {"roc_auc_mean", "roc_auc_std", "pr_auc_mean", "n_rows", "n_features"} <= set(summary)
    assert summary["excluded_columns"]["customerID"] == "text id (every value distinct)"
    assert {"chosen_model", "model_choice", "inner_roc_auc_linear", "lightgbm_roc_auc_mean"} <= set(summary)
    assert "cross-validation" in result.stderr
    assert "model chosen per fold" in result.stderr


def test_cli_help_mentions_the_model_choice(settings) -> None:
    from tiercast.cli import evaluate_table as command

    result = CliRunner().invoke(app_with(settings, command), ["evaluate-table", "--help"])
    assert result.exit_code == 0
    assert "inner cross-validation" in " ".join(result.stdout.split())


def test_cli_reports_a_wrong_target_clearly(settings, tmp_path: Path) -> None:
    from tiercast.cli import evaluate_table as command

    app = app_with(settings, command)
    path = write_telco_like(tmp_path / "telco.csv", n=50)
    result = CliRunner().invoke(app, ["evaluate-table", str(path), "--target", "Exited", "--positive", "1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Exited" in result.stderr
