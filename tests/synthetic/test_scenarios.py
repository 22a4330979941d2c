"""Test scenarios: placed in the window, what each changes (exactly where the same seed allows), scenarios.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.synthetic.conftest import SMALL
from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic import generate
from tiercast.synthetic.behaviour import Usage
from tiercast.synthetic.calendar import make_window
from tiercast.synthetic.scenarios import SCENARIO_NAMES, ScenarioRequest, Scenarios, place

WINDOW = make_window("2026-10", 8, 20)  # 2026-03 .. 2026-10, as SMALL
START = pd.Timestamp("2026-07-01")  # the default start of price_rise and competitor_promo in SMALL's window
MAGNITUDES = {
    "price_rise": {"start_months_before_end": 3, "plans": ["postpaid_58"], "fee_increase": 0.1, "price_sensitivity": 2},
    "competitor_promo": {
        "start_months_before_end": 3,
        "months": 2,
        "region": "Zhuhai",
        "hazard": 1.5,
        "cancel_intent_rate": 0.1,
        "usage_multiplier": 0.5,
    },
    "broken_export": {"start_months_before_end": 0, "column": "roaming_amount"},
}


@pytest.fixture(scope="module")
def settings(generator_settings: GeneratorSettings) -> GeneratorSettings:
    """The packaged settings with hand-picked scenario magnitudes (the tests do not depend on the YAML's)."""
    return GeneratorSettings.model_validate({**generator_settings.model_dump(), "scenarios": MAGNITUDES})


def _scenarios(settings: GeneratorSettings, *names: str) -> Scenarios:
    requests = tuple(ScenarioRequest(name) for name in names)  # type: ignore[arg-type]
    return Scenarios(requests, WINDOW, settings, c.Catalog.from_settings(settings))


def _table(folder: Path, name: str) -> pd.DataFrame:
    path = folder / "_truth" / f"{name}.parquet" if name == "churn_probability" else folder / f"{name}.parquet"
    frame = pd.read_parquet(path)
    for column in ("bill_month", "as_of", "contact_time"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


@pytest.fixture(scope="module")
def base(small_run: dict[str, Path]) -> Path:
    """The folder of SMALL generated without scenarios."""
    return small_run["bills"].parent


@pytest.fixture(scope="module")
def price_rise(tmp_path_factory: pytest.TempPathFactory, generator_settings: GeneratorSettings) -> Path:
    """The folder of SMALL with price_rise from its default start (2026-07)."""
    folder = tmp_path_factory.mktemp("price_rise")
    return generate(folder, *SMALL, generator_settings, scenarios=[ScenarioRequest("price_rise")])["bills"].parent


@pytest.fixture(scope="module")
def promo(tmp_path_factory: pytest.TempPathFactory, generator_settings: GeneratorSettings) -> Path:
    """The folder of SMALL with competitor_promo from its default start (2026-07 and 2026-08)."""
    folder = tmp_path_factory.mktemp("promo")
    return generate(folder, *SMALL, generator_settings, scenarios=[ScenarioRequest("competitor_promo")])["bills"].parent


# --- placing a scenario in the window ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "day", "first", "last"),
    [
        ("price_rise", None, "2026-07-01", 4, None),  # 3 months before the last month
        ("competitor_promo", None, "2026-07-01", 4, 5),  # ... for two months
        ("broken_export", None, "2026-10-01", 7, None),  # the first day of the last month
        ("price_rise", "2026-03", "2026-03-01", 0, None),
        ("competitor_promo", "2026-10", "2026-10-01", 7, 8),  # may run past the window
        ("broken_export", "2026-09-15", "2026-09-15", 6, None),  # September's bill is issued on the 30th
        ("broken_export", "2026-09", "2026-09-01", 6, None),
    ],
)
def test_place_puts_the_start_in_the_window(
    settings: GeneratorSettings, name: str, start: str | None, day: str, first: int, last: int | None
) -> None:
    scenario = place(ScenarioRequest(name, start), WINDOW, settings.scenarios)  # type: ignore[arg-type]
    assert (str(np.datetime64(scenario.start_day, "D")), scenario.first_month, scenario.last_month) == (
        day,
        first,
        last,
    )


def test_the_default_start_never_falls_before_a_short_window(settings: GeneratorSettings) -> None:
    scenario = place(ScenarioRequest("price_rise"), make_window("2026-10", 2, 20), settings.scenarios)
    assert (str(np.datetime64(scenario.start_day, "D")), scenario.first_month) == ("2026-09-01", 0)


@pytest.mark.parametrize(
    ("name", "start", "message"),
    [
        ("price_rise", "2026-02", "outside the generated window"),
        ("broken_export", "2026-11-01", "outside the generated window"),
        ("price_rise", "2026-07-15", "give YYYY-MM"),  # month scenarios start on a month
        ("broken_export", "2026-02-30", "not a date"),
        ("competitor_promo", "July", "give YYYY-MM"),
    ],
)
def test_place_refuses_a_start_it_cannot_use(settings: GeneratorSettings, name: str, start: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        place(ScenarioRequest(name, start), WINDOW, settings.scenarios)  # type: ignore[arg-type]


def test_a_scenario_is_asked_for_at_most_once(settings: GeneratorSettings) -> None:
    with pytest.raises(ValueError, match="at most once"):
        _scenarios(settings, "price_rise", "price_rise")


# --- what each scenario changes in a month (hand-sized arrays, exact values) -----------------------------------


def _shift(scenarios: Scenarios, t: int, arpu: np.ndarray, region: np.ndarray) -> np.ndarray:
    shift = scenarios.voluntary_shift(t, arpu, region)
    assert shift is not None
    return shift


def test_price_rise_prices_the_plans_and_adds_the_price_term_from_its_start(settings: GeneratorSettings) -> None:
    scenarios = _scenarios(settings, "price_rise")
    plans = list(scenarios.base.plans)
    fee = scenarios.catalog(4).fee
    assert fee[plans.index("postpaid_58")] == pytest.approx(63.8)
    assert fee[plans.index("prepaid_19")] == 19.0
    assert scenarios.catalog(3) is scenarios.base
    arpu = np.array([25.0, 50.0, 100.0, 50.0 * np.exp(3.0)])
    region = np.zeros(4, dtype=np.int8)
    # given arpu below, at, twice and e^3 times the 50 CNY reference: 2 x log(arpu / 50) clipped to [0, 2.5]
    np.testing.assert_allclose(_shift(scenarios, 4, arpu, region), [0.0, 0.0, 2 * np.log(2.0), 5.0])
    np.testing.assert_allclose(_shift(scenarios, 7, arpu, region), [0.0, 0.0, 2 * np.log(2.0), 5.0])
    assert scenarios.voluntary_shift(3, arpu, region) is None


def test_competitor_promo_changes_its_region_for_two_months(settings: GeneratorSettings) -> None:
    scenarios = _scenarios(settings, "competitor_promo")
    zhuhai = scenarios.base.regions.index("Zhuhai")
    region = np.array([zhuhai, zhuhai + 1], dtype=np.int8)
    usage = Usage(voice_minutes=np.array([100.3, 100.3]), data_mb=np.array([20.4, 20.4]), sms_count=np.array([3, 3]))
    for month in (4, 5):
        np.testing.assert_allclose(_shift(scenarios, month, np.ones(2), region), [1.5, 0.0])
        rate = scenarios.cancel_intent_rate(month, region)
        assert rate is not None and rate.tolist() == [0.1, 0.0]
        moved = scenarios.usage(month, region, usage)
        assert (moved.voice_minutes.tolist(), moved.data_mb.tolist()) == ([50.2, 100.3], [10.2, 20.4])
        assert moved.sms_count is usage.sms_count
    for month in (3, 6):
        assert scenarios.voluntary_shift(month, np.ones(2), region) is None
        assert scenarios.cancel_intent_rate(month, region) is None
        assert scenarios.usage(month, region, usage) is usage


def test_broken_export_zeroes_the_exported_column_only(settings: GeneratorSettings) -> None:
    scenarios = _scenarios(settings, "broken_export")
    bill = {"amount": np.array([30.0, 12.5]), "roaming_amount": np.array([10.0, 0.5])}
    exported = scenarios.exported_bills(7, bill)
    assert exported["roaming_amount"].tolist() == [0.0, 0.0]
    assert exported["amount"] is bill["amount"]
    assert bill["roaming_amount"].tolist() == [10.0, 0.5]  # the simulation keeps the true bill
    assert scenarios.exported_bills(6, bill) is bill


def test_both_drift_terms_add_up(settings: GeneratorSettings) -> None:
    scenarios = _scenarios(settings, "price_rise", "competitor_promo")
    zhuhai = scenarios.base.regions.index("Zhuhai")
    shift = _shift(scenarios, 4, np.array([100.0, 100.0]), np.array([zhuhai, zhuhai + 1], dtype=np.int8))
    np.testing.assert_allclose(shift, [2 * np.log(2.0) + 1.5, 2 * np.log(2.0)])


# --- generated data: same seed with and without a scenario -----------------------------------------------------


def _logit(p: pd.Series) -> np.ndarray:
    values = p.to_numpy()
    return np.log(values / (1.0 - values))


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))


