"""Locate and scan the tables of an inventory drop; every read of input files lives here."""

from __future__ import annotations

import array
import codecs
import csv
import difflib
import errno
import functools
import itertools
import logging
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from vlf_frames.errors import ConfigError, DropError
from vlf_frames.render import plural
from vlf_frames.settings import is_utf8
from vlf_frames.tables import TABLE_SPECS, TableSpec

log = logging.getLogger(__name__)

FileFormat = Literal["csv", "parquet"]
SUFFIX_FORMATS: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet"}

# Columns added to every scanned row, so that a finding or a rejected row names its origin.
FILE_COLUMN = "__source_file"
ROW_COLUMN = "__source_row"
ORIGIN_COLUMNS = (FILE_COLUMN, ROW_COLUMN)

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
# Parquet string columns may come as these types; they are read as plain strings.
STRING_LIKE = (pl.String, pl.Categorical, pl.Enum)


@dataclass(frozen=True)
class DataFile:
    path: Path
    format: FileFormat
    # Hive-style ``column=value`` folders between the table folder and the file.
    partition_values: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class TableFiles:
    spec: TableSpec
    files: tuple[DataFile, ...]
    form: str  # how the drop stores the table, e.g. "users.csv" or "users/ (12 files)"


@dataclass
class DropLayout:
    drop_dir: Path
    tables: dict[str, TableFiles]
    absent: list[str] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def locate_tables(drop_dir: Path) -> DropLayout:
    """Find the files of each table of the drop.

    Raises ``ConfigError`` when the drop folder does not exist and ``DropError`` when a required
    table is missing, a table is stored in two forms, a table folder contains no data file or
    a file or folder of the drop cannot be read.
    """
    try:
        return find_tables(drop_dir)
    except PermissionError as error:
        raise DropError(permission_message(error.filename)) from None


def permission_message(path: str | Path) -> str:
    """Return the message for a file or folder of the drop that this user may not read."""
    return (
        f"Permission denied: {str(path)!r} of the inventory drop cannot be read by this user. "
        "Give the user that runs vlf-frames read access to the drop's files, and read and "
        "search (x) access to its folders."
    )


def find_tables(drop_dir: Path) -> DropLayout:
    if not is_utf8(str(drop_dir)):
        raise ConfigError(
            f"The path of the inventory drop folder {str(drop_dir)!r} is not UTF-8, and Polars "
            "reads only UTF-8 paths. Rename the folder."
        )
    if not drop_dir.exists():
        raise ConfigError(f"Inventory drop folder {str(drop_dir)!r} not found.")
    if not drop_dir.is_dir():
        raise ConfigError(
            f"Inventory drop {str(drop_dir)!r} is not a folder; pass the folder that contains "
            "customers.csv (or .parquet), users, phones and the other tables."
        )
    if not os.access(drop_dir, os.R_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(drop_dir))

    layout = DropLayout(drop_dir=drop_dir, tables={})
    for name, spec in TABLE_SPECS.items():
        forms = [
            drop_dir / f"{name}.csv",
            drop_dir / f"{name}.parquet",
            drop_dir / name,
        ]
        # A broken symbolic link counts as present, so that it is named and not read as an
        # absent table.
        present = [path for path in forms if path.exists() or path.is_symlink()]
        if len(present) > 1:
            listed = ", ".join(path.name + ("/" if path.is_dir() else "") for path in present)
            raise DropError(
                f"Table {name} is stored in {len(present)} forms in {str(drop_dir)!r}: {listed}. "
                "Keep exactly one of them."
            )
        if not present:
            if spec.required:
                raise DropError(
                    f"Required table {name} not found in {str(drop_dir)!r}: expected "
                    f"{name}.parquet, {name}.csv or a folder {name}/ of Parquet or CSV files."
                    + misnamed_hint(drop_dir, name)
                )
            layout.absent.append(name)
            continue
        layout.tables[name] = _table_files(spec, present[0])

    known = {f"{name}{suffix}" for name in TABLE_SPECS for suffix in ("", ".csv", ".parquet")}
    layout.ignored = sorted(
        path
        for path in drop_dir.iterdir()
        if path.name not in known and not path.name.startswith(".")
    )
    misnamed = []
    for path in layout.ignored:
        target = table_name_for(path)
        if target is None:
            log.warning("Ignored %s: not a table of the inventory drop.", path)
        else:
            misnamed.append(f"{str(path)!r} is named like {target}")
    # An absent table counts as empty, so a misnamed one would change the report unnoticed.
    if misnamed:
        raise DropError(
            f"{'; '.join(misnamed)}, a table that the drop does not have. Rename the file to "
            "the table's name if it is that table, or move it out of the drop folder."
        )
    return layout


PREFIX_LETTERS = 4


