"""Acceptance of issue 14 across worlds: uplift targeting vs churn x value ranking against the generator's truth.

    .venv/bin/python -m benchmarks.uplift_worlds --subscribers 200000 --months 24 --out /tmp/uplift-worlds

For each response mix (generator.campaigns.mixes, `tiercast generate --response-mix`): generate N subscribers x
M months with monthly campaigns, train the churn model (pipelines.training.fit_backtest, as `tiercast train`)
and the uplift model (pipelines.uplift_training.fit_uplift, as `tiercast uplift train`: held out the latest
matured campaign, gated by models.uplift.uplift_gate against churn x value on it). Then, on the held-out
campaign's whole eligible base (features as of its eve), each desk lists as many customers as it called in
that campaign (equal capacity), once ranked by churn score x value if lost and once by uplift targeting
(models.retention.uplift_targeting: incremental value, harmful calls left out, best offer). Both lists are
scored against the truth (_truth/campaign_response: churn in the campaign month without a call and if
reached with each offer):

    customers saved = sum over the list of p_churn_if_not_called - p_churn_if_called_<offer>
    value saved     = the same, each term x the customer's value if lost (retention.value_at_risk, CNY)

with the uplift list's chosen offer, and for churn x value the offers as the campaigns drew them (the expected
saving over the generator's offer shares). Sleeping dogs: truth response_type; none exist in the proportional
world. "nightly uses" is the list the nightly would publish: uplift only if the gate passed. The oracle is the
list uplift targeting builds from the true effects (the headroom at equal capacity), and r the correlation of
the model's predicted uplift per customer and offer with the true effect over the base. A third list
(not what the nightly does) re-ranks by uplift only the desk's top 2 x capacity by churn x value.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MIXES = ("default", "few_persuadables", "no_sleeping_dogs", "proportional")


@dataclass(frozen=True)
class ListFigures:
    """One list scored against the truth."""

    size: int
    saved: float
    value_saved: float
    sleeping_dog_share: float
    harmed_share: float  # share listed whom the call (with the list's offer) truly makes likelier to leave


def generate(out: Path, subscribers: int, months: int, seed: int, mix: str) -> None:
    """Run `tiercast generate` with campaigns in response mix `mix` into `out` (skipped when already there)."""
    if (out / "campaigns.parquet").is_file() and (out / "_truth" / "campaign_response.parquet").is_file():
        return
    command = [str(Path(sys.executable).parent / "tiercast"), "generate", "-n", str(subscribers), "-m", str(months)]
    command += ["-s", str(seed), "--out", str(out), "--response-mix", mix]
    env = {**os.environ, "TIERCAST__PATHS__ROOT": str(out.parent / "root")}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def settings_for(root: Path, method: str | None = None, campaign_history: bool | None = None) -> Any:
    """Return the packaged settings with every path under `root`, monitoring off (no reference needed) and, when
    given, another uplift learner (`method`, uplift.model.method) or campaign-history choice
    (uplift.campaign_history)."""
    from tiercast.settings import load_settings

    environ = {"TIERCAST__PATHS__ROOT": str(root), "TIERCAST__MONITORING__ENABLED": "false"}
    if method is not None:
        environ["TIERCAST__UPLIFT__MODEL__METHOD"] = method
    if campaign_history is not None:
        environ["TIERCAST__UPLIFT__CAMPAIGN_HISTORY"] = str(campaign_history).lower()
    return load_settings(environ=environ)


def score_list(listed: pd.DataFrame, truth: pd.DataFrame, offers: pd.Series | None, shares: dict[str, float]) -> Any:
    """Return ListFigures of `listed` (subscriber_id, value) against `truth`; `offers` per listed row, or None for
    the offers drawn at random with `shares`."""
    rows = truth.loc[listed["subscriber_id"].to_numpy()]
    without = rows["p_churn_if_not_called"].to_numpy()
    called = np.zeros(len(rows))
    if offers is None:
        for offer, share in shares.items():
            called += share * rows[f"p_churn_if_called_{offer}"].to_numpy(dtype="float64")
    else:
        chosen = offers.to_numpy(dtype=object)
        for offer in set(chosen):
            mask = chosen == offer
            called[mask] = rows[f"p_churn_if_called_{offer}"].to_numpy(dtype="float64")[mask]
    saved = without - called
    value = listed["value"].to_numpy(dtype="float64")
    types = rows["response_type"]
    return ListFigures(
        size=len(listed),
        saved=float(saved.sum()),
        value_saved=float((saved * value).sum()),
        sleeping_dog_share=float((types == "sleeping_dog").mean()) if len(rows) else float("nan"),
        harmed_share=float((saved < 0).mean()) if len(rows) else float("nan"),
    )


def effect_accuracy(model: Any, base: pd.DataFrame, truth: pd.DataFrame, targeting: Any) -> dict[str, float]:
    """Return how well the model's per-offer uplift matches the true effect if reached over the base: the
    correlation pooled over offers and within each, and the mean spread of a customer's predicted uplifts."""
    from models.retention_targeting import offer_uplifts

    predicted = offer_uplifts(model, base, targeting.offers, targeting.offer_column)
    rows = truth.loc[base["subscriber_id"].to_numpy()]
    true = pd.DataFrame(
        {o: (rows["p_churn_if_not_called"] - rows[f"p_churn_if_called_{o}"]).to_numpy() for o in predicted.columns},
        index=predicted.index,
    )
    out = {"r_true_effect": float(np.corrcoef(predicted.to_numpy().ravel(), true.to_numpy().ravel())[0, 1])}
    out |= {f"r_true_effect_{o}": float(np.corrcoef(predicted[o], true[o])[0, 1]) for o in predicted.columns}
    return out | {"offer_spread": float(predicted.std(axis=1).mean())}


