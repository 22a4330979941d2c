"""Measure issue 12's monitoring acceptance items on generated data, one scenario per experiment folder.

For a scenario (none | competitor_promo | price_rise | broken_export) this runs, each step in its
own `tiercast` process with TIERCAST__PATHS__ROOT=<root> (so every experiment has its own data/,
MLflow database and monitoring history):

1. tiercast generate -n N -m M --seed S --out <root>/raw [--scenario NAME]
2. tiercast train --data <root>/raw --as-of TRAIN_AS_OF   (a date before the scenario starts)
3. tiercast monitor backfill --data <root>/raw --from D1 --to D2 --every K

then reads <root>/data/monitoring/history/*.parquet (contract data_contracts/monitoring.yaml) and
prints: alarms per night (level significant or guardrail), the first alarm and what it was, the
largest PSI per night (against the reference and yesterday) with its day of month, the scenario's
verdict, the realised vs estimated ROC AUC of every matured night (kind realised, subject all) and
the share with |estimated - realised| <= 0.02, and the wall time per night (from the history files'
modification times; the first night includes the process start).

    .venv/bin/python -m benchmarks.monitoring_scenarios --scenario none -n 200000 -m 24 \\
        --train-as-of 2026-05-31 --from 2026-06-01 --to 2026-07-30 --every 2 --root /tmp/mscen/none --diagnose
    .venv/bin/python -m benchmarks.monitoring_scenarios --scenario competitor_promo -n 200000 -m 24 \\
        --train-as-of 2026-05-31 --from 2026-06-28 --to 2026-08-03 --every 3 --root /tmp/mscen/promo
    .venv/bin/python -m benchmarks.monitoring_scenarios --scenario broken_export -n 200000 -m 24 \\
        --train-as-of 2026-08-31 --from 2026-10-30 --to 2026-10-31 --root /tmp/mscen/broken
    .venv/bin/python -m benchmarks.monitoring_scenarios --scenario price_rise -n 200000 -m 24 \\
        --train-as-of 2026-05-31 --from 2026-06-01 --to 2026-09-01 --every 10 --root /tmp/mscen/price

--reuse skips a step whose output is already there (the data, a champion, any of the nights'
history), so `--reuse` on a finished folder only re-reads and re-prints; --diagnose splits each
matured night's estimate and realised ROC AUC by lines with no bill yet (support_diagnostic);
--ignore bills_due leaves a column's drift alarms out of the verdict (bills_due jumps from 11 to 12
after each month's due day: a calendar artefact of a month-end reference); --json FILE also writes
the figures; --rejudge recomputes the realised rows' alarms from their stored figures with today's
rules (for a replay made before a rule changed). Nothing is written outside --root. Exit code 0 when
the scenario's acceptance items pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

SCENARIOS = ("none", "competitor_promo", "price_rise", "broken_export")
ALARM_LEVELS = ("significant", "guardrail")
TOLERANCE = 0.02  # issue 12: |estimated - realised ROC AUC| <= 0.02 on >= 90% of matured nights
REQUIRED_SHARE = 0.90
HORIZON_DAYS = 60  # churn.horizon_days (default)


def tiercast(root: Path, args: list[str], log: Path) -> float:
    """Run `tiercast ARGS` with its paths under `root`, output to `log`; return the wall time in seconds."""
    exe = Path(sys.executable).with_name("tiercast")
    env = {**os.environ, "TIERCAST__PATHS__ROOT": str(root), "TIERCAST__EVALUATION__GENERATOR_TRUTH": "true"}
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([str(exe), *args], env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    print(f"$ tiercast {' '.join(args)}  -> exit {done.returncode}, {seconds:.1f} s (log {log})", flush=True)
    if done.returncode != 0:
        sys.exit(f"tiercast {args[0]} failed (exit {done.returncode}): see {log}")
    return seconds


def nights(start: date, end: date, every: int) -> list[date]:
    """Return the nights `tiercast monitor backfill --from start --to end --every every` replays."""
    return [start + timedelta(days=d) for d in range(0, (end - start).days + 1, every)]


def run_steps(a: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Generate, train and backfill (each skipped under --reuse when its output exists); return timings."""
    raw = root / "raw"
    history = root / "data" / "monitoring" / "history"
    timings_file = root / "timings.json"
    timings: dict[str, Any] = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    root.mkdir(parents=True, exist_ok=True)
    if not (a.reuse and (raw / "subscribers.parquet").is_file()):
        args = ["generate", "-n", str(a.subscribers), "-m", str(a.months), "--seed", str(a.seed), "--out", str(raw)]
        args += ["--end-month", a.end_month]
        if a.scenario != "none":
            args += ["--scenario", a.scenario]
            if a.scenario_start:
                args += ["--scenario-start", a.scenario_start]
        timings["generate_s"] = tiercast(root, args, root / "generate.log")
    if not (a.reuse and (root / "data" / "mlflow").is_dir()):
        args = ["train", "--data", str(raw), "--as-of", a.train_as_of]
        timings["train_s"] = tiercast(root, args, root / "train.log")
    wanted = nights(date.fromisoformat(a.start), date.fromisoformat(a.end), a.every)
    if not (a.reuse and any((history / f"{n}.parquet").is_file() for n in wanted)):
        args = ["monitor", "backfill", "--data", str(raw), "--from", a.start, "--to", a.end, "--every", str(a.every)]
        started = time.time()
        timings["backfill_s"] = tiercast(root, args, root / "backfill.log")
        stamps = [started] + [(history / f"{n}.parquet").stat().st_mtime for n in wanted]
        timings["night_s"] = {str(n): round(b - a_, 2) for n, a_, b in zip(wanted, stamps, stamps[1:], strict=False)}
        timings["nights"] = len(wanted)
    timings_file.write_text(json.dumps(timings, indent=2))
    return timings


