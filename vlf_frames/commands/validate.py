"""``vlf-frames validate``: check a drop and print the findings, without writing a report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vlf_frames.chunked import build_report_chunked, runs_in_one_pass
from vlf_frames.cli import PARSER_ENTRIES, add_verbosity_options
from vlf_frames.commands.report import add_partitions_option
from vlf_frames.errors import ExitCode
from vlf_frames.pipeline import InvalidDropError, check_drop
from vlf_frames.render import (
    StageStatus,
    console,
    is_quiet,
    print_error,
    print_findings,
    print_summary,
)
from vlf_frames.settings import check_environment_names
from vlf_frames.validation import DropValidation


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an inventory drop and list what is invalid, without writing a report",
        description="Check an inventory drop against the input contract; list each failing check.",
    )
    parser.add_argument("drop", type=Path, metavar="DROP", help="folder of the inventory drop")
    add_partitions_option(parser)
    add_verbosity_options(parser)
    parser.set_defaults(handler=run, stopped="the drop was not fully checked")


def check(args: argparse.Namespace, on_stage: StageStatus) -> DropValidation:
    """Validate the drop at once, or a large one in chunks as the report command reads it.

    A large drop is read in chunks to bound memory, which also counts the report and then drops
    it. Invalid rows are set aside as in quarantine mode, so that every finding is listed. A
    file whose columns or types do not fit the model stops a large drop's validation before
    any row is checked, as it stops the report, so only the schema findings are listed.
    """
    if runs_in_one_pass(args.drop, args.partitions):
        return check_drop(args.drop, on_stage=on_stage)
    try:
        result = build_report_chunked(
            args.drop,
            on_invalid="quarantine",
            partitions=args.partitions or None,
            on_stage=on_stage,
        )
    except InvalidDropError as error:
        # A file's columns or types do not fit the model, which no row can be set aside for.
        return error.validation
    return result.validation


def run(args: argparse.Namespace) -> int:
    check_environment_names(os.environ, set(vars(args)) - {"drop", *PARSER_ENTRIES})
    with StageStatus() as on_stage:
        validation = check(args, on_stage)
    if validation.findings:
        print_findings(validation.findings)
    print_summary(validation)
    no_customer_left = validation.no_customer_left()
    if no_customer_left is not None:
        print_error(
            f"No customer is left to report: {no_customer_left}, so a report would have no "
            "customer row. Check the export of customers."
        )
    if validation.findings:
        rejected = sum(validation.rejected_rows.values())
        schema_note = (
            " Some files do not fit the schema, and their rows were not checked."
            if validation.stops_run
            else ""
        )
        console.print(
            f"The drop is invalid: failed checks: {len(validation.findings)}, invalid rows: "
            f"{rejected:,}.{schema_note}",
            markup=False,
        )
        return int(ExitCode.INVALID_INPUT)
    if no_customer_left is not None:
        return int(ExitCode.INVALID_INPUT)
    if not is_quiet():
        console.print("The drop is valid.")
    return int(ExitCode.OK)
