"""``vlf-frames schemas``: regenerate the published JSON contracts from the pandera models."""

from __future__ import annotations

import argparse
from pathlib import Path

from vlf_frames.cli import add_verbosity_options
from vlf_frames.contracts import write_contracts
from vlf_frames.errors import ExitCode
from vlf_frames.render import console, is_quiet
from vlf_frames.writing import require_folder_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "schemas",
        help="write the input and report contracts as JSON files, one per table",
        description="Write the JSON contracts generated from the pandera models.",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("schemas"),
        metavar="DIR",
        help="folder for the JSON files (default: schemas)",
    )
    add_verbosity_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    require_folder_path(
        args.output_dir, "--output-dir", "Pass a folder, or a path that does not exist yet."
    )
    written = write_contracts(args.output_dir)
    if not is_quiet():
        console.print(f"Wrote {len(written)} contract files to {args.output_dir}", markup=False)
    return int(ExitCode.OK)
