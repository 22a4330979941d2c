"""`tiercast generate`: write a synthetic subscriber base (subscribers, bills, payments, contacts) as Parquet."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

HELP = (
    "Simulate a telecom subscriber base month by month and write the four input tables "
    "(subscribers, bills, payments, contacts) as Parquet, matching data_contracts/*.yaml.\n\n"
    "N (--subscribers) is the active base on the first day of the window; lines leave every month "
    "(voluntarily, or suspended for non-payment) and about as many new lines join, so the table of "
    "subscribers holds more than N rows. The window is --months full calendar months ending with "
    "generator.end_month (default 2026-10: data through 2026-10-31); today's date is never used. "
    "The same seed, sizes and settings give byte-identical files.\n\n"
    "The simulation's truth goes to OUT/_truth/ (never read by the pipeline): "
    "churn_probability.parquet (per subscriber and month end: the true chance of leaving next month "
    "and within 60 days) and subscriber_types.parquet (latent type, flea-user flag, payment habit).\n\n"
    "--export-style writes the same population the way another operator's system exports it instead "
    "(CSV files with that system's names, ids, codes, date formats, units and text encoding) and the "
    "source mapping OUT/mapping.yaml that reads it back: try "
    "tiercast validate --data OUT --mapping OUT/mapping.yaml. The truth's subscriber ids are then in "
    "the export's format, so it still joins.\n\n"
    "--scenario adds a test scenario to monitor against (repeat it for several): price_rise (concept drift: "
    "individual postpaid fees rise and from then on paying more drives churn), competitor_promo (covariate and "
    "concept drift: for two months one region's lines call to cancel, use less and leave more), broken_export "
    "(export fault: bills issued from the start day on carry a charge column, data_amount by default, as 0; "
    "the truth is unchanged). "
    "Magnitudes are in generator.scenarios; what each changed and from when goes to OUT/_truth/scenarios.json.\n\n"
    "--response-mix NAME simulates monthly retention campaigns (generator.campaigns; off by default): per desk "
    "the riskiest lines and a random few are targeted, a random control group is held out, and a reached call "
    "moves a line's churn by its latent response (persuadable, sure thing, lost cause, sleeping dog) and the "
    "offer. Mixes: default, few_persuadables, many_persuadables, no_sleeping_dogs, proportional (uplift = k x "
    "churn probability, no types). Writes OUT/campaigns.parquet (data_contracts/campaigns.yaml), the calls as "
    "outbound retention-call contacts, and OUT/_truth/campaign_response, campaign_members and campaign_effects."
)


class ExportStyle(StrEnum):
    """The export styles of tiercast/synthetic/export_styles.py."""

    crm_b = "crm-b"
    bss_a = "bss-a"


class ScenarioChoice(StrEnum):
    """The scenarios of tiercast/synthetic/scenarios.py (SCENARIO_NAMES)."""

    price_rise = "price_rise"
    competitor_promo = "competitor_promo"
    broken_export = "broken_export"


def register(app: typer.Typer) -> None:
    """Add the `generate` command to the CLI."""
    app.command("generate", help=HELP)(generate)


def generate(
    ctx: typer.Context,
    subscribers: Annotated[
        int | None,
        typer.Option(
            "--subscribers",
            "-n",
            min=1,
            help="Active subscribers on the first day of the window (default: generator.subscribers).",
        ),
    ] = None,
    months: Annotated[
        int | None,
        typer.Option(
            "--months", "-m", min=1, max=120, help="Full calendar months to simulate (default: generator.months)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="Random seed (default: generator.seed).")
    ] = None,
    end_month: Annotated[
        str | None,
        typer.Option("--end-month", help="Last simulated month, YYYY-MM (default: generator.end_month)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder to write the tables to (default: paths.raw). Files are replaced."),
    ] = None,
    export_style: Annotated[
        ExportStyle | None,
        typer.Option(
            "--export-style",
            help=(
                "Write the tables as another operator exports them, with the mapping back to tiercast's "
                "tables in OUT/mapping.yaml. crm-b: a Chinese BOSS/CRM export (GBK CSV, CRM_USER.csv ..., "
                "ids U00000001, amounts in fen, Chinese headers, names and codes); bss-a: a BSS data-warehouse "
                "extract (UTF-8 CSV with BOM, subs_extract.csv ..., 20-digit ids, ISO dates, Y/N flags, code lists)."
            ),
        ),
    ] = None,
    scenario: Annotated[
        list[ScenarioChoice] | None,
        typer.Option(
            "--scenario",
            help=(
                "Add a test scenario (repeatable): price_rise, competitor_promo or broken_export. Default start: "
                "generator.scenarios.<name>.start_months_before_end (3, 3 and 0 months before the last month)."
            ),
        ),
    ] = None,
    scenario_start: Annotated[
        str | None,
        typer.Option(
            "--scenario-start",
            help="Start of the one --scenario: YYYY-MM (broken_export also YYYY-MM-DD), within the window.",
        ),
    ] = None,
    response_mix: Annotated[
        str | None,
        typer.Option(
            "--response-mix",
            help=(
                "Simulate retention campaigns with this response mix of generator.campaigns.mixes: default, "
                "few_persuadables, many_persuadables, no_sleeping_dogs or proportional (default: campaigns as "
                "generator.campaigns.enabled says, off in the packaged settings)."
            ),
        ),
    ] = None,
) -> None:
    """Generate the synthetic tables (see HELP)."""
    import logging
    import time
    from functools import partial

    import pyarrow.parquet as pq
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from tiercast.cli import state
    from tiercast.settings.generator import GeneratorSettings
    from tiercast.synthetic import generate as run
    from tiercast.synthetic.scenarios import ScenarioName, ScenarioRequest, scenario_records

    settings = state(ctx).settings
    cfg = settings.generator
    if end_month is not None:
        try:
            cfg = GeneratorSettings.model_validate({**cfg.model_dump(), "end_month": end_month})
        except ValueError as exc:
            raise typer.BadParameter(f"--end-month must be YYYY-MM: {exc}") from exc
    if response_mix is not None:
        try:
            cfg = cfg.model_copy(update={"campaigns": cfg.campaigns.using(response_mix)})
        except ValueError as exc:
            known = ", ".join(cfg.campaigns.mixes)
            raise typer.BadParameter(f"unknown response mix {response_mix!r}; choose one of {known}") from exc
    target = out or settings.paths.resolve(settings.paths.raw)
    n, m, s = subscribers or cfg.subscribers, months or cfg.months, cfg.seed if seed is None else seed
    names = [name.value for name in scenario or []]
    if scenario_start is not None and len(names) != 1:
        raise typer.BadParameter("--scenario-start needs exactly one --scenario")
    requests = tuple(ScenarioRequest(cast(ScenarioName, name), scenario_start) for name in names)
    try:
        scenarios = scenario_records(requests, cfg, m)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario / --scenario-start") from exc
    log = logging.getLogger("tiercast.generate")
    log.info(
        "generating %s subscribers x %s months (seed %s, ending %s) into %s", f"{n:,}", m, s, cfg.end_month, target
    )
    started = time.perf_counter()
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        if export_style is None:
            paths = run(target, n, m, s, cfg, progress=progress, scenarios=requests)
            rows = {
                name: pq.ParquetFile(path).metadata.num_rows
                for name, path in paths.items()
                if path.suffix == ".parquet"
            }
        else:
            simulate = partial(
                run, subscribers=n, months=m, seed=s, settings=cfg, progress=progress, scenarios=requests
            )
            paths, rows = _generate_export(target, export_style.value, simulate, progress)
    summary = Table(title=f"tiercast generate: {time.perf_counter() - started:.1f} s")
    summary.add_column("table")
    summary.add_column("rows", justify="right")
    summary.add_column("MB", justify="right")
    summary.add_column("file")
    for name, path in paths.items():
        count = f"{rows[name]:,}" if name in rows else ""
        summary.add_row(name, count, f"{path.stat().st_size / 1e6:.1f}", str(path))
    console.print(summary)
    if export_style is not None:
        _print_next_steps(console, export_style.value, target, paths["mapping"])
    for record in scenarios:
        console.print(_scenario_line(record), soft_wrap=True)
    log.info("wrote %d files to %s (truth in %s)", len(paths), target, target / "_truth")


def _generate_export(
    target: Path, style: str, simulate: Callable[[Path], dict[str, Path]], progress: Progress
) -> tuple[dict[str, Path], dict[str, int]]:
    """Simulate into a temporary folder next to `target`, write export `style` into `target`; return paths and rows."""
    import logging
    import tempfile
    import time

    import pyarrow.parquet as pq

    from tiercast.synthetic.export_styles import write_export

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-canonical-") as folder:
        canonical = simulate(Path(folder))
        rows = {
            name: pq.ParquetFile(path).metadata.num_rows
            for name, path in canonical.items()
            if path.suffix == ".parquet"
        }
        started = time.perf_counter()
        progress.add_task(f"writing the {style} export", total=None)
        paths = write_export(Path(folder), target, style)
        logging.getLogger("tiercast.generate").info("converted to %s in %.1f s", style, time.perf_counter() - started)
        return paths, rows


def _print_next_steps(console: Console, style: str, target: Path, mapping: Path) -> None:
    """Print where the mapping is and the command that reads the export through it."""
    console.print(f"{style} export in {target}; source mapping: {mapping}", soft_wrap=True)
    console.print(f"next: tiercast validate --data {target} --mapping {mapping}", soft_wrap=True)


def _scenario_line(record: dict[str, Any]) -> str:
    """Return one line saying which scenario was applied, from when, and to what (a _truth/scenarios.json record)."""
    when = f"from {record['start']}" if record["end"] is None else f"{record['start']} .. {record['end']}"
    if "region" in record:
        what = f"region {record['region']}"
    elif "column" in record:
        what = f"{record['table']}.{record['column']} exported as 0 from the bill of {record['first_bill_month'][:7]}"
    else:
        what = f"plans {', '.join(record['plans'])}"
    magnitude = ", ".join(f"{key} {value}" for key, value in record["magnitude"].items())
    return f"scenario {record['name']} ({record['kind']}): {when}; {what}; {magnitude}"
