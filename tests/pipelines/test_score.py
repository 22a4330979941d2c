"""The scoring step's composition: score -> stages -> keys -> routing -> retention, and the run identity."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.churn import reason_codes
from models.lifecycle import new_customer_months
from pipelines.score import build_outputs, run_id_for
from tests.pipelines.publish_db import MSISDN_RE

KEY = b"score-test-key-0123456789-0123456"
AS_OF = date(2025, 6, 30)


class StubModel:
    """Stands in for the champion: fixed churn scores per subscriber, one contribution per feature."""

    def __init__(self, scores: dict[int, float]) -> None:
        self.scores = scores

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        churn = x["subscriber_id"].map(self.scores).to_numpy(dtype="float64")
        return np.column_stack([1.0 - churn, churn])

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"complaints_30d": x["complaints_30d"].astype("float64"), "arpu_trend": -x["arpu_trend"]}, index=x.index
        )


def features() -> pd.DataFrame:
    """Six subscribers: 1 red list, 2 black list, 3 high-value in a bad way, 4 flea, 5 quiet low, 6 do-not-contact."""
    return pd.DataFrame(
        {
            "subscriber_id": np.array([1, 2, 3, 4, 5, 6], dtype="int64"),
            "tier": pd.Series(["mid", "high", "high", "low", "low", "mid"], dtype="str"),
            "is_red_list": [True, False, False, False, False, False],
            "is_black_list": [False, True, False, False, False, False],
            "flea_flag": [False, False, False, True, False, False],
            "lifecycle_stage": pd.Series(["stable"] * 6, dtype="str"),
            "lifecycle_reason": pd.Series(["stable"] * 6, dtype="str"),
            "tenure_months": [40.0, 40.0, 40.0, 12.0, 40.0, 40.0],
            "arpu_3m": [120.0, 300.0, 300.0, 30.0, 40.0, 90.0],
            "arpu_trend": [0.0, 0.0, -0.05, 0.0, 0.0, 0.0],
            "usage_trend": [0.0] * 6,
            "complaints_30d": np.array([0, 0, 1, 0, 0, 0], dtype="int64"),
            "cancel_intent_90d": np.zeros(6, dtype="int64"),
            "arrears_amount": [0.0, 0.0, 0.0, 400.0, 0.0, 0.0],
            "days_since_retention_call": [np.nan] * 6,
            "do_not_contact": [False, False, False, False, False, True],
            "data_share": [0.2] * 6,
            "data_mb_3m": [2000.0] * 6,
            "long_distance_share": [0.0] * 6,
            "age": [35.0] * 6,
        }
    )


def subscribers() -> pd.DataFrame:
    return pd.DataFrame(
        {"subscriber_id": np.arange(1, 7, dtype="int64"), "msisdn": [f"1390000000{i}" for i in range(1, 7)]}
    )


SCORES = {1: 0.05, 2: 0.9, 3: 0.7, 4: 0.8, 5: 0.2, 6: 0.6}


@pytest.fixture
def outputs(settings) -> Any:
    return build_outputs(features(), subscribers(), StubModel(SCORES), "7", AS_OF, settings, KEY)


def row(table: pd.DataFrame, subscriber: int) -> pd.Series:
    key = hmac.new(KEY, f"1390000000{subscriber}".encode(), hashlib.sha256).hexdigest()
    return table.set_index("subscriber_key", drop=False)[lambda t: t.index == key].iloc[0]


def test_tier_table_is_keyed_scored_and_routed(outputs: Any) -> None:
    table = outputs.tier_table
    assert len(table) == 6
    assert "msisdn" not in table.columns and "subscriber_id" not in table.columns
    assert row(table, 3)["churn_score"] == 0.7
    assert row(table, 1)["priority"] == 1  # red list: top
    assert row(table, 2)["priority"] == table["priority"].max()  # black list: last
    assert table["model_version"].unique().tolist() == ["7"]
    assert table["subscriber_key"].is_monotonic_increasing


def test_churn_score_feeds_the_warning_stage_and_the_retention_desk(outputs: Any) -> None:
    high_risk = row(outputs.tier_table, 3)
    assert high_risk["lifecycle_stage"] == "warning"  # churn 0.7 >= the 0.5 warning threshold
    assert high_risk["queue"] == "retention"
    assert row(outputs.tier_table, 5)["lifecycle_stage"] == "stable"


def test_retention_list_excludes_black_flea_and_do_not_contact(outputs: Any) -> None:
    listed = outputs.retention
    keys = set(listed["subscriber_key"])
    assert {row(outputs.tier_table, s)["subscriber_key"] for s in (2, 4, 6)}.isdisjoint(keys)
    assert listed[["desk", "rank"]].values.tolist() == [["account_manager", 1], ["product", 1], ["tariff", 1]]
    expected = reason_codes(StubModel(SCORES), features(), top_k=3)[2]  # subscriber 3, in plain words
    assert "complaint" in expected
    assert listed.set_index("desk").loc["account_manager", "reasons"] == expected


def test_nothing_published_holds_a_phone_number(outputs: Any) -> None:
    text = outputs.tier_table.to_csv(index=False) + outputs.retention.to_csv(index=False)
    assert MSISDN_RE.findall(text) == []
    assert all(number not in text for number in subscribers()["msisdn"])


def test_run_id_is_stable_and_follows_model_settings_and_key(settings) -> None:
    first = run_id_for(settings, AS_OF, "7", KEY)
    assert first == run_id_for(settings, AS_OF, "7", KEY)
    assert first.startswith("20250630-m7-")
    changed = settings.model_copy(
        update={"retention": settings.retention.model_copy(update={"min_value_at_risk": 5.0})}
    )
    others = {run_id_for(settings, AS_OF, "8", KEY), run_id_for(changed, AS_OF, "7", KEY),
              run_id_for(settings, AS_OF, "7", b"another-key-0123456789-0123456789")}  # fmt: skip
    assert first not in others and len(others) == 3


def test_a_subscriber_without_a_number_is_an_error(settings) -> None:
    with pytest.raises(ValueError, match="1 scored subscribers have no MSISDN"):
        build_outputs(features(), subscribers().head(5), StubModel(SCORES), "7", AS_OF, settings, KEY)


# --- end to end on generated data -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated base: 1,200 lines over 9 months ending 2026-10 (data through 2026-10-31)."""
    from tiercast.settings import load_settings
    from tiercast.synthetic.simulation import generate

    out = tmp_path_factory.mktemp("raw")
    generate(out, 1200, 9, 11, load_settings(environ={}).generator)
    return out


