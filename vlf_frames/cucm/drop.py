"""Read the tables of an existing inventory drop, add rows to them, and write them back.

A drop table is ``<table>.parquet``, ``<table>.csv`` or a folder ``<table>/`` of Parquet or
CSV files (Hive-style ``key=value`` folders add that column). The importer rewrites every
table it adds to as ``<table>.parquet``. It writes all tables to temporary files in the
drop folder first. Then it renames each over its target and removes the table's CSV file
or folder, so that the table keeps exactly one form.
"""

from __future__ import annotations

import logging
import os
import shutil
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from vlf_frames import stopping
from vlf_frames.errors import DropError, OutputError
from vlf_frames.normalize import normalized_id
from vlf_frames.reading import HIVE_NULL
from vlf_frames.tables import TABLE_SPECS, Key

log = logging.getLogger(__name__)

# Columns the importer writes, by table. Existing extra columns are kept on merge.
DROP_COLUMNS: dict[str, dict[str, type[pl.DataType]]] = {
    "customers": {
        "customer_pkid": pl.String,
        "customer_name": pl.String,
        "provider_name": pl.String,
        "reseller_name": pl.String,
        "public_sector": pl.Boolean,
        "inactive_billing": pl.Boolean,
    },
    "sites": {"site_pkid": pl.String, "customer_pkid": pl.String, "site_name": pl.String},
    "users": {
        "user_pkid": pl.String,
        "customer_pkid": pl.String,
        "site_pkid": pl.String,
        "userid": pl.String,
    },
    "phones": {
        "phone_pkid": pl.String,
        "customer_pkid": pl.String,
        "site_pkid": pl.String,
        "device_name": pl.String,
        "product": pl.String,
        "owner_userid": pl.String,
    },
    "associated_devices": {
        "customer_pkid": pl.String,
        "userid": pl.String,
        "device_name": pl.String,
    },
    "device_profiles": {"profile_name": pl.String, "customer_pkid": pl.String, "userid": pl.String},
    "remote_destination_profiles": {
        "profile_name": pl.String,
        "customer_pkid": pl.String,
        "userid": pl.String,
    },
}

# Keys that merging keeps unique: the drop contract's keys, and for associated_devices the
# (customer, userid, device_name) triple, whose repeats are harmless but useless.
ASSOCIATION_KEY = Key(
    ("customer_pkid", "userid", "device_name"), normalized=("userid", "device_name")
)


def table_keys(table: str) -> tuple[Key, ...]:
    return (ASSOCIATION_KEY,) if table == "associated_devices" else TABLE_SPECS[table].keys


BOOLEAN_SPELLINGS = {
    "true": True, "t": True, "1": True, "yes": True,
    "false": False, "f": False, "0": False, "no": False,
}


# Columns an existing table must have; the other known columns are null when absent.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_pkid",),
    "sites": ("site_pkid", "customer_pkid"),
    "users": ("user_pkid", "customer_pkid", "userid"),
    "phones": ("phone_pkid", "customer_pkid", "device_name", "product"),
    "associated_devices": ("customer_pkid", "userid", "device_name"),
    "device_profiles": ("profile_name", "customer_pkid"),
    "remote_destination_profiles": ("profile_name", "customer_pkid"),
}


def empty_table(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=DROP_COLUMNS[table])


def table_forms(drop_dir: Path, table: str) -> list[Path]:
    """Return the paths of the forms in which ``table`` exists in the drop."""
    candidates = (drop_dir / f"{table}.parquet", drop_dir / f"{table}.csv", drop_dir / table)
    return [path for path in candidates if path.exists()]