def table_name_for(path: Path) -> str | None:
    """Return the name that a file or folder would have as an absent table, or None.

    Its name may start with the table's name, such as webex_accounts_2026-01.csv or
    spark_accounts.csv.gz. The table's name may start with its name, such as webex.csv or
    voicemail/. Or its name may be close to the table's, such as webex_account.csv.
    """
    name = path.name.lower()
    absent = [
        table
        for table in TABLE_SPECS
        if not any((path.parent / f"{table}{form}").exists() for form in ("", ".csv", ".parquet"))
    ]
    suffix = "" if path.is_dir() else next((form for form in SUFFIX_FORMATS if form in name), "")
    first_word = name.split(".", 1)[0]
    for table in absent:
        if name.startswith(table):
            return f"{table}{suffix}"
        # Four letters or more, so that a name such as a.csv names no table.
        if len(first_word) >= PREFIX_LETTERS and table.startswith(first_word):
            return f"{table}{suffix}"
    if not path.is_dir() and path.suffix.lower() not in SUFFIX_FORMATS:
        return None
    stem = name if path.is_dir() else path.stem.lower()
    # A cutoff of 0.8 takes names a letter off, such as user.csv, and leaves names such as
    # notes.csv.
    close = difflib.get_close_matches(stem, absent, n=1, cutoff=0.8)
    return f"{close[0]}{suffix}" if close else None


def misnamed_hint(drop_dir: Path, table: str) -> str:
    """Name the files that would be the table but for their names: another case, a letter
    off, or more after the table's name."""
    candidates = sorted(
        path.name
        for path in drop_dir.iterdir()
        if not path.name.startswith(".") and (table_name_for(path) or "").startswith(table)
    )
    if not candidates:
        return ""
    return (
        f" Found {', '.join(candidates)}: names are matched exactly, so rename the file if it "
        "is that table."
    )


def _table_files(spec: TableSpec, path: Path) -> TableFiles:
    check_entry(spec.name, path)
    if path.is_file():
        return TableFiles(spec, (DataFile(path, SUFFIX_FORMATS[path.suffix]),), path.name)

    files = []
    # Files such as part-1.csv.gz hold rows of the table that the job cannot read.
    unread_parts = []
    hidden_data = []
    # The real path of each data file, so that a file reached twice through links is named.
    real_paths: dict[str, Path] = {}
    for file_path in sorted(folder_entries(spec.name, path)):
        relative = file_path.relative_to(path)
        if any(part.startswith((".", "_")) for part in relative.parts):
            if file_path.suffix.lower() in SUFFIX_FORMATS:
                hidden_data.append(str(relative))
            continue
        check_entry(spec.name, file_path)
        real_path = os.path.realpath(file_path)
        if real_path in real_paths and file_path.suffix.lower() in SUFFIX_FORMATS:
            raise DropError(
                f"Table {spec.name}: {str(real_paths[real_path])!r} and {str(file_path)!r} are "
                "the same file, reached through a symbolic link, so its rows would be read "
                "twice. Remove one of them."
            )
        real_paths[real_path] = file_path
        file_format = SUFFIX_FORMATS.get(file_path.suffix.lower())
        if file_format is None:
            if any(suffix in file_path.name.lower() for suffix in SUFFIX_FORMATS):
                unread_parts.append(str(relative))
            else:
                log.warning("Ignored %s: not a .csv or .parquet file", file_path)
            continue
        files.append(DataFile(file_path, file_format, _partition_values(relative)))
    if hidden_data:
        log.warning(
            "Ignored %s in %s, because a name that starts with . or _ marks a file that is not "
            "data, such as Spark's _SUCCESS: %s. Rename %s if %s rows of the table.",
            plural(len(hidden_data), "file"),
            path,
            ", ".join(hidden_data),
            "it" if len(hidden_data) == 1 else "them",
            "it contains" if len(hidden_data) == 1 else "they contain",
        )
    if unread_parts:
        raise DropError(
            f"Table folder {str(path)!r} has files named like its data that are not .csv or "
            f".parquet files: {', '.join(unread_parts)}. Decompress or rename them, or move them "
            "out of the folder."
        )
    if not files:
        raise DropError(
            f"Table folder {str(path)!r} contains no .csv or .parquet file; add the table's "
            "files or remove the folder."
        )
    noun = "file" if len(files) == 1 else "files"
    return TableFiles(spec, tuple(files), f"{path.name}/ ({len(files)} {noun})")


