import numpy as np
import pytest

from tiercast.synthetic import codes as c
from tiercast.synthetic.behaviour import CONTENT, LEAVING, draw_usage, step_latent

from .lines import established_lines


@pytest.fixture
def pop(generator_settings):
    return established_lines(np.random.default_rng(2), generator_settings, 2000, days_before=1000)


def test_a_retention_call_can_make_a_leaving_line_content(generator_settings, pop) -> None:
    population, catalog = pop
    population.satisfaction[:] = LEAVING
    idx = np.arange(2000)
    called = idx < 1000
    step_latent(np.random.default_rng(0), population, idx, np.zeros(2000, bool), called, generator_settings, catalog)
    content = population.satisfaction == CONTENT
    d = generator_settings.dissatisfaction
    assert content[called].mean() > content[~called].mean() + d.retention_success / 2


def test_dissatisfaction_lowers_spend(generator_settings, pop) -> None:
    population, catalog = pop
    population.log_spend[:] = 0.0
    population.satisfaction[:] = np.where(np.arange(2000) < 1000, CONTENT, LEAVING)
    population.true_type[:] = c.LOYAL_MID
    idx = np.arange(2000)
    step_latent(
        np.random.default_rng(0),
        population,
        idx,
        np.zeros(2000, bool),
        np.zeros(2000, bool),
        generator_settings,
        catalog,
    )
    assert population.log_spend[1000:].mean() < population.log_spend[:1000].mean() - 0.05


def test_usage_scales_with_the_active_part_of_the_month(generator_settings, pop) -> None:
    population, _ = pop
    idx = np.arange(2000)
    full = draw_usage(np.random.default_rng(1), population, idx, np.ones(2000), generator_settings)
    none = draw_usage(np.random.default_rng(1), population, idx, np.zeros(2000), generator_settings)
    half = draw_usage(np.random.default_rng(1), population, idx, np.full(2000, 0.5), generator_settings)
    assert (none.voice_minutes == 0).all() and (none.data_mb == 0).all() and (none.sms_count == 0).all()
    assert half.data_mb.sum() == pytest.approx(full.data_mb.sum() / 2, rel=0.01)