def read_drop_table(drop_dir: Path, table: str) -> pl.DataFrame:
    """Read one table of an existing drop; an absent table is empty.

    Known columns are cast to their drop types. Raises DropError when the table exists in
    two forms, a file cannot be read, or a boolean value is not a known spelling.
    """
    forms = table_forms(drop_dir, table)
    if len(forms) > 1:
        names = ", ".join(path.name for path in forms)
        raise DropError(f"Table {table} is stored twice in {drop_dir} ({names}); keep one form.")
    if not forms:
        return empty_table(table)
    path = forms[0]
    if path.is_dir():
        frames = [
            _read_file(file, table, _hive_columns(file.relative_to(path)))
            for file in _data_files(path)
        ]
        frame = pl.concat(frames, how="diagonal_relaxed") if frames else empty_table(table)
    else:
        frame = _read_file(path, table, {})

    missing = [name for name in REQUIRED_COLUMNS[table] if name not in frame.columns]
    if missing:
        raise DropError(
            f"Table {table} in {path} has no column {missing[0]!r}, so rows cannot be added "
            "to it. Fix the table or write the import to a new drop folder."
        )
    return frame.with_columns(
        pl.lit(None, dtype).alias(name)
        for name, dtype in DROP_COLUMNS[table].items()
        if name not in frame.columns
    )


def merge_rows(
    table: str, existing: pl.DataFrame, new: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """Append the new rows whose keys are not in ``existing`` or earlier in ``new``.

    Existing rows are kept as they are. Returns the merged table and the number of new
    rows skipped as duplicates. Raises DropError when a new row's pkid already belongs to
    another customer, because the drop cannot hold both.
    """
    new = new.select(list(DROP_COLUMNS[table]))
    before = new.height
    for key in table_keys(table):
        _reject_foreign_pkids(table, existing, new, key)
        key_exprs = [
            normalized_id(column) if column in key.normalized else pl.col(column)
            for column in key.columns
        ]
        key_names = [f"__key{index}" for index in range(len(key_exprs))]
        aliased = [expr.alias(name) for expr, name in zip(key_exprs, key_names, strict=True)]
        existing_keys = existing.select(aliased)
        new = (
            new.with_columns(aliased)
            .join(existing_keys, on=key_names, how="anti", nulls_equal=True)
            .unique(subset=key_names, keep="first", maintain_order=True)
            .drop(key_names)
        )
    merged = pl.concat([existing, new], how="diagonal_relaxed")
    return merged, before - new.height


def write_drop_tables(drop_dir: Path, tables: dict[str, pl.DataFrame]) -> None:
    """Write each table as ``<table>.parquet``, replacing its previous form.

    Raises OutputError when a file cannot be written, and StopRequestedError when a stop
    signal arrives before the temporary files are renamed. Then no table has been replaced,
    and the temporary files and a drop folder that this call created are removed.
    """
    created = not drop_dir.exists()
    try:
        drop_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"Cannot create the drop folder {drop_dir}: {error.strerror}") from error

    temporary: dict[str, Path] = {}
    try:
        for table, frame in tables.items():
            path = drop_dir / f".{table}.parquet.{os.getpid()}.tmp"
            temporary[table] = path
            frame.write_parquet(path)
            stopping.check()
    except (OSError, pl.exceptions.PolarsError, stopping.StopRequestedError) as error:
        _remove_temporary_files(drop_dir, temporary.values(), created)
        if isinstance(error, stopping.StopRequestedError):
            raise
        raise OutputError(f"Cannot write to the drop folder {drop_dir}: {error}") from error

    # A second stop signal must not leave some tables replaced and others not.
    with stopping.shielded():
        for table, path in temporary.items():
            target = drop_dir / f"{table}.parquet"
            old_forms = [form for form in table_forms(drop_dir, table) if form != target]
            os.replace(path, target)
            for form in old_forms:
                log.info("replaced %s by %s", form, target.name)
                if form.is_dir():
                    shutil.rmtree(form)
                else:
                    form.unlink()


def _remove_temporary_files(drop_dir: Path, paths: Iterable[Path], created: bool) -> None:
    """Remove the temporary table files, and the drop folder when this import created it."""
    with stopping.shielded():
        for path in paths:
            path.unlink(missing_ok=True)
        if created:
            try:
                drop_dir.rmdir()
            except OSError as error:
                log.warning("could not remove the new drop folder %s: %s", drop_dir, error)