def _before(base: Path, run: Path, day: pd.Timestamp) -> None:
    """Assert the tables and truth of `run` equal those of `base` before `day`."""
    for table, column in (("bills", "bill_month"), ("contacts", "contact_time"), ("churn_probability", "as_of")):
        left, right = _table(base, table), _table(run, table)
        _same(left[left[column] < day], right[right[column] < day])


def test_broken_export_changes_only_the_column_from_its_start(
    base: Path, tmp_path: Path, generator_settings: GeneratorSettings
) -> None:
    settings = generator_settings
    run = generate(tmp_path, *SMALL, settings, scenarios=[ScenarioRequest("broken_export", "2026-09-15")])
    column = settings.scenarios.broken_export.column
    bills, true = _table(run["bills"].parent, "bills"), _table(base, "bills")
    broken = true["bill_month"] >= pd.Timestamp("2026-09-01")  # September's bill is issued on 2026-09-30
    assert (bills.loc[broken, column] == 0).all()
    assert (true.loc[broken, column] > 0).mean() > 0.2  # the truth did have charges there
    _same(bills.drop(columns=column), true.drop(columns=column))
    _same(bills[~broken], true[~broken])
    for name in ("subscribers", "payments", "contacts", "churn_probability", "subscriber_types"):
        assert pq.read_table(run[name]).equals(pq.read_table(base / run[name].relative_to(tmp_path))), name


