"""Terminal output: one rich console on stderr for progress, findings and the run summary."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.logging import RichHandler
from rich.status import Status
from rich.table import Table
from rich.text import Text

from vlf_frames import stopping
from vlf_frames.normalize import look_alike_key
from vlf_frames.tables import TABLE_SPECS

if TYPE_CHECKING:
    from vlf_frames.validation import DropValidation, Finding

log = logging.getLogger(__name__)

LOG_WIDTH = 160
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Progress, findings and summaries go to stderr so that stdout stays free for data.
console = Console(stderr=True, highlight=False, soft_wrap=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    # Logs captured by a scheduler would otherwise be wrapped at rich's default of 80 columns.
    console.width = LOG_WIDTH
_state = {"quiet": False, "verbose": 0}


def configure_output(*, verbose: int, quiet: bool) -> None:
    """Set the log level from ``-v``/``-q`` and route log records through the console."""
    _state["quiet"] = quiet
    _state["verbose"] = verbose
    # -q keeps warnings, because each one names input that changes or leaves out rows.
    if quiet:
        level = logging.WARNING
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = logging.WARNING
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(
            console=console,
            show_path=False,
            markup=False,
            rich_tracebacks=False,
            log_time_format=LOG_TIME_FORMAT,
        )
        line_format = "%(message)s"
    else:
        # A log file or a scheduler gets one line per record, with no padding or wrapping,
        # so that grep and log collectors see whole records.
        handler = logging.StreamHandler(sys.stderr)
        line_format = "%(asctime)s %(levelname)s %(message)s"
    logging.basicConfig(
        level=level, handlers=[handler], format=line_format, datefmt=LOG_TIME_FORMAT, force=True
    )


def is_quiet() -> bool:
    return bool(_state["quiet"])


# Required tables that a real estate has rows in. A small one may have no associations.
EMPTY_TABLE_WARNED = ("customers", "sites", "users", "phones")


def plural(count: int, noun: str) -> str:
    """Return ``"1 row"`` or ``"2 rows"``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def print_error(message: str) -> None:
    """Print an error message; the text is never interpreted as rich markup."""
    console.print("[bold red]error:[/] ", end="")
    console.print(message, markup=False)


class StageStatus:
    """A rich status line that names the running stage, and logs each stage at INFO."""

    def __init__(self) -> None:
        self._status: Status | None = None

    def __enter__(self) -> StageStatus:
        if not is_quiet():
            self._status = console.status("Reading the inventory drop")
            self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, stage: str) -> None:
        # A new stage is a safe point to stop at.
        stopping.check()
        prefix = next((prefix for prefix in STAGE_PREFIXES if stage.startswith(prefix)), None)
        if prefix is None:
            text = STAGE_TEXTS.get(stage, f"Validating {stage}")
        else:
            text = STAGE_PREFIXES[prefix].format(stage.removeprefix(prefix))
        logging.getLogger("vlf_frames.stages").info("%s", text)
        if self._status is not None:
            self._status.update(text)


# Texts of the stages that name a table or a part after a prefix.
STAGE_PREFIXES = {
    "partition ": "Validating and counting partition {}",
    "split ": "Splitting table {} into customer partitions",
    "encode ": "Validating and encoding {}",
    "link ": "Linking associations to phones, part {}",
    "count users ": "Counting users, part {}",
    "count phones ": "Counting phones of no user, part {}",
}
STAGE_TEXTS = {
    "rules": "Applying the counting rules",
    "write": "Writing the report",
}


def print_findings(findings: Sequence[Finding]) -> None:
    """Print every failing check, grouped by table and file, with values and the fix."""
    by_file: dict[tuple[str, str | None], list[Finding]] = {}
    for finding in findings:
        by_file.setdefault((finding.table, finding.file), []).append(finding)
    for index, ((table, file), group) in enumerate(by_file.items()):
        # An empty line separates the files, and none comes before the first.
        if index:
            console.print()
        console.print(
            Text.assemble(("Table ", "bold"), (table, "bold cyan"), " in ", (str(file), "cyan"))
        )
        for finding in group:
            rows = (
                "" if finding.failing_rows is None else f" ({plural(finding.failing_rows, 'row')})"
            )
            line = Text.assemble(
                "  ✗ ",
                ("column " + finding.column, "bold"),
                f", check {finding.check}{rows}: {finding.description}",
            )
            console.print(line)
            if finding.examples:
                console.print(Text("      first failing values: " + "; ".join(finding.examples)))
            console.print(Text("      fix: " + finding.fix, style="dim"))
    console.print()


def print_summary(
    validation: DropValidation,
    *,
    dangling: dict[str, int] | None = None,
    report: pl.DataFrame | None = None,
    outputs: Sequence[Path] = (),
    replaced: Collection[Path] = (),
    elapsed: float | None = None,
) -> None:
    """Print the run summary: rows per table, absent tables, rejects, links and totals."""
    warn_empty_tables(validation)
    print_customers_left_out(validation, report_written=report is not None)
    if is_quiet():
        return
    print_tables_read(validation)
    if dangling is not None:
        print_dangling(dangling)
    if report is not None:
        print_report_totals(report)
    for path in outputs:
        note = ", which replaced the file of that name" if path in replaced else ""
        console.print(Text.assemble("Wrote ", (str(path), "bold green"), note))
    if elapsed is not None:
        console.print(f"Done in {elapsed:.1f} s.")


