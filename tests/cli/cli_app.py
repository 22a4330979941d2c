"""A typer app with the real root callback and the publishing commands, for CliRunner tests."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import typer

from tiercast import cli as root
from tiercast.cli import db, publish, route
from tiercast.cli.exits import App
from tiercast.settings import Settings


def publishing_app() -> typer.Typer:
    """Return a fresh app: root options (--config, settings from env) plus db, publish and route."""
    app = App()
    app.callback()(root._root)
    for module in (db, publish, route):
        module.register(app)
    return app


def app_with(settings: Settings, *modules: ModuleType, config: Path | None = None) -> typer.Typer:
    """Return a fresh app whose commands (from `modules`) get `settings` directly, bypassing --config/env.

    `config` is the settings file the commands pass on to flows (which load their settings themselves).
    """
    app = App()

    @app.callback()
    def _settings(ctx: typer.Context) -> None:
        ctx.obj = root.State(settings=settings, verbose=False, config=config)

    for module in modules:
        module.register(app)
    return app
