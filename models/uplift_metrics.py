"""How well a ranking finds the customers a call changes: Qini and uplift curves, their areas, bootstrap intervals.

Definitions (Radcliffe 2007, "Using control groups to target on predicted lift"; notation of Gutierrez &
Gérardy 2016, "Causal inference and uplift modelling: a review of the literature", section 4). Customers are
sorted by score, highest first; for the top t of N customers, N_T(t) and N_C(t) count treated and control,
R_T(t) and R_C(t) sum their responses y (y x weight when a weight such as value is given; for retention
y = stayed, i.e. 1 - churned, so a response gained is a customer saved):

    Qini curve     g(t) = R_T(t) - R_C(t) x N_T(t) / N_C(t)          (0 for the ratio while N_C(t) = 0)
    uplift curve   f(t) = (R_T(t) / N_T(t) - R_C(t) / N_C(t)) x (N_T(t) + N_C(t))   (a rate is 0 while N is 0)

g counts incremental responses in the treated group's units, f as if everyone in the top t were treated.
Tied scores form one step: the curves are evaluated only where the score changes (and at t = 0, where both
are 0), with straight lines between, so the order within a tie does not matter.

Normalisation (ours, stated because the literature varies): x = t / N (share targeted) and the curve divided
by N, so both axes run on the population's scale. The random ranking's curve is the straight line from 0 to
the curve's end value. The **Qini coefficient** is the area between the Qini curve and that line,
integral over x in [0, 1] of (g(xN) - x g(N)) / N dx, by trapezoids; **AUUC** is the same area for f. Both are
0 for a random ranking and positive when the ranking puts the responsive first; a Qini coefficient of 0.01
means that, averaged over every targeting depth, the ranking gains incremental responses worth 1% of the
population over random targeting. We do not divide by the optimal ranking's area (Radcliffe's q): the optimum
needs each customer's effect, which nobody observes, and its estimate from outcomes is dominated by noise.

Intervals: percentile bootstrap, resampling treated and control rows separately (stratified), the ranking held
fixed; replicates are multiplicity weights on the sorted rows, so each replicate costs a few cumulative sums.
Several rankings of the same customers share the same replicates, so their difference has a paired interval.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

_BOOT_BATCH = 25  # replicates per batch: (batch x customers) float arrays, bounded memory at 100k customers


def _arrays(score: object, treatment: object, y: object, weight: object | None) -> tuple[np.ndarray, ...]:
    """Return score, treatment (bool), y (float) and weight as aligned 1-D numpy arrays."""
    s = np.asarray(score, dtype="float64")
    t = np.asarray(treatment).astype(bool)
    r = np.asarray(y, dtype="float64")
    w = np.ones_like(r) if weight is None else np.asarray(weight, dtype="float64")
    if not (len(s) == len(t) == len(r) == len(w)):
        raise ValueError("score, treatment, y and weight must have the same length")
    if np.isnan(s).any():
        raise ValueError("scores must not be missing")
    return s, t, r, w


def _sorted(score: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the last position of each tie group after sorting by score (descending) and the sorted columns."""
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    ends = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    return ends, [column[order] for column in columns]


