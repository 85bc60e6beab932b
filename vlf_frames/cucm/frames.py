"""Expressions and helpers shared by the CUCM mapping modules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from vlf_frames.cucm.exports import Export, ExportError
from vlf_frames.normalize import normalized_id

# CUCM's built-in user that every cluster has; it is not a person.
TOKEN_USER_PREFIX = "token_user_"


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
    Raises ExportError naming the file when a value of an integer column is not an integer.
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
