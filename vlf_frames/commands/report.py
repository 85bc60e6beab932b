"""``vlf-frames report``: validate a drop and write the anonymous report."""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from vlf_frames.chunked import (
    BYTES_PER_PARTITION,
    SINGLE_PASS_BYTES,
    build_report_chunked,
    runs_in_one_pass,
)
from vlf_frames.cli import PARSER_ENTRIES, add_verbosity_options
from vlf_frames.errors import ConfigError, DropError, ExitCode
from vlf_frames.pipeline import InvalidDropError, ReportResult, build_report
from vlf_frames.render import (
    StageStatus,
    console,
    is_quiet,
    plural,
    print_error,
    print_findings,
    print_summary,
)
from vlf_frames.settings import RunSettings, resolve_settings
from vlf_frames.validation import DropValidation
from vlf_frames.writing import (
    prepare_output_dir,
    remove_empty_folders,
    report_csv_text,
    require_folder_path,
    write_atomically,
    write_rejects,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# The largest --partitions. Every part costs a fixed time in each pass, however small it is:
# `vlf-frames report` of the sample drop (14 KB of CSV) took 26 to 29 s in 1,024 parts against
# 1 s in one pass, on 2 shared cores. A table keeps up to three files open per part, so 1,024
# parts need about 3,100 open files.
# NOTE: the automatic count (0) has no such maximum and exceeds it for drops over 64 GiB.
MAX_PARTITIONS = 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="validate an inventory drop and write the anonymous report",
        description=(
            "Validate an inventory drop and write the anonymous customer aggregate report "
            "(audit version 4.0.0) to DIR/vlf_<provider>_<host>_anonymous_<YYYY-MM-DD_HHMM>.csv. "
            "Options override VLF_* environment variables, which override the --config file."
        ),
    )
    parser.add_argument("drop", type=Path, metavar="DROP", help="folder of the inventory drop")
    parser.add_argument(
        "--output-dir",
        type=folder_path,
        required=True,
        metavar="DIR",
        help="folder for the report (created if missing)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML settings file with keys such as provider_name and host_name",
    )
    parser.add_argument(
        "--date-time",
        metavar="'YYYY-MM-DD HH:MM'",
        help="report time in UTC, for reproducible reruns (default: now)",
    )
    parser.add_argument("--provider-name", help="provider name, in the metadata and the file name")
    parser.add_argument("--host-name", help="host name of the platform, in the file name")
    parser.add_argument("--platform-id", help="Platform ID metadata line")
    parser.add_argument("--software-version", help="Software Version metadata line")
    parser.add_argument("--platform-version", help="Platform Version metadata line")
    parser.add_argument("--deployment-mode", help="Deployment Mode metadata line")
    parser.add_argument(
        "--on-invalid",
        choices=("fail", "quarantine"),
        default="fail",
        help=(
            "fail (default): write no report when a row is invalid; quarantine: write invalid "
            "rows with their reasons to a rejects file next to the report and report the rest"
        ),
    )
    add_partitions_option(parser)
    add_verbosity_options(parser)
    parser.set_defaults(handler=run, stopped="no report was written")


def folder_path(text: str) -> Path:
    """Return the path of an option that names a folder; an empty one is rejected, because it
    would mean the current folder without saying so."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass a folder, such as out")
    return Path(text)


def partition_count(text: str) -> int:
    """Parse the value of ``--partitions``: a whole number from 0 to ``MAX_PARTITIONS``."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: pass a whole number from 0 to {MAX_PARTITIONS}."
        ) from None
    if count < 0:
        raise argparse.ArgumentTypeError(
            f"{count} is negative: pass a whole number from 0 to {MAX_PARTITIONS}."
        )
    if count > MAX_PARTITIONS:
        raise argparse.ArgumentTypeError(
            f"{count} is more than the maximum of {MAX_PARTITIONS}. Pass {MAX_PARTITIONS} or "
            f"fewer, or 0 to choose one part per {BYTES_PER_PARTITION // MIB} MiB of the "
            "drop's files."
        )
    return count


