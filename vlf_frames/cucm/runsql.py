"""Parse the fixed-width text that the CUCM CLI command ``run sql`` prints.

The output is a header line of column names, a line of ``=`` runs (one run under each
column), then one line per row. Column boundaries are the ``=`` runs, not spaces: values
such as descriptions contain spaces, and an empty value prints as blanks. ``NULL`` is a
null. A saved terminal session may also contain the command line (``admin:run sql ...``),
blank lines and the next ``admin:`` prompt, which are skipped. A second ``run sql`` command
or result after that prompt is rejected, because only one result per file is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

SEPARATOR_LINE = re.compile(r"^=+(?: +=+)*$")
PROMPT_LINE = re.compile(r"^\s*admin:", re.IGNORECASE)
# The CLI prints this prompt every screen when pagination is on, for example
# "Press <enter> for 1 line, <space> for one page, or <q> to quit".
PAGINATION_PROMPT = re.compile(r"press\s*<enter>", re.IGNORECASE)
RUN_SQL_COMMAND = re.compile(r"\brun\s+sql\b", re.IGNORECASE)
QUERY_TABLE = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)

MORE_THAN_ONE_RESULT = (
    "the text contains more than one query result; save the output of each query in its "
    "own file"
)


class RunSqlFormatError(ValueError):
    """The text is not ``run sql`` output that this parser can read."""


@dataclass(frozen=True)
class RunSqlOutput:
    """One parsed ``run sql`` result.

    ``frame`` has one String column per output column, named in lower case. ``query_table``
    is the table named after ``from`` in the echoed command line, when the text has one.
    """

    frame: pl.DataFrame
    query_table: str | None


def find_separator_line(lines: list[str]) -> int | None:
    """Return the index of the first ``=`` separator line that has a header above it."""
    for index, line in enumerate(lines):
        if SEPARATOR_LINE.match(line.rstrip()) and _header_index(lines, index) is not None:
            return index
    return None


def parse_run_sql(text: str) -> RunSqlOutput:
    """Parse ``run sql`` output into a frame of strings.

    Blank values and ``NULL`` become nulls, and values are stripped of surrounding blanks.
    Raises RunSqlFormatError when the text has no separator line, when a column has no
    name, when two columns share a name, when the text contains a second result, or when
    a row line is the CLI pagination prompt.
    """
    lines = text.splitlines()
    separator_index = find_separator_line(lines)
    if separator_index is None:
        raise RunSqlFormatError("no line of '=' runs under a header line")
    header_index = _header_index(lines, separator_index)
    assert header_index is not None  # find_separator_line checked it

    spans = column_spans(lines[separator_index].rstrip())
    names = [_slice(lines[header_index], start, end).strip().lower() for start, end in spans]
    _check_column_names(names)

    body: list[str] = []
    rest = lines[separator_index + 1 :]
    for offset, line in enumerate(rest):
        if PROMPT_LINE.match(line):
            # A logged session goes on after the prompt, so a later result must not be
            # dropped silently.
            _reject_later_result(rest[offset:])
            break
        if not line.strip():
            continue
        if SEPARATOR_LINE.match(line.rstrip()):
            raise RunSqlFormatError(MORE_THAN_ONE_RESULT)
        if PAGINATION_PROMPT.search(line):
            line_number = separator_index + offset + 2
            raise RunSqlFormatError(
                f"line {line_number} is the CLI pagination prompt ({line.strip()!r}), not a "
                "row. Run 'set cli pagination off' before 'run sql' and export again."
            )
        body.append(line)

    if body and body[-1] is lines[-1] and not text.endswith(("\n", "\r")):
        _reject_cut_last_line(body[-1], len(lines), names, spans)

    rows = pl.DataFrame({"line": body}, schema={"line": pl.String})
    columns = []
    for name, (start, end) in zip(names, spans, strict=True):
        length = None if end is None else end - start
        value = pl.col("line").str.slice(start, length).str.strip_chars()
        columns.append(
            pl.when((value == "") | (value == "NULL")).then(None).otherwise(value).alias(name)
        )
    return RunSqlOutput(frame=rows.select(columns), query_table=_query_table(lines, header_index))


def _reject_cut_last_line(
    line: str, line_number: int, names: list[str], spans: list[tuple[int, int | None]]
) -> None:
    """Raise RunSqlFormatError when the text ends, without a line break, in a row line that
    stops before its last column, as a file cut short (``head -c``) does.

    NOTE: the layout read here has no row count, so a file cut inside the last column's value, or
    exactly at the end of a line, is read as complete.
    """
    last_start = spans[-1][0]
    width = len(line.rstrip())
    if width > last_start:
        return
    column = next(
        (name for name, (start, _) in zip(names, spans, strict=True) if start >= width),
        names[-1],
    )
    raise RunSqlFormatError(
        f"the text ends on line {line_number} without a line break, and that row stops after "
        f"{width} characters, before its column {column!r}, so the file looks cut short. Save "
        "the whole output of the query again"
    )


def _reject_later_result(lines: list[str]) -> None:
    """Raise RunSqlFormatError when ``lines`` contain another command or result."""
    for line in lines:
        if SEPARATOR_LINE.match(line.rstrip()) or RUN_SQL_COMMAND.search(line):
            raise RunSqlFormatError(MORE_THAN_ONE_RESULT)


def column_spans(separator: str) -> list[tuple[int, int | None]]:
    """Return the (start, end) character offsets of each column.

    A column runs from the start of its ``=`` run to the start of the next run. The last
    column has no end, so a value wider than the last run is kept whole.
    """
    starts = [match.start() for match in re.finditer(r"=+", separator)]
    ends: list[int | None] = [*starts[1:], None]
    return list(zip(starts, ends, strict=True))


def _header_index(lines: list[str], separator_index: int) -> int | None:
    for index in range(separator_index - 1, -1, -1):
        if lines[index].strip():
            return None if PROMPT_LINE.match(lines[index]) else index
    return None


def _slice(line: str, start: int, end: int | None) -> str:
    return line[start:end] if end is not None else line[start:]


def _check_column_names(names: list[str]) -> None:
    if "" in names:
        position = names.index("") + 1
        raise RunSqlFormatError(f"column {position} has no name in the header line")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RunSqlFormatError(f"the header names these columns twice: {', '.join(duplicates)}")


def _query_table(lines: list[str], header_index: int) -> str | None:
    """Return the table after ``from`` in the last ``run sql`` command line above the header."""
    for line in reversed(lines[:header_index]):
        if "run sql" in line.lower():
            match = QUERY_TABLE.search(line)
            return match.group(1).lower() if match else None
    return None