def folder_entries(table: str, folder: Path) -> Iterator[Path]:
    """Yield every entry below a table folder other than its subfolders, and raise
    ``PermissionError`` for a subfolder that cannot be listed, which ``Path.rglob`` skips.

    Links to folders are followed, each real folder once, so that a loop of links ends. A link
    to a folder that contains the table folder raises ``DropError``, because the table would
    read the files of the drop's other tables.
    """

    def fail(error: OSError) -> None:
        raise error

    top = os.path.realpath(folder)
    # Real folders reached through visible paths, and through paths with a hidden part, which
    # are skipped. They are kept apart so that a hidden link to a folder cannot make the
    # folder's visible path count as seen.
    seen: dict[bool, set[str]] = {False: set(), True: set()}
    for root, subfolders, names in os.walk(folder, onerror=fail, followlinks=True):
        real = os.path.realpath(root)
        if real != top and top.startswith(real.rstrip(os.sep) + os.sep):
            raise DropError(
                f"Table {table}: {root!r} is a symbolic link to {real!r}, a folder that "
                "contains the table folder, so the table would read the files of other tables. "
                "Remove the link."
            )
        relative = Path(root).relative_to(folder).parts
        hidden = any(part.startswith((".", "_")) for part in relative)
        if real in seen[hidden]:
            subfolders.clear()
            continue
        seen[hidden].add(real)
        for name in names:
            yield Path(root, name)


def check_entry(table: str, path: Path) -> None:
    """Raise ``DropError`` for a broken symbolic link, or an entry that is neither a file nor a
    folder (a named pipe, socket or device), where a table's data is expected."""
    if path.is_symlink() and is_link_loop(path):
        raise DropError(
            f"Table {table}: {str(path)!r} is a symbolic link that leads back to itself through "
            "a loop of links. Point the link at the table's file, or remove it."
        )
    if path.is_symlink() and not path.exists():
        raise DropError(
            f"Table {table}: {str(path)!r} is a symbolic link to {os.readlink(path)!r}, which "
            "does not exist. Point the link at the table's file, or remove it."
        )
    if not path.is_file() and not path.is_dir():
        raise DropError(
            f"Table {table}: {str(path)!r} is neither a file nor a folder. Replace it with the "
            "table's file."
        )


def is_link_loop(path: Path) -> bool:
    """Return whether following a symbolic link ends in a loop of links."""
    try:
        os.stat(path)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def _partition_values(relative: Path) -> tuple[tuple[str, str | None], ...]:
    values = []
    for part in relative.parts[:-1]:
        key, separator, value = part.partition("=")
        if separator:
            decoded = urllib.parse.unquote(value)
            values.append((key, None if decoded == HIVE_NULL else decoded))
    return tuple(values)


FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet"}
# The form a file of each format must have, named in the fix of a read error.
EXPECTED_FORMS = {
    "csv": (
        "a UTF-8 CSV file with a header row, the same number of fields in every row and "
        "every quote closed"
    ),
    "parquet": "a Parquet file written completely",
}
# Characters of a Polars error shown in a message. Polars quotes the text it failed to parse,
# which after an unclosed quote is the rest of the file, names and ids included.
ERROR_TEXT_LIMIT = 200


def unreadable_file_error(table: str, data_file: DataFile, error: Exception) -> DropError:
    """Return the error for a file that Polars cannot read: the line at fault in a CSV file
    where it can be found, else the start of Polars' reason."""
    if not os.access(data_file.path, os.R_OK):
        return DropError(f"Table {table}: {permission_message(data_file.path)}")
    wrong_suffix = wrong_suffix_error(table, data_file)
    if wrong_suffix is not None:
        return wrong_suffix
    reason = csv_problem(data_file.path) if data_file.format == "csv" else None
    return DropError(
        f"Table {table}: file {str(data_file.path)!r} cannot be read as "
        f"{FORMAT_NAMES[data_file.format]}: {reason or error_summary(error)}. Export it again "
        f"as {EXPECTED_FORMS[data_file.format]}."
    )


# The first bytes of every Parquet file, and of files compressed with common tools.
PARQUET_MAGIC = b"PAR1"
COMPRESSION_MAGICS = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def wrong_suffix_error(table: str, data_file: DataFile) -> DropError | None:
    """Return the error for a Parquet file named .csv, or a text file named .parquet, else
    None."""
    try:
        with data_file.path.open("rb") as file:
            start = file.read(max(len(magic) for magic, _ in COMPRESSION_MAGICS))
    except OSError:
        return None
    compression = next(
        (name for magic, name in COMPRESSION_MAGICS if start.startswith(magic)), None
    )
    if compression is not None:
        return DropError(
            f"Table {table}: file {str(data_file.path)!r} is compressed with {compression}. "
            "Decompress it; the job reads uncompressed .csv and .parquet files only."
        )
    is_parquet = start.startswith(PARQUET_MAGIC)
    if data_file.format == "csv" and is_parquet:
        found, rename = "a Parquet file", ".parquet"
    elif data_file.format == "parquet" and not is_parquet and is_text(start):
        found, rename = "text, not a Parquet file", ".csv if it is a CSV file"
    else:
        return None
    return DropError(
        f"Table {table}: file {str(data_file.path)!r} is {found}. Rename it to end in {rename}."
    )