def _month(folder: Path, table: str, column: str, day: str) -> pd.DataFrame:
    """Return the rows of `table` whose `column` is `day`, by subscriber_id."""
    frame = _table(folder, table)
    return frame[frame[column] == pd.Timestamp(day)].set_index("subscriber_id").sort_index()


def test_price_rise_raises_the_fees_and_the_churn_of_who_pays_more(
    base: Path, price_rise: Path, generator_settings: GeneratorSettings
) -> None:
    spec = generator_settings.scenarios.price_rise
    _before(base, price_rise, START)
    plan = _table(base, "subscribers").set_index("subscriber_id")["plan"]
    fees = pd.Series({name: p.fee for name, p in generator_settings.plans.items()})
    # The start month: the same lines and draws; raised plans bill the higher fee, the others the same bill.
    bills, true = (
        _month(price_rise, "bills", "bill_month", "2026-07-01"),
        _month(base, "bills", "bill_month", "2026-07-01"),
    )
    assert bills.index.equals(true.index)
    line_plan = plan.reindex(true.index)
    fee = line_plan.map(fees).to_numpy()
    raised = line_plan.isin(spec.plans).to_numpy()
    full = raised & (true["base_fee"] == fee)  # a full month's bill
    assert full.sum() > 300
    assert (bills.loc[full, "base_fee"] == np.round(fee[full] * (1 + spec.fee_increase), 2)).all()
    _same(bills[~raised], true[~raised])
    # At its end, lines whose bills did not change gain exactly the price term on their arpu_3m.
    scen, was = (_month(f, "churn_probability", "as_of", "2026-07-31") for f in (price_rise, base))
    assert scen.index.equals(was.index)
    recent = _table(base, "bills").query("bill_month >= '2026-05-01' and bill_month <= '2026-07-01'")
    arpu = recent.groupby("subscriber_id")["amount"].mean().reindex(scen.index)
    kept = ~plan.reindex(scen.index).isin(spec.plans).to_numpy()
    term = spec.price_sensitivity * np.clip(np.log(np.maximum(arpu[kept], 0.5) / 50.0), 0.0, 2.5)
    shift = _logit(scen.loc[kept, "p_voluntary"]) - _logit(was.loc[kept, "p_voluntary"])
    np.testing.assert_allclose(shift, term, atol=1e-9)
    assert (term > 0).sum() > 100
    # From then on lines with a price increase are markedly likelier to leave; the others a little.
    churn = {}
    for name, folder in (("scen", price_rise), ("base", base)):
        truth = _table(folder, "churn_probability")
        truth["raised"] = truth["subscriber_id"].map(plan).isin(spec.plans)
        churn[name] = truth[truth["as_of"] > START].groupby("raised")["p_churn_next_month"].mean()
    ratio = churn["scen"] / churn["base"]
    assert ratio[True] > 1.4 and 1.0 < ratio[False] < 1.2


