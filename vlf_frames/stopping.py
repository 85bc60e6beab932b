"""Stopping a run on SIGTERM or Ctrl-C between two steps, with its temporary files removed.

Python runs a signal handler in the main thread between two bytecodes, which may be inside a
function that Polars called back. An exception raised there makes Polars panic and print a
Rust backtrace. So the first signal is only recorded, and the job calls ``check`` between
steps: at each stage, chunk and part, which are at most a few seconds apart. A second signal
stops the run at once, except while temporary files are removed (``shielded``), so that none
are left behind.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopRequestedError(Exception):
    """The process received SIGTERM or SIGINT."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_requested: list[int] = []
# One entry per ``shielded`` block running now.
_shields: list[None] = []
# Set once a signal has raised, or once the run has ended: later signals are only recorded,
# so that they cannot cut short the message about the stop or the exit of a finished run.
_ended: list[None] = []


def request(signum: int, frame: FrameType | None) -> None:
    """Signal handler: record the signal, or stop at once if one was recorded already, no
    ``shielded`` block is running and the run has not ended."""
    if _requested and not _shields and not _ended:
        _ended.append(None)
        raise StopRequestedError(signum)
    _requested.append(signum)


def end() -> None:
    """Make the handler only record signals from now on, because the run has ended."""
    _ended.append(None)


@contextmanager
def shielded() -> Iterator[None]:
    """Run a block that a second signal must not cut short. Signals are only recorded in it."""
    _shields.append(None)
    try:
        yield
    finally:
        _shields.pop()


def check() -> None:
    """Raise ``StopRequestedError`` if a signal was received."""
    if _requested:
        raise StopRequestedError(_requested[0])


def reset() -> None:
    _requested.clear()
    _ended.clear()