def is_text(start: bytes) -> bool:
    """Return whether the first bytes of a file are printable UTF-8 text, with line breaks,
    tabs or a byte-order mark allowed."""
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError:
        return False
    allowed = "\r\n\t\ufeff"
    return text != "" and all(character.isprintable() or character in allowed for character in text)


def malformed_csv_error(table: str, data_file: DataFile) -> DropError | None:
    """Return the error for a CSV file whose layout Polars would misread, or None.

    Such a file is UTF-16 or UTF-32 text, or has a blank line, a row with more or fewer fields
    than its header, a stray quote or a line ended by a carriage return alone.

    Polars 2.1 reads most such files without an error. It reads UTF-16 text as columns whose names
    hold NUL bytes, the missing fields of a short row as null, and a blank line as a row of
    nulls. The values of a short row would shift into other columns unnoticed.
    """
    if data_file.format != "csv":
        return None
    wrong_suffix = wrong_suffix_error(table, data_file)
    if wrong_suffix is not None:
        return wrong_suffix
    advice = f"Export it again as {EXPECTED_FORMS['csv']}"
    reason = wide_text_problem(data_file.path) or separator_problem(data_file.path)
    if reason is None:
        unusual = UnusualText()
        differs = csv_layout_differs(data_file.path, unusual)
        if differs is False and unusual.quoted_line_breaks:
            reason = line_break_problem(table, data_file.path)
        if differs is False and reason is None:
            warn_unusual_text(data_file.path, unusual)
        if differs is not False:
            reason = csv_problem(data_file.path)
        if reason is None and differs:
            reason = (
                "its separators and line breaks outside quoted values do not give every line "
                "as many fields as the header"
            )
        advice += ", with a value or an empty field for every column of every row"
    if reason is None:
        return None
    return DropError(
        f"Table {table}: file {str(data_file.path)!r} cannot be read as CSV: {reason}. {advice}."
    )


def line_break_problem(table: str, path: Path) -> str | None:
    """Return the first value with a line break in a column that the job reads, with its
    line, or None.

    Such columns hold ids, keys, flags and product names, and none of them may span lines,
    though a line break at either end is trimmed as white space. The names that may span lines
    are not read. Only files with line breaks inside quoted values are checked,
    because the check costs about 16 ns per value and column (Polars 2.1).
    """
    spec = TABLE_SPECS.get(table)
    if spec is None:
        return None
    try:
        frame = pl.scan_csv(str(path), infer_schema=False, has_header=True)
        present = set(frame.collect_schema().names())
        columns = [name for name in spec.read_columns if name in present]
        # A line break at either end is white space, which the job trims from ids.
        breaks = [
            pl.col(name).str.strip_chars().str.contains_any(["\n", "\r"]) for name in columns
        ]
        found = (
            frame.select(columns)
            .with_row_index(ROW_COLUMN)
            .filter(pl.any_horizontal(breaks))
            .head(1)
            .collect()
        )
    except pl.exceptions.PolarsError:
        # The read of the file reports this error with its own message.
        return None
    if columns == [] or found.is_empty():
        return None
    row = found.row(0, named=True)
    column = next(name for name in columns if has_inner_line_break(row[name]))
    lines = record_lines(str(path))
    index = row[ROW_COLUMN]
    line = index + 2 if lines is None else lines[index]
    first_line = row[column].splitlines()[0]
    start = f"starts with {first_line!r}" if first_line else "starts with a line break"
    return (
        f"the {column} value on line {line} {start} and spans several lines, which no "
        f"{column} may. Remove the line break. Where line {line} ends with a field that is only "
        "a quote, that quote opened a value that took in the lines after it: remove it"
    )


def has_inner_line_break(value: str | None) -> bool:
    """Return whether a value contains a line break other than white space at either end."""
    inner = (value or "").strip()
    return "\n" in inner or "\r" in inner


@dataclass
class UnusualText:
    """Text of a valid CSV file that Polars reads as values, but that often comes from a broken
    export: line breaks inside quoted values and NUL bytes, with the line of the first."""

    quoted_line_breaks: int = 0
    first_quoted_line_break: int = 0
    # The line of the first quoted value that starts with a line break, as a value opened by a
    # quote that is a whole field does.
    first_opening_line_break: int = 0
    nul_bytes: int = 0
    first_nul_byte: int = 0