def check_replaceable(drop_dir: Path, tables: Sequence[str]) -> None:
    """Raise DropError when a table folder contains files other than Parquet and CSV files.

    The importer deletes a table folder after merging its files into ``<table>.parquet``;
    other files in it would be lost.
    """
    for table in tables:
        folder = drop_dir / table
        if not folder.is_dir():
            continue
        others = [
            path for path in folder.rglob("*")
            if path.is_file() and path.suffix.lower() not in {".parquet", ".csv"}
        ]
        if others:
            raise DropError(
                f"{folder} contains files that are not table data (first: {others[0]}). The "
                f"import rewrites {table} as {table}.parquet and removes that folder; move "
                "those files out first."
            )


def _reject_foreign_pkids(
    table: str, existing: pl.DataFrame, new: pl.DataFrame, key: Key
) -> None:
    """Raise DropError when a new row's pkid belongs to another customer in the drop."""
    if len(key.columns) != 1 or key.columns[0] == "customer_pkid":
        return
    column = key.columns[0]
    clashes = new.join(
        existing.select(column, pl.col("customer_pkid").alias("existing_customer")),
        on=column,
        how="inner",
    ).filter(pl.col("existing_customer") != pl.col("customer_pkid"))
    if clashes.height:
        first = clashes.row(0, named=True)
        raise DropError(
            f"{table}: {column} {first[column]!r} already belongs to customer "
            f"{first['existing_customer']!r} in the drop, so it cannot be added for customer "
            f"{first['customer_pkid']!r}. Import each cluster for one customer only, or write "
            "the other customer to another drop."
        )


def _data_files(folder: Path) -> list[Path]:
    """Return the Parquet and CSV files of a table folder, as the report job reads them."""
    return sorted(
        path for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in {".parquet", ".csv"}
        and not any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)
    )


def _hive_columns(relative: Path) -> dict[str, str | None]:
    columns: dict[str, str | None] = {}
    for part in relative.parts[:-1]:
        name, separator, value = part.partition("=")
        if separator:
            decoded = urllib.parse.unquote(value)
            columns[name] = None if decoded == HIVE_NULL else decoded
    return columns


def _read_file(path: Path, table: str, hive_columns: dict[str, str | None]) -> pl.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        else:
            data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
            frame = pl.read_csv(data, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise DropError(f"Cannot read {path} of table {table}: {error}") from error

    frame = frame.with_columns(
        pl.lit(value, pl.String).alias(name)
        for name, value in hive_columns.items()
        if name not in frame.columns
    )
    return _cast_known_columns(frame, table, path)


def _cast_known_columns(frame: pl.DataFrame, table: str, path: Path) -> pl.DataFrame:
    casts = []
    for name, dtype in DROP_COLUMNS[table].items():
        if name not in frame.columns:
            continue
        if dtype == pl.Boolean and frame.schema[name] != pl.Boolean:
            casts.append(_parse_boolean(frame, name, path))
        elif dtype == pl.String:
            casts.append(pl.col(name).cast(pl.String))
    return frame.with_columns(casts)


def _parse_boolean(frame: pl.DataFrame, name: str, path: Path) -> pl.Expr:
    spelled = pl.col(name).cast(pl.String).str.strip_chars().str.to_lowercase()
    parsed = spelled.replace_strict(BOOLEAN_SPELLINGS, default=None, return_dtype=pl.Boolean)
    invalid = frame.filter(spelled.is_not_null() & (spelled != "") & parsed.is_null())
    if invalid.height:
        raise DropError(
            f"{path}: column {name!r} must be a boolean (true/false, t/f, 1/0, yes/no), "
            f"found {invalid[name].cast(pl.String)[0]!r}."
        )
    return parsed.alias(name)
