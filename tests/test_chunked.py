"""The chunked path gives the same results as processing the drop at once.

It validates and encodes the drop while reading it, splits the encoded rows into parts by user
and device key, and counts the parts in three passes. When a check fails, it hands the drop to
the text partitions, so the findings and the rejected rows must be the same as in one pass too.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest
from cli_runner import (
    CLI_COMMAND,
    FULL_OPTIONS,
    cli_environment,
    finish_cli,
    one_line,
    outcome,
    run_cli,
    start_cli,
)
from drop_builder import account, phone, site, user, write_drop
from temporary_files import remove_temporary

from vlf_frames import chunked, partitioned, reading, stopping
from vlf_frames.chunked import build_report_chunked
from vlf_frames.errors import DropError, OutputError
from vlf_frames.partitioned import build_report_partitioned
from vlf_frames.pipeline import InvalidDropError, ReportResult, build_report
from vlf_frames.tables import TABLE_SPECS
from vlf_frames.validation import key_name, validate_frame
from vlf_frames.writing import report_csv_text

SAMPLE_DROP = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of five rows, so that files are cut into batches and batches are put together."""
    monkeypatch.setattr(chunked, "CHUNK_ROWS", 5)


def assert_same_result(actual: ReportResult, expected: ReportResult) -> None:
    assert report_csv_text(actual.report, []) == report_csv_text(expected.report, [])
    assert actual.dangling == expected.dangling
    assert {name: table.rows_read for name, table in actual.validation.tables.items()} == {
        name: table.rows_read for name, table in expected.validation.tables.items()
    }


def took_chunked_path(result: ReportResult) -> bool:
    return "encoding" in result.timings and "split" not in result.timings


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("partitions", [1, 2, 3, 7])
def test_sample_drop_same_result(partitions: int) -> None:
    actual = build_report_chunked(SAMPLE_DROP, partitions=partitions)

    assert took_chunked_path(actual)
    assert_same_result(actual, build_report(SAMPLE_DROP))


@pytest.mark.parametrize("partitions", [1, 4, 11])
def test_synthetic_drop_same_result(synthetic_drop: Path, partitions: int) -> None:
    assert len(list((synthetic_drop / "users").glob("*.parquet"))) > 5
    actual = build_report_chunked(synthetic_drop, partitions=partitions)

    assert took_chunked_path(actual)
    assert_same_result(actual, build_report(synthetic_drop))


def test_synthetic_drop_in_small_chunks(
    synthetic_drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "CHUNK_ROWS", 997)
    actual = build_report_chunked(synthetic_drop, partitions=3)

    assert took_chunked_path(actual)
    assert_same_result(actual, build_report(synthetic_drop))


def test_csv_drop_same_result(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    shutil.copytree(SAMPLE_DROP, drop)
    actual = build_report_chunked(drop, partitions=2)

    assert {path.suffix for path in drop.iterdir()} == {".csv"}
    assert took_chunked_path(actual)
    assert_same_result(actual, build_report(SAMPLE_DROP))


def two_user_files(
    root: Path, first: list[dict[str, object]], second: list[dict[str, object]]
) -> Path:
    """Write a drop whose users are split over two files of one folder."""
    drop = write_drop(root, users=first + second)
    users = pl.read_csv(drop / "users.csv", infer_schema=False)
    (drop / "users.csv").unlink()
    (drop / "users").mkdir()
    users.head(len(first)).write_parquet(drop / "users" / "part-0.parquet")
    users.tail(len(second)).write_parquet(drop / "users" / "part-1.parquet")
    return drop


@pytest.mark.usefixtures("small_chunks")
def test_duplicate_userid_in_two_files_found(tmp_path: Path) -> None:
    """The two rows share a key only after trimming and lower-casing, in different chunks."""
    first = [user(f"user{number}", user_pkid=f"U{number}") for number in range(6)]
    drop = two_user_files(tmp_path, first, [user(" USER3 ", user_pkid="U-LATE")])

    with pytest.raises(InvalidDropError) as chunked_error:
        build_report_chunked(drop, partitions=2)
    with pytest.raises(InvalidDropError) as expected_error:
        build_report(drop)

    findings = chunked_error.value.findings
    assert findings == expected_error.value.findings
    assert [(finding.check, finding.failing_rows) for finding in findings] == [
        ("unique_key(customer_pkid, userid)", 1),
        ("unique_key(customer_pkid, userid)", 1),
    ]


@pytest.mark.usefixtures("small_chunks")
def test_duplicate_device_name_in_other_chunk_found(tmp_path: Path) -> None:
    phones = [phone(f"SEP{number}", phone_pkid=f"P{number}") for number in range(9)]
    drop = write_drop(tmp_path, phones=[*phones, phone("sep2 ", phone_pkid="P-LATE")])

    with pytest.raises(InvalidDropError) as error:
        build_report_chunked(drop, partitions=2)

    checks = [(finding.check, finding.failing_rows) for finding in error.value.findings]
    assert checks == [("unique_key(customer_pkid, device_name)", 2)]


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("partitions", [2, 12])
def test_duplicate_account_id_found(tmp_path: Path, partitions: int) -> None:
    """Two accounts of different users share an account_id after trimming and lower-casing."""
    accounts = [
        account(f"user{number}", account_id=f"VM{number}") for number in range(9)
    ] + [account("user-late", account_id=" vm4")]
    drop = write_drop(tmp_path, voicemail_accounts=accounts)

    with pytest.raises(InvalidDropError) as error:
        build_report_chunked(drop, partitions=partitions)

    checks = [(finding.check, finding.failing_rows) for finding in error.value.findings]
    assert checks == [("unique_key(customer_pkid, account_id)", 2)]


@pytest.mark.parametrize("on_invalid", ["fail", "quarantine"])
def test_invalid_rows_same_findings_and_rejects(tmp_path: Path, on_invalid: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("anna"), user("  "), user("ben", customer="C-UNKNOWN")],
        phones=[phone("SEP1", owner="anna"), phone("SEP2", product=" ")],
    )
    if on_invalid == "fail":
        with pytest.raises(InvalidDropError) as chunked_error:
            build_report_chunked(drop, partitions=2)
        with pytest.raises(InvalidDropError) as expected_error:
            build_report(drop)
        # The text partitions list the checks of one file in another order than one pass.
        assert sorted(chunked_error.value.findings, key=repr) == sorted(
            expected_error.value.findings, key=repr
        )
        # ben's site is not looked up under an unknown customer, so it has no site finding.
        findings = chunked_error.value.findings
        assert sorted((finding.table, finding.check) for finding in findings) == [
            ("phones", "not_blank"),
            ("users", "known_customer"),
            ("users", "not_blank"),
        ]
        return

    actual = build_report_chunked(drop, partitions=2, on_invalid="quarantine")
    expected = build_report(drop, on_invalid="quarantine")
    assert_same_result(actual, expected)
    assert actual.validation.rejects().height == 3
    assert actual.validation.rejects().equals(expected.validation.rejects())


