"""Stop the import at CSV and ``run sql`` exports whose rows would be read shifted or cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from cucm_support import BAT_EXPORT, CLUSTER_A, CLUSTER_B, copy_cluster, run_import


def test_device_row_missing_field(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    device = source / "device.csv"
    device.write_text(device.read_text().replace(",stale registration,", ","))
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert str(device) in message
    assert "the row on line 3 has 6 fields, and the header has 7" in message
    assert "Traceback" not in details
    assert not drop_dir.exists()


def test_device_row_extra_field(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    device = source / "device.csv"
    device.write_text(device.read_text().replace("Liam second desk,", "Liam,second desk,"))
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert str(device) in message
    assert "the row on line 4 has 8 fields, and the header has 7" in message
    assert not drop_dir.exists()


def test_device_csv_cut_in_last_line(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    device = source / "device.csv"
    text = device.read_text()
    # The cut leaves model 7 of the CTI port (model 72), which would be a counted phone.
    device.write_text(text[: text.index(",1,72,") + len(",1,7")])
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert str(device) in message
    assert "the row on line 6 has 5 fields, and the header has 7" in message
    assert not drop_dir.exists()


def test_bat_export_short_row(tmp_path: Path) -> None:
    export = tmp_path / "phones-all-details.csv"
    text = BAT_EXPORT.read_text()
    export.write_text(text.replace("Ben desk,", ""))
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(export, drop_dir)

    assert code == 1, details
    assert str(export) in message
    assert "the row on line 3 has 9 fields, and the header has 10" in message
    assert not drop_dir.exists()


def test_runsql_export_cut_short(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_A, tmp_path)
    device = source / "device.txt"
    device.write_bytes(device.read_bytes()[:2000])
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert str(device) in message
    assert "the text ends on line 6 without a line break" in message
    assert "so the file looks cut short" in message
    assert not drop_dir.exists()


@pytest.mark.parametrize("line_end", ["", "\n"])
def test_runsql_complete_last_line_accepted(tmp_path: Path, line_end: str) -> None:
    """A whole last row is read with or without a line break after it."""
    source = copy_cluster(CLUSTER_A, tmp_path)
    device = source / "device.txt"
    rows = device.read_text().split("\n\nadmin:")[0]
    device.write_text(rows + line_end)
    drop_dir = tmp_path / "drop"

    code, _, details = run_import(source, drop_dir)

    assert code == 0, details


def test_enduser_csv_unclosed_quote(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    enduser = source / "enduser.csv"
    enduser.write_text(enduser.read_text().replace("LIAM.NG,", '"LIAM.NG,'))
    drop_dir = tmp_path / "drop"

    code, message, details = run_import(source, drop_dir)

    assert code == 1, details
    assert f"{enduser} names the CUCM table enduser but cannot be read as CSV" in message
    assert "the quote opened in the row on line 3 is never closed" in message
    assert not drop_dir.exists()
