"""Stopping a run on SIGTERM or Ctrl-C between two steps, with its temporary files removed.

Python runs a signal handler in the main thread between two bytecodes, which may be inside a
function that Polars called back. An exception raised there makes Polars panic and print a
Rust backtrace. So the first signal is only recorded, and the job calls ``check`` between
steps: at each stage, chunk and part, which are at most a few seconds apart. A second signal
stops the run at once.
"""

from __future__ import annotations

import signal
from types import FrameType


class StopRequestedError(Exception):
    """The process received SIGTERM or SIGINT."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_requested: list[int] = []


def request(signum: int, frame: FrameType | None) -> None:
    """Signal handler: record the signal, or stop at once if one was recorded already."""
    if _requested:
        raise StopRequestedError(signum)
    _requested.append(signum)


def check() -> None:
    """Raise ``StopRequestedError`` if a signal was received."""
    if _requested:
        raise StopRequestedError(_requested[0])


def reset() -> None:
    _requested.clear()
