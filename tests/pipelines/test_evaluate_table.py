"""evaluate-table end to end on small CSVs: blanks, numeric strings, categories, a Yes/No target, an id."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.evaluate_table import evaluate_table, read_any
from tests.cli.cli_app import app_with


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
    result = evaluate_table(settings, path, "Churn", "Yes", "customerID", folds=3, seed=1)
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


def test_cli_prints_exactly_one_json_line(settings, tmp_path: Path) -> None:
    from tiercast.cli import evaluate_table as command

    app = app_with(settings, command)
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
    assert "cross-validation" in result.stderr


def test_cli_reports_a_wrong_target_clearly(settings, tmp_path: Path) -> None:
    from tiercast.cli import evaluate_table as command

    app = app_with(settings, command)
    path = write_telco_like(tmp_path / "telco.csv", n=50)
    result = CliRunner().invoke(app, ["evaluate-table", str(path), "--target", "Exited", "--positive", "1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Exited" in result.stderr