def print_tables_read(validation: DropValidation) -> None:
    tables = Table(title="Inventory drop", title_justify="left")
    tables.add_column("table")
    tables.add_column("form")
    tables.add_column("rows read", justify="right")
    tables.add_column("rows rejected", justify="right")
    for name in TABLE_SPECS:
        table_files = validation.layout.tables.get(name)
        table = validation.tables.get(name)
        if table is not None:
            tables.add_row(name, table.form, f"{table.rows_read:,}", f"{table.rejected.height:,}")
        elif table_files is not None:
            # A file that does not fit the schema stops the checks of its rows.
            tables.add_row(name, table_files.form, "not read", "-")
    console.print(tables)
    if validation.layout.absent:
        absent = ", ".join(validation.layout.absent)
        console.print(Text.assemble(("Absent tables, counted as empty: ", "yellow"), absent))


def warn_empty_tables(validation: DropValidation) -> None:
    """Warn of required tables without rows.

    An export that failed halfway often leaves a header alone, and the job would count the
    phones and accounts of those users as standalone.
    """
    empty = [
        name
        for name in EMPTY_TABLE_WARNED
        if name in validation.tables and validation.tables[name].rows_read == 0
    ]
    if empty:
        log.warning(
            "No rows in %s: check that the export is complete, because the report counts them "
            "as empty.",
            ", ".join(empty),
        )


# Customers named in the line about customers left out of the report. The others are counted.
LISTED_CUSTOMERS = 5


def print_customers_left_out(validation: DropValidation, *, report_written: bool) -> None:
    """Name the customers whose own rows were set aside, which the report leaves out with every
    row that names them, or would leave out when no report is written."""
    customers = validation.tables.get("customers")
    if customers is None or customers.rejected.is_empty():
        return
    pkid = pl.col("values").str.json_path_match("$.customer_pkid")
    pkids = customers.rejected.select(pkid).to_series().drop_nulls().unique(maintain_order=True)
    if pkids.is_empty():
        return

    others = [table.rejected for name, table in validation.tables.items() if name != "customers"]
    named = sum(frame.filter(pkid.is_in(pkids.implode())).height for frame in others)
    # Rows that name the customer without its hidden characters name no customer at all.
    look_alikes = pkids.to_frame("pkid").select(look_alike_key("pkid")).to_series()
    look_alike_rows = sum(
        frame.filter(
            ~pkid.is_in(pkids.implode()) & look_alike_key(pkid).is_in(look_alikes.implode())
        ).height
        for frame in others
    )
    # A pkid with an invisible character is shown escaped, as the findings show it.
    listed = ", ".join(
        pkid if pkid.isprintable() else repr(pkid) for pkid in pkids.head(LISTED_CUSTOMERS)
    )
    if pkids.len() > LISTED_CUSTOMERS:
        listed += f" and {pkids.len() - LISTED_CUSTOMERS:,} more"

    single = pkids.len() == 1
    if report_written:
        left_out = f"{'is' if single else 'are'} left out of the report"
        set_aside = f"{'was' if named == 1 else 'were'} set aside"
    else:
        left_out = "would be left out of the report with --on-invalid quarantine"
        set_aside = "would be set aside"
    headline = (
        f"{plural(pkids.len(), 'customer')} {left_out}, because "
        f"{'its row' if single else 'their rows'} in customers {'is' if single else 'are'} "
        "invalid: "
    )
    consequence = (
        f". {plural(named, 'row')} of other tables that name {'it' if single else 'them'} "
        f"{set_aside} as well."
    )
    if look_alike_rows:
        if not report_written:
            look_alike_set_aside = "would be set aside"
        elif look_alike_rows == 1:
            look_alike_set_aside = "was set aside"
        else:
            look_alike_set_aside = "were set aside"
        consequence += (
            f" {plural(look_alike_rows, 'row')} that {'names' if look_alike_rows == 1 else 'name'} "
            f"{'it' if single else 'them'} in "
            f"another case or without hidden characters {look_alike_set_aside} as naming no "
            "customer."
        )
    log.warning("%s%s%s", headline, listed, consequence)


def print_dangling(dangling: dict[str, int]) -> None:
    found = {name: count for name, count in dangling.items() if count}
    if not found:
        console.print("Dangling references: none.")
        return
    links = Table(title="Dangling references (legal; they link nothing)", title_justify="left")
    links.add_column("reference")
    links.add_column("rows", justify="right")
    for name, count in found.items():
        links.add_row(name, f"{count:,}")
    console.print(links)


def print_report_totals(report: pl.DataFrame) -> None:
    totals = Table(title=f"Report totals (customers: {report.height:,})", title_justify="left")
    totals.add_column("column")
    totals.add_column("total", justify="right")
    for name, dtype in report.schema.items():
        if dtype == pl.Int64:
            totals.add_row(name, f"{report.get_column(name).sum():,}")
        elif dtype == pl.Boolean:
            totals.add_row(f"{name} (customers)", f"{report.get_column(name).sum():,}")
    console.print(totals)
