"""``vlf-frames synth``: write a reproducible synthetic inventory drop of any size."""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

import vlf_frames.cli
from vlf_frames import stopping
from vlf_frames.errors import ConfigError, OutputError
from vlf_frames.render import console, is_quiet
from vlf_frames.synth import (
    _PARTIAL_MARKER,
    DEFAULT_CHUNK_SIZE,
    SUBSCRIBERS_PER_CUSTOMER,
    SynthOptions,
    check_options,
    default_customer_count,
    write_drop,
)
from vlf_frames.writing import missing_folders, remove_empty_folders, require_folder_path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic inventory drop for benchmarks and tests",
        description=(
            "Write a synthetic inventory drop that is valid under the inventory contract: "
            "skewed customer sizes, several sites per customer, users with 0 to 40 phones, "
            "CTI ports, analog ports, templates, unowned phones, profiles and every account "
            "table with linked and unlinked rows. The same options and seed give the same "
            "bytes with the same Polars version."
        ),
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="new folder to write the drop to")
    parser.add_argument(
        "--subscribers", type=int, required=True, metavar="N",
        help="number of users at site level; about 2%% more users sit at customer level",
    )
    parser.add_argument(
        "--customers", type=int, default=None, metavar="M",
        help=f"number of customers (default: one per {SUBSCRIBERS_PER_CUSTOMER} subscribers)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--format", dest="output_format", choices=("parquet", "csv"), default="parquet",
        help="file format of the tables (default: parquet)",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="USERS",
        help=(
            "users generated and written per part file; memory grows with it, and the row "
            "order of phones and associated_devices depends on it, though the report does not "
            f"(default: {DEFAULT_CHUNK_SIZE})"
        ),
    )
    vlf_frames.cli.add_verbosity_options(parser)
    parser.set_defaults(handler=run, stopped="no drop was written")


def not_empty(folder: Path) -> bool:
    """Return whether ``folder`` is a folder with entries. A folder that cannot be listed
    counts as empty here, and writing the drop reports its error."""
    try:
        return folder.is_dir() and any(folder.iterdir())
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    customers = args.customers
    if customers is None:
        customers = default_customer_count(args.subscribers)
    options = SynthOptions(
        subscribers=args.subscribers,
        customers=customers,
        seed=args.seed,
        output_format=args.output_format,
        chunk_size=args.chunk_size,
    )
    try:
        check_options(options)
    except ValueError as error:
        raise ConfigError(f"Invalid option: {error}.") from error

    out: Path = args.out
    current = Path.cwd()
    if out.resolve() in (current, *current.parents):
        raise ConfigError(
            f"Cannot write the drop to {str(out)!r}: it is the current folder or a folder "
            "above it. Pass the path of a new folder below it, such as ./drop."
        )
    advice = "Pass the path of a new or empty folder."
    require_folder_path(out, "OUT", advice)
    if not_empty(out):
        raise ConfigError(f"OUT {str(out)!r} is a folder that is not empty. {advice}")
    log.info(
        "writing a drop of %d subscribers and %d customers to %s (seed %d, %s)",
        options.subscribers, options.customers, out, options.seed, options.output_format,
    )
    # The folders above the drop that the run creates, which a failed run removes again.
    created_folders: list[Path] = []
    started = time.perf_counter()
    try:
        created_folders = missing_folders(out.parent)
        with Progress(
            TextColumn("synth"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("users"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            # Off a terminal the bar shows nothing, and would leave an empty line behind.
            disable=is_quiet() or not console.is_terminal,
            transient=True,
        ) as progress:
            task = progress.add_task("synth", total=None)

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)
                stopping.check()

            row_counts = write_drop(out, options, on_progress)
    except FileExistsError as error:
        # write_drop raises this for a folder in use, such as a <OUT>.partial that no synth run
        # left, so the user has to pass another OUT.
        raise ConfigError(f"Cannot write the drop: {error}. Choose a new folder.") from error
    except OSError as error:
        remove_partial_drop(out, created_folders)
        raise OutputError(f"Cannot write the drop to {out}: {error}.") from error
    except BaseException:
        remove_partial_drop(out, created_folders)
        raise
    elapsed = time.perf_counter() - started

    log.info("wrote %s in %.1f s", out, elapsed)
    if not is_quiet():
        _print_summary(out, row_counts, elapsed)
    return 0


def remove_partial_drop(out: Path, created_folders: list[Path]) -> None:
    """Remove the files of a drop that was not finished, and the folders above it that the run
    created, so that a stopped or failed run leaves nothing behind.

    ``write_drop`` writes into ``<out>.partial``, marked as its own, and renames it when done.
    A second signal cannot cut the removal short.
    """
    partial = out.with_name(out.name + ".partial")
    if (partial / _PARTIAL_MARKER).is_file():
        with stopping.shielded():
            shutil.rmtree(partial, ignore_errors=True)
    remove_empty_folders(created_folders)


def _print_summary(out: Path, row_counts: dict[str, int], elapsed: float) -> None:
    table = Table(title=f"Synthetic drop {out} ({elapsed:.1f} s)", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in row_counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
