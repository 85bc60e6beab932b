"""The ``vlf-frames`` console command.

Importing Polars, pandera and the commands takes a few tenths of a second, and a Ctrl-C in that
time ended in a traceback of the import. This module imports them only inside a handler.
"""

from __future__ import annotations

import signal
import sys


def run() -> None:
    """Run the command line, and exit with 130 on a Ctrl-C that comes before it has started."""
    try:
        from vlf_frames import cli  # noqa: PLC0415 - this import is what a Ctrl-C may interrupt
    except KeyboardInterrupt:
        sys.stderr.write("error: Interrupted; no report was written.\n")
        sys.exit(128 + signal.SIGINT)
    cli.run()
