"""Progress reporting for long steps: Rich bars on a terminal, silent where nobody watches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

Done = Callable[[str], None]
"""Called once a step is done, with a label saying what was done."""

console = Console(stderr=True)


@contextmanager
def steps(description: str, total: int, *, enabled: bool = True) -> Iterator[Done]:
    """A bar of ``total`` steps; the yielded function marks one step done."""
    if not enabled:
        yield lambda _label: None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[step]}"),
        console=console,
    )
    with progress:
        task = progress.add_task(description, total=total, step="")

        def done(label: str) -> None:
            progress.update(task, advance=1, step=label)

        yield done
