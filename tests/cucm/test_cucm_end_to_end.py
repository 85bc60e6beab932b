"""Import CUCM exports with the command line, then build the report from the drop."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from cucm_support import BAT_EXPORT, CLUSTER_A, CLUSTER_B

from vlf_frames.cli import main
from vlf_frames.pipeline import build_report

REPORT_OPTIONS = [
    "--date-time", "2026-01-31 23:59",
    "--provider-name", "CS-P",
    "--host-name", "cucm01",
    "--platform-id", "5e54067d116fa10046313224",
    "--software-version", "21.1",
    "--platform-version", "21.1.0-1630252949",
    "--deployment-mode", "Provider with HCMF",
]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vlf_frames.cli", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result


def read_report_row(output_dir: Path) -> dict[str, str]:
    (report,) = output_dir.glob("vlf_CS-P_cucm01_anonymous_2026-01-31_2359.csv")
    lines = [line for line in report.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    assert len(rows) == 1
    return rows[0]


def test_two_clusters_then_report(tmp_path: Path) -> None:
    drop_dir = tmp_path / "drop"
    output_dir = tmp_path / "out"

    run_cli("import", "cucm", CLUSTER_A, "--output", drop_dir, "--customer-pkid", "cust-001")
    run_cli("import", "cucm", CLUSTER_B, "--output", drop_dir, "--customer-pkid", "cust-001")
    run_cli("report", drop_dir, "--output-dir", output_dir, *REPORT_OPTIONS)

    row = read_report_row(output_dir)
    nonzero = {column: value for column, value in row.items() if value not in {"0", "False"}}
    assert nonzero == {
        "Customer PKID": "cust-001",
        # noah (desk phone and Spark Remote Device), olivia, old.user (inactive), zoe.
        "One Phone (No VM & No WebEx & No Spark)": "4",
        # emma (3 phones over both clusters) and liam (one shared, one in cluster B).
        "Multiple Phones": "2",
        "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)": "1",
        "EM (No Phone & No SNR & No VM & No WebEx & No Spark)": "1",
        # The phone whose owner is not in the enduser export.
        "Standalone Phones (No UCM User)": "1",
        "Standalone Analog Ports (No UCM User)": "1",
        "Site Count": "1",
    }


def test_bat_export_then_report(tmp_path: Path) -> None:
    drop_dir = tmp_path / "drop"
    arguments = ["import", "cucm", str(BAT_EXPORT), "-o", str(drop_dir), "-q"]
    exit_code = main([*arguments, "--customer-pkid", "cust-bat"])
    assert exit_code == 0

    report = build_report(drop_dir).report
    row = report.row(0, named=True)
    assert row["Customer PKID"] == "cust-bat"
    # anna.roth: one desk phone and a Spark Remote Device.
    assert row["One Phone (No VM & No WebEx & No Spark)"] == 1
    # ben.iyer: associated to anna's phone and owner of his own.
    assert row["Multiple Phones"] == 1
    # The phone of the Token user; the CTI port is not counted.
    assert row["Standalone Phones (No UCM User)"] == 1
    assert row["Standalone Analog Ports (No UCM User)"] == 1
    assert row["Site Count"] == 1


def test_missing_column_exit_code(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "device.csv").write_text("pkid,name,tkclass,tkmodel\nd1,SEP1,1,7\n")

    drop_dir = tmp_path / "drop"
    exit_code = main(["import", "cucm", str(source), "-o", str(drop_dir), "--customer-pkid", "c"])

    assert exit_code == 1
    assert not drop_dir.exists()
