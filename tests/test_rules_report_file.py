"""The report file: its name, metadata lines and CSV quoting, written through the CLI.

The command runs in-process through ``vlf_frames.cli.main``. The full file of a realistic
drop is compared byte for byte in the golden test of the sample drop.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from drop_builder import customer, site, user, write_drop

from vlf_frames.cli import main

HEADER = (
    "Customer PKID,One Phone & Spark (No VM & No WebEx),One Phone (No VM & No WebEx & No Spark),"
    "One Phone & VM (No WebEx),One Phone & WebEx,Multiple Phones,Users With More Than 10 Phones,"
    "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark),"
    "SNR (No Phone & No EM & No VM & No WebEx & No Spark),VM (No Phone & No EM & No WebEx),"
    "WebEx (No Phone & No EM),Spark (No Phone & No EM & No SNR & No VM & No WebEx),"
    "EM & Spark (No Phone & No VM & No WebEx),"
    "EM (No Phone & No SNR & No VM & No WebEx & No Spark),"
    "EM & SNR (No Phone & No VM & No WebEx & No Spark),EM & VM (No Phone & No WebEx),"
    "EM & WebEx (No Phone),Standalone Phones (No UCM User),Standalone WebEx (No UCM User),"
    "Standalone Voicemail (No UCM User),Contact Center Enterprise,Contact Center Express,"
    "Standalone Spark (No UCM User),Public Sector,Inactive Billing,"
    "Standalone Analog Ports (No UCM User),Standard Users with Spark,MS Teams (No Voice),"
    "MS Teams & Voice,MS O365 User (no Teams),Cisco and MS Integrated Service,"
    "Multi-vendor Users,PexIP only,Phone Server Phones,Site Count"
)


def write_report(drop: Path, output_dir: Path, provider: str, host: str) -> int:
    return main(
        [
            "report",
            str(drop),
            "--output-dir",
            str(output_dir),
            "--date-time",
            "2026-01-31 23:59",
            "--provider-name",
            provider,
            "--host-name",
            host,
            "--platform-id",
            "5e54067d116fa10046313224",
            "--software-version",
            "21.1",
            "--platform-version",
            "21.1.0-1630252949",
            "--deployment-mode",
            "Provider with HCMF",
            "--quiet",
        ]
    )


@pytest.mark.parametrize(
    ("provider", "host", "file_name"),
    [
        pytest.param("CS-P", "voss01", "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv", id="plain"),
        pytest.param("CS/P", "voss01", "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv", id="slash"),
        pytest.param(
            "CS-P", "voss\\01", "vlf_CS-P_voss-01_anonymous_2026-01-31_2359.csv", id="backslash"
        ),
        pytest.param(
            "CS\tP", "voss01", "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv", id="control"
        ),
        pytest.param(
            "CS-P",
            "vo\u2028ss01",
            "vlf_CS-P_vo-ss01_anonymous_2026-01-31_2359.csv",
            id="line-separator",
        ),
        # Everything else is kept as given, including spaces and non-ASCII letters.
        pytest.param(
            "Nordic Öst",
            "voss 01",
            "vlf_Nordic Öst_voss 01_anonymous_2026-01-31_2359.csv",
            id="space-and-non-ascii",
        ),
    ],
)
def test_report_file_name(tmp_path: Path, provider: str, host: str, file_name: str) -> None:
    output_dir = tmp_path / "out"

    exit_code = write_report(write_drop(tmp_path), output_dir, provider, host)

    assert exit_code == 0
    assert [path.name for path in output_dir.iterdir()] == [file_name]


def test_report_metadata_line_separator_replaced(tmp_path: Path) -> None:
    """Some readers take U+2029 for a line break, which would split a metadata line."""
    output_dir = tmp_path / "out"

    exit_code = write_report(write_drop(tmp_path), output_dir, "CS\u2029P", "voss01")

    assert exit_code == 0
    data = (output_dir / "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv").read_text("utf-8")
    assert data.splitlines()[1] == "#Provider Name=CS-P"


def test_report_metadata_keeps_provider_name(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"

    exit_code = write_report(write_drop(tmp_path), output_dir, "CS/P", "voss01")

    assert exit_code == 0
    data = (output_dir / "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv").read_bytes()
    assert data.split(b"\n")[:8] == [
        b"#Platform ID=5e54067d116fa10046313224",
        b"#Provider Name=CS/P",
        b"#Software Version=21.1",
        b"#Platform Version=21.1.0-1630252949",
        b"#Deployment Mode=Provider with HCMF",
        b"#Date Time=2026-01-31 23:59",
        b"#Audit Version=4.0.0",
        HEADER.encode(),
    ]


def test_report_quotes_only_where_needed(tmp_path: Path) -> None:
    # Customer PKIDs are written exactly as given, so a comma or quote in one needs
    # RFC 4180 quoting, and a plain one none.
    pkids = ["C,1", 'C"2', "C3"]
    drop = write_drop(
        tmp_path,
        customers=[customer(pkid, public_sector=pkid == "C3") for pkid in pkids],
        sites=[site("S1", customer="C3")],
        users=[user("emma.holtom", customer="C3")],
    )
    output_dir = tmp_path / "out"

    exit_code = write_report(drop, output_dir, "CS-P", "voss01")

    assert exit_code == 0
    data = (output_dir / "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in data
    assert data.endswith(b"\n")
    assert data.split(b"\n")[8:] == [
        b'"C""2",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,False,False,0,0,0,0,0,0,0,0,0,0',
        b'"C,1",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,False,False,0,0,0,0,0,0,0,0,0,0',
        b"C3,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,True,False,0,0,0,0,0,0,0,0,0,1",
        b"",
    ]


def test_pkid_starting_with_hash_quoted(tmp_path: Path) -> None:
    """A row that starts with "#" would read as a metadata line."""
    customers = [customer("C1"), customer("#C2"), customer("#Audit Version=9")]
    output_dir = tmp_path / "out"

    exit_code = write_report(write_drop(tmp_path, customers=customers), output_dir, "CS", "v1")

    assert exit_code == 0
    path = output_dir / "vlf_CS_v1_anonymous_2026-01-31_2359.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.startswith("#Audit Version")] == ["#Audit Version=4.0.0"]
    assert any(line.startswith('"#C2",') for line in lines)
    rows = pl.read_csv(path, comment_prefix="#", infer_schema=False)
    assert sorted(rows.get_column("Customer PKID").to_list()) == ["#Audit Version=9", "#C2", "C1"]
