#!/usr/bin/env python3
"""Look at the MLflow UI as a person would (issue 12, acceptance): not part of `make test`.

Generates a small subscriber base, trains a champion, backfills the monitoring over a few nights,
writes the monitoring report, starts the MLflow UI on that SQLite store (lean flags: one worker, no
job execution, 127.0.0.1, a free port) and takes screenshots of the `tiercast-monitoring` experiment
with headless Chromium from Debian's packages (`apt-get install -y chromium`):

  1-experiment.png                 #/experiments/<id>, fresh browser profile: what a link opens
  2-run.png                        the champion-v<N> run's overview
  3-run-model-metrics.png          the run's "Model metrics" tab (metric charts over steps)
  4-experiment-charts.png          the experiment's "Chart" view (?compareRunsMode=CHART)
  5-experiment-model-training.png  #/experiments/<id>?workflowType=machine_learning
  6-run-model-metrics-tall.png     the "Model metrics" tab in the model-training view, 1600x3000
  7-run-roc-auc.png                the same, charts searched for "all.roc_auc" (estimated with its band, realised)
  8-run-psi-reference.png          the same, charts searched for "psi.reference" (PSI per feature)

Chromium is driven over the DevTools protocol (the `websockets` package of the virtual
environment), because `--screenshot` with `--virtual-time-budget` often fires before the lazily
loaded chart library has drawn anything. For each page the script also reads the DOM: which view it
is (GenAI: Overview/Traces/Sessions/Judges; model training: Runs/Models/Model registry), and for
chart pages each chart's title and the number of points drawn. Everything goes to
<out>/shots/*.png and <out>/shots/pages.json; the per-metric point counts from the REST API to
<out>/logs/metric-points.tsv.

Usage:  .venv/bin/python scripts/mlflow_ui_check.py [--out /tmp/uicheck] [--from 2026-10-10]
        [--to 2026-10-31] [--every 3] [--strict] [--keep-server]
Exit codes: 0 screenshots taken (verdicts printed); 1 a step failed or a screenshot is missing,
empty or blank; 3 with --strict, when the experiment link opens the GenAI view or a chart has
fewer than two points.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv" / "bin"
EXPERIMENT = "tiercast-monitoring"

# Read the page: which view (sidebar entries), heading, and the plotly charts with their points.
PAGE_STATE_JS = r"""
(() => {
  const text = document.body ? document.body.innerText : "";
  const nav = Array.from(document.querySelectorAll("nav a, aside a, [role=navigation] a, a"))
    .map(a => a.innerText.trim()).filter(t => t && t.length < 40);
  const has = w => nav.includes(w);
  const genai = has("Judges") || has("Sessions") || text.includes("Detect Issues");
  const training = has("Model registry") && has("Runs") && !genai;
  const heading = Array.from(document.querySelectorAll("h1, h2, h3")).map(h => h.innerText.trim()).filter(Boolean)[0] || "";
  const plots = Array.from(document.querySelectorAll(".js-plotly-plot"));
  const charts = plots.map(p => {
    let card = p;
    for (let i = 0; i < 10 && card.parentElement; i++) {
      if (card.parentElement.querySelectorAll(".js-plotly-plot").length > 1) break;
      card = card.parentElement;
    }
    const title = (card.innerText || "").split("\n").map(s => s.trim()).filter(Boolean)[0] || "";
    const traces = Array.from(p.querySelectorAll(".scatterlayer .trace")).map(t => t.querySelectorAll(".point").length);
    const r = p.getBoundingClientRect();
    return {title, points_per_trace: traces, top: Math.round(r.top), visible: r.top < window.innerHeight && r.bottom > 0};
  });
  const spinners = document.querySelectorAll("[class*=spin], [role=progressbar], [aria-busy=true]").length;
  return {view: genai ? "genai" : (training ? "model-training" : "unknown"), heading,
          toggle_text: nav.filter(t => ["GenAI", "Model training"].includes(t)),
          sidebar: nav.slice(0, 30), text_length: text.length, charts, spinners,
          location: location.href};
})()
"""


def log(message: str) -> None:
    print(f"== {time.strftime('%H:%M:%S', time.gmtime())} {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(args: list[str], env: dict[str, str], logfile: Path, cwd: Path) -> None:
    log(" ".join(["tiercast", *args]))
    with logfile.open("w") as out:
        code = subprocess.call([str(VENV / "tiercast"), *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    if code != 0:
        sys.exit(f"tiercast {' '.join(args)} failed with exit code {code}: see {logfile}")


def get_json(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def stop_group(process: subprocess.Popen, name: str) -> None:
    """Stop a process started here in its own session, and its children (by its process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass
    log(f"{name} stopped")


class Browser:
    """Headless Chromium driven over the DevTools protocol: navigate, wait until drawn, screenshot."""

    def __init__(self, chromium: str, profile: Path, logfile: Path) -> None:
        from websockets.sync.client import connect

        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1600,1000",
                "about:blank",
            ],
            stdout=logfile.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        for _ in range(100):
            if port_file.is_file() and port_file.read_text().strip():
                break
            if self.process.poll() is not None:
                sys.exit(f"chromium exited early: see {logfile}")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in get_json(f"http://127.0.0.1:{port}/json/list") if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=20)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> object:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait(self, expect_charts: bool, limit: float) -> dict:
        """Poll the page until it stops changing (and, for chart pages, until every visible chart has
        drawn its points) or `limit` seconds pass; return what the page shows."""
        start, stable, last, state = time.monotonic(), 0, None, {}
        while time.monotonic() - start < limit:
            time.sleep(0.5)
            state = self.evaluate(PAGE_STATE_JS) or {}
            charts = state.get("charts", [])
            visible = [c for c in charts if c["visible"]]
            drawn = [c for c in visible if sum(c["points_per_trace"]) > 0]
            signature = (
                state.get("text_length"),
                len(charts),
                sum(sum(c["points_per_trace"]) for c in charts),
                state.get("spinners"),
            )
            stable = stable + 1 if signature == last else 0
            last = signature
            charts_ready = not expect_charts or (len(drawn) == len(visible) and (bool(visible) or stable >= 10))
            if time.monotonic() - start > 3 and stable >= 4 and charts_ready:
                break
        time.sleep(1.0)  # let transitions finish
        return self.evaluate(PAGE_STATE_JS) or state

    def shot(
        self, url: str, out: Path, height: int = 1000, expect_charts: bool = False, search: str = "", limit: float = 60
    ) -> dict:
        """Load `url` in a fresh document, optionally type `search` into the metric-chart search box,
        wait until drawn, save a PNG and return what the page showed."""
        self.send("Emulation.setDeviceMetricsOverride", width=1600, height=height, deviceScaleFactor=1, mobile=False)
        self.send("Page.navigate", url="about:blank")
        time.sleep(0.3)
        start = time.monotonic()
        self.send("Page.navigate", url=url)
        state = self.wait(expect_charts, limit)
        if search:
            focused = self.evaluate(
                "(() => { const i = document.querySelector('input[placeholder*=\"Search metric\"]');"
                " if (!i) return false; i.focus(); i.select(); return true; })()"
            )
            if not focused:
                raise RuntimeError(f"{url}: no metric search box")
            self.send("Input.insertText", text=search)
            state = self.wait(expect_charts, limit)
        state["waited_seconds"] = round(time.monotonic() - start, 1)
        state["search"] = search
        png = self.send("Page.captureScreenshot", format="png")["data"]
        out.write_bytes(base64.b64decode(png))
        return state

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop_group(self.process, "chromium")


