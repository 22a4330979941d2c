"""How a run's steps are executed: the one composition of a run calls `step` and `per_shard`, and an
executor decides how (inline here; as Prefect tasks with retries in flows/executor.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """How the steps run: `step` once, `per_shard` once per item (each item is the step's last argument)."""

    def step(self, name: str, function: Callable[..., T], *args: Any) -> T:
        """Run one step and return its result."""
        ...

    def per_shard(self, name: str, function: Callable[..., T], items: Sequence[Any], *args: Any) -> list[T]:
        """Run `function(*args, item)` for each item (possibly in parallel) and return the results in order."""
        ...


class Inline:
    """Run every step here and now, one after the other (no Prefect)."""

    def step(self, name: str, function: Callable[..., T], *args: Any) -> T:
        """Run one step."""
        return function(*args)

    def per_shard(self, name: str, function: Callable[..., T], items: Sequence[Any], *args: Any) -> list[T]:
        """Run the step for each shard in turn."""
        return [function(*args, item) for item in items]
