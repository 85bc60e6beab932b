"""Stop the import at repeated pkids with other values, and at rows without a pkid or name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cucm_support import CLUSTER_B, copy_cluster, read_table, run_import

DEVICE_HEADER = "pkid,name,description,tkclass,tkmodel,fkenduser,fkdevicepool\n"
ENDUSER_HEADER = "pkid,userid,mailid,status\n"


def test_device_pkid_with_two_names(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    page = source / "device-2.csv"
    page.write_text(
        DEVICE_HEADER + "e4a8b5c3-0004-4d9b-8f44-000000000003,SEP0B00000000FF,x,1,36224,,\n"
    )
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert "two rows with pkid 'e4a8b5c3-0004-4d9b-8f44-000000000003'" in message
    assert f"'SEP0B0000000002' in {source / 'device.csv'}" in message
    assert f"'SEP0B00000000FF' in {page}" in message
    assert "Traceback" not in details
    assert not drop_dir.exists()


def test_enduser_pkid_with_two_userids(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    page = source / "enduser-2.csv"
    page.write_text(ENDUSER_HEADER + "c3f7a4b2-0003-4c8a-9e33-000000000002,liam.other,,1\n")
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert "two rows with pkid 'c3f7a4b2-0003-4c8a-9e33-000000000002'" in message
    assert "different userid values" in message
    assert f"'LIAM.NG' in {source / 'enduser.csv'}" in message
    assert f"'liam.other' in {page}" in message
    assert not drop_dir.exists()


def test_overlapping_pages_accepted(tmp_path: Path) -> None:
    """Pages repeat rows unchanged, and a name that differs only in case is the same name."""
    source = copy_cluster(CLUSTER_B, tmp_path)
    rows = (source / "device.csv").read_text().splitlines(keepends=True)
    (source / "device-2.csv").write_text(
        DEVICE_HEADER + rows[3] + rows[4].replace("CSFEMMA", "csfemma")
    )
    drop_dir = tmp_path / "drop"

    code, _, details = run_import(source, drop_dir)

    assert code == 0, details
    assert read_table(drop_dir, "phones").height == 5


@pytest.mark.parametrize(
    ("row", "found"),
    [
        (
            ",SEP0B00000000AA,no pkid,1,36224,,\n",
            "pkid is empty in 1 device row (first: pkid empty, name 'SEP0B00000000AA')",
        ),
        (
            "e4a8b5c3-0004-4d9b-8f44-0000000000aa,  ,no name,1,36224,,\n",
            "name is empty in 1 device row "
            "(first: pkid 'e4a8b5c3-0004-4d9b-8f44-0000000000aa', name empty)",
        ),
    ],
)
def test_device_without_pkid_or_name(tmp_path: Path, row: str, found: str) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    device = source / "device.csv"
    device.write_text(device.read_text() + row)
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert f"{device}: {found}" in message
    assert not drop_dir.exists()


def test_enduser_without_pkid(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    enduser = source / "enduser.csv"
    enduser.write_text(enduser.read_text() + ",ava.king,,1\n")
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert f"{enduser}: pkid is empty in 1 enduser row (first: pkid empty)" in message
    assert not drop_dir.exists()
