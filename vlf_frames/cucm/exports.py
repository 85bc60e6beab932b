"""Find the CUCM exports in a source folder and read each into a frame of strings.

A file is recognised by its content, not by its extension: ``run sql`` text has a line of
``=`` runs under its header, anything else is read as CSV. The table in a file is
recognised from its columns. Only where columns cannot tell two tables apart
(``typemodel`` and ``typeclass`` both have ``enum`` and ``name``) does the table named in
the echoed ``run sql`` command, or else the file name, decide.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl

from vlf_frames import stopping
from vlf_frames.cucm.runsql import RunSqlFormatError, find_separator_line, parse_run_sql
from vlf_frames.errors import DropError
from vlf_frames.reading import DataFile, csv_problem, malformed_csv_error

log = logging.getLogger(__name__)


class ExportError(DropError):
    """A CUCM export in the import source is missing, unreadable or lacks a needed column."""


class ExportKind(StrEnum):
    """Kinds of export that the importer reads; table kinds carry the CUCM table name."""

    DEVICE = "device"
    ENDUSER = "enduser"
    ENDUSERDEVICEMAP = "enduserdevicemap"
    TYPEMODEL = "typemodel"
    DEVICEPOOL = "devicepool"
    BAT_PHONES = "BAT phone export"


# Columns that the mapping reads from each table export. Other columns are ignored.
REQUIRED_COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.DEVICE: ("pkid", "name", "tkclass", "tkmodel", "fkenduser"),
    ExportKind.ENDUSER: ("pkid", "userid"),
    ExportKind.ENDUSERDEVICEMAP: ("fkenduser", "fkdevice", "tkuserassociation"),
    ExportKind.TYPEMODEL: ("enum", "name"),
    ExportKind.DEVICEPOOL: ("pkid", "name"),
    ExportKind.BAT_PHONES: ("device name", "device type"),
}


@dataclass(frozen=True)
class Export:
    """One export file: its kind, its path and its rows as strings.

    Table exports have lower-case column names. A BAT export has its headers normalized
    by ``normalize_bat_header``.
    """

    kind: ExportKind
    path: Path
    frame: pl.DataFrame


@dataclass
class SourceExports:
    """The exports found in an import source, grouped by kind, in file name order."""

    by_kind: dict[ExportKind, list[Export]] = field(default_factory=dict)

    def files(self, kind: ExportKind) -> list[Export]:
        return self.by_kind.get(kind, [])

    def has(self, kind: ExportKind) -> bool:
        return bool(self.by_kind.get(kind))


def normalize_bat_header(header: str) -> str:
    """Return a BAT column header in lower case with runs of white space made one space."""
    return " ".join(header.split()).lower()


def read_source(source: Path) -> SourceExports:
    """Read every export in ``source``, a folder of exports or a single BAT phone export.

    Binary files, files that are not a table this importer reads, and entries that are not
    files (folders, named pipes, broken links) are skipped with a warning. Raises ExportError
    when the source cannot be read, when an entry whose name names a CUCM table is not a
    readable file, when a text file is not UTF-8 or when a file of a known table lacks a
    needed column.
    """
    try:
        is_file = source.is_file()
        is_dir = source.is_dir()
    except OSError as error:
        raise ExportError(_unreadable_source_message(source, error)) from None
    if not is_file and not is_dir:
        if source.is_symlink() or source.exists():
            raise ExportError(
                f"The import source {source} is {_entry_description(source)}. Pass a folder "
                "of CUCM exports or a BAT phone export file."
            )
        raise ExportError(f"Import source not found: {source}")
    exports = SourceExports()
    if is_file:
        export = read_export_file(source)
        if export is None or export.kind is not ExportKind.BAT_PHONES:
            raise ExportError(
                f"{source} is not a BAT phone export. Pass a folder that contains the CUCM "
                "table exports, or the CSV file of Bulk Administration 'Export Phones - "
                "All Details'."
            )
        exports.by_kind[export.kind] = [export]
        return exports

    try:
        entries = sorted(source.iterdir())
    except OSError as error:
        raise ExportError(_unreadable_source_message(source, error)) from None
    for path in entries:
        stopping.check()
        if path.name.startswith("."):
            log.info("skipped %s: hidden file", path)
            continue
        if not _is_export_file(path):
            continue
        export = read_export_file(path)
        if export is not None:
            log.info("read %s: %s export, %d rows", path, export.kind, export.frame.height)
            exports.by_kind.setdefault(export.kind, []).append(export)
    return exports


def _unreadable_source_message(source: Path, error: OSError) -> str:
    if isinstance(error, PermissionError):
        return (
            f"Permission denied: the import source {source} cannot be read by this user. Give "
            "the user that runs vlf-frames read and search (x) access to the folder and read "
            "access to its files."
        )
    return f"Cannot read the import source {source}: {error.strerror or error}."


def _is_export_file(path: Path) -> bool:
    """Return whether an entry of the source folder is a file to read.

    Logs a warning for another entry, and raises ExportError when its name names a CUCM
    table, because then an export the user meant to import would be missing.
    """
    try:
        if path.is_file():
            return True
        description = _entry_description(path)
    except OSError as error:
        raise ExportError(_unreadable_source_message(path.parent, error)) from None
    hint = _table_hint(path, query_table=None)
    if hint is not None:
        raise ExportError(
            f"{path} names the CUCM table {hint} but cannot be read as a file: it is "
            f"{description}. Put the export file itself in the source folder, or rename or "
            "remove that entry."
        )
    log.warning(
        "skipped %s: it is %s. The importer reads only the files directly in the source "
        "folder.",
        path,
        description,
    )
    return False


def _entry_description(path: Path) -> str:
    """Return a description of a folder entry that is not a regular file, for a message."""
    if path.is_symlink() and not path.exists():
        return f"a symbolic link to {os.readlink(path)}, which does not exist"
    if path.is_dir():
        return "a folder"
    if path.is_fifo():
        return "a named pipe (FIFO)"
    if path.is_socket():
        return "a socket"
    if path.is_block_device() or path.is_char_device():
        return "a device file"
    return "not a regular file"


def read_export_file(path: Path) -> Export | None:
    """Read one file and recognise its table; return None for a file that is no export."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ExportError(f"Cannot read {path}: {error.strerror}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if _is_binary(data):
            log.warning("skipped %s: not a text file", path)
            return None
        # Excel saves plain CSV in the Windows code page (cp1252 in Western Europe) and
        # "Unicode Text" as UTF-16, so this is most often an export in the wrong encoding.
        raise ExportError(
            f"{path} is not UTF-8 text (invalid byte at offset {error.start}). Save it as "
            "UTF-8 (in Excel: Save As 'CSV UTF-8') and run the import again."
        ) from error

    lines = text.splitlines()
    if find_separator_line(lines) is not None:
        try:
            output = parse_run_sql(text)
        except RunSqlFormatError as error:
            raise ExportError(f"{path} is not valid 'run sql' output: {error}") from error
        return _table_export(path, output.frame, output.query_table)

    frame = _read_csv(path, text)
    if frame is None:
        return None
    headers = [normalize_bat_header(name) for name in frame.columns]
    if {"device name", "device type"} <= set(headers):
        check_csv_layout(path, ExportKind.BAT_PHONES)
        renamed = frame.rename(dict(zip(frame.columns, headers, strict=True)))
        return Export(ExportKind.BAT_PHONES, path, renamed)
    frame = frame.rename({name: name.strip().lower() for name in frame.columns})
    frame = frame.with_columns(
        pl.when(pl.col(name).str.strip_chars().is_in(["", "NULL"]))
        .then(None)
        .otherwise(pl.col(name))
        .alias(name)
        for name in frame.columns
    )
    export = _table_export(path, frame, query_table=None)
    if export is not None:
        check_csv_layout(path, export.kind)
    return export


