"""File forms of an inventory drop: every form of the same tables gives the same report bytes.

A table may be stored as ``<table>.csv``, ``<table>.parquet`` or a folder of CSV or Parquet
files, optionally in Hive-style ``column=value`` partition folders. Parquet string columns may be
plain, large, dictionary-encoded or categorical strings, and CSV files may start with a UTF-8 BOM
and spell booleans as t/f, yes/no or 1/0 in any case. The report text is built in-process with
``build_report`` and ``report_csv_text``, which is what the command line writes.
"""

from __future__ import annotations

import csv
import itertools
import re
import shutil
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_runner import FULL_OPTIONS, one_line, run_cli
from drop_builder import (
    REPORT_COLUMNS,
    TABLE_COLUMNS,
    account,
    agent,
    association,
    customer,
    ms_account,
    phone,
    phone_server_phone,
    profile,
    site,
    user,
    write_drop,
)

from vlf_frames.errors import DropError, ExitCode, VlfError
from vlf_frames.pipeline import build_report
from vlf_frames.reading import locate_tables
from vlf_frames.writing import report_csv_text

METADATA_LINES = [
    "#Platform ID=5e54067d116fa10046313224",
    "#Provider Name=CS-P",
    "#Software Version=21.1",
    "#Platform Version=21.1.0-1630252949",
    "#Deployment Mode=Provider with HCMF",
    "#Date Time=2026-01-31 23:59",
    "#Audit Version=4.0.0",
]

# Boolean columns of the input contract. Every other contract column is text.
BOOLEAN_COLUMNS = frozenset(
    {
        "public_sector",
        "inactive_billing",
        "teams",
        "enterprise_voice",
        "o365_licensed",
        "cisco_integrated",
    }
)

Table = tuple[list[str], list[dict[str, str | None]]]

# A primary key with characters that a Hive partition folder name must percent-encode.
SECOND_CUSTOMER = "C2 Ω/x=1"

# Two customers with rows in every table, ids with stray case and spaces, nulls and flags.
FORMS_TABLES: dict[str, list[dict[str, Any]]] = {
    "customers": [
        customer(
            "C1", customer_name="Meridian Health Trust", public_sector=True, inactive_billing=False
        ),
        customer(
            SECOND_CUSTOMER,
            customer_name="Harbour Logistics plc",
            public_sector=False,
            inactive_billing=None,
        ),
    ],
    "sites": [
        site("S1", customer="C1", site_name="Royal Infirmary"),
        site("S2", customer="C1", site_name="Northgate Clinic"),
        site("S3", customer=SECOND_CUSTOMER, site_name="Southampton Depot"),
    ],
    "users": [
        user("Emma.Holtom", site="S1", customer="C1"),
        user(" raj.patel ", site="S2", customer="C1"),
        user("it.helpdesk", site=None, customer="C1"),
        user("li.wei", site="S3", customer=SECOND_CUSTOMER),
    ],
    "phones": [
        phone("SEP6C710D8A1F01", owner=" EMMA.HOLTOM", site="S1", customer="C1"),
        phone(
            "CSFRPATEL", product="Cisco Unified Client Services Framework", site="S2", customer="C1"
        ),
        phone("AN0A3D1C2B4E701", product="Analog Phone", site="S1", customer="C1"),
        phone("SEP6C710D8A1F99", product="Cisco 7821", site="S2", customer="C1"),
        phone("CTIRECORDER01", product="CTI Port", site="S1", customer="C1"),
        phone("SEP00A3D1C2B4E5", owner="li.wei", site="S3", customer=SECOND_CUSTOMER),
        phone("SEP00A3D1C2B4E6", owner="LI.WEI", site="S3", customer=SECOND_CUSTOMER),
    ],
    "associated_devices": [
        association("RAJ.PATEL", "csfrpatel", customer="C1"),
        # Names no phone of the drop: a legal dangling reference.
        association("emma.holtom", "SEP0011DEADBEEF", customer="C1"),
        association("li.wei", "SEP00A3D1C2B4E5", customer=SECOND_CUSTOMER),
    ],
    "device_profiles": [
        profile("emma.holtom", customer="C1", profile_name="EM-EHOLTOM"),
        profile(None, customer=SECOND_CUSTOMER, profile_name="EM-SPARE"),
    ],
    "remote_destination_profiles": [
        profile("Raj.Patel", customer="C1", profile_name="RDP-RPATEL"),
        profile("li.wei", customer=SECOND_CUSTOMER, profile_name="RDP-LWEI"),
    ],
    "voicemail_accounts": [
        account("emma.holtom", site="S1", customer="C1", account_id="emma.holtom"),
        account(None, site="S1", customer="C1", account_id="ward7.nurses"),
    ],
    "webex_accounts": [
        account("raj.patel", site="S2", customer="C1", account_id="raj.patel@meridian.example"),
        account(None, site="S3", customer=SECOND_CUSTOMER, account_id="boardroom@harbour.example"),
    ],
    "spark_accounts": [
        account("li.wei", site="S3", customer=SECOND_CUSTOMER, account_id="li.wei@harbour.example"),
        account(None, site=None, customer="C1", account_id="pager@meridian.example"),
    ],
    "pexip_accounts": [
        account("it.helpdesk", site="S1", customer="C1", account_id="vmr-helpdesk"),
        account(None, site=None, customer=SECOND_CUSTOMER, account_id="vmr-boardroom"),
    ],
    "contact_center_agents": [
        agent("UCCE", site="S1", customer="C1", account_id="51001"),
        agent("uccx", site="S3", customer=SECOND_CUSTOMER, account_id="52001"),
    ],
    "microsoft_accounts": [
        ms_account(
            "li.wei",
            teams=True,
            o365_licensed=True,
            cisco_integrated=True,
            site="S3",
            customer=SECOND_CUSTOMER,
            account_id="li.wei@harbour.example",
        ),
        ms_account(
            None,
            teams=True,
            enterprise_voice=True,
            site="S1",
            customer="C1",
            account_id="reception@meridian.example",
        ),
    ],
    "phone_server_phones": [
        phone_server_phone(site="S1", customer="C1", device_name="PSP-ROYAL-001"),
        phone_server_phone(site=None, customer=SECOND_CUSTOMER, device_name="PSP-DEPOT-001"),
    ],
}