@pytest.mark.parametrize("partitions", [3, 12])
def test_duplicate_pkid_across_partitions_found(tmp_path: Path, partitions: int) -> None:
    """With 12 parts, the key hashes are split into 3 parts of their own."""
    drop = write_drop(
        tmp_path,
        phones=[phone(f"SEP{number}", phone_pkid=f"P{number}") for number in range(8)]
        + [phone("SEP-OTHER", phone_pkid="P5")],
    )

    with pytest.raises(InvalidDropError) as error:
        build_report_chunked(drop, partitions=partitions)

    checks = [(finding.check, finding.failing_rows) for finding in error.value.findings]
    assert checks == [("unique_key(phone_pkid)", 2)]


def test_shared_key_hash_is_compared_as_text(
    synthetic_drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys that only share a hash make the run check the drop again, and it is valid."""

    def same_hash_for_all(frame: pl.LazyFrame, keys: list[object]) -> pl.LazyFrame:
        return frame.select(
            pl.col("customer_pkid").is_null().cast(pl.UInt128).alias(key_name(key))  # type: ignore[arg-type]
            for key in keys
        )

    monkeypatch.setattr(chunked, "key_hashes", same_hash_for_all)
    actual = build_report_chunked(synthetic_drop, partitions=3)

    assert not took_chunked_path(actual)
    assert_same_result(actual, build_report(synthetic_drop))


def test_shared_pkid_hash_is_compared_as_text(
    synthetic_drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def same_hash_for_all(column: str) -> pl.Expr:
        return pl.col(column).is_null().cast(pl.UInt64)

    monkeypatch.setattr(chunked, "pkid_hash", same_hash_for_all)
    monkeypatch.setattr(partitioned, "pkid_hash", same_hash_for_all)
    actual = build_report_chunked(synthetic_drop, partitions=3)

    assert took_chunked_path(actual)
    assert_same_result(actual, build_report(synthetic_drop))


@pytest.mark.parametrize("build", [build_report_chunked, build_report_partitioned])
def test_unreadable_csv_row_names_table_and_file(
    tmp_path: Path, build: Callable[..., ReportResult]
) -> None:
    """Both partition paths name the table and file of a row that is not UTF-8."""
    drop = write_drop(tmp_path, users=[user("anna", user_pkid="U1")])
    with (drop / "users.csv").open("ab") as file:
        file.write(b"U2,C1,S1,bad\xff\xfeid\n")

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    assert "Table users" in str(error.value)
    assert "users.csv" in str(error.value)
    assert "line 3 is not UTF-8: byte 13 of the line is 0xff" in str(error.value)


def edit_line(path: Path, index: int, change: Callable[[str], str]) -> list[str]:
    """Replace line ``index`` (from 0) of a text file by ``change`` of it; return the lines."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[index] = change(lines[index])
    path.write_text("".join(lines), encoding="utf-8")
    return lines


def build_at_once(drop: Path, partitions: int) -> ReportResult:
    del partitions
    return build_report(drop)


EVERY_PATH = [build_at_once, build_report_chunked, build_report_partitioned]


@pytest.mark.parametrize("build", EVERY_PATH)
@pytest.mark.parametrize(
    ("change", "extra_fields", "advice"),
    [
        (lambda line: line.rstrip("\n") + ",extra\n", 1, None),
        # A row with a field too few would shift its values into other columns.
        (
            lambda line: line.rsplit(",", 1)[0] + "\n",
            -1,
            "with a value or an empty field for every column of every row",
        ),
    ],
)
def test_csv_row_field_count_named(
    tmp_path: Path,
    build: Callable[..., ReportResult],
    change: Callable[[str], str],
    extra_fields: int,
    advice: str | None,
) -> None:
    drop = write_drop(tmp_path, users=[user(f"user{number}") for number in range(5)])
    lines = edit_line(drop / "users.csv", 4, change)
    header_fields = lines[0].count(",") + 1

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    message = str(error.value)
    assert "users.csv" in message
    fields = header_fields + extra_fields
    assert f"the row on line 5 has {fields} fields, and the header has {header_fields}" in message
    if advice is not None:
        assert advice in message


@pytest.mark.parametrize("build", EVERY_PATH)
def test_csv_long_and_short_rows_named(tmp_path: Path, build: Callable[..., ReportResult]) -> None:
    """A long row and a short row keep the total of fields, and an extra column that is not
    read hid the long row from Polars."""
    users = [user(f"user{number}", department="Sales") for number in range(5)]
    drop = write_drop(tmp_path, users=users)
    path = drop / "users.csv"
    lines = edit_line(path, 2, lambda line: line.rstrip("\n") + ", EMEA\n")
    edit_line(path, 3, lambda line: line.split(",", 1)[1])
    header_fields = lines[0].count(",") + 1

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    message = str(error.value)
    assert f"the row on line 3 has {header_fields + 1} fields" in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('"user_pkid"x,customer_pkid\n1,2\n', "the row on line 1 is invalid CSV"),
        ('user_pkid,"customer_pkid\n1,2\n', "the quote opened in the row on line 1 is never"),
        # A quote alone between separators opens a value, and Polars fails on the file.
        ('user_pkid,customer_pkid,"\n1,2,3\n', "the quote opened in the row on line 1 is never"),
    ],
)
def test_csv_malformed_header_named(tmp_path: Path, text: str, reason: str) -> None:
    """A header that Python's csv module rejects is named, not an internal error."""
    drop = write_drop(tmp_path, users=[user("anna")])
    (drop / "users.csv").write_text(text, encoding="utf-8")

    with pytest.raises(DropError) as error:
        build_report(drop)

    assert reason in str(error.value)


