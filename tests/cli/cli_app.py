"""A typer app with the real root callback and the publishing commands, for CliRunner tests."""

from __future__ import annotations

import typer

from tiercast import cli as root
from tiercast.cli import db, publish, route


def publishing_app() -> typer.Typer:
    """Return a fresh app: root options (--config, settings from env) plus db, publish and route."""
    app = typer.Typer()
    app.callback()(root._root)
    for module in (db, publish, route):
        module.register(app)
    return app