def oracle_list(
    base: pd.DataFrame, truth: pd.DataFrame, targeting: Any, answer_rate: float, capacity: dict[Any, int]
) -> pd.DataFrame:
    """Return the list uplift targeting would build from the true effects (x the answer rate, as a model
    trained on treated vs control predicts): the headroom at equal capacity."""
    from models.retention_targeting import best_offers

    rows = truth.loc[base["subscriber_id"].to_numpy()]
    offers = [o for o in targeting.offers if f"p_churn_if_called_{o}" in rows.columns]
    true = pd.DataFrame(
        {o: answer_rate * (rows["p_churn_if_not_called"] - rows[f"p_churn_if_called_{o}"]).to_numpy() for o in offers},
        index=base.index,
    )
    best = best_offers(true, base["value"], targeting.offer_costs, targeting.min_incremental_value)
    ranked = base.assign(offer=best["offer"], incremental_value=best["incremental_value"])[best["excluded"].isna()]
    return pd.concat(
        [g.nlargest(capacity.get(d, 0), "incremental_value") for d, g in ranked.groupby("desk", sort=True)],
        ignore_index=True,
    )


def held_out_base(
    data: Path, tables: dict[str, pd.DataFrame], day: date, settings: Any, absent: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the campaign of `day`'s whole eligible base (features as of its eve, with its desk, and with
    uplift.campaign_history each line's campaign history as of the eve, as the nightly scores it) and the
    generator's truth for that campaign by subscriber_id (_truth/campaign_response)."""
    from features.build import feature_table
    from features.campaign_history import campaign_history, with_campaign_history
    from pipelines.uplift_training import label_window

    eve, _ = label_window(day, settings.uplift.horizon_days)
    truth = pd.read_parquet(data / "_truth" / "campaign_response.parquet")
    truth = truth[pd.to_datetime(truth["campaign_date"]).dt.date == day].set_index("subscriber_id")
    base = feature_table(
        tables["subscribers"], tables["bills"], tables["payments"], tables["contacts"], eve, settings.features,
        absent,
    )  # fmt: skip
    base = base[base["subscriber_id"].isin(truth.index[truth["eligible"]])].reset_index(drop=True)
    if settings.uplift.campaign_history:
        base = with_campaign_history(base, campaign_history(tables["campaigns"], base["subscriber_id"].unique(), eve))
    return base.assign(desk=truth.loc[base["subscriber_id"], "desk"].to_numpy()), truth


def world(mix: str, args: argparse.Namespace) -> dict[str, Any]:
    """Generate, train both models and compare the two lists in one world; return its row."""
    from models.retention import UpliftTargeting, uplift_targeting, value_if_lost
    from pipelines.ingest import validate_inputs
    from pipelines.score import targeting_for
    from pipelines.training import fit_backtest, plan_backtest
    from pipelines.uplift_training import campaign_members, fit_uplift

    started = time.perf_counter()
    folder = args.out / mix
    data = folder / "data"
    generate(data, args.subscribers, args.months, args.seed, mix)
    generated = time.perf_counter()
    settings = settings_for(folder / "root", args.method, args.campaign_history)
    inputs = validate_inputs(settings, data, folder / "quarantine", folder / "report.json", "benchmark")
    tables = inputs.tables
    backtest = plan_backtest(settings, tables, None)
    churn = fit_backtest(tables, backtest, settings, data, inputs.absent)
    fitted = fit_uplift(tables, settings, backtest.data_end, inputs.absent, churn.model, "churn model (fit_backtest)")
    trained = time.perf_counter()

    day = fitted.plan.holdout_dates[-1]
    base, truth = held_out_base(data, tables, day, settings, inputs.absent)
    value = value_if_lost(base, settings.retention)
    churn_score = churn.model.predict_proba(base[churn.columns])[:, 1]
    members = campaign_members(tables["campaigns"], day)
    capacity = members[members["group"] == "treated"].groupby("desk").size().to_dict()

    by_churn = base.assign(value=value, priority=churn_score * value.to_numpy())
    churn_list = pd.concat(
        [g.nlargest(capacity.get(d, 0), "priority") for d, g in by_churn.groupby("desk", sort=True)],
        ignore_index=True,
    )
    targeting: UpliftTargeting = targeting_for(fitted.model, settings)
    ranked = uplift_targeting(settings.retention, base, targeting).assign(value=value)
    accuracy = effect_accuracy(fitted.model, base, truth, targeting)
    oracle = oracle_list(base.assign(value=value), truth, targeting, settings.generator.campaigns.answer_rate, capacity)
    uplift_list = pd.concat(
        [g.nlargest(capacity.get(d, 0), "incremental_value") for d, g in ranked.groupby("desk", sort=True)],
        ignore_index=True,
    )
    pool = pd.concat(
        [g.nlargest(2 * capacity.get(d, 0), "priority") for d, g in by_churn.groupby("desk", sort=True)],
        ignore_index=True,
    )
    in_pool = ranked[ranked["subscriber_id"].isin(pool["subscriber_id"])]
    pool_list = pd.concat(
        [g.nlargest(capacity.get(d, 0), "incremental_value") for d, g in in_pool.groupby("desk", sort=True)],
        ignore_index=True,
    )
    from tiercast.settings import load_settings

    generator = load_settings().generator.campaigns
    total = sum(o.share for o in generator.offers.values())
    shares = {str(name): o.share / total for name, o in generator.offers.items()}
    cv = score_list(churn_list, truth, None, shares)
    up = score_list(uplift_list, truth, uplift_list["offer"], shares)
    best = score_list(oracle, truth, oracle["offer"], shares)
    pooled = score_list(pool_list, truth, pool_list["offer"], shares)
    gate = fitted.gate
    return {
        "mix": mix,
        "method": settings.uplift.model.method,
        "campaign_history": settings.uplift.campaign_history,
        "subscribers": args.subscribers,
        "months": args.months,
        "campaign": str(day),
        "capacity": int(sum(capacity.values())),
        "train_members": fitted.n_train,
        "holdout_members": len(fitted.holdout),
        "churn_value_listed": cv.size,
        "uplift_listed": up.size,
        "churn_value_saved": cv.saved,
        "uplift_saved": up.saved,
        "saved_ratio": up.saved / cv.saved if cv.saved else float("nan"),
        "churn_value_value_saved": cv.value_saved,
        "uplift_value_saved": up.value_saved,
        "value_ratio": up.value_saved / cv.value_saved if cv.value_saved else float("nan"),
        "churn_value_sleeping_dogs": cv.sleeping_dog_share,
        "uplift_sleeping_dogs": up.sleeping_dog_share,
        "oracle_saved": best.saved,
        "oracle_value_saved": best.value_saved,
        "oracle_sleeping_dogs": best.sleeping_dog_share,
        **accuracy,
        "pool_listed": pooled.size,
        "pool_saved": pooled.saved,
        "pool_ratio": pooled.saved / cv.saved if cv.saved else float("nan"),
        "pool_value_ratio": pooled.value_saved / cv.value_saved if cv.value_saved else float("nan"),
        "pool_sleeping_dogs": pooled.sleeping_dog_share,
        "churn_value_harmed": cv.harmed_share,
        "uplift_harmed": up.harmed_share,
        "qini": gate.qini,
        "qini_low": gate.qini_low,
        "qini_high": gate.qini_high,
        "value_qini_gain_low": gate.value_qini_gain_low,
        "gate_passed": gate.passed,
        "gate_reason": gate.reason,
        "nightly_uses": "uplift" if gate.passed else "churn_value",
        "generate_s": round(generated - started, 1),
        "train_s": round(trained - generated, 1),
        "compare_s": round(time.perf_counter() - trained, 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Return the rows as the README's markdown table."""
    head = (
        "| world | listed (churn x value / uplift) | customers saved (churn x value / uplift, ratio) "
        "| value saved CNY (churn x value / uplift, ratio) | sleeping dogs in list (churn x value / uplift) "
        "| gate (Qini 95% interval) | nightly uses | oracle (true effect): customers, value saved "
        "| r(predicted, true effect) | uplift within the 2x churn x value pool: customers, value "
        "ratio, sleeping dogs |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['mix']} | {r['churn_value_listed']:,} / {r['uplift_listed']:,} "
            f"| {r['churn_value_saved']:.1f} / {r['uplift_saved']:.1f} ({r['saved_ratio']:.2f}x) "
            f"| {r['churn_value_value_saved']:,.0f} / {r['uplift_value_saved']:,.0f} ({r['value_ratio']:.2f}x) "
            f"| {r['churn_value_sleeping_dogs']:.1%} / {r['uplift_sleeping_dogs']:.1%} "
            f"| {'passed' if r['gate_passed'] else 'failed'} ({r['qini_low']:.4f}, {r['qini_high']:.4f}) "
            f"| {r['nightly_uses']} | {r['oracle_saved']:.1f}, {r['oracle_value_saved']:,.0f} "
            f"| {r['r_true_effect']:.2f} | {r['pool_ratio']:.2f}x, {r['pool_value_ratio']:.2f}x, "
            f"{r['pool_sleeping_dogs']:.1%} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run every world and print (and write OUT/uplift_worlds.json and .md) the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", "-n", type=int, default=200_000)
    parser.add_argument("--months", "-m", type=int, default=24)
    parser.add_argument("--seed", "-s", type=int, default=7)
    parser.add_argument("--mixes", nargs="+", default=list(MIXES))
    parser.add_argument("--out", type=Path, default=Path("/tmp/uplift-worlds"))
    parser.add_argument("--method", default=None, help="uplift learner (uplift.model.method); default: configured")
    parser.add_argument(
        "--campaign-history",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train and score with the campaign history (uplift.campaign_history); default: configured",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for mix in args.mixes:
        rows.append(world(mix, args))
        print(json.dumps(rows[-1], default=str), flush=True)
        (args.out / "uplift_worlds.json").write_text(json.dumps(rows, indent=2, default=str))
    print(table(rows))
    (args.out / "uplift_worlds.md").write_text(table(rows) + f"\n\nrun on {date.today()}\n")


if __name__ == "__main__":
    main()
