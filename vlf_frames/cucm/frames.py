"""Expressions and helpers shared by the CUCM mapping modules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from vlf_frames.cucm.exports import Export, ExportError
from vlf_frames.normalize import normalized_id
from vlf_frames.render import plural

# CUCM's built-in user that every cluster has; it is not a person.
TOKEN_USER_PREFIX = "token_user_"
# Column that ``concat_exports`` adds: the path of the export file that a row comes from.
SOURCE_FILE = "__source_file"


def stripped(column: str | pl.Expr) -> pl.Expr:
    """Return a value trimmed of surrounding white space, null when nothing is left."""
    expr = pl.col(column) if isinstance(column, str) else column
    value = expr.str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def is_token_user(userid: str | pl.Expr) -> pl.Expr:
    return normalized_id(userid).str.starts_with(TOKEN_USER_PREFIX).fill_null(False)


@dataclass
class Findings:
    """Counts of rows that the mapping skipped, kept with a caveat, or could not link.

    Each entry is a sentence fragment and a count; only non-zero counts are kept.
    """

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, description: str, count: int) -> None:
        if count:
            self.counts[description] = self.counts.get(description, 0) + count


@dataclass
class CucmInventory:
    """Drop rows mapped from one CUCM cluster, before sites and the customer are attached.

    ``phones`` has ``phone_pkid``, ``device_name``, ``product``, ``owner_userid`` and
    ``device_pool`` (the device pool name, null when the source does not give it).
    ``users`` has ``user_pkid`` and ``userid``; ``associated_devices`` has ``userid`` and
    ``device_name``; both profile tables have ``profile_name`` and ``userid``.
    """

    users: pl.DataFrame
    phones: pl.DataFrame
    associated_devices: pl.DataFrame
    device_profiles: pl.DataFrame
    remote_destination_profiles: pl.DataFrame
    findings: Findings


def concat_exports(
    exports: Sequence[Export],
    columns: Sequence[str],
    optional_columns: Sequence[str] = (),
    integer_columns: Sequence[str] = (),
) -> pl.DataFrame:
    """Concatenate the files of one table, keeping ``columns`` and any ``optional_columns``.

    Optional columns that a file lacks are null. ``integer_columns`` are parsed as Int64.
    The ``SOURCE_FILE`` column names each row's file. Raises ExportError naming the file when
    a value of an integer column is not an integer.
    """
    frames = []
    for export in exports:
        present = export.frame.columns
        frame = export.frame.select(
            *[pl.col(name) for name in columns],
            *[
                pl.col(name) if name in present else pl.lit(None, pl.String).alias(name)
                for name in optional_columns
            ],
            pl.lit(str(export.path)).alias(SOURCE_FILE),
        )
        frames.append(_parse_integers(export, frame, integer_columns))
    return pl.concat(frames, how="vertical")


def _parse_integers(export: Export, frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    for name in columns:
        parsed = pl.col(name).str.strip_chars().str.to_integer(strict=False)
        invalid = frame.filter(pl.col(name).is_not_null() & parsed.is_null())
        if invalid.height:
            examples = ", ".join(repr(value) for value in invalid[name].head(3).to_list())
            raise ExportError(
                f"{export.path}: column {name!r} must contain integers, but {invalid.height} "
                f"rows do not (first values: {examples})."
            )
        frame = frame.with_columns(parsed.alias(name))
    return frame


def reject_conflicting_duplicates(
    rows: pl.DataFrame, table: str, *, key: str, pkid: str, value: str, exported_value: str
) -> None:
    """Raise ExportError when two rows with one pkid have different ``value`` values.

    ``key`` is the normalized pkid, ``pkid`` the pkid as exported and ``exported_value`` the
    export's name of the ``value`` column. Overlapping pages of
    an AXL export repeat rows unchanged, so only a repeat with another value is an error.
    Values are compared as normalized ids, as the report compares them.
    """
    compared = "__compared"
    conflicting = (
        rows.filter(pl.col(key).is_not_null())
        .with_columns(normalized_id(value).alias(compared))
        .filter(pl.col(compared).n_unique().over(key) > 1)
    )
    if conflicting.is_empty():
        return
    group = conflicting.filter(pl.col(key) == conflicting[key][0])
    first = group.row(0, named=True)
    second = group.filter(~pl.col(compared).eq_missing(first[compared])).row(0, named=True)
    raise ExportError(
        f"The {table} export has two rows with pkid {first[pkid]!r} and different "
        f"{exported_value} values: {first[value]!r} in {first[SOURCE_FILE]} and "
        f"{second[value]!r} in {second[SOURCE_FILE]}. A pkid names one {table} row in a "
        "cluster, so these files come from different clusters or from exports made at "
        "different times. Put each cluster's exports in their own folder, or export the "
        "table again in one go."
    )


def reject_empty_values(rows: pl.DataFrame, columns: dict[str, str], table: str) -> None:
    """Raise ExportError naming the file and values of the first row in which one of
    ``columns`` is empty, because such a row cannot become a drop row.

    ``columns`` maps each column of ``rows`` to its name in the export.
    """
    empty = rows.filter(pl.any_horizontal(pl.col(name).is_null() for name in columns))
    if empty.is_empty():
        return
    row = empty.row(0, named=True)
    missing = next(exported for name, exported in columns.items() if row[name] is None)
    values = ", ".join(
        f"{exported} {'empty' if row[name] is None else repr(row[name])}"
        for name, exported in columns.items()
    )
    raise ExportError(
        f"{row[SOURCE_FILE]}: {missing} is empty in {plural(empty.height, f'{table} row')} "
        f"(first: {values}). Every {table} row needs {' and '.join(columns.values())}. Export "
        "the table again, and check that the query selects these columns."
    )