def trained(settings: Any, data: Path, as_of: date) -> Any:
    """A small churn model fitted on the features and 30-day labels as of `as_of`."""
    from features.labels import churn_labels
    from models.churn import ChurnModel
    from pipelines.features import decide
    from pipelines.ingest import validate_inputs

    tables = validate_inputs(settings, data).tables
    table = decide(tables, as_of, settings)
    labels = churn_labels(tables["subscribers"], as_of, settings.churn.horizon_days).set_index("subscriber_id")
    y = table["subscriber_id"].map(labels["churned"]).fillna(False).astype(int)
    dropped = [c for c in table.columns if c in settings.churn.exclude_features or c.endswith("_reason")]
    return ChurnModel(n_estimators=30, early_stopping_rounds=0, calibration_folds=3).fit(table.drop(columns=dropped), y)


@pytest.mark.slow
def test_score_publish_end_to_end(generated: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines import nightly
    from pipelines.database import engine_for
    from pipelines.nightly_run import Inline, run_nightly
    from tests.cli.cli_app import publishing_app
    from tests.pipelines.publish_db import msisdn_leaks, read_view
    from tiercast.cli import score_publish as score_publish_cli

    monkeypatch.delenv("TIERCAST_PRIVACY_KEY", raising=False)
    fitted = trained(settings, generated, date(2026, 8, 31))
    # the registry's champion stood in for by the model just fitted
    monkeypatch.setattr(nightly, "resolve_model", lambda s: nightly.ModelRef("tiercast-churn", "3", "r3", "run r3"))
    monkeypatch.setattr(nightly, "load_model", lambda s, version: fitted)
    app = publishing_app()
    score_publish_cli.register(app)
    env = {"TIERCAST__PATHS__ROOT": str(settings.paths.root), "COLUMNS": "120"}
    cli = CliRunner().invoke(app, ["score-publish", "--data", str(generated), "--as-of", "2026-09-30"], env=env)
    assert cli.exit_code == 0, cli.output
    assert "published tier_table v1" in cli.output
    second = run_nightly(settings, generated, date(2026, 10, 31), Inline(), shards=1)
    engine = engine_for(settings)
    view = read_view(engine)
    rerun = run_nightly(settings, generated, date(2026, 10, 31), Inline(), shards=1)
    try:
        subscribers = pd.read_parquet(generated / "subscribers.parquet")
        day = pd.Timestamp("2026-10-31")
        activated, left = pd.to_datetime(subscribers.activation_date), pd.to_datetime(subscribers.deactivation_date)
        active = subscribers[(activated <= day) & ~(left <= day)]
        assert second.publication["rows"] == len(active) == len(view)
        assert (rerun.publication["version"], rerun.run_id) == (3, second.run_id)
        assert read_view(engine).equals(view)  # same as_of, same content
        with engine.connect() as conn:
            per_day = pd.read_sql(
                "SELECT as_of, count(*) AS n, sum(\"group\" = 'treated') AS calls FROM retention_list"
                " GROUP BY as_of ORDER BY as_of",
                conn,
            )
        listed = sum(used for used, _ in rerun.retention.values())
        # the call files hold the treated rows; the control group is in the table only
        assert per_day["calls"].tolist()[0] == cli_rows(settings, "2026-09-30")
        assert per_day["n"].tolist()[1] == listed
        assert (per_day["calls"] < per_day["n"]).all()  # 5% held out of hundreds listed: some control each day
        folder = settings.paths.resolve(settings.paths.retention)
        assert sorted(p.name for p in (folder / "2026-10-31").iterdir()) == sorted(
            f"{desk}{suffix}"
            for desk in [*settings.retention.desks, settings.retention.callbacks.desk]
            for suffix in (".csv", ".parquet")
        )
        # no phone number anywhere: neither the pattern nor any of the actual numbers
        assert msisdn_leaks(engine, folder) == []
        dump = read_view(engine).to_csv(index=False)
        dump += "".join(p.read_text(encoding="utf-8-sig") for p in folder.rglob("*.csv"))
        assert not any(number in dump for number in subscribers["msisdn"])
        assert_profiled(rerun.profile)
    finally:
        engine.dispose()


SHARD_STAGES = {
    "shard files", "validate", "features", "retention", "service levels", "tiers and lifecycle", "monitoring",
    "model load", "scoring", "subscriber keys", "routing", "reason codes", "tier table",
}  # fmt: skip
STEP_STAGES = {
    "plan", "stage", "resolve champion", "monitoring", "validate", "tiers and lifecycle", "reason codes", "publish",
    "write outputs", "service levels",
}  # fmt: skip


def assert_profiled(profile: dict[str, Any]) -> None:
    """Given a run inline on one shard, then every stage is timed and the shard steps' walls hold their work."""
    assert set(profile["shards_s"]) == SHARD_STAGES and set(profile["steps_s"]) == STEP_STAGES
    walls, work = profile["shard_steps_wall_s"], profile["shard_steps_summed_s"]
    assert set(walls) == set(work) == {"shard-features", "shard-outputs"}
    assert all(walls[step] >= work[step] for step in walls)  # inline: the wall is around the shard's own clock
    assert sum(work.values()) == pytest.approx(sum(profile["shards_s"].values()), abs=0.01)
    measured = sum(profile["steps_s"].values()) + sum(walls.values())
    assert profile["unaccounted_s"] == pytest.approx(profile["wall_s"] - measured, abs=0.01)


def cli_rows(settings: Any, day: str) -> int:
    """Rows in the retention list files of one day."""
    folder = settings.paths.resolve(settings.paths.retention) / day
    return sum(len(pd.read_parquet(p)) for p in folder.glob("*.parquet"))


def test_published_scores_are_rounded_to_six_decimals() -> None:
    from pipelines.score import published_score

    assert published_score([0.13812345678, -0.1, 1.2, 0.5], 6).tolist() == [0.138123, 0.0, 1.0, 0.5]


# --- uplift targeting (issue 14, item 6) -----------------------------------------------------------------


class StubUplift:
    """Uplift per subscriber: 3 (high tier, complains) is a sleeping dog, the others respond; offer-blind."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return x["subscriber_id"].map({1: 0.1, 3: -0.2, 5: 0.3}).fillna(0.05).to_numpy(dtype="float64")


def test_without_an_uplift_champion_the_list_ranks_by_churn_value_and_no_store_is_created(
    outputs: Any, settings: Any
) -> None:
    assert outputs.ranking == "churn_value"
    assert outputs.uplift_version is None
    assert set(outputs.retention["ranking"]) == {"churn_value"}
    assert not (settings.paths.resolve(settings.paths.mlflow) / "mlflow.db").exists()


def test_with_an_uplift_model_the_list_leaves_out_the_sleeping_dog_and_names_the_offer(settings: Any) -> None:
    from models.retention import UpliftTargeting

    targeting = UpliftTargeting(StubUplift(), ("discount",), {"discount": 0.0})

    result = build_outputs(features(), subscribers(), StubModel(SCORES), "7", AS_OF, settings, KEY, targeting=targeting)

    listed = result.retention.set_index("subscriber_key")
    assert row(result.tier_table, 3)["subscriber_key"] not in listed.index  # churn 0.7, but a call would harm
    assert listed.loc[row(result.tier_table, 5)["subscriber_key"], "suggested_action"] == "discount"
    assert listed["reasons"].str.startswith("likely to respond to: discount").all()
    assert result.ranking == "uplift"


def register_champion(settings: Any, history: bool) -> str:
    """Fit a small uplift model (with or without the history columns) and make it tiercast-uplift's champion."""
    from models.uplift import UpliftModel
    from pipelines import registry, tracking

    rng = np.random.default_rng(0)
    n = 600
    x = pd.DataFrame({"arpu_3m": rng.uniform(10, 300, n)})
    if history:
        answered = rng.integers(0, 3, n).astype("float64")
        accepted = np.minimum(answered, rng.integers(0, 2, n))
        x = x.assign(
            retention_calls_answered=answered,
            retention_offers_accepted=accepted,
            retention_accept_share=np.where(answered > 0, accepted / np.maximum(answered, 1), np.nan),
        )
    x = x.assign(offer=rng.choice(["discount", "device"], n))
    treated = rng.random(n) < 0.5
    stayed = (rng.random(n) < np.where(treated & (x["arpu_3m"] < 100), 0.9, 0.6)).astype(int)
    model = UpliftModel(n_estimators=5, min_child_samples=20).fit(x, treated, stayed)
    uplift_settings = registry.for_model(settings, settings.uplift.registered_model)
    with tracking.run(settings, settings.uplift.experiment):
        uri = tracking.log_model(settings, model, x.head(3), predict_fn="predict")
    version = registry.register_challenger(uplift_settings, uri, {})
    registry.promote(uplift_settings, version)
    return version


def test_a_registered_uplift_champion_ranks_the_list(settings: Any) -> None:
    """Given an uplift model promoted to champion of tiercast-uplift in MLflow, build_outputs uses it unasked."""
    from pipelines import registry

    version = register_champion(settings, history=False)

    result = build_outputs(features(), subscribers(), StubModel(SCORES), "7", AS_OF, settings, KEY)

    assert (result.ranking, result.uplift_version) == ("uplift", version)
    assert set(result.retention["suggested_action"]) <= {"discount", "device"}
    assert registry.champion_version(settings) is None  # the churn model's aliases are untouched


def test_reasons_added_after_a_parquet_round_trip_equal_those_added_in_place(
    generated: Path, settings: Any, tmp_path: Path
) -> None:
    """The nightly explains only the customers left after the shards' lists merge (pipelines.nightly_results):
    the reasons it adds to rows read back from a shard's file are those build_outputs adds in place."""
    from pipelines.features import decide
    from pipelines.ingest import validate_inputs
    from pipelines.score import add_reasons, explained_rows

    day = date(2026, 10, 31)
    model = trained(settings, generated, date(2026, 8, 31))
    tables = validate_inputs(settings, generated).tables
    table, subscribers = decide(tables, day, settings), tables["subscribers"]
    in_place = build_outputs(table, subscribers, model, "3", day, settings, KEY, targeting=None)
    later = build_outputs(table, subscribers, model, "3", day, settings, KEY, targeting=None, explain=False)
    assert later.to_explain is not None and len(in_place.retention) > 20
    assert (later.retention["reasons"] == "").all()  # nothing explained yet
    later.to_explain.to_parquet(tmp_path / "explain.parquet", index=False)
    rows = pd.read_parquet(tmp_path / "explain.parquet")
    chosen = later.retention.iloc[::2]  # the merge keeps some of a shard's candidates, in its own order
    top_k, months = settings.churn.reasons_top_k, new_customer_months(settings.lifecycle)
    explained = add_reasons(chosen, explained_rows(chosen, rows), model, top_k, months)
    expected = in_place.retention.iloc[::2]["reasons"]
    assert expected.str.len().gt(0).all()
    assert explained["reasons"].tolist() == expected.tolist()
    pd.testing.assert_frame_equal(later.tier_table, in_place.tier_table)
