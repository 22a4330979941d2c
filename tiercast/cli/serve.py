"""`tiercast serve`: run the nightly and weekly-training schedules on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from tiercast.cli import state


def serve(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            envvar="PREFECT_API_URL",
            help="Prefect API of a running server (default: flows.server_host:server_port; started if not running).",
        ),
    ] = None,
) -> None:
    """Serve the scheduled flows: nightly scoring (flows.nightly_cron) and weekly training (flows.training_cron).

    Schedules need a real Prefect server (the temporary local API cannot fire them): this command
    uses the one at --api-url / $PREFECT_API_URL, or starts one on flows.server_host:server_port
    (its database under paths.prefect_home) and stops it on exit. Runs happen in this process;
    leave it running (e.g. under systemd). Times are in flows.timezone (default Asia/Shanghai).
    The UI is at the server address without /api. Stop with Ctrl-C.
    """
    import logging
    from contextlib import nullcontext

    from flows.server import healthy, prefect_server

    settings = state(ctx).settings
    config = state(ctx).config
    flows = settings.flows
    log = logging.getLogger("tiercast.serve")
    home = settings.paths.resolve(settings.paths.prefect_home)
    if api_url and not healthy(api_url):
        raise typer.BadParameter(f"no Prefect server answers at {api_url}", param_hint="--api-url")
    server = (
        nullcontext(api_url)
        if api_url
        else prefect_server(flows.server_host, flows.server_port, home, home / "server.log")
    )
    with server as url:
        assert url is not None
        from prefect import serve as prefect_serve
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: url}):
            from flows.deployments import deployments

            planned = deployments(flows, config)
            log.info(
                "serving %s at %s: nightly '%s', training '%s' (%s); UI %s",
                ", ".join(d.name for d in planned),
                url,
                flows.nightly_cron,
                flows.training_cron,
                flows.timezone,
                url.removesuffix("/api"),
            )
            prefect_serve(*planned)


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""
    app.command("serve")(serve)
