"""The ``vlf-frames`` console command.

Importing Polars, pandera and the commands takes a few tenths of a second, and a Ctrl-C in that
time ended in a traceback of the import. This module imports them only inside a handler.
"""

from __future__ import annotations

import sys  # the console script has imported it already

# A Ctrl-C during the import of typing would end in a traceback, because it comes before the
# handler in ``run``. So typing is imported only for mypy, which reads TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# The exit code of a run stopped by SIGINT: 128 plus the signal's number, 2.
INTERRUPTED_CODE = 130


def run() -> None:
    """Run the command line, and exit with 130 on a Ctrl-C that comes before it has started."""
    try:
        from vlf_frames import cli  # noqa: PLC0415 - this import is what a Ctrl-C may interrupt
    except KeyboardInterrupt:
        interrupted()
    except RuntimeError as error:
        # Python 3.11 reports an interrupt inside a class definition as a RuntimeError.
        if not isinstance(error.__cause__, KeyboardInterrupt):
            raise
        interrupted()
    cli.run()


def interrupted() -> NoReturn:
    """Exit as a run stopped by Ctrl-C before it has started."""
    sys.stderr.write("error: Interrupted; no report was written.\n")
    sys.exit(INTERRUPTED_CODE)
