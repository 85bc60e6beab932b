"""The report job in customer partitions, so that memory follows the largest customer.

Every rule and every check except the uniqueness of the ``*_pkid`` primary keys stays inside
one customer. So the drop is first split by a hash of ``customer_pkid`` into partition files,
in one streaming pass that never keeps a whole table in memory. Each partition is then
validated and counted on its own. The primary keys are checked over the whole table
beforehand: a second split by a hash of the key writes only that hash, and the rows of a hash
found more than once are then compared as text. The reports of the partitions are
concatenated and sorted, which gives the same report as processing the whole drop at once.

NOTE: a partition contains whole customers, so one very large customer still has to fit in memory
with its partition (3.4 GiB peak at 10 million synthetic subscribers, whose largest customer
has about 15% of the users).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import polars as pl

from vlf_frames import rules, stopping
from vlf_frames.errors import ConfigError, OutputError
from vlf_frames.models import REPORT_COLUMNS
from vlf_frames.pipeline import (
    InvalidDropError,
    OnInvalid,
    ReportResult,
    StageCallback,
    inventory_from,
    validate_report,
)
from vlf_frames.reading import (
    FILE_COLUMN,
    ROW_COLUMN,
    DropLayout,
    TableFiles,
    locate_tables,
)
from vlf_frames.render import plural
from vlf_frames.tables import CUSTOMER_KEY, TABLE_SPECS, TableSpec
from vlf_frames.validation import (
    EXAMPLE_COUNT,
    DropValidation,
    Finding,
    ReferenceHints,
    ValidatedTable,
    check_file_schemas,
    empty_rejects,
    key_name,
    scan_table,
    unreadable_table_error,
    validate_drop,
)

log = logging.getLogger(__name__)

PARTITION_COLUMN = "__partition"
# Seed of the partition hash; any fixed value gives the same report.
HASH_SEED = 20260131
# Input bytes per partition when the count is chosen automatically. Parquet inputs expand
# several times in memory: at this size a partition of average customers takes a few hundred
# megabytes (measured on synthetic drops of 1 and 3 million subscribers).
BYTES_PER_PARTITION = 24 * 1024 * 1024
# The partition files live for one run, so they favour speed over size: at one million
# synthetic subscribers, lz4 split the drop in 1.8 s into 398 MB against 2.8 s and 233 MB for
# zstd (Polars 2.1, 2 cores).
TEMPORARY_COMPRESSION: Final = "lz4"


def temporary_root(work_dir: Path | None) -> Path | None:
    """Return the folder for temporary files, or None for the system default.

    Python falls back to /tmp when TMPDIR names a folder it cannot use, so such a TMPDIR is
    rejected here: the user set it to put the large temporary files somewhere else.
    """
    if work_dir is not None:
        return work_dir
    named = os.environ.get("TMPDIR")
    if not named:
        return None
    if not (os.path.isdir(named) and os.access(named, os.W_OK | os.X_OK)):
        raise ConfigError(tmpdir_message(named, "which is not a writable folder"))
    # Given as the folder, TMPDIR is used or fails with a message. Python's own choice skips a
    # folder where it cannot make a file, such as /proc, and takes /tmp without a word.
    return Path(named)


def tmpdir_message(named: str, problem: str) -> str:
    """Return the message for a TMPDIR that the job cannot use."""
    return (
        f"TMPDIR is set to {named!r}, {problem}. Large drops need room for temporary files "
        "there: create the folder, make it writable, or unset TMPDIR."
    )


@contextmanager
def temporary_folder(root: Path | None) -> Iterator[Path]:
    """Yield a new folder for temporary files under ``root``, and remove it on exit.

    The removal runs shielded from a second SIGTERM or Ctrl-C, which would otherwise stop it
    halfway and leave hundreds of files behind.
    """
    try:
        folder = Path(tempfile.mkdtemp(prefix="vlf-frames-", dir=root))
    except OSError as error:
        if root is None:
            raise
        raise ConfigError(
            tmpdir_message(str(root), f"where no folder can be made ({error.strerror})")
        ) from error
    try:
        yield folder
    finally:
        with stopping.shielded():
            # A folder that someone else removed during the run is gone already; the run has
            # stopped on its lost files, or had read them all.
            shutil.rmtree(folder, onerror=ignore_missing)


def ignore_missing(
    function: object, path: str, error: tuple[type[BaseException], BaseException, object]
) -> None:
    """Raise an error of ``shutil.rmtree`` again, unless the file or folder is gone."""
    if not isinstance(error[1], FileNotFoundError):
        raise error[1]


def automatic_partitions(layout: DropLayout) -> int:
    """Choose a partition count from the size of the drop's files on disk."""
    total = sum(
        data_file.path.stat().st_size
        for table in layout.tables.values()
        for data_file in table.files
    )
    return max(1, -(-total // BYTES_PER_PARTITION))


def pkid_keys(spec: TableSpec) -> list[str]:
    """Return the one-column primary keys of a table, which are unique across customers."""
    return [key.columns[0] for key in spec.keys if len(key.columns) == 1]


def split_drop(
    layout: DropLayout,
    partitions: int,
    work_dir: Path,
    on_stage: StageCallback | None = None,
) -> SplitFiles:
    """Write each table as partition files by customer, and each primary key by its own hash.

    Tables are split one after the other, because every open partition file has its own write
    buffer; the sinks of one table share its scan.
    """
    split = SplitFiles(work_dir)
    for name, table_files in layout.tables.items():
        if on_stage is not None:
            on_stage(f"split {name}")
        frame = scan_table(table_files)
        by_customer = (pl.col(CUSTOMER_KEY).hash(seed=HASH_SEED) % partitions).alias(
            PARTITION_COLUMN
        )
        sinks = [
            frame.with_columns(by_customer).sink_parquet(
                pl.PartitionBy(work_dir / name, key=PARTITION_COLUMN, include_key=False),
                mkdir=True,
                compression=TEMPORARY_COMPRESSION,
                lazy=True,
            )
        ]
        for column in pkid_keys(table_files.spec):
            by_key = (pkid_hash(column) % partitions).alias(PARTITION_COLUMN)
            sinks.append(
                frame.filter(pl.col(column).is_not_null())
                .select(pkid_hash(column).alias(column), by_key)
                .sink_parquet(
                    pl.PartitionBy(
                        work_dir / f"{name}.{column}", key=PARTITION_COLUMN, include_key=False
                    ),
                    mkdir=True,
                    compression=TEMPORARY_COMPRESSION,
                    lazy=True,
                )
            )
        try:
            pl.collect_all(sinks, engine="streaming")
        except OSError as error:
            split.check()
            raise OutputError(
                f"Cannot write the partition files of table {name} to {str(work_dir)!r}: "
                f"{error}. The split needs about three times the size of the drop's Parquet "
                "files: point TMPDIR at a folder with room, or pass --partitions 1."
            ) from error
        except pl.exceptions.PolarsError as error:
            raise unreadable_table_error(table_files, error) from error
        split.record(work_dir / name)
        for column in pkid_keys(table_files.spec):
            split.record(work_dir / f"{name}.{column}")
    return split


def removed_files_error(root: Path) -> OutputError:
    """Return the error for temporary part files that someone removed during the run."""
    return OutputError(
        f"The temporary folder {str(root)!r} or files in it were removed during the run, so "
        "rows of the drop were lost and the counts would be wrong. No report was written. Run "
        f"the job again, and remove a vlf-frames-* folder in {str(root.parent)!r} only when no "
        "run is using it."
    )


class SplitFiles:
    """The partition files that ``split_drop`` wrote, to find any that are removed later.

    A run whose temporary files are removed by someone else must stop: a missing partition
    would count as empty. The folder itself is recognised by its device and inode, because a
    sink that writes after the removal makes it again.

    NOTE: a file removed while its own table is still being split is not noticed, so its rows
    are lost. Counting the rows of each split would find it, at the cost of one more pass.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.identity = folder_identity(root)
        self.files: dict[Path, frozenset[str]] = {}

    def record(self, folder: Path) -> None:
        """Note the partition folders and files under ``folder``, just written."""
        self.check()
        if not folder.is_dir():
            return
        for partition in folder.iterdir():
            self.files[partition] = frozenset(file.name for file in partition.iterdir())

    def check(self) -> None:
        """Raise ``OutputError`` if the temporary folder was removed or made again."""
        try:
            same = folder_identity(self.root) == self.identity
        except FileNotFoundError:
            same = False
        if not same:
            raise removed_files_error(self.root)

    def present(self, folder: Path) -> list[Path]:
        """Return the files of a partition folder, after checking that none was removed."""
        self.check()
        recorded = self.files.get(folder)
        if not recorded:
            return []
        try:
            current = {file.name for file in folder.iterdir()}
        except FileNotFoundError as error:
            raise removed_files_error(self.root) from error
        if not recorded <= current:
            raise removed_files_error(self.root)
        return [folder / name for name in sorted(recorded)]


def folder_identity(folder: Path) -> tuple[int, int]:
    """Return the device and inode of a folder. A folder made again may reuse the inode, so
    the recorded files are checked too."""
    status = folder.stat()
    return status.st_dev, status.st_ino


def pkid_hash(column: str) -> pl.Expr:
    """Return a 64-bit hash of a primary key. Equal keys have equal hashes."""
    return pl.col(column).hash(seed=HASH_SEED)


def partition_frame(
    split: SplitFiles, name: str, partition: int, schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Read one partition of a split table; a partition no row hashed to is empty."""
    files = split.present(split.root / name / f"{PARTITION_COLUMN}={partition}")
    if not files:
        return pl.DataFrame(schema=schema)
    try:
        return pl.scan_parquet(files).select(list(schema)).collect()
    except (OSError, pl.exceptions.PolarsError) as error:
        if not all(file.exists() for file in files):
            raise removed_files_error(split.root) from error
        raise


def duplicated_pkids(
    layout: DropLayout, partitions: int, split: SplitFiles
) -> dict[str, dict[str, pl.Series]]:
    """Return, per table and key name, the primary key values found more than once.

    Each partition of hashes gives the hashes found more than once. Only the rows with those
    hashes are then read again and compared as text, so two keys that merely share a hash are
    not reported.
    """
    result: dict[str, dict[str, pl.Series]] = {}
    for name, table_files in layout.tables.items():
        spec = table_files.spec
        for column in pkid_keys(spec):
            repeated = pl.concat(
                partition_frame(split, f"{name}.{column}", partition, {column: pl.UInt64()})
                .filter(pl.col(column).is_duplicated())
                .get_column(column)
                .unique()
                for partition in range(partitions)
            )
            key = next(key for key in spec.keys if key.columns == (column,))
            result.setdefault(name, {})[key_name(key)] = duplicated_text(
                table_files, column, repeated
            )
    return result


def duplicated_text(table_files: TableFiles, column: str, hashes: pl.Series) -> pl.Series:
    """Return the values of ``column`` found more than once among the rows with these hashes."""
    if hashes.is_empty():
        return pl.Series(column, [], dtype=pl.String)
    candidates = (
        scan_table(table_files)
        .select(column)
        .filter(pkid_hash(column).is_in(hashes.implode()))
        .collect()
    )
    return candidates.filter(pl.col(column).is_duplicated()).get_column(column).unique().sort()


def build_report_partitioned(
    drop_dir: Path,
    *,
    on_invalid: OnInvalid = "fail",
    partitions: int | None = None,
    on_stage: StageCallback | None = None,
    work_dir: Path | None = None,
    checked: DropValidation | None = None,
) -> ReportResult:
    """Validate a drop and compute its report partition by partition.

    The result is the same as ``pipeline.build_report``. Findings of one check in one file are
    merged over the partitions; their example values come from the first partitions.
    ``checked`` is the result of ``checked_layout`` for the drop, if the caller has it, so that
    its warnings are not logged again.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    validation = checked_layout(drop_dir) if checked is None else checked
    layout = validation.layout

    count = partitions or automatic_partitions(layout)
    log.info("Processing the drop in %s of text rows", plural(count, "customer partition"))
    root = temporary_root(work_dir)
    with temporary_folder(root) as folder:
        split = split_drop(layout, count, folder, on_stage)
        duplicates = duplicated_pkids(layout, count, split)
        timings["split"] = time.perf_counter() - started

        reports, dangling_parts, findings_parts, tables_parts = [], [], [], []
        # Valid customers and unknown pkids fall in different partitions, so the hint about
        # pkids that look alike is made for the whole drop.
        hints = ReferenceHints()
        timings["validation"] = timings["rules"] = 0.0
        for partition in range(count):
            if on_stage is not None:
                on_stage(f"partition {partition + 1} of {count}")
            stage_started = time.perf_counter()
            part = validate_partition(layout, split, partition, duplicates)
            timings["validation"] += time.perf_counter() - stage_started
            hints.extend(part.hints)
            tables_parts.append(summaries(part.tables))
            findings_parts.append(part.findings)
            if part.findings and on_invalid == "fail":
                continue
            stage_started = time.perf_counter()
            report, dangling = pl.collect_all(list(rules.report_frames(inventory_from(part))))
            timings["rules"] += time.perf_counter() - stage_started
            reports.append(report)
            dangling_parts.append(dangling)

    validation.tables = merge_tables(layout, tables_parts)
    validation.findings = merge_findings(findings_parts)
    validation.findings = hints.added_to(validation.findings)
    if validation.findings and on_invalid == "fail":
        raise InvalidDropError(validation, quarantine_possible=True)

    report = validate_report(pl.concat(reports).sort(REPORT_COLUMNS[0]))
    dangling_total = pl.concat(dangling_parts).sum().row(0, named=True)
    return ReportResult(report, validation, dangling_total, timings)


def checked_layout(drop_dir: Path) -> DropValidation:
    """Locate the drop's tables and check each file's schema, raising when one does not fit.

    A file whose columns or types do not fit cannot be set aside row by row, so no partition
    is written for a drop that has one.
    """
    layout = locate_tables(drop_dir)
    validation = DropValidation(layout)
    for table_files in layout.tables.values():
        validation.findings.extend(check_file_schemas(table_files))
    if validation.stops_run:
        raise InvalidDropError(validation, quarantine_possible=False)
    return validation


def validate_partition(
    layout: DropLayout,
    split: SplitFiles,
    partition: int,
    duplicates: dict[str, dict[str, pl.Series]],
) -> DropValidation:
    """Validate one partition's rows of every table, parents first."""

    def read_partition(table_files: TableFiles) -> pl.DataFrame:
        spec = table_files.spec
        schema: dict[str, pl.DataType] = dict.fromkeys(spec.read_columns, pl.String())
        schema.update({FILE_COLUMN: pl.Categorical(), ROW_COLUMN: pl.UInt32()})
        return partition_frame(split, spec.name, partition, schema)

    return validate_drop(
        layout, read_table=read_partition, duplicated_keys=duplicates, add_hints=False
    )


def summaries(tables: dict[str, ValidatedTable]) -> dict[str, ValidatedTable]:
    """Drop the valid rows of a partition's tables, keeping what the run summary needs."""
    return {
        name: ValidatedTable(
            table.spec,
            table.form,
            table.files,
            table.rows_read,
            table.valid.clear(),
            table.rejected,
        )
        for name, table in tables.items()
    }


def merge_tables(
    layout: DropLayout, parts: list[dict[str, ValidatedTable]]
) -> dict[str, ValidatedTable]:
    """Sum the rows read and stack the rejected rows; valid rows are not kept."""
    merged = {}
    for name, table_files in layout.tables.items():
        tables = [part[name] for part in parts if name in part]
        rejected = [table.rejected for table in tables if table.rejected.height]
        merged[name] = summary_table(
            table_files,
            sum(table.rows_read for table in tables),
            pl.concat(rejected) if rejected else empty_rejects(),
        )
    return merged


def summary_table(
    table_files: TableFiles, rows_read: int, rejected: pl.DataFrame
) -> ValidatedTable:
    """Return what the run summary needs of a table: the rows read and rejected, no valid rows."""
    spec = table_files.spec
    return ValidatedTable(
        spec,
        table_files.form,
        tuple(data_file.path for data_file in table_files.files),
        rows_read,
        pl.DataFrame(schema=dict.fromkeys(spec.read_columns, pl.String)),
        rejected,
    )


def merge_findings(parts: list[list[Finding]]) -> list[Finding]:
    """Merge the findings of one check in one file over the partitions."""
    merged: dict[tuple[str, str | None, str, str], Finding] = {}
    for findings in parts:
        for finding in findings:
            key = (finding.table, finding.file, finding.column, finding.check)
            previous = merged.get(key)
            if previous is None:
                merged[key] = finding
                continue
            merged[key] = Finding(
                previous.table,
                previous.file,
                previous.column,
                previous.check,
                previous.description,
                (previous.failing_rows or 0) + (finding.failing_rows or 0),
                (previous.examples + finding.examples)[:EXAMPLE_COUNT],
                previous.fix,
                previous.stops_run,
            )
    order = list(TABLE_SPECS)
    return sorted(merged.values(), key=lambda item: (order.index(item.table), str(item.file)))
