"""The report job as a library call: locate, validate, apply the rules, validate the report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandera.polars as pa
import polars as pl

from vlf_frames import rules, stopping
from vlf_frames.errors import InvalidInputError
from vlf_frames.models import Report
from vlf_frames.reading import DropLayout, locate_tables
from vlf_frames.tables import TABLE_SPECS
from vlf_frames.validation import DropValidation, Finding, model_checks, validate_drop

log = logging.getLogger(__name__)

OnInvalid = Literal["fail", "quarantine"]
StageCallback = Callable[[str], None]


class InvalidDropError(InvalidInputError):
    """Validation found invalid rows, or a file whose schema does not fit the model."""

    def __init__(self, validation: DropValidation, *, quarantine_possible: bool) -> None:
        self.validation = validation
        self.findings: list[Finding] = validation.findings
        names = list(dict.fromkeys(finding.table for finding in self.findings))
        tables = ("table " if len(names) == 1 else "tables ") + ", ".join(names)
        hint = (
            "Fix the files and run again, or rerun with --on-invalid quarantine to set the "
            "invalid rows aside and write the report from the valid rows."
            if quarantine_possible
            else "Fix the files and run again; a missing column or a column of the wrong type "
            "cannot be set aside row by row."
        )
        self.headline = (
            f"The inventory drop is invalid: failed checks: {len(self.findings)}, in "
            f"{tables}. {hint}"
        )
        details = [
            f"  {finding.table} ({finding.file}): column {finding.column}, check {finding.check}"
            + ("" if finding.failing_rows is None else f", {finding.failing_rows} rows")
            + f": {finding.description}"
            for finding in self.findings
        ]
        super().__init__("\n".join([self.headline, *details]))


@dataclass
class ReportResult:
    report: pl.DataFrame
    validation: DropValidation
    dangling: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def layout(self) -> DropLayout:
        return self.validation.layout


def build_report(
    drop_dir: Path,
    *,
    on_invalid: OnInvalid = "fail",
    on_stage: StageCallback | None = None,
) -> ReportResult:
    """Validate a drop and compute its report.

    With ``on_invalid="fail"`` any invalid row raises ``InvalidDropError``. With
    ``"quarantine"`` invalid rows are left out and returned in ``validation.rejects()``. A file
    whose columns or types do not fit the model raises in both modes. The report is validated
    against its model before it is returned.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    validation = check_drop(drop_dir, on_stage=on_stage)
    timings["validation"] = time.perf_counter() - started
    if validation.stops_run or (validation.findings and on_invalid == "fail"):
        raise InvalidDropError(validation, quarantine_possible=not validation.stops_run)

    if on_stage is not None:
        on_stage("rules")
    started = time.perf_counter()
    inventory = inventory_from(validation)
    report, dangling = pl.collect_all(list(rules.report_frames(inventory)))
    timings["rules"] = time.perf_counter() - started

    started = time.perf_counter()
    validate_report(report)
    timings["report_validation"] = time.perf_counter() - started
    return ReportResult(report, validation, dangling.row(0, named=True), timings)


def check_drop(drop_dir: Path, *, on_stage: StageCallback | None = None) -> DropValidation:
    """Locate and validate the tables of a drop without computing the report."""
    layout = locate_tables(drop_dir)
    return validate_drop(layout, on_table=on_stage)


def inventory_from(validation: DropValidation) -> rules.Inventory:
    """Return the valid rows of every table, encoded for the counting rules."""
    frames = {}
    for name, spec in TABLE_SPECS.items():
        table = validation.tables.get(name)
        if table is None:
            # An absent optional table is empty.
            frames[name] = pl.LazyFrame(schema=dict.fromkeys(spec.read_columns, pl.String))
        else:
            frames[name] = table.valid.lazy().select(spec.read_columns)
    return rules.encoded_inventory(rules.Inventory(**frames))


def validate_report(report: pl.DataFrame) -> pl.DataFrame:
    """Validate the report frame against its model before it is written."""
    try:
        with model_checks():
            validated = Report.validate(report, lazy=True)
    except pa.errors.SchemaErrors as errors:  # pragma: no cover - a failure here is a bug
        raise AssertionError(f"The computed report does not fit its model:\n{errors}") from errors
    stopping.check()
    return validated
