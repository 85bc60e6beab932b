"""The ``vlf-frames`` console command.

Importing Polars, pandera and the commands takes a few tenths of a second. A Ctrl-C during these
imports ended in a traceback, or, during the start of a compiled module, in an unrelated error
such as "TypeError: expected a message argument". So while they are imported, a Ctrl-C is only
recorded, and the command exits with 130 once the imports are done.
"""

from __future__ import annotations

import os  # Python's start-up has imported os and sys already
import sys

# A Ctrl-C during the import of typing would end in a traceback, because it comes before the
# handler in ``run``. So typing is imported only for mypy, which reads TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# The exit code of a run stopped by SIGINT: 128 plus the signal's number, 2.
INTERRUPTED_CODE = 130

# Settings of the memory allocator in Polars (jemalloc), read once when Polars is imported.
# Polars adds them after its own, so they take effect. Polars gives freed pages back to the system
# after half a second. The job allocates and frees the same few hundred megabytes for every
# chunk, so it took them back with 3.3 million page faults and 9 s of system time at ten
# million subscribers. Keeping freed pages for 5 s cut that to 1.4 million faults and 4.6 s,
# and the run from 49.9 s to 46.4 to 47.2 s, with the same peak memory (772 to 807 MiB against
# 773 to 804 MiB). Keeping them for 5 s more in the lazily freed state (muzzy_decay_ms) raised
# the peak to 845 to 918 MiB. A value the user has set is kept.
ALLOCATOR_VARIABLE = "_RJEM_MALLOC_CONF"
ALLOCATOR_SETTINGS = "dirty_decay_ms:5000,muzzy_decay_ms:0"


def run() -> None:
    """Run the command line, and exit with 130 on a Ctrl-C that comes before it has started."""
    os.environ.setdefault(ALLOCATOR_VARIABLE, ALLOCATOR_SETTINGS)
    try:
        import signal  # noqa: PLC0415 - a Ctrl-C during this import is caught below

        interrupts: list[int] = []
        previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupts.append(signum))
        try:
            from vlf_frames import cli  # noqa: PLC0415 - imported while a Ctrl-C is only recorded

            cli.import_commands()
        finally:
            # After a Ctrl-C the recording handler stays, so a second one cannot interrupt the
            # exit.
            if not interrupts:
                signal.signal(signal.SIGINT, previous)
    except KeyboardInterrupt:
        interrupted()
    except RuntimeError as error:
        # Python 3.11 reports an interrupt inside a class definition as a RuntimeError.
        if not isinstance(error.__cause__, KeyboardInterrupt):
            raise
        interrupted()
    if interrupts:
        interrupted()
    cli.run()


def interrupted() -> NoReturn:
    """Exit as a run stopped by Ctrl-C before it has started."""
    sys.stderr.write("error: Interrupted; no report was written.\n")
    sys.exit(INTERRUPTED_CODE)
