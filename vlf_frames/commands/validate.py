"""``vlf-frames validate``: check a drop and print the findings, without writing a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from vlf_frames.cli import add_verbosity_options
from vlf_frames.errors import ExitCode
from vlf_frames.pipeline import check_drop
from vlf_frames.render import StageStatus, console, is_quiet, print_findings, print_summary


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an inventory drop and list what is invalid, without writing a report",
        description="Check an inventory drop against the input contract; list each failing check.",
    )
    parser.add_argument("drop", type=Path, metavar="DROP", help="folder of the inventory drop")
    add_verbosity_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with StageStatus() as on_stage:
        validation = check_drop(args.drop, on_stage=on_stage)
    if validation.findings:
        print_findings(validation.findings)
    print_summary(validation)
    if validation.findings:
        rejected = sum(validation.rejected_rows.values())
        schema_note = " Some files do not fit the schema." if validation.stops_run else ""
        console.print(
            f"The drop is invalid: failed checks: {len(validation.findings)}, invalid rows: "
            f"{rejected:,}.{schema_note}",
            markup=False,
        )
        return int(ExitCode.INVALID_INPUT)
    if not is_quiet():
        console.print("The drop is valid.")
    return int(ExitCode.OK)
