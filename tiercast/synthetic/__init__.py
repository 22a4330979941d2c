"""Synthetic telecom data: a simulated subscriber base with bills, payments and contacts (`tiercast generate`).

`generate(out_dir, subscribers, months, seed, settings.generator)` writes the four input tables of
data_contracts/ as Parquet under `out_dir` and the simulation's truth under `out_dir/_truth/`;
`scenarios=` adds test scenarios (drift, an export fault: tiercast/synthetic/scenarios.py).
"""

from tiercast.synthetic.simulation import generate

__all__ = ["generate"]