def add_partitions_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--partitions``, shared by the commands that read a whole drop."""
    parser.add_argument(
        "--partitions",
        type=partition_count,
        default=0,
        metavar="N",
        help=(
            f"process the drop in N parts, at most {MAX_PARTITIONS}, to bound memory. 1 "
            "processes it at once. 0 (default) processes drops of up to "
            f"{SINGLE_PASS_BYTES // MIB} MiB at once and larger ones in one part per "
            f"{BYTES_PER_PARTITION // MIB} MiB of their files"
        ),
    )


def compute_report(args: argparse.Namespace, on_stage: StageStatus) -> ReportResult:
    """Compute the report at once or in parts, as --partitions requests."""
    if runs_in_one_pass(args.drop, args.partitions):
        return build_report(args.drop, on_invalid=args.on_invalid, on_stage=on_stage)
    return build_report_chunked(
        args.drop, on_invalid=args.on_invalid, partitions=args.partitions or None, on_stage=on_stage
    )


def is_within(path: Path, folder: Path) -> bool:
    """Return whether ``path`` is ``folder`` or below it, or below a folder that a symbolic
    link in ``folder`` leads to, after links are resolved."""
    resolved = path.resolve()
    for real_folder in linked_folders(folder):
        if resolved == real_folder or real_folder in resolved.parents:
            return True
    return False


def linked_folders(folder: Path) -> Iterator[Path]:
    """Yield the real path of a folder and of every folder that a symbolic link below it leads
    to, each once. Folders that cannot be listed are passed over."""
    yield folder.resolve()
    seen = set()
    for root, subfolders, _ in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        for name in subfolders:
            if os.path.islink(os.path.join(root, name)):
                yield Path(os.path.realpath(os.path.join(root, name)))


def empty_report_error(validation: DropValidation, rejects_path: Path | None) -> DropError:
    """Return the error for a drop that leaves no customer to report, which no billing run
    expects."""
    found = validation.no_customer_left() or "no customer row is valid"
    rejects = "" if rejects_path is None else f" The invalid rows are in {rejects_path}."
    return DropError(
        f"No customer is left to report: {found}, so no report was written.{rejects} Check the "
        "export of customers."
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    options = {
        name: getattr(args, name)
        for name in (
            "platform_id",
            "provider_name",
            "software_version",
            "platform_version",
            "deployment_mode",
            "host_name",
            "date_time",
        )
    }
    # The positional drop folder and the parser's own entries are no options.
    command_options = set(vars(args)) - {"drop", *PARSER_ENTRIES}
    settings = resolve_settings(options, config_file=args.config, command_options=command_options)
    require_folder_path(
        args.output_dir, "--output-dir", "Pass a folder, or a path that does not exist yet."
    )
    if is_within(args.output_dir, args.drop):
        raise ConfigError(
            f"--output-dir {str(args.output_dir)!r} is inside the inventory drop "
            f"{str(args.drop)!r}, where the report would be read as part of the drop next "
            "time. Pass a folder outside the drop."
        )
    created_folders = prepare_output_dir(args.output_dir)
    outputs: list[Path] = []
    try:
        return write_report(args, settings, outputs, started)
    finally:
        # A run that writes nothing, because it stopped or the drop was invalid, leaves no
        # empty folder behind.
        if not outputs:
            remove_empty_folders(created_folders)


def write_report(
    args: argparse.Namespace, settings: RunSettings, outputs: list[Path], started: float
) -> int:
    """Compute the report and write it, with the rejects file in quarantine mode. Append each
    file written to ``outputs``, and return the exit code."""
    with StageStatus() as on_stage:
        try:
            result = compute_report(args, on_stage)
        except InvalidDropError as error:
            on_stage.__exit__()
            print_findings(error.findings)
            # The summary shows the rows read and rejected per table, as validate does. Its
            # warnings name an empty customers or sites table, which makes every row that
            # refers to it fail, and the customers whose own rows are invalid.
            print_summary(error.validation)
            print_error(error.headline)
            return int(error.exit_code)

        on_stage("write")
        # Files of an earlier run with the same --date-time, which the summary names.
        replaced = {
            path
            for path in (
                args.output_dir / settings.report_file_name,
                args.output_dir / settings.rejects_file_name,
            )
            if path.exists()
        }
        stale_rejects = args.output_dir / settings.rejects_file_name
        if args.on_invalid != "quarantine" and stale_rejects.exists():
            log.warning(
                "%s comes from an earlier run with --on-invalid quarantine and the same "
                "--date-time, and does not belong to this report. Delete it, or rerun with "
                "--on-invalid quarantine to replace it.",
                stale_rejects,
            )
        # The rejects file is written even when no report follows, because it shows why.
        if args.on_invalid == "quarantine":
            rejects_path = args.output_dir / settings.rejects_file_name
            write_rejects(result.validation.rejects(), rejects_path)
            outputs.append(rejects_path)
        if result.report.is_empty():
            on_stage.__exit__()
            print_findings(result.validation.findings)
            raise empty_report_error(result.validation, outputs[0] if outputs else None)
        report = result.report
        report_path = args.output_dir / settings.report_file_name
        write_atomically(report_path, report_csv_text(report, settings.metadata_lines()))
        outputs.insert(0, report_path)

    if result.validation.findings and not is_quiet():
        rejected = sum(result.validation.rejected_rows.values())
        verb = "was" if rejected == 1 else "were"
        console.print(f"{plural(rejected, 'invalid row')} {verb} set aside:")
        print_findings(result.validation.findings)
    for stage, seconds in result.timings.items():
        log.info("%s: %.2f s", stage, seconds)
    print_summary(
        result.validation,
        dangling=result.dangling,
        report=report,
        outputs=outputs,
        replaced=replaced,
        elapsed=time.perf_counter() - started,
    )
    return int(ExitCode.OK)