def warn_unusual_text(path: Path, unusual: UnusualText) -> None:
    """Log a warning for the line breaks inside quoted values and the NUL bytes of a file."""
    if unusual.first_opening_line_break:
        log.warning(
            "%s has %s inside quoted values. The value that starts on line %d begins with a "
            'line break, as one that a lone quote (") in the export opens, which takes in the '
            "rows after it: check that line.",
            path,
            plural(unusual.quoted_line_breaks, "line break"),
            unusual.first_opening_line_break,
        )
    elif unusual.quoted_line_breaks:
        log.warning(
            "%s has %s inside quoted values, the first in the value that starts on line %d, so "
            "rows with them take several lines. A value that should not hold a line break may "
            'come from a lone quote (") in the export, which takes in the rows after it: check '
            "that line.",
            path,
            plural(unusual.quoted_line_breaks, "line break"),
            unusual.first_quoted_line_break,
        )
    if unusual.nul_bytes:
        log.warning(
            "%s has %s, the first on line %d. Polars reads each as a character of its value, "
            "so an id with one links to nothing else: remove them from the export.",
            path,
            plural(unusual.nul_bytes, "NUL byte"),
            unusual.first_nul_byte,
        )


# Byte order marks of text that is not UTF-8, longest first.
BYTE_ORDER_MARKS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# Bytes of a file's start checked for the NUL bytes of UTF-16 or UTF-32 column names. The
# shortest UTF-16 header, one name of two letters, takes 4 bytes.
WIDE_HEADER_BYTES = 256
WIDE_HEADER_MIN_BYTES = 4


# Separators of other CSV dialects, with their names.
OTHER_SEPARATORS = {"\t": "tabs", ";": "semicolons", "|": "vertical bars"}


def separator_problem(path: Path) -> str | None:
    """Return why a file's header is one column split by another separator than commas, or
    None. Every table has more than one column, so its columns would all be missing."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # reading the file reports these
    if header is None or len(header) != 1:
        return None
    for separator, name in OTHER_SEPARATORS.items():
        if separator in header[0]:
            return (
                f"its header is one column, {header[0]!r}, whose names are separated by {name} "
                "rather than commas"
            )
    return None


def wide_text_problem(path: Path) -> str | None:
    """Return why a file's start is UTF-16 or UTF-32 text rather than UTF-8, or None."""
    try:
        with path.open("rb") as handle:
            start = handle.read(64 * 1024)
    except OSError:
        return None  # reading the file reports this
    for mark, encoding in BYTE_ORDER_MARKS:
        if start.startswith(mark):
            return f"it is {encoding} text (it starts with the bytes {mark.hex(' ').upper()})"
    if has_wide_header(start):
        return (
            "every other byte of its start or more is a NUL byte, as in UTF-16 and UTF-32 text "
            "without a byte order mark"
        )
    # A carriage return in a quoted value, or at the end of the file, is read by Polars.
    unquoted = QUOTED_VALUE.sub(b'"', start)
    if b"\r" in unquoted.rstrip(b"\r") and b"\n" not in unquoted:
        return "its lines end with a carriage return alone; use line feeds (\\n or \\r\\n)"
    return None


def has_wide_header(start: bytes) -> bool:
    """Return whether the start of a file is the header of UTF-16 or UTF-32 text without a
    byte order mark.

    Column names are ASCII, and such text has a NUL byte next to each ASCII character. A NUL
    byte elsewhere is valid UTF-8, and Polars reads it as a character of its value.
    """
    head = start[:WIDE_HEADER_BYTES]
    if len(head) < WIDE_HEADER_MIN_BYTES:
        return False
    # The NUL bytes are the odd bytes of little-endian text and the even bytes of big-endian.
    return any(head[offset::2].count(0) * 10 >= len(head[offset::2]) * 9 for offset in (0, 1))


# Bytes of a CSV file counted at a time. A block ends at a line break outside quotes.
COUNT_BLOCK_BYTES = 16 * 1024 * 1024
PENDING_LIMIT_BYTES = 4 * COUNT_BLOCK_BYTES
# A quoted CSV value, with doubled quotes inside. Each is replaced by one quote, which must then
# sit between separators or line breaks. A quote elsewhere sits inside an unquoted value.
QUOTED_VALUE = re.compile(rb'"[^"]*(?:""[^"]*)*"')
# A quote after a separator or a line break and before a line break: where a quoted value
# that starts with a line break may open. A closing quote after a separator also matches.
OPENING_LINE_BREAK = re.compile(rb'(?:\A|[,\n])"\r?\n')
# Up to this many quoted values in a piece are checked one by one, and more by counting.
FEW_QUOTED_VALUES = 10_000