def load_history(root: Path, wanted: list[date]) -> pd.DataFrame:
    """Return the history rows of the replayed nights.

    A night replayed again after its realised rows were computed loses them from its history file (the
    rerun skips nights with <paths.monitoring>/realised/<night>.parquet): those are read from there.
    """
    folder = root / "data" / "monitoring"
    files = [folder / "history" / f"{n}.parquet" for n in wanted if (folder / "history" / f"{n}.parquet").is_file()]
    if not files:
        sys.exit(f"no monitoring history in {folder / 'history'}")
    history = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    missing = [n for n in wanted if (folder / "history" / f"{n}.parquet").is_file()]
    have = set(history.loc[history["kind"] == "realised", "as_of"].dt.date)
    lost = [n for n in missing if n not in have and (folder / "realised" / f"{n}.parquet").is_file()]
    if lost:
        print(f"note: realised rows of {len(lost)} night(s) missing from the history, read from realised/: {lost}")
        extra = pd.concat([pd.read_parquet(folder / "realised" / f"{n}.parquet") for n in lost], ignore_index=True)
        extra["recorded_on"] = pd.to_datetime(extra["as_of"])
        history = pd.concat([history, extra.reindex(columns=history.columns)], ignore_index=True)
    return history


def reference_calendars(root: Path, version: str) -> dict[str, tuple[float, ...]]:
    """Return the churn calendar per tier kept in the reference profile of model `version` under <root> (empty for a
    model trained before the reference had one)."""
    from models.drift import ReferenceProfile
    from pipelines import tracking
    from pipelines.monitoring import REFERENCE_ARTIFACT
    from tiercast.settings import load_settings

    settings = load_settings(environ={"TIERCAST__PATHS__ROOT": str(root)})
    data = tracking.load_run_dict(settings, tracking.version_info(settings, version).run_id, REFERENCE_ARTIFACT)
    return dict(ReferenceProfile.from_dict(data).churn_calendar) if data else {}


