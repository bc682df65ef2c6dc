"""A progress bar of sources and entries for ``run-once`` on a terminal; nothing at all off one."""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class Observer(Protocol):
    def sources_queued(self, count: int) -> None: ...
    def source_done(self) -> None: ...
    def entries_queued(self, count: int) -> None: ...
    def entry_done(self) -> None: ...


class Silent:
    def sources_queued(self, count: int) -> None:
        return

    def source_done(self) -> None:
        return

    def entries_queued(self, count: int) -> None:
        return

    def entry_done(self) -> None:
        return


class Bar:
    """Two bars on stderr, redrawn in place; log lines printed meanwhile appear above them."""

    def __init__(self, stream: TextIO) -> None:
        self._progress = Progress(
            TextColumn("{task.description:>8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=True,
            redirect_stderr=True,
        )
        self._sources: TaskID = self._progress.add_task("sources", total=0)
        self._entries: TaskID = self._progress.add_task("entries", total=0)

    def __enter__(self) -> Bar:
        self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._progress.stop()

    def sources_queued(self, count: int) -> None:
        task = self._progress.tasks[self._sources]
        self._progress.update(self._sources, total=(task.total or 0) + count)

    def source_done(self) -> None:
        self._progress.advance(self._sources)

    def entries_queued(self, count: int) -> None:
        task = self._progress.tasks[self._entries]
        self._progress.update(self._entries, total=(task.total or 0) + count)

    def entry_done(self) -> None:
        self._progress.advance(self._entries)


def for_terminal(stream: TextIO | None = None) -> Bar | None:
    out = stream or sys.stderr
    return Bar(out) if out.isatty() else None
