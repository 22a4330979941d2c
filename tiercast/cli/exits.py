"""The Typer app class every tiercast command group uses: domain errors end as one line and their exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from tiercast.errors import EXIT_CODES, TiercastError

F = TypeVar("F", bound=Callable[..., Any])


def exit_code_table() -> str:
    """Return the exit codes as lines for --help and the README."""
    return "\n\n".join(f"{code}: {meaning}" for code, meaning in EXIT_CODES.items())


def error_line(exc: TiercastError) -> str:
    """Return the one line a command ends with on a domain error (details, e.g. example rows, follow it)."""
    return f"{exc.kind} ({type(exc).__name__}, exit {exc.exit_code}): {exc}"


def domain_errors(command: F) -> F:
    """Wrap a command: a TiercastError prints `error_line` on stderr and exits with its code, no traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TiercastError as exc:
            typer.echo(error_line(exc), err=True)
            raise typer.Exit(exc.exit_code) from exc

    return run  # type: ignore[return-value]


class App(typer.Typer):
    """A Typer app whose commands end on a domain error with one clear line and the documented exit code."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Register a command wrapped in `domain_errors`."""
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(domain_errors(function))
            return function

        return decorator