@pytest.mark.parametrize(
    ("data", "differs"),
    [
        (b"id\nA\n\nB\n", True),
        (b"id\nA\nB\n", False),
        (b"id\r\nA\r\n\r\nB\r\n", True),
        # Polars reads A and B as one value A\rB.
        (b"id\nA\rB\n", True),
        (b"id\nA\nB\r", False),
    ],
)
def test_csv_one_column_blank_line(tmp_path: Path, data: bytes, differs: bool) -> None:
    """A file of one column has no separators, and its blank lines are still found."""
    path = tmp_path / "sites.csv"
    path.write_bytes(data)

    assert reading.csv_layout_differs(path) is differs


@pytest.mark.parametrize("build", EVERY_PATH)
@pytest.mark.parametrize(("index", "line"), [(2, 4), (6, 8)])
def test_csv_blank_line_named(
    tmp_path: Path, build: Callable[..., ReportResult], index: int, line: int
) -> None:
    """A blank line in the middle or a second line break at the end is named."""
    drop = write_drop(tmp_path, users=[user(f"user{number}") for number in range(6)])
    edit_line(drop / "users.csv", index, lambda text: text + "\n")

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    assert f"users.csv' cannot be read as CSV: line {line} is blank" in str(error.value)


@pytest.mark.parametrize("build", EVERY_PATH)
def test_csv_quoted_breaks_not_short(tmp_path: Path, build: Callable[..., ReportResult]) -> None:
    """Separators and line breaks inside quoted values are not counted as fields or lines.

    Site names are not read, so they may hold line breaks.
    """
    sites = [site(f"S{number}", site_name='North, "B"\nCampus,\n') for number in range(4)]
    drop = write_drop(tmp_path, sites=sites)
    assert (drop / "sites.csv").read_text(encoding="utf-8").count("\n") == 1 + 3 * 4

    result = build(drop, partitions=2)

    assert result.validation.tables["sites"].rows_read == 4


@pytest.mark.parametrize("build", EVERY_PATH)
@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("utf-16", "it is UTF-16 text (it starts with the bytes FF FE)"),
        ("utf-16-le", "every other byte of its start or more is a NUL byte"),
        ("utf-32", "it is UTF-32 text (it starts with the bytes FF FE 00 00)"),
    ],
)
def test_csv_wide_text_named(
    tmp_path: Path, build: Callable[..., ReportResult], encoding: str, reason: str
) -> None:
    """Polars reads UTF-16 text without an error, as columns with NUL bytes in their names."""
    drop = write_drop(tmp_path, users=[user("anna")])
    path = drop / "customers.csv"
    path.write_text(path.read_text(encoding="utf-8"), encoding=encoding)

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    message = str(error.value)
    assert f"customers.csv' cannot be read as CSV: {reason}" in message
    assert message.endswith(f". Export it again as {reading.EXPECTED_FORMS['csv']}.")


@pytest.mark.parametrize("build", EVERY_PATH)
def test_csv_stray_quote_named(tmp_path: Path, build: Callable[..., ReportResult]) -> None:
    """A quote inside an unquoted value, after a valid quoted line break, is named."""
    phones = [phone("SEP1", product="Cisco\n8845"), phone("SEP2"), phone("SEP3")]
    drop = write_drop(tmp_path, phones=phones)
    edit_line(drop / "phones.csv", 4, lambda line: line.replace("Cisco", 'Cis"co'))

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    message = str(error.value)
    assert "phones.csv" in message
    assert "the value 'Cis\"co 8845' on line 5 has a quote that neither starts nor ends" in message
    assert "Quote the whole value and double each quote inside it" in message


