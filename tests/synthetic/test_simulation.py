"""`generate`: paths returned, byte-identical output for a seed, the truth tables."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from tiercast.synthetic import generate


def _digests(paths: dict[str, Path]) -> dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path, generator_settings) -> None:
    first = generate(tmp_path / "a", 1500, 7, 3, generator_settings)
    again = generate(tmp_path / "b", 1500, 7, 3, generator_settings)
    other = generate(tmp_path / "c", 1500, 7, 4, generator_settings)
    assert _digests(first) == _digests(again)
    assert all(_digests(first)[name] != digest for name, digest in _digests(other).items())


def test_paths_are_the_tables_and_the_truth(small_run: dict[str, Path]) -> None:
    root = small_run["bills"].parent
    assert small_run == {
        "subscribers": root / "subscribers.parquet",
        "bills": root / "bills.parquet",
        "payments": root / "payments.parquet",
        "contacts": root / "contacts.parquet",
        "churn_probability": root / "_truth" / "churn_probability.parquet",
        "subscriber_types": root / "_truth" / "subscriber_types.parquet",
    }
    assert not list(root.rglob("*.tmp"))


def test_window_ends_with_the_configured_month_and_base_starts_at_n(small_run: dict[str, Path]) -> None:
    bills = pd.read_parquet(small_run["bills"])
    months = pd.to_datetime(bills["bill_month"]).drop_duplicates().sort_values()
    assert list(months.dt.strftime("%Y-%m")) == [f"2026-{m:02d}" for m in range(3, 11)]
    subs = pd.read_parquet(small_run["subscribers"])
    start = pd.Timestamp("2026-03-01")
    active = (pd.to_datetime(subs["activation_date"]) < start) & (
        subs["deactivation_date"].isna() | (pd.to_datetime(subs["deactivation_date"]) >= start)
    )
    assert active.sum() == 3000
    assert pd.to_datetime(subs["deactivation_date"]).max() <= pd.Timestamp("2026-10-31")


def test_truth_has_one_row_per_active_subscriber_and_month_end(small_run: dict[str, Path]) -> None:
    truth = pd.read_parquet(small_run["churn_probability"])
    subs = pd.read_parquet(small_run["subscribers"]).set_index("subscriber_id")
    as_of = pd.to_datetime(truth["as_of"])
    assert sorted(as_of.dt.strftime("%Y-%m-%d").unique()) == [
        d.strftime("%Y-%m-%d") for d in pd.date_range("2026-03-31", "2026-10-31", freq="ME")
    ]
    act = pd.to_datetime(subs["activation_date"]).reindex(truth["subscriber_id"]).to_numpy()
    deact = pd.to_datetime(subs["deactivation_date"]).reindex(truth["subscriber_id"]).to_numpy()
    assert (act <= as_of.to_numpy()).all()
    assert (pd.isna(deact) | (deact > as_of.to_numpy())).all()
    for column in ("p_churn_next_month", "p_churn_60d"):
        assert truth[column].between(0, 1).all()
    assert (truth["p_churn_60d"] >= truth["p_churn_next_month"]).all()
    types = pq.read_table(small_run["subscriber_types"]).to_pandas()
    assert len(types) == len(subs)
    assert (types["is_flea"] == (types["true_type"] == "flea")).all()


def test_leavers_are_billed_through_their_last_month_and_may_call_about_it(small_run: dict[str, Path]) -> None:
    subs = pd.read_parquet(small_run["subscribers"])
    bills = pd.read_parquet(small_run["bills"])
    contacts = pd.read_parquet(small_run["contacts"])
    left = subs[subs["deactivation_date"].notna()].set_index("subscriber_id")
    last_bill = pd.to_datetime(bills.groupby("subscriber_id")["bill_month"].max()).reindex(left.index)
    left_month = pd.to_datetime(left["deactivation_date"]).dt.to_period("M").dt.to_timestamp()
    assert len(left) > 200 and (last_bill == left_month).all()
    after = contacts.merge(left["deactivation_date"].reset_index(), on="subscriber_id")
    after = after[after["contact_time"] >= pd.to_datetime(after["deactivation_date"])]
    assert len(after) > 10 and (after["reason"] == "billing").all()


def test_any_plan_name_is_accepted(tmp_path: Path, generator_settings) -> None:
    """plan is the operator's own vocabulary: a name the contract never listed generates and validates."""
    plans = dict(generator_settings.plans)
    plans["prepaid_9"] = plans.pop("prepaid_19")
    settings = generator_settings.model_copy(update={"plans": plans})
    paths = generate(tmp_path, 100, 2, 1, settings)
    written = pq.read_table(paths["subscribers"], columns=["plan"]).column("plan").to_pylist()
    assert "prepaid_9" in written
    assert "prepaid_19" not in written
