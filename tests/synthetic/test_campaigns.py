"""Simulated retention campaigns (issue 14): control groups, latent responses, offers, records and their truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from pipelines.ingest import validate_tables
from tiercast.settings.campaigns import OFFERS
from tiercast.synthetic import campaigns as cp
from tiercast.synthetic import generate
from tiercast.synthetic.campaign_records import TRUTH_SCHEMAS
from tiercast.synthetic.hazard import sigmoid

RUN = (4000, 6, 5)  # subscribers, months, seed
CAMPAIGN_FILES = ["campaigns.parquet", *(f"_truth/{name}.parquet" for name in TRUTH_SCHEMAS)]


def _with_mix(generator_settings, mix: str):
    return generator_settings.model_copy(update={"campaigns": generator_settings.campaigns.using(mix)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, generator_settings) -> dict[str, Path]:
    """Folders of a small run with the default response mix and one with the proportional mix."""
    folders = {}
    for mix in ("default", "proportional"):
        folders[mix] = tmp_path_factory.mktemp(mix)
        generate(folders[mix], *RUN, _with_mix(generator_settings, mix))
    return folders


def _read(folder: Path, name: str) -> pd.DataFrame:
    inputs = ("campaigns", "contacts", "subscribers")
    return pd.read_parquet(folder / f"{name}.parquet" if name in inputs else folder / "_truth" / f"{name}.parquet")


def _situations(n: int, **flags: list[bool]) -> cp.Situations:
    names = cp.Situations.__dataclass_fields__
    return cp.Situations(**{name: np.array(flags.get(name, [False] * n)) for name in names})


# ---- pure functions ------------------------------------------------------------------------


def test_called_persuadables_leave_less_sleeping_dogs_more_the_others_the_same(generator_settings) -> None:
    # given one line of each type at the same risk, when reached with each offer
    settings = generator_settings.campaigns.using("default")
    types = np.array([cp.PERSUADABLE, cp.SURE_THING, cp.LOST_CAUSE, cp.SLEEPING_DOG])
    logit = np.full(4, -3.0)

    called = cp.voluntary_if_called(logit, types, _situations(4), settings)

    without = sigmoid(logit)
    assert (called[0] < without[0]).all()
    assert (called[1:3] == without[1:3, None]).all()
    assert (called[3] > without[3]).all()


def test_an_offer_works_better_on_persuadables_where_it_fits(generator_settings) -> None:
    settings = generator_settings.campaigns.using("default")
    types = np.full(2, cp.PERSUADABLE)

    called = cp.voluntary_if_called(np.full(2, -2.0), types, _situations(2, price_sensitive=[False, True]), settings)

    discount = OFFERS.index("discount")
    assert called[1, discount] < called[0, discount]
    assert called[1, OFFERS.index("none")] == called[0, OFFERS.index("none")]  # 'none' fits nothing


def test_no_sleeping_dogs_mix_has_none(generator_settings) -> None:
    settings = generator_settings.campaigns.using("no_sleeping_dogs")
    n = 10_000
    everyone_sleeps = _situations(n, sleeper=[True] * n)

    types = cp.response_types(
        np.random.default_rng(0).random(n), everyone_sleeps, settings.response_mix, settings.situations
    )

    assert not (types == cp.SLEEPING_DOG).any() and (types == cp.PERSUADABLE).any()


@pytest.mark.parametrize(
    ("situation", "kind"), [("sleeper", cp.SLEEPING_DOG), ("complaining", cp.PERSUADABLE), ("lost", cp.LOST_CAUSE)]
)
def test_a_situation_makes_its_response_type_more_likely(generator_settings, situation: str, kind: int) -> None:
    settings = generator_settings.campaigns.using("default")
    u = np.random.default_rng(1).random(20_000)
    mix, rules = settings.response_mix, settings.situations

    plain = cp.response_types(u, _situations(len(u)), mix, rules)
    marked = cp.response_types(u, _situations(len(u), **{situation: [True] * len(u)}), mix, rules)

    assert (marked == kind).mean() > 2 * (plain == kind).mean()


def test_proportional_mix_takes_k_times_the_risk_and_has_no_types(generator_settings) -> None:
    settings = generator_settings.campaigns.using("proportional")
    k = settings.response_mix.proportional
    logit = np.array([-5.0, -3.0, -1.0, 0.5])

    called = cp.voluntary_if_called(logit, np.full(4, cp.NO_TYPE, dtype=np.int8), _situations(4), settings)

    np.testing.assert_allclose(sigmoid(logit)[:, None] - called, k * sigmoid(logit)[:, None] * np.ones((1, 4)))
    types = cp.response_types(np.full(4, 0.5), _situations(4), settings.response_mix, settings.situations)
    assert (types == cp.NO_TYPE).all()


def test_control_group_is_a_random_share_independent_of_risk(generator_settings) -> None:
    # given 100k eligible lines ranked by risk, when a campaign targets them
    settings = generator_settings.campaigns.using("default")
    settings = settings.model_copy(update={"targeting": settings.targeting.model_copy(update={"by_risk_share": 0.5})})
    rng = np.random.default_rng(3)
    score = rng.random(100_000)
    desk = cp.desks_of(rng.random(100_000) * 300, settings.desks)

    members, control = cp.targets(rng, score, np.ones(100_000, dtype=bool), desk, settings)

    assert abs(control.mean() - settings.targeting.control_share) < 0.01
    quintile = np.digitize(score[members], np.quantile(score[members], [0.2, 0.4, 0.6, 0.8]))
    table = pd.crosstab(quintile, control).to_numpy()
    assert stats.chi2_contingency(table).pvalue > 0.01
    top = np.argsort(-score[desk == 0])[: round(0.5 * (desk == 0).sum())]
    assert np.isin(np.flatnonzero(desk == 0)[top], members).all()  # the top half of each desk is targeted


def test_desks_follow_the_arpu_bands(generator_settings) -> None:
    desks = generator_settings.campaigns.desks  # account_manager >= 150, product >= 58, tariff below

    codes = cp.desks_of(np.array([0.0, 57.9, 58.0, 149.0, 150.0, np.nan]), desks)

    assert [list(desks)[code] for code in codes] == [
        "tariff",
        "tariff",
        "product",
        "product",
        "account_manager",
        "tariff",
    ]


def test_a_line_keeps_its_latent_draw() -> None:
    lines = np.arange(1000)

    assert (cp.line_uniforms(lines, 7) == cp.line_uniforms(lines, 7)).all()
    assert not (cp.line_uniforms(lines, 7) == cp.line_uniforms(lines, 8)).all()
    assert 0.45 < cp.line_uniforms(lines, 7).mean() < 0.55


# ---- a generated run -----------------------------------------------------------------------


def test_records_match_the_contract_and_each_month_after_the_first_has_a_campaign(runs: dict[str, Path]) -> None:
    records = _read(runs["default"], "campaigns")

    assert set(records["group"]) == {"treated", "control"}
    assert records["campaign_date"].nunique() == RUN[1] - 1
    control = records["group"] == "control"
    assert records.loc[control, ["called_at", "outcome"]].isna().all().all()
    assert records.loc[~control, ["called_at", "outcome"]].notna().all().all()


def test_truth_columns_are_consistent_with_the_records(runs: dict[str, Path]) -> None:
    folder = runs["default"]
    key = ["subscriber_id", "campaign_date"]
    records = _read(folder, "campaigns").set_index(key)
    members = _read(folder, "campaign_members").set_index(key)
    response = _read(folder, "campaign_response").set_index(key)

    assert members.index.equals(records.index)
    assert (members[["desk", "group", "offer"]] == records[["desk", "group", "offer"]]).all().all()
    assert (members["answered"] == records["outcome"].isin(["accepted", "declined"])).all()
    expected = np.where(members["answered"], members["p_churn_if_called"], members["p_churn_if_not_called"])
    np.testing.assert_array_equal(members["p_churn"], expected)
    joined = response.loc[members.index]
    np.testing.assert_array_equal(joined["p_churn_if_not_called"], members["p_churn_if_not_called"])
    by_offer = joined[[f"p_churn_if_called_{offer}" for offer in OFFERS]].to_numpy()
    np.testing.assert_array_equal(
        by_offer[np.arange(len(members)), members["offer"].map(OFFERS.index)], members["p_churn_if_called"]
    )
    assert (joined["response_type"] == members["response_type"]).all()


def test_the_churn_truth_holds_the_call_s_effect(runs: dict[str, Path]) -> None:
    members = _read(runs["default"], "campaign_members")
    truth = _read(runs["default"], "churn_probability")
    members["as_of"] = members["campaign_date"] - pd.Timedelta(days=1)

    joined = members.merge(truth, on=["subscriber_id", "as_of"], validate="one_to_one")

    np.testing.assert_allclose(joined["p_churn_next_month"], joined["p_churn"])


def test_effects_add_up_from_the_members(runs: dict[str, Path]) -> None:
    members = _read(runs["default"], "campaign_members")
    effects = _read(runs["default"], "campaign_effects").set_index(["campaign_date", "desk", "offer"])
    cells = members.groupby(["campaign_date", "desk", "offer"])

    counted = cells["group"].value_counts().unstack(fill_value=0)
    assert (effects["treated"] == counted["treated"].reindex(effects.index)).all()
    assert (effects["control"] == counted["control"].reindex(effects.index)).all()
    uplift = (
        (members["p_churn_if_called"] - members["p_churn_if_not_called"])
        .groupby([members["campaign_date"], members["desk"], members["offer"]])
        .mean()
    )
    np.testing.assert_allclose(effects["true_effect_if_answered"], uplift.reindex(effects.index))
    assert (effects["true_effect"] <= 0).mean() > 0.5  # the default world's calls mostly keep customers


def test_control_members_are_as_risky_as_treated_ones(runs: dict[str, Path]) -> None:
    members = _read(runs["default"], "campaign_members")
    control = members["group"] == "control"

    assert stats.binomtest(int(control.sum()), len(control), 0.2).pvalue > 0.001
    assert (
        stats.mannwhitneyu(
            members.loc[control, "p_churn_if_not_called"], members.loc[~control, "p_churn_if_not_called"]
        ).pvalue
        > 0.01
    )


def test_each_call_is_an_outbound_retention_contact_and_nobody_leaves_before_it(runs: dict[str, Path]) -> None:
    folder = runs["default"]
    records = _read(folder, "campaigns")
    treated = records[records["group"] == "treated"]
    contacts = _read(folder, "contacts")
    calls = contacts[(contacts["reason"] == "retention_call") & (contacts["channel"] == "outbound")]

    found = treated.merge(calls, left_on=["subscriber_id", "called_at"], right_on=["subscriber_id", "contact_time"])
    assert len(found) == len(treated)
    assert (found["resolved"] == (found["outcome"] == "accepted")).all()
    assert (found.loc[found["outcome"] == "no_answer", "handle_seconds"] == 0).all()
    subscribers = _read(folder, "subscribers").set_index("subscriber_id")
    left = pd.to_datetime(subscribers.loc[treated["subscriber_id"], "deactivation_date"]).to_numpy()
    assert not (left <= treated["called_at"].dt.normalize().to_numpy()).any()  # NaT (still active) compares False


def test_proportional_world_uplift_is_k_times_the_risk(runs: dict[str, Path], generator_settings) -> None:
    k = generator_settings.campaigns.mixes["proportional"].proportional
    response = _read(runs["proportional"], "campaign_response")
    truth = _read(runs["proportional"], "churn_probability")
    response["as_of"] = response["campaign_date"] - pd.Timedelta(days=1)
    joined = response.merge(truth, on=["subscriber_id", "as_of"])
    sure_payers = joined[joined["p_non_payment"] == 0]

    assert len(sure_payers) > 0.9 * len(joined) and joined["response_type"].isna().all()
    for offer in OFFERS:
        uplift = sure_payers["p_churn_if_not_called"] - sure_payers[f"p_churn_if_called_{offer}"]
        np.testing.assert_allclose(uplift, k * sure_payers["p_churn_if_not_called"], rtol=1e-9)


def test_same_seed_same_bytes(tmp_path: Path, runs: dict[str, Path], generator_settings) -> None:
    generate(tmp_path, *RUN, _with_mix(generator_settings, "default"))

    for name in [*CAMPAIGN_FILES, "contacts.parquet", "subscribers.parquet"]:
        assert (tmp_path / name).read_bytes() == (runs["default"] / name).read_bytes(), name


def test_without_campaigns_there_are_no_campaign_files_not_even_stale_ones(tmp_path: Path, generator_settings) -> None:
    generate(tmp_path, 500, 3, 1, _with_mix(generator_settings, "default"))
    assert all((tmp_path / name).is_file() for name in CAMPAIGN_FILES)

    paths = generate(tmp_path, 500, 3, 1, generator_settings)

    assert not generator_settings.campaigns.enabled
    assert not any((tmp_path / name).exists() for name in CAMPAIGN_FILES)
    assert "campaigns" not in paths
    assert "campaigns" not in pq.read_schema(paths["bills"]).metadata[b"tiercast.generator"].decode()


def test_generated_records_validate_with_nothing_quarantined(runs: dict[str, Path], settings, tmp_path: Path) -> None:
    result = validate_tables(runs["default"], settings.validation, tmp_path / "q", tmp_path / "report.json")

    assert result.reports["campaigns"].rows_read == len(_read(runs["default"], "campaigns"))
    assert {name: report.quarantined for name, report in result.reports.items()} == dict.fromkeys(result.reports, 0)