def csv_layout_differs(path: Path, unusual: UnusualText | None = None) -> bool | None:
    """Return whether a CSV file may have a blank line, a row with more or fewer fields than
    its header, a quote inside an unquoted value or a line ended by a carriage return alone,
    or None when the file cannot be checked. Count the file's ``unusual`` text on the way.

    Each line is checked after its quoted values are replaced by one quote each. A line that
    has another number of separators than the header is reported, because Polars reads the
    missing fields of a short row as null, and reads past an extra field of a column that is
    not selected. Checking took about 1 s for 240 MB, against 0.3 s for Polars to read the
    file.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # reading the file reports these
    if not header:
        return header is not None  # an empty file has no header, a blank first line an empty one
    pending = b""
    unusual = UnusualText() if unusual is None else unusual
    lines_before = 0
    with path.open("rb") as handle:
        if handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            handle.seek(0)
        while True:
            block = handle.read(COUNT_BLOCK_BYTES)
            data = pending + block
            last = len(block) < COUNT_BLOCK_BYTES
            end = len(data) if last else outside_line_end(data)
            if end == 0 and not last:
                if len(data) > PENDING_LIMIT_BYTES:
                    return None  # a quote that is never closed, or a value longer than this
                pending = data
                continue
            piece, pending = data[:end], data[end:]
            if b"\x00" in piece:
                count_nul_bytes(piece, lines_before, unusual)
            original = piece
            quoted = b'"' in piece
            stray = False
            if quoted:
                piece, values = QUOTED_VALUE.subn(b'"', piece)
                # A quote that is not one of the replacements opens a value that is never
                # closed, even where it is a whole field.
                stray = piece.count(b'"') > values or has_stray_quote(piece)
            lines = piece.split(b"\n")
            if (
                stray
                or has_uneven_line(lines, len(header) - 1)
                or has_lone_carriage_return(piece, last)
            ):
                return True
            # The lines of the replaced piece are fewer by the line breaks inside quoted values.
            line_breaks = len(lines) - 1
            if quoted:
                quoted_line_breaks = original.count(b"\n") - line_breaks
                if quoted_line_breaks:
                    count_quoted_line_breaks(original, quoted_line_breaks, lines_before, unusual)
                line_breaks += quoted_line_breaks
            lines_before += line_breaks
            if last:
                return False


def count_nul_bytes(piece: bytes, lines_before: int, unusual: UnusualText) -> None:
    """Count the NUL bytes of a piece of CSV text that starts after ``lines_before`` lines."""
    if not unusual.nul_bytes:
        unusual.first_nul_byte = lines_before + piece.count(b"\n", 0, piece.index(b"\x00")) + 1
    unusual.nul_bytes += piece.count(b"\x00")


def count_quoted_line_breaks(
    piece: bytes, line_breaks: int, lines_before: int, unusual: UnusualText
) -> None:
    """Count ``line_breaks`` inside the quoted values of a piece of CSV text, and find the
    line where the first such value starts."""
    if not unusual.quoted_line_breaks:
        value = next(value for value in QUOTED_VALUE.finditer(piece) if b"\n" in value[0])
        unusual.first_quoted_line_break = lines_before + piece.count(b"\n", 0, value.start()) + 1
    unusual.quoted_line_breaks += line_breaks
    if unusual.first_opening_line_break:
        return
    for candidate in OPENING_LINE_BREAK.finditer(piece):
        quote = piece.index(b'"', candidate.start())
        # A piece starts outside quotes, so a quote after an even number of quotes opens a value.
        if piece.count(b'"', 0, quote) % 2 == 0:
            unusual.first_opening_line_break = lines_before + piece.count(b"\n", 0, quote) + 1
            return


def has_uneven_line(lines: list[bytes], separators: int) -> bool:
    """Return whether the lines of a piece of CSV text, with its quoted values replaced, have
    a blank line or a line with another number of separators than ``separators``.

    After the line break that ends a piece, the last element of ``lines`` is empty, and it is
    not checked.
    """
    return any(
        line.count(b",") != separators or not line.rstrip(b"\r")
        for line in itertools.islice(lines, len(lines) - 1 if not lines[-1] else None)
    )


def has_lone_carriage_return(piece: bytes, last: bool) -> bool:
    """Return whether a piece of CSV text, with its quoted values replaced, has a carriage
    return that is not followed by a line feed, other than at the end of the file.

    Python's csv module ends a line there, and Polars 2.1 reads it as part of the value.
    """
    returns = piece.count(b"\r")
    if not returns:
        return False
    return returns - piece.count(b"\r\n") - (last and piece.endswith(b"\r")) > 0


def has_stray_quote(piece: bytes) -> bool:
    """Return whether a piece of CSV text whose quoted values are each replaced by one quote
    has a quote that is not a whole field."""
    quotes = piece.count(b'"')
    if quotes <= FEW_QUOTED_VALUES:
        position = piece.find(b'"')
        while position >= 0:
            before = piece[position - 1 : position] if position else b","
            after = piece[position + 1 : position + 2] or b","
            if before not in (b",", b"\n") or after not in (b",", b"\r", b"\n"):
                return True
            position = piece.find(b'"', position + 1)
        return False
    opened = piece.count(b',"') + piece.count(b'\n"') + piece.startswith(b'"')
    closed = piece.count(b'",') + piece.count(b'"\r') + piece.count(b'"\n') + piece.endswith(b'"')
    return opened != quotes or closed != quotes


def outside_line_end(data: bytes) -> int:
    """Return the end of the last line of ``data`` that ends outside a quoted value, or 0.

    A line break after an odd number of quotes is inside a quoted value.
    """
    quotes = data.count(b'"')
    end = len(data)
    while True:
        line_break = data.rfind(b"\n", 0, end)
        if line_break < 0:
            return 0
        quotes -= data.count(b'"', line_break + 1, end)
        if quotes % 2 == 0:
            return line_break + 1
        end = line_break


def csv_problem(path: Path) -> str | None:
    """Return the first line of a CSV file that breaks its layout, or None.

    Such a line is not UTF-8, is blank, has more or fewer fields than the header, has a quote
    inside a value that does not start with one, opens a quote that is never closed, or ends
    with a carriage return alone.

    Polars 2.1 names none of these lines. The file is read line by line, so memory stays small.
    """
    log.info("Looking for the line of %s that cannot be read", path)
    try:
        number = 0
        with path.open("rb") as handle:
            for text_line in handle:
                # Lines are numbered as Python's csv module numbers the rows, which also ends a
                # line at a carriage return alone. No byte of a UTF-8 sequence is a carriage
                # return.
                for line in LONE_CARRIAGE_RETURN.split(text_line):
                    number += 1
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError as error:
                        return (
                            f"line {number} is not UTF-8: byte {error.start + 1} of the line is "
                            f"0x{line[error.start]:02x}"
                        )
        with path.open(encoding="utf-8-sig", newline="") as text:
            return csv_field_problem(text)
    except OSError:
        return None


LONE_CARRIAGE_RETURN = re.compile(rb"\r(?!\n)")

# Characters a value may take when Python's csv module reads a file, for line numbers and read
# errors. Its default of 131,072 stopped those reads at a longer value, which Polars accepts.
CSV_FIELD_LIMIT = 2**31 - 1


def csv_field_problem(text: Iterator[str]) -> str | None:
    """Return the first row of CSV text that is blank, has more or fewer fields than its
    header, has a quote inside a value that does not start with one, or whose quote is never
    closed, or None.

    A row that ends with a carriage return alone is returned too, when another row follows.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    lines = RecordedLines(text)
    reader = csv.reader(lines, strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            return None
        if not header:
            return "line 1 is blank, and the header must be on line 1"
        record = lines.take()
        problem = stray_quote(record, start)
        while problem is None:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            problem = carriage_return_problem(record, start - 1) or row_problem(
                row, len(header), start
            )
            record = lines.take()
            if problem is None:
                problem = stray_quote(record, start)
    except csv.Error as error:
        if "end of data" in str(error):
            return f"the quote opened in the row on line {start} is never closed"
        if reader.line_num > start:
            return (
                f"the row that starts on line {start} is invalid CSV on line {reader.line_num} "
                f"({error})"
            )
        return f"the row on line {start} is invalid CSV ({error})"
    return problem


def carriage_return_problem(record: str, line: int) -> str | None:
    """Return the problem of a CSV record whose last line, ``line``, ends with a carriage
    return alone, or None.

    The text is read with newline="", which keeps each "\\r\\n" whole at the end of a line.
    """
    if not record.endswith("\r"):
        return None
    return (
        f"line {line} ends with a carriage return alone, which Polars does not read as a line "
        "break. End every line with a line feed (\\n or \\r\\n)"
    )


def row_problem(row: list[str], header_fields: int, start: int) -> str | None:
    """Return what is wrong with a parsed CSV row that starts on line ``start``, or None."""
    if not row and header_fields > 1:
        return f"line {start} is blank"
    if len(row) != header_fields:
        fields = "1 field" if len(row) == 1 else f"{len(row)} fields"
        return f"the row on line {start} has {fields}, and the header has {header_fields}"
    return None


class RecordedLines:
    """An iterator over lines of text that keeps the lines read since ``take`` was called."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = iter(lines)
        self.read: list[str] = []

    def __iter__(self) -> RecordedLines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.read.append(line)
        return line

    def take(self) -> str:
        """Return the lines read since the last call, and forget them."""
        read, self.read = self.read, []
        return "".join(read)


# A CSV field: a quoted value with doubled quotes inside, or a value without quotes.
CSV_FIELD = re.compile(r'"(?:[^"]|"")*"|[^,"\r\n]*')


def stray_quote(record: str, start: int) -> str | None:
    """Return where the text of a CSV record that starts on line ``start`` has a quote inside
    a value that does not start with one, or None.

    Python's csv module keeps such a quote as text, and Polars 2.1 fails on the file.
    """
    position = 0
    while True:
        field = CSV_FIELD.match(record, position)
        assert field is not None  # the pattern also matches an empty value
        position = field.end()
        if position < len(record) and record[position] == ",":
            position += 1
            continue
        if position >= len(record) or record[position] in "\r\n":
            return None
        value = record[field.start() :].split(",", 1)[0].splitlines()[0]
        before = record[:position]
        # Python's csv module, which gives ``start``, also ends a line at a carriage return alone.
        line = start + before.count("\n") + before.count("\r") - before.count("\r\n")
        return (
            f"the value {value!r} on line {line} has a quote that neither starts nor ends a "
            "quoted value. Quote the whole value and double each quote inside it"
        )


def record_lines(path: str) -> pl.Series | None:
    """Return the line on which each data row of a CSV file starts, in row order, or None
    when every row takes one line, so that row ``i`` starts on line ``i + 2``."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return file_record_lines(path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=64)
def file_record_lines(path: str, modified: int, size: int) -> pl.Series | None:
    """Return ``record_lines`` of a file as it was at a modification time and size, which
    are part of the cache key so that a rewritten file is read again.

    Only a quoted value can hold a line break, so a file without quotes is not read further.
    The file is read with Python's csv module, which took 1.5 s for 1.26 million rows of
    phones, and only when a finding or a rejected row of the file needs its line.
    """
    try:
        with open(path, "rb") as handle:
            if not any(b'"' in block for block in iter(lambda: handle.read(1 << 20), b"")):
                return None
        starts = array.array("L")
        csv.field_size_limit(CSV_FIELD_LIMIT)
        with open(path, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            next(reader, None)
            start = reader.line_num + 1
            for _ in reader:
                starts.append(start)
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    lines = pl.Series("line", starts, dtype=pl.UInt64)
    if lines.equals(pl.int_range(2, len(lines) + 2, dtype=pl.UInt64, eager=True).alias("line")):
        return None
    return lines


def error_summary(error: Exception) -> str:
    """Return an error's text on one line, cut to ``ERROR_TEXT_LIMIT`` characters."""
    text = " ".join(str(error).split())
    return text if len(text) <= ERROR_TEXT_LIMIT else text[:ERROR_TEXT_LIMIT] + "…"


def file_column_names(data_file: DataFile) -> list[str]:
    """Return the names of a file's columns, as its header or Parquet schema spells them."""
    path = str(data_file.path)
    if data_file.format == "csv":
        return pl.scan_csv(path, infer_schema=False, has_header=True).collect_schema().names()
    return pl.scan_parquet(path).collect_schema().names()


def scan_file(data_file: DataFile, spec: TableSpec) -> pl.LazyFrame:
    """Scan one file lazily with explicit types: every column of the table that the file has.

    CSV columns are all read as text, so nothing is inferred, and an empty field is null.
    Parquet string-like and all-null columns are cast to ``String``, and Parquet booleans in
    boolean columns to ``"true"``/``"false"`` text, which the model's boolean check accepts.
    Any other Parquet type is kept, so that validation reports it.
    A column given only by a Hive-style partition folder is added with the folder's value.
    """
    path = str(data_file.path)
    try:
        if data_file.format == "csv":
            frame = pl.scan_csv(path, infer_schema=False, has_header=True)
        else:
            frame = pl.scan_parquet(path)
        file_schema = frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise unreadable_file_error(spec.name, data_file, error) from error

    # Polars renames a repeated CSV header name to "<name>_duplicated_<n>".
    repeated = sorted(
        {name.rsplit("_duplicated_", 1)[0] for name in file_schema if "_duplicated_" in name}
        & set(file_schema)
    )
    if repeated:
        raise DropError(
            f"Table {spec.name}: file {path!r} has the column {', '.join(repeated)} more than "
            "once in its header; keep one column of each name."
        )

    wanted = spec.read_columns
    boolean_columns = spec.boolean_columns
    selected = []
    for name in wanted:
        if name not in file_schema:
            continue
        dtype = file_schema[name]
        column = pl.col(name)
        if data_file.format == "csv":
            # An empty field is null, quoted ("") or not.
            selected.append(pl.when(column.str.len_bytes() > 0).then(column).alias(name))
        elif isinstance(dtype, STRING_LIKE) or dtype == pl.Null:
            # A column written with only nulls has the Null type in Parquet.
            selected.append(column.cast(pl.String))
        elif dtype == pl.Boolean and name in boolean_columns:
            selected.append(column.cast(pl.String))
        else:
            selected.append(column)
    for name, value in data_file.partition_values:
        if name in wanted and name not in file_schema:
            selected.append(pl.lit(value, dtype=pl.String).alias(name))

    return (
        frame.select(selected)
        .with_row_index(ROW_COLUMN)
        # Categorical stores each row's file path as a small integer code.
        .with_columns(pl.lit(path, dtype=pl.String).cast(pl.Categorical).alias(FILE_COLUMN))
    )
