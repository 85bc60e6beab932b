"""Command-line entry point: parse options, run a command, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

from vlf_frames import __version__, stopping
from vlf_frames.console import NOTHING_WRITTEN, STOP_MESSAGES
from vlf_frames.errors import DropError, ExitCode, VlfError
from vlf_frames.render import configure_output, print_error

# Each module registers one top-level command through ``register(subparsers)``, which sets
# the ``handler`` default to a function taking the parsed namespace and returning an exit code.
COMMAND_MODULES = (
    "vlf_frames.commands.report",
    "vlf_frames.commands.validate",
    "vlf_frames.commands.schemas",
    "vlf_frames.commands.synth",
    "vlf_frames.commands.import_cucm",
)

log = logging.getLogger(__name__)
# Entries of the parsed arguments that the parsers set, not options given by the user.
PARSER_ENTRIES = frozenset({"command", "handler", "stopped"})
# A run stopped by one of these signals exits with 128 plus its number, as a shell reports a
# process killed by it.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlf-frames",
        description="Build the anonymous license usage report from an inventory drop.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in import_commands():
        module.register(subparsers)
    return parser


def import_commands() -> list[ModuleType]:
    """Import the command modules and return them. Python imports each module only once."""
    return [importlib.import_module(module_name) for module_name in COMMAND_MODULES]


def add_verbosity_options(parser: argparse.ArgumentParser) -> None:
    """Add ``-v``/``-q``, shared by every command."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print more detail: once for progress messages, twice for debug output",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print warnings and errors only: no progress messages and no summary",
    )


def run() -> None:
    """Console entry point: run ``main`` and exit with its code.

    A signal that comes after the run has ended is ignored, so it cannot kill a run that has
    written its report, or change the exit code of a stopped one. A handler that only records
    did not do: in trials, a second SIGINT during Python's shutdown still killed a stopped run.
    ``--help`` and ``--version`` end the run inside ``main``, so the signals are ignored in a
    ``finally``.
    """
    try:
        code = main(restore_signals=False)
    finally:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    sys.exit(code)


def main(argv: Sequence[str] | None = None, *, restore_signals: bool = True) -> int:
    try:
        # The commands import pandera and Polars, before the stop signals are handled below.
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print_error(f"{STOP_MESSAGES[signal.SIGINT]}; {NOTHING_WRITTEN}.")
        return 128 + signal.SIGINT
    # What a stopped run leaves undone, the end of its message: the ``stopped`` default of the
    # command's parser.
    undone = getattr(args, "stopped", NOTHING_WRITTEN)
    verbose = getattr(args, "verbose", 0)
    quiet = getattr(args, "quiet", False)

    configure_output(verbose=verbose, quiet=quiet)
    # Only the main thread may set a signal handler; tests may call main from another one.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handlers = (
        {signum: signal.signal(signum, stopping.request) for signum in STOP_SIGNALS}
        if in_main_thread
        else {}
    )
    try:
        return run_handler(args)
    except VlfError as error:
        print_error(str(error))
        return int(error.exit_code)
    except KeyboardInterrupt:
        print_error(f"{STOP_MESSAGES[signal.SIGINT]}; {undone}.")
        return 128 + signal.SIGINT
    except stopping.StopRequestedError as stop:
        print_error(f"{STOP_MESSAGES[stop.signum]}; {undone}.")
        return 128 + stop.signum
    except Exception as error:
        if verbose >= 2:
            log.exception("internal error")
        print_error(
            f"Internal error: {type(error).__name__}: {error}. This is a bug in vlf-frames; "
            "rerun with -vv to see the traceback and report it with that output."
        )
        return int(ExitCode.INTERNAL)
    finally:
        stopping.end()
        if restore_signals:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            stopping.reset()


def run_handler(args: argparse.Namespace) -> int:
    """Run the command's handler, with a ``PermissionError`` turned into a ``DropError``.

    The checks of the drop, the settings file and the output folder name their own paths. This
    names a path that they missed, which the internal error would otherwise report as a bug.
    """
    try:
        return int(args.handler(args))
    except PermissionError as error:
        raise DropError(
            f"Permission denied: {error.filename!r} cannot be read or written by this user. "
            "Give the user that runs vlf-frames access to it and search (x) access to the "
            "folders above it."
        ) from error


if __name__ == "__main__":
    run()