def test_competitor_promo_moves_one_region_for_two_months(
    base: Path, promo: Path, generator_settings: GeneratorSettings
) -> None:
    spec = generator_settings.scenarios.competitor_promo
    _before(base, promo, START)
    region = _table(base, "subscribers").set_index("subscriber_id")["region"]
    # First promotion month: the same lines and draws, the region's usage scaled, everyone else's bills the same.
    bills, true = _month(promo, "bills", "bill_month", "2026-07-01"), _month(base, "bills", "bill_month", "2026-07-01")
    assert bills.index.equals(true.index)
    there = (region.reindex(true.index) == spec.region).to_numpy()
    assert there.sum() > 300
    for column in ("voice_minutes", "data_mb"):
        assert (bills.loc[there, column] == np.round(true.loc[there, column] * spec.usage_multiplier, 1)).all()
    _same(bills[~there], true[~there])
    # Covariate drift: cancel intents in the region; concept drift: its churn jumps, then returns.
    during = {"2026-07-31", "2026-08-31"}
    intents, churn = {}, {}
    for name, folder in (("scen", promo), ("base", base)):
        contacts = _table(folder, "contacts")
        promoted = contacts["contact_time"].between(START, pd.Timestamp("2026-09-01"), inclusive="left")
        asked = contacts[promoted & (contacts["reason"] == "cancel_intent")]
        intents[name] = (asked["subscriber_id"].map(region) == spec.region).sum()
        truth = _table(folder, "churn_probability")
        truth["there"] = truth["subscriber_id"].map(region) == spec.region
        truth["during"] = truth["as_of"].dt.strftime("%Y-%m-%d").isin(during)
        churn[name] = truth[truth["as_of"] >= START].groupby(["there", "during"])["p_churn_next_month"].mean()
    ratio = churn["scen"] / churn["base"]
    assert intents["scen"] > 5 * intents["base"]
    assert ratio[(True, True)] > 2.0
    assert 0.8 < ratio[(True, False)] < 1.3  # the two month ends after it
    assert 0.85 < ratio[(False, True)] < 1.15 and 0.85 < ratio[(False, False)] < 1.15


# --- the truth's record ----------------------------------------------------------------------------------------


def test_scenarios_json_records_each_scenario_and_its_dates(
    tmp_path: Path, generator_settings: GeneratorSettings
) -> None:
    settings = generator_settings
    requests = [ScenarioRequest(name) for name in SCENARIO_NAMES]
    paths = generate(tmp_path, 400, 8, 1, settings, scenarios=requests)
    assert paths["scenarios"] == tmp_path / "_truth" / "scenarios.json"
    records = {r["name"]: r for r in json.loads(paths["scenarios"].read_text())["scenarios"]}
    rise, promo = settings.scenarios.price_rise, settings.scenarios.competitor_promo
    assert records == {
        "price_rise": {
            "name": "price_rise",
            "kind": "concept drift",
            "start": "2026-07-01",
            "end": None,
            "first_bill_month": "2026-07-01",
            "inputs_from": "2026-07-31",
            "truth_from": "2026-07-31",
            "table": "bills",
            "columns": ["base_fee", "amount"],
            "plans": list(rise.plans),
            "magnitude": {"fee_increase": rise.fee_increase, "price_sensitivity": rise.price_sensitivity},
        },
        "competitor_promo": {
            "name": "competitor_promo",
            "kind": "covariate and concept drift",
            "start": "2026-07-01",
            "end": "2026-08-31",
            "first_bill_month": "2026-07-01",
            "inputs_from": "2026-07-01",
            "truth_from": "2026-07-31",
            "region": promo.region,
            "months": 2,
            "magnitude": {
                "hazard": promo.hazard,
                "cancel_intent_rate": promo.cancel_intent_rate,
                "usage_multiplier": promo.usage_multiplier,
            },
        },
        "broken_export": {
            "name": "broken_export",
            "kind": "export fault",
            "start": "2026-10-01",
            "end": None,
            "first_bill_month": "2026-10-01",
            "inputs_from": "2026-10-31",
            "truth_from": None,
            "table": "bills",
            "column": settings.scenarios.broken_export.column,
            "magnitude": {"exported_as": 0.0},
        },
    }
    metadata = json.loads(pq.read_schema(paths["bills"]).metadata[b"tiercast.generator"])
    assert metadata["scenarios"] == ["price_rise@2026-07-01", "competitor_promo@2026-07-01", "broken_export@2026-10-01"]
    again = generate(tmp_path, 400, 8, 1, settings)  # the same folder without scenarios: no stale record
    assert "scenarios" not in again and not (tmp_path / "_truth" / "scenarios.json").exists()
    assert "scenarios" not in json.loads(pq.read_schema(again["bills"]).metadata[b"tiercast.generator"])
