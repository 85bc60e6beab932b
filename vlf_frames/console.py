"""The ``vlf-frames`` console command.

Importing Polars, pandera and the commands takes a few tenths of a second. A Ctrl-C during these
imports ended in a traceback, or, during the start of a compiled module, in an unrelated error
such as "TypeError: expected a message argument". So while they are imported, a Ctrl-C or a
SIGTERM is only recorded, and the command exits with 130 or 143 once the imports are done.
"""

from __future__ import annotations

import os  # Python's start-up has imported os and sys already
import sys

# A Ctrl-C during the import of typing would end in a traceback, because it comes before the
# handler in ``run``. So typing is imported only for mypy, which reads TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# The start of the message of a run stopped by a signal, by the signal's number: SIGINT and
# SIGTERM. Such a run exits with 128 plus that number.
STOP_MESSAGES = {2: "Interrupted", 15: "Terminated by SIGTERM"}
# The end of that message before the command is known. Each command has its own.
NOTHING_WRITTEN = "nothing was written"

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
    """Run the command line, and exit with 130 or 143 on a Ctrl-C or SIGTERM that comes
    before it has started."""
    os.environ.setdefault(ALLOCATOR_VARIABLE, ALLOCATOR_SETTINGS)
    stops: list[int] = []
    try:
        import signal  # noqa: PLC0415 - a Ctrl-C during this import is caught below

        previous = {
            signum: signal.signal(signum, lambda received, _frame: stops.append(received))
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            from vlf_frames import cli  # noqa: PLC0415 - imported while a stop is only recorded

            cli.import_commands()
        finally:
            # After a stop the recording handlers stay, so a second signal cannot interrupt
            # the exit.
            if not stops:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
    except KeyboardInterrupt:
        stopped(2)
    except RuntimeError as error:
        # Python 3.11 reports an interrupt inside a class definition as a RuntimeError.
        if not isinstance(error.__cause__, KeyboardInterrupt):
            raise
        stopped(2)
    if stops:
        stopped(stops[0])
    cli.run()


def stopped(signum: int) -> NoReturn:
    """Exit as a run stopped by a signal before the command has started."""
    sys.stderr.write(f"error: {STOP_MESSAGES[signum]}; {NOTHING_WRITTEN}.\n")
    sys.exit(128 + signum)
