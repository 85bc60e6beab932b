"""The bundled sample drop: the report file written by the command line, byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLE_DROP = REPOSITORY / "data" / "sample"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REPORT_NAME = "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv"

# Run metadata of the golden report: the reference example's platform, a fixed time.
REPORT_OPTIONS = [
    "--date-time",
    "2026-01-31 23:59",
    "--provider-name",
    "CS-P",
    "--host-name",
    "voss01",
    "--platform-id",
    "5e54067d116fa10046313224",
    "--software-version",
    "21.1",
    "--platform-version",
    "21.1.0-1630252949",
    "--deployment-mode",
    "Provider with HCMF",
]


def run_report(drop_dir: Path, output_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``vlf-frames report`` on a drop in a subprocess, with the golden run metadata."""
    command = [
        sys.executable,
        "-m",
        "vlf_frames.cli",
        "report",
        str(drop_dir),
        "--output-dir",
        str(output_dir),
        *REPORT_OPTIONS,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_sample_report_matches_golden(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    result = run_report(SAMPLE_DROP, output_dir)

    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in output_dir.iterdir())
    assert written == [REPORT_NAME]
    expected = (GOLDEN_DIR / REPORT_NAME).read_bytes()
    actual = (output_dir / REPORT_NAME).read_bytes()
    assert actual.decode("utf-8").splitlines() == expected.decode("utf-8").splitlines()
    assert actual == expected
