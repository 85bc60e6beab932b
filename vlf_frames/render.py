"""Terminal output: one rich console on stderr for progress, findings and the run summary."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler

# Progress, findings and summaries go to stderr so that stdout stays free for data.
console = Console(stderr=True, highlight=False)
_state = {"quiet": False, "verbose": 0}


def configure_output(*, verbose: int, quiet: bool) -> None:
    """Set the log level from ``-v``/``-q`` and route log records through the console."""
    _state["quiet"] = quiet
    _state["verbose"] = verbose
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = logging.WARNING
    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)


def is_quiet() -> bool:
    return bool(_state["quiet"])


def print_error(message: str) -> None:
    """Print an error message; the text is never interpreted as rich markup."""
    console.print("[bold red]error:[/] ", end="")
    console.print(message, markup=False)
