"""The ``import cucm`` command: turn CUCM exports into an inventory drop, or add to one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from vlf_frames import stopping
from vlf_frames.cli import add_verbosity_options
from vlf_frames.console import STOP_MESSAGES
from vlf_frames.render import console, is_quiet, print_error

if TYPE_CHECKING:
    from vlf_frames.cucm import ImportSummary

DESCRIPTION = """\
Read the exports of one Cisco Unified CM cluster and write them as an inventory drop:
customers, sites, users, phones, associated_devices, device_profiles and
remote_destination_profiles. SOURCE is a folder of table exports (device, enduser,
enduserdevicemap, and optionally typemodel and devicepool), each saved as 'run sql' output
or as CSV, or the CSV file of Bulk Administration 'Export Phones - All Details'. Import
several clusters of one customer into the same DROP one after another: a user found in
more than one cluster stays one user. docs/cucm-import.md lists the queries to run.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` command and its ``cucm`` subcommand."""
    parser = subparsers.add_parser(
        "import",
        help="convert another system's inventory into an inventory drop",
        description="Convert another system's inventory into an inventory drop.",
    )
    systems = parser.add_subparsers(dest="source_system", required=True, metavar="SYSTEM")
    cucm = systems.add_parser(
        "cucm",
        help="import Cisco Unified CM table exports or a BAT phone export",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cucm.add_argument(
        "source", type=Path, metavar="SOURCE",
        help="folder of CUCM exports, or a BAT 'Export Phones - All Details' CSV file",
    )
    cucm.add_argument(
        "--output", "-o", type=Path, required=True, metavar="DROP",
        help="inventory drop folder to write or add to; created when missing",
    )

    cucm.add_argument(
        "--customer-pkid", required=True, metavar="PKID",
        help="customer key that every imported row gets; written to the report as Customer PKID",
    )
    cucm.add_argument(
        "--customer-name", metavar="NAME",
        help="customer name for the customers table (never written to the anonymous report)",
    )

    cucm.add_argument(
        "--site-map", type=Path, metavar="CSV",
        help="CSV file with the columns device_pool,site_name[,site_pkid] that places phones "
        "at sites by device pool; without it every phone sits at the default site",
    )
    cucm.add_argument(
        "--default-site", default="Default", metavar="NAME",
        help="name of the site for all phones when no --site-map is given, and for users "
        "without phones (default: %(default)s)",
    )

    cucm.add_argument(
        "--public-sector", action=argparse.BooleanOptionalAction, default=None,
        help="set the customer's public sector flag (default: keep it, false for a new customer)",
    )
    cucm.add_argument(
        "--inactive-billing", action=argparse.BooleanOptionalAction, default=None,
        help="set the customer's inactive billing flag (default: keep it, false for a new "
        "customer)",
    )

    add_verbosity_options(cucm)
    cucm.set_defaults(handler=run_import_cucm)


def run_import_cucm(args: argparse.Namespace) -> int:
    # The importer is loaded only when it runs, which saves about 0.04 s at the start of every
    # other command.
    from vlf_frames.cucm import ImportOptions, import_cucm  # noqa: PLC0415

    options = ImportOptions(
        customer_pkid=args.customer_pkid,
        default_site=args.default_site,
        site_map=args.site_map,
        customer_name=args.customer_name,
        public_sector=args.public_sector,
        inactive_billing=args.inactive_billing,
    )
    try:
        summary = import_cucm(args.source, args.output, options)
    except stopping.StopRequestedError as stop:
        # The message names the drop that the import left as it was.
        print_error(
            f"{STOP_MESSAGES[stop.signum]}; nothing was written to the drop "
            f"{args.output}."
        )
        return 128 + stop.signum
    print_summary(summary, args.source, args.output)
    return 0


def print_summary(summary: ImportSummary, source: Path, drop_dir: Path) -> None:
    """Print the rows added per table and the counted findings, unless ``-q`` was given."""
    if is_quiet():
        return
    console.print(Text(f"Imported {source} into {drop_dir}."))
    table = Table("table", "rows added", "rows in drop")
    for name, total in summary.rows_total.items():
        table.add_row(Text(name), str(summary.rows_added[name]), str(total))
    console.print(table)
    if summary.findings:
        findings = Table("rows", "finding")
        for description, count in summary.findings.items():
            findings.add_row(str(count), Text(description))
        console.print(findings)