# The report of FORMS_TABLES, worked out by hand from the counting rules.
# C1: Emma (1 phone, voicemail, EM) is in One Phone & VM. Raj (CSFRPATEL by association,
# Webex, SNR) is in One Phone & WebEx. it.helpdesk sits at customer level with only Pexip, so
# it adds 1 to PexIP only. SEP6C710D8A1F99, the analog port, the ward7 mailbox and the pager
# Spark account are standalone. The reception Microsoft account has Teams with voice.
# C2 Ω/x=1: Li (2 phones, SNR, Spark, an integrated Microsoft account) is in Multiple Phones and in
# Cisco and MS Integrated Service. The boardroom Webex account is standalone, and the
# boardroom Pexip account, which has no user, adds 1 to PexIP only.
EXPECTED_ROWS = [
    "C1,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0,0,1,0,1,1,0,1,True,False,1,0,0,1,0,0,0,1,1,2",
    "C2 Ω/x=1,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,1,0,False,False,0,0,0,0,0,1,0,1,1,1",
]


def report_text(drop: Path) -> str:
    """Build the report of a drop in-process and return the text the CLI would write."""
    return report_csv_text(build_report(drop).report, METADATA_LINES)


def read_csv_table(path: Path) -> Table:
    """Read a CSV table of the drop builder: its header and rows, empty fields as None."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        rows = [
            {name: value if value != "" else None for name, value in row.items()} for row in reader
        ]
        return list(reader.fieldnames or ()), rows


def read_csv_drop(drop: Path) -> dict[str, Table]:
    return {path.stem: read_csv_table(path) for path in sorted(drop.glob("*.csv"))}


def parse_boolean(text: str | None) -> bool | None:
    return None if text is None else text == "true"


def arrow_table(
    columns: list[str], rows: list[dict[str, str | None]], string_type: pa.DataType
) -> pa.Table:
    """Build an Arrow table: contract booleans as booleans, other columns as ``string_type``."""
    arrays = {}
    for name in columns:
        values = [row[name] for row in rows]
        if name in BOOLEAN_COLUMNS:
            arrays[name] = pa.array([parse_boolean(value) for value in values], pa.bool_())
        else:
            arrays[name] = pa.array(values, string_type)
    return pa.table(arrays)


def dictionary_encoded(table: pa.Table) -> pa.Table:
    """Dictionary-encode the string columns (int32 indices, as pyarrow does by default)."""
    arrays = [
        column.dictionary_encode() if pa.types.is_string(column.type) else column
        for column in table.columns
    ]
    return pa.table(arrays, names=table.column_names)


def polars_typed(table: pa.Table, dtype: pl.DataType | type[pl.DataType]) -> pa.Table:
    """Convert the string columns to a Polars categorical type and back to Arrow.

    Polars exports ``Categorical`` and ``Enum`` as dictionary arrays with Polars field metadata,
    so the Parquet file reads back as that type.
    """
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    casts = []
    for name, column_dtype in frame.schema.items():
        if column_dtype != pl.String:
            continue
        if dtype == pl.Enum:
            categories = sorted(set(frame.get_column(name).drop_nulls().to_list()))
            casts.append(pl.col(name).cast(pl.Enum(categories)))
        else:
            casts.append(pl.col(name).cast(pl.Categorical))
    return frame.with_columns(casts).to_arrow()


# Builders of one table's Arrow data from its CSV header and rows.
ArrowBuilder = Callable[[list[str], list[dict[str, str | None]]], pa.Table]

ARROW_BUILDERS: dict[str, ArrowBuilder] = {
    "string": lambda columns, rows: arrow_table(columns, rows, pa.string()),
    "large_string": lambda columns, rows: arrow_table(columns, rows, pa.large_string()),
    "string_view": lambda columns, rows: arrow_table(columns, rows, pa.string_view()),
    "dictionary": lambda columns, rows: dictionary_encoded(arrow_table(columns, rows, pa.string())),
    "polars_categorical": lambda columns, rows: polars_typed(
        arrow_table(columns, rows, pa.string()), pl.Categorical
    ),
    "polars_enum": lambda columns, rows: polars_typed(
        arrow_table(columns, rows, pa.string()), pl.Enum
    ),
}


def write_parquet_drop(csv_drop: Path, target: Path, string_form: str = "string") -> Path:
    """Write every table of a CSV drop as ``<table>.parquet``, string columns as ``string_form``."""
    target.mkdir(parents=True)
    for name, (columns, rows) in read_csv_drop(csv_drop).items():
        pq.write_table(ARROW_BUILDERS[string_form](columns, rows), target / f"{name}.parquet")
    return target


def split_rows(rows: list[dict[str, str | None]], parts: int) -> list[list[dict[str, str | None]]]:
    """Deal rows over ``parts`` lists, round robin. A list may be empty."""
    return [rows[index::parts] for index in range(parts)]


def write_csv_file(path: Path, columns: list[str], rows: list[dict[str, str | None]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[name] is None else row[name] for name in columns])


def write_folder_drop(csv_drop: Path, target: Path, file_format: str) -> Path:
    """Write every table as a folder ``<table>/`` of three files.

    A table of two rows leaves one file without rows. Parquet folders also get the marker and
    checksum files that Spark writes next to its output, ``_SUCCESS`` and ``.<file>.crc``.
    """
    target.mkdir(parents=True)
    for name, (columns, rows) in read_csv_drop(csv_drop).items():
        for number, part in enumerate(split_rows(rows, 3)):
            path = target / name / f"part-{number}.{file_format}"
            if file_format == "csv":
                write_csv_file(path, columns, part)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(arrow_table(columns, part, pa.string()), path)
                (path.parent / f".{path.name}.crc").write_bytes(b"crc\x00")
        if file_format == "parquet":
            (target / name / "_SUCCESS").write_bytes(b"")
    return target


def write_hive_drop(csv_drop: Path, target: Path, partition_column: str) -> Path:
    """Write each table that has ``partition_column`` as Hive-style partition folders.

    The files under ``<table>/<column>=<value>/`` leave the partition column out, so its value
    comes only from the folder name. A null value is the folder ``__HIVE_DEFAULT_PARTITION__``
    and other values are percent-encoded. Other tables are written as single Parquet files.
    """
    target.mkdir(parents=True)
    for name, (columns, rows) in read_csv_drop(csv_drop).items():
        if partition_column not in columns or name == "customers":
            pq.write_table(arrow_table(columns, rows, pa.string()), target / f"{name}.parquet")
            continue
        file_columns = [column for column in columns if column != partition_column]
        by_value: dict[str | None, list[dict[str, str | None]]] = {}
        for row in rows:
            by_value.setdefault(row[partition_column], []).append(row)
        for value, partition_rows in by_value.items():
            if value is None:
                folder = "__HIVE_DEFAULT_PARTITION__"
            else:
                folder = urllib.parse.quote(value, safe="")
            path = target / name / f"{partition_column}={folder}" / "part-0.parquet"
            path.parent.mkdir(parents=True)
            pq.write_table(arrow_table(file_columns, partition_rows, pa.string()), path)
    return target


# Spellings that the contract accepts for CSV booleans, in mixed case.
TRUE_SPELLINGS = ("T", "Yes", "1", "TRUE", "yEs", "t")
FALSE_SPELLINGS = ("f", "NO", "0", "False", "nO", "F")


def write_bom_drop(csv_drop: Path, target: Path) -> Path:
    """Copy a CSV drop with a UTF-8 BOM on every file and booleans in assorted spellings."""
    target.mkdir(parents=True)
    true_spellings = itertools.cycle(TRUE_SPELLINGS)
    false_spellings = itertools.cycle(FALSE_SPELLINGS)
    for name, (columns, rows) in read_csv_drop(csv_drop).items():
        respelled = []
        for row in rows:
            new_row = dict(row)
            for column in BOOLEAN_COLUMNS.intersection(columns):
                if row[column] == "true":
                    new_row[column] = next(true_spellings)
                elif row[column] == "false":
                    new_row[column] = next(false_spellings)
            respelled.append(new_row)
        path = target / f"{name}.csv"
        write_csv_file(path, columns, respelled)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return target


@pytest.fixture(scope="module")
def csv_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_drop(tmp_path_factory.mktemp("forms"), **FORMS_TABLES)


@pytest.fixture(scope="module")
def csv_report(csv_drop: Path) -> str:
    return report_text(csv_drop)


def test_csv_form_report_rows(csv_report: str) -> None:
    # The other forms are compared with this report, so it must not be empty or all zeros.
    expected = "\n".join([*METADATA_LINES, ",".join(REPORT_COLUMNS), *EXPECTED_ROWS]) + "\n"

    assert csv_report == expected


FORM_WRITERS: dict[str, Callable[[Path, Path], Path]] = {
    "parquet": write_parquet_drop,
    "csv-folders": lambda drop, target: write_folder_drop(drop, target, "csv"),
    "parquet-folders": lambda drop, target: write_folder_drop(drop, target, "parquet"),
    "hive-customer": lambda drop, target: write_hive_drop(drop, target, "customer_pkid"),
    "hive-site-with-null": lambda drop, target: write_hive_drop(drop, target, "site_pkid"),
    "parquet-large-string": lambda drop, target: write_parquet_drop(drop, target, "large_string"),
    "parquet-string-view": lambda drop, target: write_parquet_drop(drop, target, "string_view"),
    "parquet-dictionary": lambda drop, target: write_parquet_drop(drop, target, "dictionary"),
    "parquet-categorical": lambda drop, target: write_parquet_drop(
        drop, target, "polars_categorical"
    ),
    "parquet-enum": lambda drop, target: write_parquet_drop(drop, target, "polars_enum"),
    "csv-bom-boolean-spellings": write_bom_drop,
}


@pytest.mark.parametrize("form", FORM_WRITERS)
def test_form_gives_same_report(tmp_path: Path, csv_drop: Path, csv_report: str, form: str) -> None:
    drop = FORM_WRITERS[form](csv_drop, tmp_path / "drop")

    assert report_text(drop) == csv_report


def test_hive_partition_value_only_in_path(tmp_path: Path, csv_drop: Path) -> None:
    drop = write_hive_drop(csv_drop, tmp_path / "drop", "customer_pkid")
    part = drop / "phones" / "customer_pkid=C2%20%CE%A9%2Fx%3D1" / "part-0.parquet"

    # The partition column is not stored in the file, so the folder is its only source.
    assert "customer_pkid" not in pq.read_schema(part).names


def add_extra_columns_csv(drop: Path) -> None:
    for path in drop.glob("*.csv"):
        columns, rows = read_csv_table(path)
        extended = [
            {**row, "exported_by": "nightly job", "row_number": str(number)}
            for number, row in enumerate(rows)
        ]
        write_csv_file(path, ["row_number", *columns, "exported_by"], extended)


def test_extra_csv_columns_ignored(tmp_path: Path, csv_drop: Path, csv_report: str) -> None:
    drop = tmp_path / "drop"
    shutil.copytree(csv_drop, drop)
    add_extra_columns_csv(drop)

    assert report_text(drop) == csv_report


def test_extra_parquet_columns_ignored(tmp_path: Path, csv_drop: Path, csv_report: str) -> None:
    # Extra columns of any type are ignored, even types that a contract column may not have.
    drop = write_parquet_drop(csv_drop, tmp_path / "drop")
    for path in drop.glob("*.parquet"):
        table = pq.read_table(path)
        height = table.num_rows
        table = table.append_column("row_number", pa.array(range(height), pa.int64()))
        table = table.append_column("exported_at", pa.array([1.5] * height, pa.float64()))
        table = table.append_column("tags", pa.array([["a", "b"]] * height, pa.list_(pa.string())))
        pq.write_table(table, path)

    assert report_text(drop) == csv_report


def test_absent_optional_table_in_summary(tmp_path: Path, csv_drop: Path) -> None:
    drop = tmp_path / "drop"
    shutil.copytree(csv_drop, drop)
    (drop / "pexip_accounts.csv").unlink()
    (drop / "phone_server_phones.csv").unlink()

    result = run_cli("report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS)

    assert result.returncode == 0, result.stderr
    summary = one_line(result.stderr)
    absent = re.search(r"(?i:absent tables)[^:]*: ([a-z_]+(?:, [a-z_]+)*)", summary)
    assert absent is not None, summary
    listed = {name.strip() for name in absent.group(1).split(",")}
    assert listed == {"pexip_accounts", "phone_server_phones"}


def write_users_with_duplicate_column(path: Path) -> None:
    """Write a users table whose header names ``userid`` twice, with different values."""
    columns = ["user_pkid", "customer_pkid", "site_pkid", "userid", "userid"]
    values = [["user-1", "C1", "S1", "emma.holtom", "raj.patel"]]
    if path.suffix == ".csv":
        lines = [",".join(row) for row in [columns, *values]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        arrays = [pa.array([value]) for value in values[0]]
        pq.write_table(pa.Table.from_arrays(arrays, names=columns), path)


@pytest.mark.parametrize("file_name", ["users.csv", "users.parquet"])
def test_duplicate_column_name_rejected(tmp_path: Path, file_name: str) -> None:
    # Two columns of one name leave the user id ambiguous, so no report may pick one of them.
    drop = write_drop(tmp_path)
    (drop / "users.csv").unlink()
    write_users_with_duplicate_column(drop / file_name)

    with pytest.raises(VlfError) as error:
        build_report(drop)

    assert error.value.exit_code == ExitCode.INVALID_INPUT
    assert "userid" in str(error.value)
    assert file_name in str(error.value)


def test_contract_columns_cover_forms_tables() -> None:
    # Every table of the contract is in FORMS_TABLES, so every form covers every table.
    assert set(FORMS_TABLES) == set(TABLE_COLUMNS)


def test_empty_csv_file_names_the_fix(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, users=[user("anna")])
    (drop / "webex_accounts.csv").write_bytes(b"")

    with pytest.raises(DropError) as error:
        build_report(drop)

    assert "webex_accounts.csv" in str(error.value)
    assert "header row" in str(error.value)


def test_parquet_null_type_column_read_as_nulls(tmp_path: Path) -> None:
    """Some writers store a column of only nulls with the Arrow null type."""
    drop = write_drop(tmp_path / "csv", phones=[phone("SEP1"), phone("SEP2")])
    expected = report_text(drop)
    parquet_drop = write_parquet_drop(drop, tmp_path / "parquet")
    table = pq.read_table(parquet_drop / "phones.parquet")
    assert table.column("owner_userid").null_count == table.num_rows
    index = table.schema.get_field_index("owner_userid")
    table = table.set_column(index, "owner_userid", pa.nulls(table.num_rows))
    pq.write_table(table, parquet_drop / "phones.parquet")

    assert pq.read_schema(parquet_drop / "phones.parquet").field("owner_userid").type == pa.null()
    assert report_text(parquet_drop) == expected


def test_parquet_boolean_where_text_expected(tmp_path: Path) -> None:
    csv_drop = write_drop(tmp_path / "csv", phones=[phone("SEP1")])
    drop = write_parquet_drop(csv_drop, tmp_path / "parquet")
    table = pq.read_table(drop / "phones.parquet")
    index = table.schema.get_field_index("device_name")
    table = table.set_column(index, "device_name", pa.array([True] * table.num_rows, pa.bool_()))
    pq.write_table(table, drop / "phones.parquet")

    with pytest.raises(VlfError) as error:
        build_report(drop)

    assert error.value.exit_code == ExitCode.INVALID_INPUT
    assert "column device_name" in str(error.value)
    assert "found Boolean" in str(error.value)


@pytest.mark.parametrize(("parts", "form"), [(1, "users/ (1 file)"), (2, "users/ (2 files)")])
def test_folder_form_counts_files(tmp_path: Path, parts: int, form: str) -> None:
    drop = write_drop(tmp_path, users=[user("anna"), user("bert")])
    rows = (drop / "users.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (drop / "users.csv").unlink()
    (drop / "users").mkdir()
    for part in range(parts):
        body = rows[1:] if part == 0 else []
        (drop / "users" / f"part-{part}.csv").write_text(rows[0] + "".join(body), "utf-8")

    assert locate_tables(drop).tables["users"].form == form