def rejudge(history: pd.DataFrame, root: Path) -> pd.DataFrame:
    """Return the history with its realised rows' level and message recomputed by today's rules
    (models.performance_estimate.performance_comparison with the packaged monitoring.estimate settings), from
    the estimate, band and realised value each row stored: a replay made before a rule changed is judged
    by the rule as it is now, without scoring the nights again. The recent-churn rows (models.recent_churn)
    need each leaver's day, which the rows do not store: they are computed again from the night's kept scores
    (<root>/data/monitoring/scores), the leavers in <root>/raw/subscribers.parquet and the churn calendars of
    the model that scored the night (its reference profile in <root>'s MLflow)."""
    from models.performance_estimate import performance_comparison
    from models.recent_churn import judged_recent_churn
    from pipelines.monitoring import recent_rows
    from tiercast.settings import load_settings

    loaded = load_settings(environ={})
    settings, recent = loaded.monitoring.estimate, loaded.monitoring.recent_churn
    realised = (history["kind"] == "realised") & (history["metric"] != "recent_churn")
    leavers = pd.read_parquet(root / "raw" / "subscribers.parquet", columns=["subscriber_id", "deactivation_date"])
    leavers = leavers[leavers["deactivation_date"].notna()]
    parts, redone, calendars = [], set(), {}
    for (as_of, recorded_on), night in history[realised].groupby(["as_of", "recorded_on"], sort=False):
        scores = root / "data" / "monitoring" / "scores" / f"{as_of:%Y-%m-%d}.parquet"
        if recent is not None and scores.is_file():
            version = str(night["model_version"].iloc[0])
            if version not in calendars:
                calendars[version] = reference_calendars(root, version)
            judged = judged_recent_churn(
                pd.read_parquet(scores), leavers, as_of.date(), loaded.churn.horizon_days, recent, calendars[version]
            )
            rows = recent_rows(judged).assign(as_of=as_of, recorded_on=recorded_on)
            parts.append(rows.assign(model_version=night["model_version"].iloc[0]).reindex(columns=history.columns))
            redone.add((as_of, recorded_on))
        estimated = night.rename(columns={"subject": "group", "baseline": "estimate"})
        estimated = estimated.loc[estimated["estimate"].notna(), ["group", "metric", "estimate", "low", "high", "n"]]
        truth = night.rename(columns={"subject": "group"})[["group", "metric", "value", "n"]]
        judged = performance_comparison(estimated, truth, settings).set_index(["group", "metric"])
        keys = pd.MultiIndex.from_arrays([night["subject"], night["metric"]])
        parts.append(
            night.assign(
                level=judged["level"].reindex(keys).to_numpy(), message=judged["message"].reindex(keys).to_numpy()
            )
        )
    stored_recent = history["metric"] == "recent_churn"
    night_keys = pd.MultiIndex.from_arrays([history["as_of"], history["recorded_on"]])
    kept = history[~realised & ~(stored_recent & night_keys.isin(list(redone)))]
    return pd.concat([kept, *parts], ignore_index=True) if parts else history


def scenario_record(root: Path, name: str) -> dict[str, Any]:
    """Return the scenario's record in <root>/raw/_truth/scenarios.json (empty for none)."""
    path = root / "raw" / "_truth" / "scenarios.json"
    if name == "none" or not path.is_file():
        return {}
    return next((r for r in json.loads(path.read_text())["scenarios"] if r["name"] == name), {})


def psi_table(history: pd.DataFrame, against: str) -> pd.DataFrame:
    """Return night x column PSI against `against` (reference or yesterday)."""
    psi = history[(history["kind"] == "drift") & (history["metric"] == "psi") & (history["against"] == against)]
    return psi.pivot_table(index="recorded_on", columns="subject", values="value", aggfunc="first")