def check_png(path: Path) -> str | None:
    from PIL import Image

    if not path.is_file() or path.stat().st_size == 0:
        return f"{path}: missing or empty"
    image = Image.open(path).convert("RGB")
    colours = len(image.getcolors(maxcolors=1 << 22) or [])
    print(f"  {path.name}: {image.width}x{image.height}, {path.stat().st_size} bytes, {colours} colours")
    return f"{path}: blank ({colours} colours)" if colours < 8 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/uicheck"), help="work folder (wiped first)")
    parser.add_argument("--from", dest="first", default="2026-10-10", help="first backfilled night")
    parser.add_argument(
        "--to", dest="last", default="2026-10-31", help="last backfilled night (the data ends 2026-10-31)"
    )
    parser.add_argument("--every", type=int, default=3, help="days between backfilled nights")
    parser.add_argument("--strict", action="store_true", help="exit 3 when a verdict fails")
    parser.add_argument("--keep-server", action="store_true", help="leave the MLflow UI running")
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium not found: apt-get install -y chromium")
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    root, shots, logs, home = out / "root", out / "shots", out / "logs", out / "home"
    for folder in (root, shots, logs, home, out / "report"):
        folder.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        TIERCAST__PATHS__ROOT=str(root),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(home / "prefect"),
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
    )

    run_cli(["generate", "-n", "3000", "-m", "14", "--seed", "5"], env, logs / "generate.log", out)
    run_cli(["train"], env, logs / "train.log", out)
    run_cli(
        ["monitor", "backfill", "--from", args.first, "--to", args.last, "--every", str(args.every)],
        env,
        logs / "backfill.log",
        out,
    )
    run_cli(["monitor", "report", "--out", str(out / "report")], env, logs / "report.log", out)

    db = root / "data" / "mlflow" / "mlflow.db"
    if not db.is_file():
        sys.exit(f"no MLflow store at {db}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log(f"mlflow server on {url} (--workers 1, MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false)")
    server = subprocess.Popen(
        [
            str(VENV / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        cwd=out,
        stdout=(logs / "mlflow-server.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    browser = None
    try:
        for _ in range(120):
            if server.poll() is not None:
                sys.exit(f"mlflow server exited: see {logs / 'mlflow-server.log'}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            sys.exit("mlflow server not healthy after 60 s")

        experiment = get_json(f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}")[
            "experiment"
        ]
        exp_id = experiment["experiment_id"]
        exp_tags = {t["key"]: t["value"] for t in experiment.get("tags", [])}
        runs = get_json(f"{url}/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id], "max_results": 100}).get(
            "runs", []
        )

        def run_name(run: dict) -> str:
            return next(
                (t["value"] for t in run["data"].get("tags", []) if t["key"] == "mlflow.runName"), run["info"]["run_id"]
            )

        champions = [r for r in runs if run_name(r).startswith("champion-v")]
        if not champions:
            sys.exit(f"experiment {EXPERIMENT} has no champion-v<N> run: {[run_name(r) for r in runs]}")
        run = max(champions, key=lambda r: r["info"]["start_time"])
        run_id = run["info"]["run_id"]
        print(f"experiment {EXPERIMENT} id {exp_id}, mlflow.experimentKind={exp_tags.get('mlflow.experimentKind')!r}")
        for r in runs:
            print(f"  run {run_name(r)} ({r['info']['run_id']}): {len(r['data'].get('metrics', []))} metrics")

        points: dict[str, int] = {}
        with (logs / "metric-points.tsv").open("w") as table:
            for key in sorted(m["key"] for m in run["data"].get("metrics", [])):
                query = urllib.parse.urlencode({"run_id": run_id, "metric_key": key, "max_results": 10000})
                history = get_json(f"{url}/api/2.0/mlflow/metrics/get-history?{query}").get("metrics", [])
                steps = sorted({m["step"] for m in history})
                points[key] = len(steps)
                table.write(f"{key}\t{len(history)}\t{steps[0] if steps else ''}\t{steps[-1] if steps else ''}\n")
        counts: dict[int, int] = {}
        for n in points.values():
            counts[n] = counts.get(n, 0) + 1
        print(
            f"  {run_name(run)}: {len(points)} metrics; steps per metric -> number of metrics: {dict(sorted(counts.items()))}"
        )
        for prefix in ("estimate.all.roc_auc", "realised.all.roc_auc", "psi.reference."):
            found = {k: v for k, v in points.items() if k.startswith(prefix)}
            sample = dict(list(found.items())[:3])
            print(f"  {prefix}*: {len(found)} metric(s) {sample if found else '(none)'}")

        ml = "workflowType=machine_learning"
        pages = [
            ("1-experiment", f"#/experiments/{exp_id}", 1000, False),
            ("2-run", f"#/experiments/{exp_id}/runs/{run_id}", 1000, False),
            ("3-run-model-metrics", f"#/experiments/{exp_id}/runs/{run_id}/model-metrics", 1000, True),
            ("4-experiment-charts", f"#/experiments/{exp_id}/runs?compareRunsMode=CHART", 1000, True),
            ("5-experiment-model-training", f"#/experiments/{exp_id}?{ml}", 1000, False),
            ("6-run-model-metrics-tall", f"#/experiments/{exp_id}/runs/{run_id}/model-metrics?{ml}", 3000, True),
            ("7-run-roc-auc", f"#/experiments/{exp_id}/runs/{run_id}/model-metrics?{ml}", 1400, True, "all.roc_auc"),
            (
                "8-run-psi-reference",
                f"#/experiments/{exp_id}/runs/{run_id}/model-metrics?{ml}",
                1400,
                True,
                "psi.reference",
            ),
        ]
        browser = Browser(chromium, home / "chromium", logs / "chromium.log")
        report = {}
        for name, route, height, charts, *search in pages:
            log(f"screenshot {name}: {url}/{route}" + (f" (metric search {search[0]!r})" if search else ""))
            state = browser.shot(
                f"{url}/{route}",
                shots / f"{name}.png",
                height=height,
                expect_charts=charts,
                search=search[0] if search else "",
            )
            report[name] = {"url": f"{url}/{route}", **state}
            drawn = [c for c in state.get("charts", []) if c["visible"]]
            print(
                f"  {name}: view={state.get('view')} heading={state.get('heading')!r} "
                f"charts={len(state.get('charts', []))} (visible {len(drawn)}) waited {state.get('waited_seconds')} s"
            )
            for chart in drawn[:12]:
                print(f"      {chart['title'] or '?'}: points per line {chart['points_per_trace']}")
        (shots / "pages.json").write_text(json.dumps(report, indent=1))
    finally:
        if browser is not None:
            browser.close()
        if args.keep_server:
            print(f"MLflow UI left running at {url} (process group {server.pid})")
        else:
            stop_group(server, "mlflow server")

    log("check the screenshots")
    problems = [p for p in (check_png(shots / f"{name}.png") for name, *_ in pages) if p]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1

    verdicts = []
    first = report["1-experiment"]["view"]
    verdicts.append((first == "model-training", f"#/experiments/{exp_id} in a fresh browser opens the {first} view"))
    forced = report["5-experiment-model-training"]["view"]
    verdicts.append((forced == "model-training", f"with ?{ml} it opens the {forced} view"))
    for name in (
        "3-run-model-metrics",
        "4-experiment-charts",
        "6-run-model-metrics-tall",
        "7-run-roc-auc",
        "8-run-psi-reference",
    ):
        drawn = [c for c in report[name].get("charts", []) if c["visible"]]
        single = [c["title"] for c in drawn if max(c["points_per_trace"] or [0]) < 2]
        verdicts.append(
            (
                bool(drawn) and not single,
                f"{name}: {len(drawn)} visible chart(s), max points per line "
                f"{max((max(c['points_per_trace'] or [0]) for c in drawn), default=0)}"
                + (f"; fewer than 2 points: {single}" if single else ""),
            )
        )
    realised = [k for k in points if k.startswith("realised.")]
    verdicts.append(
        (
            bool(realised),
            f"realised.* metrics logged: {len(realised)} (they need backfilled nights whose "
            "churn horizon has passed in the data, e.g. --from 2026-08-12 --every 10)",
        )
    )
    print("verdicts:")
    for ok, text in verdicts:
        print(f"  [{'ok' if ok else 'NO'}] {text}")
    print(
        f"screenshots: {shots}/*.png (what each page showed: {shots / 'pages.json'}); "
        f"report charts: {out / 'report'}; logs: {logs}"
    )
    return 3 if args.strict and not all(ok for ok, _ in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
