"""Parsing of CUCM ``run sql`` fixed-width output."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from vlf_frames.cucm.runsql import RunSqlFormatError, parse_run_sql

FIXTURES = Path(__file__).parent / "fixtures"

NARROW_OUTPUT = (
    "admin:run sql select pkid, name, description from device\n"
    "pkid                                 name            description\n"
    "==================================== =============== ===========================\n"
    "b2d6e3a1-0002-4b7f-8d22-000000000001 SEP0A0000000001 Emma Holtom - desk, 3rd floor   \n"
    "b2d6e3a1-0002-4b7f-8d22-000000000002 SEP0A0000000002                             \n"
    "b2d6e3a1-0002-4b7f-8d22-000000000003 CSFOLIVIA       NULL\n"
    "\n"
    "admin:\n"
)


def test_narrow_query_values() -> None:
    output = parse_run_sql(NARROW_OUTPUT)

    expected = pl.DataFrame(
        {
            "pkid": [
                "b2d6e3a1-0002-4b7f-8d22-000000000001",
                "b2d6e3a1-0002-4b7f-8d22-000000000002",
                "b2d6e3a1-0002-4b7f-8d22-000000000003",
            ],
            "name": ["SEP0A0000000001", "SEP0A0000000002", "CSFOLIVIA"],
            # A value wider than its '=' run stays whole; blanks and NULL are null.
            "description": ["Emma Holtom - desk, 3rd floor", None, None],
        }
    )
    assert_frame_equal(output.frame, expected)
    assert output.query_table == "device"


def test_select_star_device_fixture() -> None:
    output = parse_run_sql((FIXTURES / "cluster_a" / "device.txt").read_text())
    frame = output.frame

    assert frame.height == 13
    assert len(frame.columns) == 23
    assert frame.columns[:4] == ["pkid", "name", "description", "tkmodel"]
    first = frame.row(0, named=True)
    assert first["description"] == "Emma Holtom - desk, 3rd floor"
    assert first["specialloadinformation"] is None
    assert first["fkcallingsearchspace"] is None
    assert first["isactive"] == "t"
    assert first["versionstamp"] == "1700000001-abc"
    # The last row has an empty description between non-empty columns.
    assert frame["description"][12] is None
    assert frame["name"][12] == "SEP0A000000000C"


def test_header_without_command_line() -> None:
    output = parse_run_sql((FIXTURES / "cluster_a" / "enduser.txt").read_text())

    assert output.query_table is None
    assert output.frame.height == 8
    assert output.frame["department"][3] == "Research & Development"
    assert output.frame["userid"][7] == "Token_User_c7d1a2b3e4f5"
    assert output.frame["mailid"][7] is None


def test_windows_line_ends() -> None:
    output = parse_run_sql(NARROW_OUTPUT.replace("\n", "\r\n"))

    assert output.frame["name"].to_list() == ["SEP0A0000000001", "SEP0A0000000002", "CSFOLIVIA"]
    assert output.frame["description"][0] == "Emma Holtom - desk, 3rd floor"


def test_empty_result() -> None:
    output = parse_run_sql("pkid name\n==== ====\n")

    assert output.frame.columns == ["pkid", "name"]
    assert output.frame.height == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("pkid,name\n1,a\n", "no line of '='", id="csv-text"),
        pytest.param(
            "pkid name\n==== ====\n1    a\nuserid\n======\nx\n",
            "more than one query result",
            id="two-results",
        ),
        pytest.param("pkid name\n==== ====\n", None, id="valid-control"),
        pytest.param("pkid pkid\n==== ====\n", "twice", id="duplicate-column"),
    ],
)
def test_invalid_text_rejected(text: str, message: str | None) -> None:
    if message is None:
        parse_run_sql(text)
        return
    with pytest.raises(RunSqlFormatError, match=message):
        parse_run_sql(text)