def support_diagnostic(root: Path, matured: pd.DataFrame) -> pd.DataFrame:
    """Per matured night: lines activated after the last bill issue (no bill yet, never seen at training, which
    uses month ends) against the rest: share, mean score, realised churn, and the CBPE estimate and realised
    ROC AUC with and without them (from the kept scores, <root>/data/monitoring/scores)."""
    from sklearn.metrics import roc_auc_score

    from models.performance_estimate import expected_roc_auc

    subscribers = pd.read_parquet(
        root / "raw" / "subscribers.parquet", columns=["subscriber_id", "activation_date", "deactivation_date"]
    )
    subscribers = subscribers.set_index("subscriber_id")
    rows = []
    for night in matured["as_of"]:
        path = root / "data" / "monitoring" / "scores" / f"{night:%Y-%m-%d}.parquet"
        if not path.is_file():
            continue
        scores = pd.read_parquet(path)
        joined = subscribers.reindex(scores["subscriber_id"])
        left = pd.to_datetime(joined["deactivation_date"]).to_numpy()
        y = (left > night.to_datetime64()) & (left <= (night + pd.Timedelta(days=HORIZON_DAYS)).to_datetime64())
        issued = night if night.is_month_end else night - pd.offsets.MonthEnd(1)  # bills are issued on month ends
        new = (pd.to_datetime(joined["activation_date"]) > issued).to_numpy()
        p = scores["churn_score"].to_numpy()
        rows.append(
            {
                "as_of": night,
                "day": night.day,
                "no_bill_share": new.mean(),
                "no_bill_score": p[new].mean() if new.any() else math.nan,
                "no_bill_churn": y[new].mean() if new.any() else math.nan,
                "est_all": expected_roc_auc(p),
                "real_all": roc_auc_score(y, p),
                "est_billed": expected_roc_auc(p[~new]),
                "real_billed": roc_auc_score(y[~new], p[~new]),
            }
        )
    table = pd.DataFrame(rows).set_index("as_of") if rows else pd.DataFrame()
    if len(table):
        table["gap_all"] = table["est_all"] - table["real_all"]
        table["gap_billed"] = table["est_billed"] - table["real_billed"]
    return table


