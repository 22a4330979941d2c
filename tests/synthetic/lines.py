"""Hand-sized populations of established lines for the generator's unit tests."""

from __future__ import annotations

import numpy as np

from tiercast.settings.generator import GeneratorSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.calendar import make_window
from tiercast.synthetic.population import Population, empty_population, new_lines

WINDOW = make_window("2026-10", 12, 20)


def established_lines(
    rng: np.random.Generator, settings: GeneratorSettings, n: int, days_before: int
) -> tuple[Population, c.Catalog]:
    """Return `n` non-flea lines drawn with `rng` and activated `days_before` days before WINDOW, and the catalog."""
    catalog = c.Catalog.from_settings(settings)
    population = empty_population(n)
    activation = np.full(n, WINDOW.start(0) - days_before)
    population.extend(new_lines(rng, settings, catalog, WINDOW, activation, np.zeros(n, bool), True))
    return population, catalog
