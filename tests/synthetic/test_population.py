import numpy as np
import pytest

from tiercast.synthetic import codes as c
from tiercast.synthetic.calendar import make_window
from tiercast.synthetic.population import empty_population, initial_activations, new_lines

WINDOW = make_window("2026-10", 12, 20)


@pytest.fixture(scope="module")
def lines(generator_settings) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    catalog = c.Catalog.from_settings(generator_settings)
    activation = initial_activations(rng, generator_settings, WINDOW, 5000)
    flea = np.arange(5000) % 50 == 0
    return new_lines(rng, generator_settings, catalog, WINDOW, activation, flea, initial=True)


def test_initial_base_is_activated_before_the_window_up_to_fifteen_years_back(lines) -> None:
    tenure_days = WINDOW.start(0) - lines["activation"]
    assert tenure_days.min() >= 1 and tenure_days.max() <= 15 * 365.25 + 1


def test_contract_end_only_for_contract_lines_and_prepaid_plans_pay_prepaid(lines, generator_settings) -> None:
    contract = np.isin(lines["contract"], [c.CONTRACT_12M, c.CONTRACT_24M])
    assert ((lines["contract_end"] != c.NO_DAY) == contract).all()
    assert (lines["contract_end"][contract] > lines["activation"][contract]).all()
    plans = np.array(list(generator_settings.plans))[lines["plan"]]
    prepaid = lines["contract"] == c.PREPAID
    assert (np.char.startswith(plans[prepaid], "prepaid")).all()
    assert (lines["payer"][prepaid & ~lines["flea"]] == c.PREPAID_PAYER).all()


def test_flea_users_are_postpaid_flea_types_that_never_pay(lines) -> None:
    flea = lines["flea"]
    assert (lines["true_type"][flea] == c.FLEA).all() and (lines["true_type"][~flea] != c.FLEA).all()
    assert (lines["payer"][flea] == c.FLEA_PAYER).all()
    assert (lines["contract"][flea] != c.PREPAID).all()


def test_people_are_plausible(lines) -> None:
    known = lines["birth_year"] > 0
    assert 0.9 < known.mean() < 1.0
    born = lines["birth_year"][known]
    assert born.min() >= 1920 and born.max() <= 2012
    # nobody got a line before 16
    start_year = 1970 + lines["activation"][known].astype("datetime64[D]").astype("datetime64[Y]").astype(int)
    assert (start_year - born >= 15).all()
    assert set(np.unique(lines["gender"])) == {-1, 0, 1}
    assert (lines["true_type"][lines["business"]] == c.BUSINESS).all()


def test_population_grows_and_numbers_lines_in_order(lines) -> None:
    pop = empty_population(10)
    first = pop.extend({name: values[:8] for name, values in lines.items()})
    second = pop.extend({name: values[8:20] for name, values in lines.items()})
    assert first.tolist() == list(range(8)) and second.tolist() == list(range(8, 20))
    assert pop.n == 20 and (pop.activation[:20] == lines["activation"][:20]).all()
