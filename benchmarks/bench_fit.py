"""Fit speed: `ChurnModel.fit` vs a bare `lgb.train` with the same parameters and data, same process.

    .venv/bin/python benchmarks/bench_fit.py [--rows 1000000] [--repeats 3] [--threads N]

Data: `--rows` training rows x our feature count (34 numeric + 8 categorical, like the feature
table) and a validation set of rows/10 for early stopping. The reference trains the same booster
(`ChurnModel.lgb_params`, the same Datasets, the same early stopping); `ChurnModel.fit` adds its
column typing, the class weight and the cross-fitted calibration. Prints the median of the runs,
the ratio (target <= 1.2) and the peak RSS growth during each call.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import psutil

N_NUMERIC, N_CATEGORICAL = 34, 8


def make_data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Return a feature-table-shaped frame and churn labels (~2% positive)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        rng.normal(size=(rows, N_NUMERIC)).astype("float64"), columns=[f"num_{i}" for i in range(N_NUMERIC)]
    )
    for i in range(N_CATEGORICAL):
        x[f"cat_{i}"] = pd.Categorical(rng.choice([f"v{j}" for j in range(3 + 3 * i)], rows))
    logit = -4.2 + 0.8 * x["num_0"] + 0.5 * x["num_1"] - 0.4 * x["num_2"] + 0.6 * (x["cat_0"] == "v0")
    y = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)
    return x, y


def peak_rss(call: Callable[[], Any]) -> tuple[float, float]:
    """Return (seconds, peak RSS growth in GiB) of one call, sampling RSS every 20 ms."""
    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    call()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return seconds, (peak[0] - start_rss) / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="LightGBM threads (default: churn.model.n_jobs)")
    args = parser.parse_args()

    import lightgbm as lgb

    from models.churn import ChurnModel, _class_weight
    from tiercast.settings import load_settings

    settings = load_settings(environ={}).churn
    params = settings.model.model_dump() | ({"n_jobs": args.threads} if args.threads else {})
    x, y = make_data(args.rows, seed=1)
    x_valid, y_valid = make_data(args.rows // 10, seed=2)
    monotone = {"num_0": 1, "num_1": 1}
    print(
        f"{args.rows:,} rows x {x.shape[1]} features ({N_CATEGORICAL} categorical), valid {len(y_valid):,}; "
        f"threads {params['n_jobs']}; positives {y.mean():.2%}"
    )

    def ours() -> ChurnModel:
        return ChurnModel(**params, monotone_constraints=monotone).fit(x, y, eval_set=(x_valid, y_valid))

    def bare() -> lgb.Booster:
        model = ChurnModel(**params, monotone_constraints=monotone)
        booster_params = model.lgb_params(list(x.columns))
        weights = np.where(y == 1, _class_weight(y, model.class_weight), 1.0)
        train = lgb.Dataset(x, y, weight=weights)
        valid = lgb.Dataset(x_valid, y_valid, reference=train)
        stop: list[Any] = [lgb.early_stopping(model.early_stopping_rounds, verbose=False)]
        return lgb.train(booster_params, train, model.n_estimators, valid_sets=[valid], callbacks=stop)

    results: dict[str, list[tuple[float, float]]] = {"ChurnModel.fit": [], "bare lgb.train": []}
    trees = {}
    for repeat in range(args.repeats):
        for name, call in (("bare lgb.train", bare), ("ChurnModel.fit", ours)):
            box: list[Any] = []

            def run(call: Callable[[], Any] = call, box: list[Any] = box) -> None:
                box.append(call())

            seconds, memory = peak_rss(run)
            results[name].append((seconds, memory))
            fitted = box[0]
            trees[name] = fitted.best_iteration_ if isinstance(fitted, ChurnModel) else fitted.best_iteration
            print(f"  run {repeat + 1}: {name:15s} {seconds:7.2f} s  peak +{memory:.2f} GiB  trees {trees[name]}")
    medians = {name: statistics.median(s for s, _ in runs) for name, runs in results.items()}
    peaks = {name: max(m for _, m in runs) for name, runs in results.items()}
    print(f"\n{'':16s} {'median s':>9s} {'peak GiB':>9s} {'trees':>6s}")
    for name in results:
        print(f"{name:16s} {medians[name]:9.2f} {peaks[name]:9.2f} {trees[name]:6d}")
    ratio = medians["ChurnModel.fit"] / medians["bare lgb.train"]
    print(f"ratio ChurnModel.fit / bare lgb.train: {ratio:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