def check_csv_layout(path: Path, kind: ExportKind) -> None:
    """Raise ExportError naming the line of a CSV export whose layout Polars would misread.

    Such a file has a row with more or fewer fields than its header, a blank line, a stray
    quote or a line ended by a carriage return alone. Polars reads the missing fields of a
    short row as null, so the values after them would shift into other columns.
    """
    error = malformed_csv_error(kind.value, DataFile(path, "csv"))
    if error is not None:
        raise ExportError(str(error)) from None


def require_columns(export: Export, columns: Iterable[str]) -> None:
    """Raise ExportError naming the file and the first column that the export lacks."""
    missing = [column for column in columns if column not in export.frame.columns]
    if missing:
        raise ExportError(
            f"{export.path}: the {export.kind} export has no column {missing[0]!r} "
            f"(missing: {', '.join(missing)}; found: {', '.join(export.frame.columns)}). "
            "Rerun the query with the columns listed in the CUCM import guide."
        )


def _is_binary(data: bytes) -> bool:
    """Return True for data with NUL bytes, unless a UTF-16 byte order mark starts it."""
    return b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff"))


def _read_csv(path: Path, text: str) -> pl.DataFrame | None:
    if not text.strip():
        log.warning("skipped %s: the file is empty", path)
        return None
    try:
        frame = pl.read_csv(text.encode(), infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as error:
        hint = _table_hint(path, query_table=None)
        if hint is not None:
            # The file name names a table, so it is an export that must not be skipped.
            reason = csv_problem(path) or str(error).splitlines()[0]
            raise ExportError(
                f"{path} names the CUCM table {hint} but cannot be read as CSV: {reason}. "
                "Export it again as UTF-8 CSV with a header row and every quote closed."
            ) from None
        log.warning("skipped %s: neither 'run sql' output nor CSV (%s)", path, error)
        return None
    return frame


def _table_export(path: Path, frame: pl.DataFrame, query_table: str | None) -> Export | None:
    kind = _table_kind(set(frame.columns), _table_hint(path, query_table))
    if kind is None:
        log.warning(
            "skipped %s: not a table the CUCM importer reads (columns: %s). Name the file "
            "after its table (for example typemodel.txt) if it is one.",
            path, ", ".join(frame.columns[:8]),
        )
        return None
    export = Export(kind, path, frame)
    require_columns(export, REQUIRED_COLUMNS[kind])
    return export


def _table_hint(path: Path, query_table: str | None) -> str | None:
    """Return the table that the echoed query or else the file name names, if any."""
    if query_table is not None:
        return query_table
    stem = re.sub(r"[^a-z0-9]", "", path.stem.lower())
    for table in ("enduserdevicemap", "typemodel", "typeclass", "devicepool", "enduser", "device"):
        if table in stem:
            return table
    return None


def _table_kind(columns: set[str], hint: str | None) -> ExportKind | None:
    is_devicepool = hint == "devicepool" or "fkcallmanagergroup" in columns
    identified_by_columns = (
        (ExportKind.ENDUSERDEVICEMAP, {"fkenduser", "fkdevice"} <= columns),
        (ExportKind.ENDUSER, {"pkid", "userid"} <= columns),
        (ExportKind.DEVICE, {"pkid", "tkclass", "tkmodel"} <= columns),
        # typeclass has the same columns as typemodel, so only the query or file name decides.
        (ExportKind.TYPEMODEL, {"enum", "name"} <= columns and hint == "typemodel"),
        (ExportKind.DEVICEPOOL, {"pkid", "name"} <= columns and is_devicepool),
    )
    for kind, matches in identified_by_columns:
        if matches:
            return kind
    if hint in {kind.value for kind in REQUIRED_COLUMNS if kind is not ExportKind.BAT_PHONES}:
        # The file names a table but lacks the columns that identify it, so the caller
        # reports the missing columns instead of skipping the file.
        return ExportKind(hint)
    return None