def report(a: argparse.Namespace, root: Path, timings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Print the figures and the scenario's verdict; return them (JSON-ready) and whether it passed."""
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.max_rows", 200)
    wanted = nights(date.fromisoformat(a.start), date.fromisoformat(a.end), a.every)
    history = load_history(root, wanted)
    if a.rejudge:
        history = rejudge(history, root)
        print("realised rows re-judged by today's rules (--rejudge)")
    record = scenario_record(root, a.scenario)
    out: dict[str, Any] = {"scenario": a.scenario, "record": record, "nights": len(wanted)}
    print(f"\n== {a.scenario}: {a.subscribers:,} subscribers x {a.months} months, seed {a.seed}, "
          f"champion as of {a.train_as_of}, nights {a.start}..{a.end} every {a.every} ({len(wanted)})")  # fmt: skip
    if record:
        print("scenario truth:", json.dumps({k: record.get(k) for k in ("start", "end", "inputs_from", "truth_from")}))

    # -- wall time (backfill not run by this script: from the history files' modification times, first night left out)
    per_night = timings.get("night_s", {})
    if not per_night:
        folder = root / "data" / "monitoring" / "history"
        stamps = [(folder / f"{n}.parquet").stat().st_mtime for n in wanted if (folder / f"{n}.parquet").is_file()]
        pairs = zip(wanted[1:], stamps, stamps[1:], strict=False)
        per_night = {str(n): round(b - a_, 2) for n, a_, b in pairs if 0 < b - a_ < 600}  # nights replayed in order
        timings = {**timings, "backfill_s": sum(per_night.values()) * len(wanted) / max(len(per_night), 1)}
    if per_night:
        values = sorted(per_night.values())
        median = values[len(values) // 2]
        steps = {k: timings.get(f"{k}_s", math.nan) for k in ("generate", "train", "backfill")}
        print(
            f"wall time: generate {steps['generate']:.1f} s, train {steps['train']:.1f} s, backfill "
            f"{steps['backfill']:.1f} s = {steps['backfill'] / len(wanted):.1f} s/night; per night median "
            f"{median:.1f} s, min {values[0]:.1f}, max {values[-1]:.1f} (first night includes start-up)"
        )
        out["wall"] = {k: v for k, v in timings.items() if k != "night_s"} | {"night_median_s": median}

    # -- alarms per night
    alarms = history[history["level"].isin(ALARM_LEVELS)]
    per = alarms.pivot_table(index="recorded_on", columns="kind", values="value", aggfunc="size", fill_value=0)
    per = per.reindex(pd.to_datetime(wanted), fill_value=0)
    print("\nalarm rows per night (level significant or guardrail):")
    print(per.to_string() if len(per.columns) else "  none on any night")
    first = alarms.sort_values(["recorded_on", "kind"]).head(1)
    if len(first):
        night = first["recorded_on"].iloc[0]
        print(f"first alarm: {night:%Y-%m-%d}:")
        for msg in alarms.loc[alarms["recorded_on"] == night, "message"].drop_duplicates().head(8):
            print(f"  {msg}")
        messages = alarms.loc[alarms["recorded_on"] == night, "message"].drop_duplicates()
        out["first_alarm"] = {"night": f"{night:%Y-%m-%d}", "messages": list(messages)}
    out["alarm_rows"] = {f"{k:%Y-%m-%d}": int(v) for k, v in per.sum(axis=1).items()}

    # -- largest PSI per night
    for against in ("reference", "yesterday"):
        table = psi_table(history, against)
        if table.empty:
            continue
        top = pd.DataFrame(
            {
                "day": table.index.day,
                "max_psi": table.max(axis=1),
                "column": table.idxmax(axis=1),
                "2nd": table.apply(lambda r: r.nlargest(2).index[-1], axis=1),
                "2nd_psi": table.apply(lambda r: r.nlargest(2).iloc[-1], axis=1),
                "n>=0.10": (table >= 0.10).sum(axis=1),
            }
        )
        print(f"\nlargest PSI against {against} per night:")
        print(top.round(4).to_string())
        out[f"max_psi_{against}"] = {
            f"{k:%Y-%m-%d}": [round(v, 4), c] for k, v, c in zip(top.index, top["max_psi"], top["column"], strict=True)
        }

    # -- realised vs estimated ROC AUC on matured nights
    real = history[(history["kind"] == "realised") & (history["metric"] == "roc_auc")].copy()
    real = real.drop_duplicates(["as_of", "subject"], keep="last")
    matured = real[real["subject"] == "all"].sort_values("as_of")
    ok_share = math.nan
    if len(matured):
        matured = matured.assign(
            gap=matured["baseline"] - matured["value"],
            in_band=(matured["value"] >= matured["low"]) & (matured["value"] <= matured["high"]),
        )
        ok_share = float((matured["gap"].abs() <= TOLERANCE).mean())
        rate = history[
            (history["kind"] == "realised") & (history["metric"] == "churn_rate") & (history["subject"] == "all")
        ]
        rate = rate.drop_duplicates("as_of", keep="last").set_index("as_of")
        show = matured.set_index("as_of")[["value", "baseline", "low", "high", "gap", "in_band", "level"]]
        show = show.rename(columns={"value": "realised", "baseline": "estimated"})
        show["churn_real"] = rate["value"]
        show["churn_est"] = rate["baseline"]
        print(f"\nmatured nights ({len(matured)}): realised vs estimated ROC AUC (subject all)")
        print(show.round(4).to_string())
        print(
            f"|estimated - realised| <= {TOLERANCE}: {ok_share:.0%} of matured nights; realised inside the band: "
            f"{matured['in_band'].mean():.0%}; mean estimated - realised {matured['gap'].mean():+.4f}; "
            f"mean churn estimated - realised {(show['churn_est'] - show['churn_real']).mean():+.4f}"
        )
        tiers = real[real["subject"] != "all"].assign(gap=lambda t: t["baseline"] - t["value"])
        print("per tier, mean estimated - realised ROC AUC:", tiers.groupby("subject")["gap"].mean().round(4).to_dict())
        out["matured"] = {
            "nights": len(matured),
            "share_within_tolerance": ok_share,
            "share_in_band": float(matured["in_band"].mean()),
            "mean_gap": float(matured["gap"].mean()),
            "rows": {
                f"{k:%Y-%m-%d}": [round(r, 4), round(e, 4)]
                for k, r, e in zip(matured["as_of"], matured["value"], matured["baseline"], strict=True)
            },
        }
        if a.diagnose:
            diag = support_diagnostic(root, matured)
            if len(diag):
                print(
                    "\nlines with no bill yet (activated after the last month-end bill) vs the rest, per matured night:"
                )
                print(diag.round(4).to_string())
                within = float((diag["gap_billed"].abs() <= TOLERANCE).mean())
                print(f"without the no-bill lines: |estimated - realised| <= {TOLERANCE} on {within:.0%} of nights")
                out["billed_only_share_within_tolerance"] = within
    else:
        print("\nno matured night (as_of + horizon beyond the data's end)")

    # -- recent churn (models.recent_churn): the window of each matured night's horizon end that stands out most
    recent = history[(history["kind"] == "realised") & (history["metric"] == "recent_churn")]
    recent = recent.drop_duplicates(["as_of", "subject"], keep="last")
    if len(recent):
        recent = recent.assign(ratio=recent["value"] / recent["baseline"], z=(recent["value"] - recent["baseline"])
                               / recent["baseline"].pow(0.5))  # fmt: skip
        print("\nrecent churn, per matured night: z (ratio) of the window of the horizon's end that stands out most")
        table = recent.pivot_table(index="as_of", columns="subject", values=["z", "ratio"], aggfunc="first")
        print(table.round(2).to_string())
        print("largest z per group:", recent.groupby("subject")["z"].max().round(2).to_dict(),
              "largest ratio per group:", recent.groupby("subject")["ratio"].max().round(2).to_dict())  # fmt: skip
        out["recent_churn_max_z"] = recent.groupby("subject")["z"].max().round(3).to_dict()

    # -- verdict (columns in --ignore, e.g. a known calendar artefact, do not count as drift alarms)
    drift_alarms = alarms[(alarms["kind"] == "drift") & ~alarms["subject"].isin(a.ignore)]
    # realised alarms (ROC AUC below its estimate, churn rate away from it; any tier) by the night they judge
    realised_alarms = alarms[alarms["kind"] == "realised"].drop_duplicates(["as_of", "subject", "metric"], keep="last")
    judged = realised_alarms["as_of"].nunique()
    print(f"\nrealised-performance alarms: {len(realised_alarms)} on {judged} scored nights")
    if a.ignore:
        print(f"\ndrift alarms on {', '.join(a.ignore)} not counted in the verdict")
    checks: dict[str, bool] = {}
    if a.scenario == "none":
        checks["no drift alarm"] = drift_alarms.empty
        checks["no realised-performance alarm"] = realised_alarms.empty
        checks[f"|est - realised| <= {TOLERANCE} on >= {REQUIRED_SHARE:.0%} of matured nights"] = (
            ok_share >= REQUIRED_SHARE if not math.isnan(ok_share) else False
        )
    elif a.scenario == "competitor_promo":
        shows = pd.Timestamp(record.get("inputs_from", a.start))
        first_night = min((pd.Timestamp(n) for n in wanted if pd.Timestamp(n) >= shows), default=None)
        bills = pd.Timestamp(record.get("first_bill_month", shows)) + pd.offsets.MonthEnd(0)
        psi_ref = psi_table(history, "reference")
        for label, night in (("first night in the inputs", first_night), ("first night with its bills", bills)):
            if night is None or night not in psi_ref.index:
                print(f"{label}: not replayed")
                continue
            hit = drift_alarms[
                (drift_alarms["recorded_on"] == night) & drift_alarms["metric"].isin(["psi", "cell_jump"])
            ]
            checks[f"PSI or mix alarm on the {label} ({night:%Y-%m-%d})"] = not hit.empty
            print(f"\n{label} {night:%Y-%m-%d}: drift alarms:", *hit["message"], sep="\n  ")
            print(f"\n{label} {night:%Y-%m-%d}: most-moved columns (PSI against the reference)")
            print(psi_ref.loc[night].nlargest(8).round(4).to_string())
    elif a.scenario == "broken_export":
        start = pd.Timestamp(record.get("inputs_from", a.start))
        guard = alarms[(alarms["level"] == "guardrail") & (alarms["recorded_on"] >= start)]
        column = f"bills.{record.get('column', 'data_amount')}"
        named = guard["message"].str.contains(column, regex=False)
        print(f"\nguardrail rows on/after {start:%Y-%m-%d}:", *guard["message"].drop_duplicates(), sep="\n  ")
        checks[f"a night on/after {start:%Y-%m-%d} is refused naming {column}"] = bool(named.any())
        before = alarms[(alarms["level"] == "guardrail") & (alarms["recorded_on"] < start)]
        checks["no guardrail before the fault"] = before.empty
    elif a.scenario == "price_rise":
        # churn changes from truth_from on (the first bill at the new price); a night's horizon (as_of, as_of + H]
        # covers it when it ends after that day; "fully after" = the night is on or after it.
        change = pd.Timestamp(record.get("truth_from") or record.get("start", a.start))
        horizon = pd.Timedelta(days=HORIZON_DAYS)
        covering = (matured["as_of"] < change) & (matured["as_of"] + horizon > change) if len(matured) else []
        after = matured["as_of"] >= change if len(matured) else []
        for label, rows in (
            ("covers", matured[covering] if len(matured) else []),
            ("starts on/after", matured[after] if len(matured) else []),
        ):
            if not len(rows):
                checks[f"a matured night whose horizon {label} {change:%Y-%m-%d} was replayed"] = False
                continue
            first = rows.iloc[0]
            said = realised_alarms[realised_alarms["as_of"] == first["as_of"]]
            print(
                f"\nfirst matured night whose horizon {label} {change:%Y-%m-%d}: {first['as_of']:%Y-%m-%d}: realised "
                f"{first['value']:.4f}, estimated {first['baseline']:.4f} [{first['low']:.4f}, {first['high']:.4f}]; "
                f"realised alarms: {len(said)}",
                *said["message"].drop_duplicates(),
                sep="\n  ",
            )
            checks[
                f"realised alarm on the first night whose horizon {label} the change ({first['as_of']:%Y-%m-%d})"
            ] = bool(len(said))
    print("\nacceptance:")
    for name, passed in checks.items():
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}")
    out["checks"] = checks
    return out, all(checks.values())


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the steps, print the report; exit 0 when the scenario's checks pass."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", choices=SCENARIOS, default="none")
    p.add_argument("-n", "--subscribers", type=int, default=200_000)
    p.add_argument("-m", "--months", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end-month", default="2026-10", help="last simulated month (generator default 2026-10)")
    p.add_argument("--scenario-start", default=None, help="YYYY-MM (broken_export also YYYY-MM-DD)")
    p.add_argument("--train-as-of", default="2026-05-31", help="champion's as-of date, before the scenario starts")
    p.add_argument("--from", dest="start", default="2026-06-01", help="first backfilled night")
    p.add_argument("--to", dest="end", default="2026-07-30", help="last backfilled night")
    p.add_argument("--every", type=int, default=1, help="days between backfilled nights")
    p.add_argument("--root", type=Path, default=None, help="experiment folder (default /tmp/mscen/<scenario>)")
    p.add_argument("--reuse", action="store_true", help="skip the steps whose outputs exist under --root")
    p.add_argument(
        "--diagnose", action="store_true", help="matured nights: split the estimate by lines with no bill yet"
    )
    p.add_argument(
        "--ignore",
        type=lambda text: [c for c in text.split(",") if c],
        default=[],
        help="comma-separated columns whose drift alarms the verdict leaves out (e.g. bills_due)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    p.add_argument(
        "--rejudge", action="store_true", help="recompute the realised rows' alarms with today's rules (see rejudge)"
    )
    a = p.parse_args(argv)
    root = (a.root or Path("/tmp/mscen") / a.scenario).resolve()
    timings = run_steps(a, root)
    figures, passed = report(a, root, timings)
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