def _curves(t: np.ndarray, yw: np.ndarray, counts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (n, qini, uplift) at t = 0 and each tie end, from sorted arrays and row multiplicities (..., N)."""
    treated = counts * t
    control = counts - treated
    n_t = np.cumsum(treated, axis=-1)[..., ends]
    n_c = np.cumsum(control, axis=-1)[..., ends]
    r_t = np.cumsum(treated * yw, axis=-1)[..., ends]
    r_c = np.cumsum(control * yw, axis=-1)[..., ends]
    scale = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    rate_t = np.divide(r_t, n_t, out=np.zeros_like(r_t), where=n_t > 0)
    rate_c = np.divide(r_c, n_c, out=np.zeros_like(r_c), where=n_c > 0)
    zero = np.zeros((*n_t.shape[:-1], 1))
    n = np.concatenate([zero, n_t + n_c], axis=-1)
    qini = np.concatenate([zero, r_t - r_c * scale], axis=-1)
    uplift = np.concatenate([zero, (rate_t - rate_c) * (n_t + n_c)], axis=-1)
    return n, qini, uplift


def _area_above_random(n: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Return the area between the curve and the random line on the (t / N, curve / N) scale."""
    total = n[..., -1:]
    x = n / total
    area = np.trapezoid(curve / total, x, axis=-1)
    return np.asarray(area - curve[..., -1] / total[..., 0] / 2.0)


def uplift_curves(score: object, treatment: object, y: object, weight: object | None = None) -> pd.DataFrame:
    """Return the Qini and uplift curves: one row for t = 0 and one per distinct score (highest first), with
    `n_targeted`, `share_targeted`, `qini` (g) and `uplift` (f), in responses (or weighted responses)."""
    s, t, r, w = _arrays(score, treatment, y, weight)
    ends, (t_sorted, yw) = _sorted(s, t.astype("float64"), r * w)
    n, qini, uplift = _curves(t_sorted, yw, np.ones(len(s)), ends)
    return pd.DataFrame({"n_targeted": n, "share_targeted": n / len(s), "qini": qini, "uplift": uplift})


def qini_coefficient(score: object, treatment: object, y: object, weight: object | None = None) -> float:
    """Return the area between the Qini curve and the random line (module docstring; 0 = random)."""
    s, t, r, w = _arrays(score, treatment, y, weight)
    ends, (t_sorted, yw) = _sorted(s, t.astype("float64"), r * w)
    n, qini, _ = _curves(t_sorted, yw, np.ones(len(s)), ends)
    return float(_area_above_random(n, qini))


def auuc(score: object, treatment: object, y: object, weight: object | None = None) -> float:
    """Return the area between the uplift curve and the random line (module docstring; 0 = random)."""
    s, t, r, w = _arrays(score, treatment, y, weight)
    ends, (t_sorted, yw) = _sorted(s, t.astype("float64"), r * w)
    n, _, uplift = _curves(t_sorted, yw, np.ones(len(s)), ends)
    return float(_area_above_random(n, uplift))


def _resample_counts(treatment: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return (size, N) row multiplicities: n_T draws among treated rows and n_C among control rows."""
    counts = np.zeros((size, len(treatment)))
    for members in (np.flatnonzero(treatment), np.flatnonzero(~treatment)):
        if len(members) == 0:
            continue
        picks = rng.integers(0, len(members), size=(size, len(members)))
        flat = (picks + np.arange(size)[:, None] * len(members)).ravel()
        counts[:, members] = np.bincount(flat, minlength=size * len(members)).reshape(size, len(members))
    return counts


def metric_replicates(
    scores: Mapping[str, object],
    treatment: object,
    y: object,
    weight: object | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Return one row per ranking and bootstrap replicate (`ranking`, `replicate`, `qini`, `auuc`); every
    ranking is measured on the same resampled customers (paired replicates)."""
    rng = np.random.default_rng(seed)
    _, t, r, w = _arrays(next(iter(scores.values())), treatment, y, weight)
    prepared = {}
    for name, score in scores.items():
        s = _arrays(score, treatment, y, weight)[0]
        order = np.argsort(-s, kind="stable")
        ends, _ = _sorted(s)
        prepared[name] = (order, ends)
    parts = []
    for batch in range(0, n_boot, _BOOT_BATCH):
        size = min(_BOOT_BATCH, n_boot - batch)
        counts = _resample_counts(t, size, rng)
        for name, (order, ends) in prepared.items():
            n, qini, uplift = _curves(t[order].astype("float64"), (r * w)[order], counts[:, order], ends)
            parts.append(
                pd.DataFrame(
                    {
                        "ranking": name,
                        "replicate": np.arange(batch, batch + size),
                        "qini": _area_above_random(n, qini),
                        "auuc": _area_above_random(n, uplift),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True).sort_values(["ranking", "replicate"], kind="stable", ignore_index=True)


def uplift_metric_intervals(
    scores: Mapping[str, object],
    treatment: object,
    y: object,
    weight: object | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Return, per ranking (index), the Qini coefficient and AUUC with percentile bootstrap intervals
    (`qini`, `qini_low`, `qini_high`, `auuc`, `auuc_low`, `auuc_high`)."""
    replicates = metric_replicates(scores, treatment, y, weight, n_boot, seed)
    tail = (1.0 - level) / 2.0
    rows = {}
    for name, score in scores.items():
        mine = replicates[replicates["ranking"] == name]
        row = {
            "qini": qini_coefficient(score, treatment, y, weight),
            "auuc": auuc(score, treatment, y, weight),
        }
        for metric in ("qini", "auuc"):
            row[f"{metric}_low"], row[f"{metric}_high"] = np.quantile(mine[metric], [tail, 1.0 - tail])
        rows[name] = row
    columns = ["qini", "qini_low", "qini_high", "auuc", "auuc_low", "auuc_high"]
    return pd.DataFrame.from_dict(rows, orient="index").loc[:, columns]