@pytest.mark.parametrize("block_bytes", [64, 1 << 20])
def test_short_row_found_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """A block ends only at a line break outside quotes, so a quoted break never ends one."""
    monkeypatch.setattr(reading, "COUNT_BLOCK_BYTES", block_bytes)
    phones = [phone(f"SEP{number}", product=f"Cisco\n{'x' * number},\n") for number in range(60)]
    drop = write_drop(tmp_path, phones=phones)
    path = drop / "phones.csv"
    assert reading.csv_layout_differs(path) is False

    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex(",")] + "\n", encoding="utf-8")

    assert reading.csv_layout_differs(path) is True


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_csv_count_ends_at_block_multiple(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: int
) -> None:
    """A file whose size is a multiple of the block ends with an empty read, and is counted."""
    path = tmp_path / "users.csv"
    path.write_bytes(b"a,b\n1,2\n")
    monkeypatch.setattr(reading, "COUNT_BLOCK_BYTES", path.stat().st_size // (1 + extra) or 1)

    assert reading.csv_layout_differs(path) is False


def test_short_row_after_many_quoted_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows whose quoted values hold most of the line breaks still end the counted blocks."""
    monkeypatch.setattr(reading, "COUNT_BLOCK_BYTES", 256)
    monkeypatch.setattr(reading, "PENDING_LIMIT_BYTES", 1024)
    product = "Cisco" + "\nline" * 40
    phones = [phone(f"SEP{number}", product=product) for number in range(30)]
    drop = write_drop(tmp_path, phones=phones)
    path = drop / "phones.csv"
    assert reading.csv_layout_differs(path) is False

    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex(",")] + "\n", encoding="utf-8")

    assert reading.csv_layout_differs(path) is True


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda line: line.replace("anna", 'an"n"a'), """the value 'an"n"a' on line 3 has"""),
        (lambda line: line.replace("anna", ' "anna"'), """the value ' "anna"' on line 3 has"""),
        (lambda line: "   \n", "the row on line 3 has 1 field, and the header has 4"),
        (
            lambda line: line.rsplit(",", 1)[0] + ',"\n',
            "the quote opened in the row on line 3 is never closed",
        ),
    ],
)
@pytest.mark.parametrize("few", [0, 10_000])
def test_csv_balanced_stray_quotes_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[str], str],
    reason: str,
    few: int,
) -> None:
    """Two stray quotes keep the counts level, and must still be named."""
    monkeypatch.setattr(reading, "FEW_QUOTED_VALUES", few)
    drop = write_drop(tmp_path, users=[user("bert"), user("anna"), user("carl")])
    edit_line(drop / "users.csv", 2, change)

    with pytest.raises(DropError) as error:
        build_report(drop)

    assert reason in str(error.value)


@pytest.mark.parametrize("few", [0, 10_000])
def test_csv_all_quoted_with_mark_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """Every value quoted, doubled quotes, a quoted header and a UTF-8 byte order mark."""
    monkeypatch.setattr(reading, "FEW_QUOTED_VALUES", few)
    drop = write_drop(tmp_path, users=[user("anna"), user('b"e,rt')])
    path = drop / "users.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    quoted = io.StringIO()
    csv.writer(quoted, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_text(quoted.getvalue(), encoding="utf-8-sig")

    assert reading.csv_layout_differs(path) is False
    assert build_report(drop).validation.tables["users"].rows_read == 2


@pytest.mark.parametrize(
    ("layout", "reason"),
    [
        (lambda text: "\n" + text, "line 1 is blank, and the header must be on line 1"),
        (
            lambda text: text.replace("\n", "\r"),
            "its lines end with a carriage return alone; use line feeds (\\n or \\r\\n)",
        ),
        (
            lambda text: text.replace("userid", 'user"id', 1),
            """the value 'user"id' on line 1 has a quote that neither starts nor ends""",
        ),
    ],
)
def test_csv_line_layout_named(tmp_path: Path, layout: Callable[[str], str], reason: str) -> None:
    drop = write_drop(tmp_path, users=[user("anna"), user("bert")])
    path = drop / "users.csv"
    path.write_bytes(layout(path.read_text(encoding="utf-8")).encode("utf-8"))

    with pytest.raises(DropError) as error:
        build_report(drop)

    assert reason in str(error.value)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'"a\rb",c', None),
        (b"a\n\x00\n", None),
        ("ab,c\n1,2\n".encode("utf-32-be"), "every other byte of its start or more is a NUL byte"),
        (b"a,b\r1,2\r3,4\r", "its lines end with a carriage return alone"),
        (
            b'a,b\n"x\ny"z,1\n',
            "the row that starts on line 2 is invalid CSV on line 3 (',' expected after '\"')",
        ),
    ],
)
def test_csv_file_start_checked(tmp_path: Path, data: bytes, reason: str | None) -> None:
    """A quoted carriage return and a NUL byte are text, and the other files are named."""
    path = tmp_path / "sites.csv"
    path.write_bytes(data)

    error = reading.malformed_csv_error("sites", reading.DataFile(path, "csv"))

    if reason is None:
        assert error is None
    else:
        assert error is not None
        assert reason in str(error)


@pytest.mark.parametrize(("separator", "name"), [("\t", "tabs"), (";", "semicolons")])
def test_csv_other_separator_named(tmp_path: Path, separator: str, name: str) -> None:
    """A file split by another separator has one column, and the message names the separator."""
    drop = write_drop(tmp_path, users=[user("anna")])
    path = drop / "users.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", separator), encoding="utf-8")

    with pytest.raises(DropError) as error:
        build_report(drop)

    message = str(error.value)
    assert "users.csv' cannot be read as CSV: its header is one column, 'user_pkid" in message
    assert f"whose names are separated by {name} rather than commas" in message


@pytest.mark.parametrize("line_break", [b"\n", b"\r", b"\r\n"])
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (b'an"na', """the value 'an"na' on line 3 has a quote"""),
        (b"an\xffna", "line 3 is not UTF-8: byte 9 of the line is 0xff"),
    ],
)
def test_csv_line_numbers_count_quoted_breaks(
    tmp_path: Path, line_break: bytes, change: bytes, reason: str
) -> None:
    """Python's csv module, which numbers the rows, ends a line at each of these breaks."""
    phones = [phone("SEP1", product="Cisco-8845", owner="anna"), phone("SEP2")]
    drop = write_drop(tmp_path, users=[user("anna")], phones=phones)
    path = drop / "phones.csv"
    quoted_break = b'"Cisco' + line_break + b'8845"'
    path.write_bytes(
        path.read_bytes().replace(b"Cisco-8845", quoted_break).replace(b"anna", change)
    )

    with pytest.raises(DropError) as error:
        build_report(drop)

    assert reason in str(error.value)


@pytest.mark.parametrize("build", EVERY_PATH)
def test_csv_lone_carriage_return_named(tmp_path: Path, build: Callable[..., ReportResult]) -> None:
    """A carriage return alone after the first 64 KiB, where line feeds end the other lines,
    is named with its line."""
    drop = write_drop(tmp_path, users=[user(f"user{number:05}") for number in range(3000)])
    path = drop / "users.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    index = next(i for i in range(len(lines)) if len(b"".join(lines[:i])) > 64 * 1024)
    assert index < len(lines) - 1
    lines[index] = lines[index].replace(b"\n", b"\r")
    path.write_bytes(b"".join(lines))

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    reason = f"line {index + 1} ends with a carriage return alone"
    assert f"users.csv' cannot be read as CSV: {reason}" in str(error.value)


def test_csv_final_carriage_return_read(tmp_path: Path) -> None:
    """Polars ends the last line of a file at a carriage return."""
    drop = write_drop(tmp_path, users=[user("anna")])
    path = drop / "associated_devices.csv"
    path.write_bytes(path.read_bytes().rstrip(b"\r\n") + b"\r")

    assert build_report(drop).validation.tables["associated_devices"].rows_read == 0


def test_csv_nul_byte_in_value_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A NUL byte now and then is UTF-8 text, which Polars reads as part of the value."""
    drop = write_drop(tmp_path, users=[user("bert"), user("an\x00na"), user("carl\x00")])

    result = build_report(drop)

    assert result.validation.tables["users"].rows_read == 3
    assert result.validation.findings == []
    assert "users.csv has 2 NUL bytes, the first on line 3." in caplog.text


@pytest.mark.parametrize("partitions", ["0", "2"])
def test_lone_quotes_joining_ids_rejected(tmp_path: Path, partitions: str) -> None:
    """Two fields that are only a quote make one valid quoted value of the rows between them,
    and a userid that spans lines stops the run."""
    drop = tmp_path / "drop"
    shutil.copytree(SAMPLE_DROP, drop)
    path = drop / "users.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for index in (2, 4):
        lines[index] = lines[index].rsplit(",", 1)[0] + ',"\n'
    path.write_text("".join(lines), encoding="utf-8")
    output_dir = tmp_path / "out"
    arguments = ["--output-dir", output_dir, "--partitions", partitions, *FULL_OPTIONS]

    result = run_cli("report", drop, *arguments)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    error = (
        "users.csv' cannot be read as CSV: the userid value on line 3 starts with a line break "
        "and spans several lines, which no userid may."
    )
    assert message.count(error) == 1
    assert "Where line 3 ends with a field that is only a quote, that quote opened" in message
    assert "line breaks inside quoted values" not in message
    assert not output_dir.exists() or not any(output_dir.iterdir())


@pytest.mark.parametrize("block_bytes", [64, 1 << 20])
def test_lone_quote_named_after_quoted_break(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    block_bytes: int,
) -> None:
    """A value that starts with a line break is named, not an earlier value with one inside.

    Site names are not read, so line breaks in them only warn.
    """
    monkeypatch.setattr(reading, "COUNT_BLOCK_BYTES", block_bytes)
    sites = [site("S0", site_name="North\nCampus, B")]
    sites += [site(f"S{number}", site_name=f"Site {number}") for number in range(1, 30)]
    drop = write_drop(tmp_path, sites=sites)
    path = drop / "sites.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for index in (20, 25):
        lines[index] = lines[index].rsplit(",", 1)[0] + ',"\n'
    path.write_text("".join(lines), encoding="utf-8")

    error = reading.malformed_csv_error("sites", reading.DataFile(path, "csv"))

    assert error is None
    assert "The value that starts on line 21 begins with a line break" in caplog.text


def test_read_value_with_line_break_rejected(tmp_path: Path) -> None:
    """A product, like every column the job reads, never spans lines."""
    # A line break at either end of a value is white space, which is trimmed.
    phones = [phone("SEP1\n"), phone("SEP2", product="Cisco\n8845"), phone("\r\nSEP3")]
    drop = write_drop(tmp_path, phones=phones)

    error = reading.malformed_csv_error("phones", reading.DataFile(drop / "phones.csv", "csv"))

    assert error is not None
    message = str(error)
    assert "phones.csv' cannot be read as CSV" in message
    assert "the product value on line 4 starts with 'Cisco' and spans several lines" in message


@pytest.mark.parametrize("build", EVERY_PATH)
def test_id_with_line_break_at_end_read(tmp_path: Path, build: Callable[..., ReportResult]) -> None:
    """A line break at either end of an id is trimmed, as other white space is."""
    phones = [phone("SEP1\n", owner="anna"), phone("\r\nSEP2", owner="\nanna")]
    drop = write_drop(tmp_path, users=[user("anna")], phones=phones)

    report = build(drop, partitions=2).report

    assert report.get_column("Multiple Phones").to_list() == [1]


def test_quoted_line_break_line_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The line of the first quoted line break counts the lines of the blocks before it."""
    monkeypatch.setattr(reading, "COUNT_BLOCK_BYTES", 64)
    sites = [site(f"S{number}", site_name=f"Site {number}") for number in range(20)]
    sites.append(site("S99", site_name="North\nCampus"))
    drop = write_drop(tmp_path, sites=sites)

    error = reading.malformed_csv_error("sites", reading.DataFile(drop / "sites.csv", "csv"))

    assert error is None
    warning = "has 1 line break inside quoted values, the first in the value that starts on line 22"
    assert warning in caplog.text


def test_csv_short_row_exit_code(tmp_path: Path) -> None:
    drop = write_drop(tmp_path / "input", users=[user("anna"), user("bert")])
    edit_line(drop / "users.csv", 2, lambda line: line.rsplit(",", 1)[0] + "\n")

    result = run_cli("report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS)

    assert result.returncode == 1, outcome(result)
    assert "the row on line 3 has 3 fields, and the header has 4" in one_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("build", EVERY_PATH)
def test_unclosed_csv_quote_message_is_short(
    tmp_path: Path, build: Callable[..., ReportResult]
) -> None:
    """Polars quotes the rest of the file after an unclosed quote; the message cuts it off."""
    users = [user(f"user{number}", user_pkid=f"U{number}") for number in range(2000)]
    drop = write_drop(tmp_path, users=users)
    edit_line(drop / "users.csv", 10, lambda line: '"' + line)

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    message = str(error.value)
    assert "Table users" in message
    assert "users.csv" in message
    assert "Export it again as a UTF-8 CSV file" in message
    assert "the quote opened in the row on line 11 is never closed" in message
    assert len(message) < 600
    assert "user1999" not in message


@pytest.mark.parametrize("build", EVERY_PATH)
def test_corrupt_parquet_file_is_named(
    tmp_path: Path, build: Callable[..., ReportResult]
) -> None:
    drop = write_drop(tmp_path, users=[user(f"user{number}") for number in range(40)])
    rows = pl.read_csv(drop / "users.csv", infer_schema=False)
    (drop / "users.csv").unlink()
    (drop / "users").mkdir()
    rows.head(20).write_parquet(drop / "users" / "part-0.parquet")
    rows.tail(20).write_parquet(drop / "users" / "part-1.parquet")
    damaged = bytearray((drop / "users" / "part-0.parquet").read_bytes())
    middle = len(damaged) // 2
    damaged[middle - 40 : middle + 40] = bytes(80)
    (drop / "users" / "part-0.parquet").write_bytes(bytes(damaged))

    with pytest.raises(DropError) as error:
        build(drop, partitions=2)

    message = str(error.value)
    assert "part-0.parquet" in message
    assert "part-1.parquet" not in message
    assert "Export it again as a Parquet file written completely" in message


def test_unusable_tmpdir_stops_run(synthetic_drop: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    output_dir = tmp_path / "out"
    result = run_cli(
        "report",
        synthetic_drop,
        "--output-dir",
        output_dir,
        *FULL_OPTIONS,
        "--partitions",
        "2",
        env={"TMPDIR": str(missing)},
    )

    assert result.returncode == 2, outcome(result)
    assert f"TMPDIR is set to '{missing}'" in one_line(result.stderr)
    assert not output_dir.exists() or not any(output_dir.iterdir())


def test_low_open_file_limit_raised(synthetic_drop: Path) -> None:
    """A soft limit too low for the open part files is raised up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = len(os.listdir("/proc/self/fd")) + 30
    partitions = 40  # the phones alone keep about 90 part files open
    assert hard == resource.RLIM_INFINITY or hard > 3 * partitions + low
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        actual = build_report_chunked(synthetic_drop, partitions=partitions)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    assert took_chunked_path(actual)
    assert_same_result(actual, build_report(synthetic_drop))


def test_open_file_limit_too_low_named(synthetic_drop: Path, tmp_path: Path) -> None:
    """A hard limit too low for the part files stops the run with what to change."""

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (80, 80))

    def run_with_parts(partitions: str) -> subprocess.CompletedProcess[str]:
        arguments = ["report", synthetic_drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS]
        return subprocess.run(
            [*CLI_COMMAND, *map(str, arguments), "--partitions", partitions],
            capture_output=True,
            text=True,
            env=cli_environment({"TMPDIR": str(tmp_path)}),
            preexec_fn=low_limit,
            check=False,
        )

    result = run_with_parts("60")

    assert result.returncode == 3, outcome(result)
    message = one_line(result.stderr)
    assert "Cannot open more temporary partition files: the limit of 80 open files" in message
    assert "pass --partitions 5 or fewer, or raise the limit with `ulimit -n`" in message
    assert "Traceback" not in result.stderr
    assert list(tmp_path.glob("vlf-frames-*")) == []
    # The advice holds: the part count it names fits the limit.
    assert run_with_parts("5").returncode == 0


@pytest.mark.parametrize(
    ("signum", "message"),
    [(signal.SIGTERM, "Terminated by SIGTERM"), (signal.SIGINT, "Interrupted")],
)
def test_stop_signal_removes_temporary_files(tmp_path: Path, signum: int, message: str) -> None:
    """The run stops at the next chunk or part, without a Polars panic, and cleans up."""
    drop = tmp_path / "drop"
    synth_result = run_cli("synth", drop, "--subscribers", "40000", "-q")
    assert synth_result.returncode == 0, outcome(synth_result)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    output_dir = tmp_path / "out"
    arguments = ["report", drop, "--output-dir", output_dir, *FULL_OPTIONS, "--partitions", "3"]
    process = start_cli(arguments, env={"TMPDIR": str(temporary)})

    # Wait until the run has made its folder of temporary files, then stop it.
    deadline = time.monotonic() + 60
    while not any(temporary.iterdir()) and process.poll() is None:
        assert time.monotonic() < deadline, "the run made no temporary folder in 60 s"
        time.sleep(0.005)
    process.send_signal(signum)
    result = finish_cli(process)

    assert result.returncode == 128 + signum, outcome(result)
    assert f"{message}; no report was written." in result.stderr
    assert "panicked" not in result.stderr
    assert list(temporary.iterdir()) == []
    assert not output_dir.exists()


def test_second_signal_during_removal_removes_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second signal that arrives while the temporary files are removed is only recorded."""
    remove_tree = shutil.rmtree

    def remove_after_two_signals(path: Path, **options: Any) -> None:
        stopping.request(signal.SIGINT, None)
        stopping.request(signal.SIGINT, None)
        remove_tree(path, **options)

    monkeypatch.setattr(partitioned.shutil, "rmtree", remove_after_two_signals)
    try:
        with partitioned.temporary_folder(tmp_path) as folder:
            for number in range(20):
                (folder / f"{number}.arrow").write_bytes(b"piece")
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(stopping.StopRequestedError):
            stopping.check()
    finally:
        stopping.reset()


def test_fallback_starts_after_encoded_files_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = write_drop(tmp_path / "input", users=[user("anna"), user("  ")])
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    seen: list[list[Path]] = []

    def text_partitions(*arguments: object, **options: object) -> ReportResult:
        seen.append(list(work_dir.iterdir()))
        return partitioned.build_report_partitioned(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(chunked, "build_report_partitioned", text_partitions)
    with pytest.raises(InvalidDropError):
        build_report_chunked(drop, partitions=2, work_dir=work_dir)

    assert seen == [[]]


@pytest.mark.parametrize("drop_kind", ["valid", "invalid rows", "missing column"])
def test_validate_in_partitions_same_output(tmp_path: Path, drop_kind: str) -> None:
    """``validate --partitions 3`` reads the drop in chunks and prints what one pass prints."""
    drop = write_drop(
        tmp_path / "input",
        users=[user("anna"), user("  ")] if drop_kind == "invalid rows" else [user("anna")],
        phones=[phone("SEP1", owner="anna"), phone("SEP2", product=" ")],
    )
    if drop_kind == "valid":
        drop = write_drop(tmp_path / "valid", users=[user("anna")])
    if drop_kind == "missing column":
        users = pl.read_csv(drop / "users.csv", infer_schema=False).drop("userid")
        users.write_csv(drop / "users.csv")

    one_pass = run_cli("validate", drop, "--partitions", "1")
    chunked_run = run_cli("validate", drop, "--partitions", "3")

    expected_code = 0 if drop_kind == "valid" else 1
    assert one_pass.returncode == expected_code, outcome(one_pass)
    assert chunked_run.returncode == expected_code, outcome(chunked_run)
    assert "Traceback" not in chunked_run.stderr
    verdict = one_line(chunked_run.stderr.strip().splitlines()[-1])
    if drop_kind == "missing column":
        # In chunks, a file that does not fit the schema stops the run before any row check.
        assert "column userid, check column_in_dataframe" in one_line(chunked_run.stderr)
        assert verdict == (
            "The drop is invalid: failed checks: 1, invalid rows: 0. "
            "Some files do not fit the schema, and their rows were not checked."
        )
        return
    assert verdict == one_line(one_pass.stderr.strip().splitlines()[-1])
    if drop_kind == "invalid rows":
        assert verdict == "The drop is invalid: failed checks: 2, invalid rows: 2."


def test_progress_names_each_pass(tmp_path: Path) -> None:
    result = run_cli(
        "report", SAMPLE_DROP, "--output-dir", tmp_path, *FULL_OPTIONS, "--partitions", "2", "-v"
    )

    assert result.returncode == 0, outcome(result)
    log = one_line(result.stderr)
    assert "Processing the drop in 2 parts of encoded rows" in log
    assert "Validating and encoding phones" in log
    for number in (1, 2):
        assert f"Linking associations to phones, part {number} of 2" in log
        assert f"Counting users, part {number} of 2" in log
        assert f"Counting phones of no user, part {number} of 2" in log


@pytest.mark.parametrize("partitions", ["0", "1", "2"])
@pytest.mark.parametrize("valid", [True, False])
def test_ignored_file_warned_once(tmp_path: Path, partitions: str, valid: bool) -> None:
    """An ignored file is named once, also when invalid rows send the drop to a second path."""
    users = [user("anna")] if valid else [user("anna"), user("  ")]
    drop = write_drop(tmp_path / "input", users=users, phones=[phone("SEP1", owner="anna")])
    (drop / "users").mkdir()
    (drop / "users.csv").rename(drop / "users" / "part-0.csv")
    (drop / "notes.txt").write_text("not a table\n", encoding="utf-8")
    (drop / "users" / "notes.txt").write_text("not a table\n", encoding="utf-8")

    result = run_cli(
        "report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS, "--partitions", partitions
    )

    assert result.returncode == (0 if valid else 1), outcome(result)
    log = one_line(result.stderr)
    assert log.count("notes.txt: not a table of the inventory drop") == 1
    assert log.count("notes.txt: not a .csv or .parquet file") == 1


@pytest.mark.parametrize(("name", "stops"), [("part-1.csv.gz", True), ("notes.txt", False)])
def test_table_folder_unread_part_stops_run(tmp_path: Path, name: str, stops: bool) -> None:
    """A compressed part of a table folder contains rows that the job cannot read."""
    drop = write_drop(tmp_path, phones=[phone("SEP1"), phone("SEP2")])
    folder = drop / "phones"
    folder.mkdir()
    (drop / "phones.csv").rename(folder / "part-0.csv")
    (folder / name).write_bytes(b"not read")

    if stops:
        with pytest.raises(DropError) as error:
            build_report(drop)
        assert "has files named like its data that are not .csv or .parquet files" in str(
            error.value
        )
        assert name in str(error.value)
    else:
        assert build_report(drop).validation.tables["phones"].rows_read == 2


@pytest.mark.parametrize("name", ["Users.CSV", "user.csv", "users_2026-01.csv"])
def test_missing_required_table_names_close_file(tmp_path: Path, name: str) -> None:
    drop = tmp_path / "drop"
    shutil.copytree(SAMPLE_DROP, drop)
    (drop / "users.csv").rename(drop / name)

    with pytest.raises(DropError) as error:
        build_report(drop)

    message = str(error.value)
    assert "Required table users not found" in message
    assert f"Found {name}: names are matched exactly, so rename the file if it is that" in message


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_misnamed_table_file_stops_run(tmp_path: Path, quiet: list[str]) -> None:
    """An absent table counts as empty, so a file named like it stops the run, also with -q."""
    drop = tmp_path / "drop"
    shutil.copytree(SAMPLE_DROP, drop)
    (drop / "voicemail_accounts.csv").rename(drop / "voicemail_account.csv")

    result = run_cli("report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS, *quiet)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert "voicemail_account.csv' is named like voicemail_accounts.csv, a table that" in message
    assert "Rename the file to the table's name if it is that table" in message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("webex_accounts.CSV", "webex_accounts.csv"),
        ("voicemail_accounts.txt", "voicemail_accounts"),
        ("webex_accounts_2026-01.csv", "webex_accounts.csv"),
        ("spark_accounts.csv.gz", "spark_accounts.csv"),
        ("users.parquet.bak", None),
        ("user.csv", None),
        ("notes.csv", None),
        ("pexip_account", "pexip_accounts"),
        ("webex.csv", "webex_accounts.csv"),
        ("voicemail", "voicemail_accounts"),
        ("accounts", None),
        ("web.csv", None),
    ],
)
def test_table_name_for_cases(tmp_path: Path, name: str, target: str | None) -> None:
    (tmp_path / "users.csv").write_text("user_pkid\n", encoding="utf-8")
    path = tmp_path / name
    if "." in name:
        path.write_text("x\n", encoding="utf-8")
    else:
        path.mkdir()

    assert reading.table_name_for(path) == target


def test_line_after_long_quoted_value(tmp_path: Path) -> None:
    """Python's csv module stops at values over 131,072 characters unless its limit is raised."""
    path = tmp_path / "phones.csv"
    long_value = "x" * 140_000 + "\n" + "y"
    path.write_text(f'a,b\n1,"{long_value}"\n2,3\n4,5,6\n', encoding="utf-8")

    lines = reading.record_lines(str(path))

    assert lines is not None
    assert lines.to_list() == [2, 4, 5]
    assert reading.csv_problem(path) == "the row on line 5 has 3 fields, and the header has 2"


def test_second_signal_in_check_stops_run() -> None:
    """pandera would turn a stop raised inside a check into a failure case."""

    def signals_twice(data: pa.PolarsData) -> pl.LazyFrame:
        stopping.request(signal.SIGINT, None)
        stopping.request(signal.SIGINT, None)
        return data.lazyframe.select(pl.lit(value=True))

    spec = TABLE_SPECS["users"]
    schema = pa.DataFrameSchema(checks=[pa.Check(signals_twice)])
    frame = pl.DataFrame({"userid": ["anna"]})
    try:
        with pytest.raises(stopping.StopRequestedError):
            validate_frame(spec, "users.csv", (), frame, schema)
    finally:
        stopping.reset()


@pytest.mark.parametrize(("partitions", "warned"), [("16", False), ("17", True)])
def test_many_small_parts_warned(tmp_path: Path, partitions: str, warned: bool) -> None:
    """The sample drop gets one part automatically, and the warning starts above 16."""
    result = run_cli(
        "report", SAMPLE_DROP, "--output-dir", tmp_path, *FULL_OPTIONS, "--partitions", partitions
    )

    assert result.returncode == 0, outcome(result)
    log = one_line(result.stderr)
    assert (f"--partitions {partitions} makes parts of about" in log) is warned
    if warned:
        assert "Pass --partitions 0 to choose 1 part for this drop." in log


class FailingFooter:
    """An Arrow file writer whose last write, the footer, fails as on a full disk."""

    def __init__(self, writer: object) -> None:
        self.writer = writer

    def close(self) -> None:
        raise OSError(28, "No space left on device")


def test_unfinished_part_file_named_and_closed(tmp_path: Path) -> None:
    """A part file whose footer cannot be written gives the partition error, and the
    cleanup still closes it and the files not yet finished."""
    files = chunked.PartFiles(tmp_path)
    frame = pl.DataFrame({"value": [1, 2, 3, 4]}).with_columns(
        (pl.col("value") % 2).cast(pl.UInt32).alias(chunked.PARTITION_COLUMN)
    )
    files.write(tmp_path / "table", frame)
    files.close()
    files.write(tmp_path / "other", frame)
    files.pending[-1].result()
    sinks = [sink for sink, _ in files.open.values()]
    first = next(iter(files.open))
    sink, writer = files.open[first]
    files.open[first] = (sink, FailingFooter(writer))  # type: ignore[assignment]

    with pytest.raises(chunked.OutputError) as raised:
        files.close()
    files.abandon()

    assert "Cannot write the temporary partition files" in str(raised.value)
    assert str(tmp_path / "other") in str(raised.value)
    assert "No space left on device" in str(raised.value)
    assert files.open == {}
    assert all(sink.closed for sink in sinks)
    assert sorted(path.name for path in (tmp_path / "table").iterdir()) == ["0.arrow", "1.arrow"]


@pytest.mark.parametrize("stage", ["encoding", "counting"])
def test_removed_temporary_folder_stops_run(
    synthetic_drop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    """Temporary files removed by someone else during a run stop it, instead of a report that
    counts the lost parts as empty."""
    removed: list[Path] = []
    write_encoded, link_associations = chunked.write_encoded, chunked.link_associations

    def write_removing(run: chunked.ChunkedRun, spec: Any, frame: pl.DataFrame, seed: int) -> None:
        if spec.name == "phones" and not removed:
            remove_temporary(run.folder, tmp_path)
            removed.append(run.folder)
        write_encoded(run, spec, frame, seed)

    def link_removing(run: chunked.ChunkedRun, *arguments: Any) -> None:
        link_associations(run, *arguments)
        remove_temporary(run.folder, tmp_path)
        removed.append(run.folder)

    if stage == "encoding":
        monkeypatch.setattr(chunked, "write_encoded", write_removing)
    else:
        monkeypatch.setattr(chunked, "link_associations", link_removing)
    with pytest.raises(OutputError) as raised:
        build_report_chunked(synthetic_drop, partitions=3, work_dir=tmp_path)

    assert len(removed) == 1
    assert "were removed during the run" in str(raised.value)
    assert "No report was written" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_tmpdir_without_room_for_folder(synthetic_drop: Path, tmp_path: Path) -> None:
    """A TMPDIR where no folder can be made stops the run, and the job does not use /tmp."""
    output_dir = tmp_path / "out"
    arguments = ["report", synthetic_drop, "--output-dir", output_dir, *FULL_OPTIONS]
    result = run_cli(*arguments, "--partitions", "2", env={"TMPDIR": "/proc"})

    assert result.returncode == 2, outcome(result)
    assert "TMPDIR is set to '/proc'" in one_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert not output_dir.exists() or not any(output_dir.iterdir())
