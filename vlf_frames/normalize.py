"""Normalization of identifiers and booleans, shared by validation and the counting rules."""

from __future__ import annotations

import polars as pl

from vlf_frames.models import TRUE_SPELLINGS


def normalized_id(column: str | pl.Expr) -> pl.Expr:
    """Return a link identifier as the rules compare it: trimmed, lower-cased, empty as null.

    ``str.strip_chars()`` removes characters with the Unicode White_Space property and
    ``str.to_lowercase()`` applies the full Unicode lower-case mapping, as Python's
    ``str.lower`` does.
    """
    expression = pl.col(column) if isinstance(column, str) else column
    trimmed = expression.str.strip_chars().str.to_lowercase()
    return pl.when(trimmed.str.len_bytes() > 0).then(trimmed)


def parsed_boolean(column: str) -> pl.Expr:
    """Return a validated boolean text column as Boolean; null stays null."""
    spelling = pl.col(column).str.strip_chars().str.to_lowercase()
    return pl.when(pl.col(column).is_null()).then(None).otherwise(spelling.is_in(TRUE_SPELLINGS))
