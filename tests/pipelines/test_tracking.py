"""MLflow tracking through pipelines.tracking: local SQLite store under tmp_path, model round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.churn import ChurnModel
from pipelines import plots, tracking
from tests.models.test_churn import churn_frame


def test_default_store_is_sqlite_under_the_mlflow_folder(settings, tmp_path) -> None:
    assert tracking.tracking_uri(settings) == f"sqlite:///{tmp_path}/data/mlflow/mlflow.db"
    assert tracking.artifact_location(settings) == (tmp_path / "data" / "mlflow" / "artifacts").as_uri()


def test_a_server_uri_replaces_the_local_store(settings) -> None:
    server = settings.model_copy(
        update={"tracking": settings.tracking.model_copy(update={"tracking_uri": "http://mlflow.internal:5000"})}
    )
    assert tracking.tracking_uri(server) == "http://mlflow.internal:5000"
    assert tracking.artifact_location(server) is None  # the server decides


@pytest.mark.slow
def test_run_logs_metrics_figures_and_a_loadable_model(settings, tmp_path) -> None:
    import mlflow

    x, y = churn_frame(800, seed=11)
    model = ChurnModel(n_estimators=20, early_stopping_rounds=0, n_jobs=1).fit(x, y)
    with tracking.run(settings, "tiercast-test", run_name="unit") as run_id:
        tracking.log_params({"horizon_days": 30})
        tracking.log_metrics({"roc_auc": 0.8, "ece": float("nan")})
        tracking.log_sliced_metrics(pd.DataFrame([{"slice": "tier", "value": "high", "roc_auc": 0.7}]))
        tracking.log_figure(plots.gains_figure(y, model.predict_proba(x)[:, 1]), "plots/gains.png")
        model_uri = tracking.log_model(settings, model, x.head(5))
    finished = mlflow.get_run(run_id)
    assert finished.data.metrics == {"roc_auc": 0.8, "tier.high.roc_auc": 0.7}  # NaN ece not logged
    assert finished.data.params == {"horizon_days": "30"}
    assert (tmp_path / "data" / "mlflow" / "mlflow.db").is_file()
    assert any((tmp_path / "data" / "mlflow" / "artifacts").rglob("gains.png"))
    loaded = mlflow.sklearn.load_model(model_uri)
    assert isinstance(loaded, ChurnModel)
    np.testing.assert_allclose(loaded.predict_proba(x.head(50)), model.predict_proba(x.head(50)))
    assert loaded.contributions(x.head(2)).shape == (2, x.shape[1])  # reason codes still possible
    signature = mlflow.models.get_model_info(model_uri).signature
    assert signature is not None and signature.inputs.input_names() == list(x.columns)
