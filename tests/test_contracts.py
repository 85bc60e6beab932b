"""The published JSON contracts under schemas/ match the pandera models."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vlf_frames.contracts import contract_files
from vlf_frames.models import REPORT_COLUMNS
from vlf_frames.tables import TABLE_SPECS

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def test_committed_contracts_match_models() -> None:
    expected = contract_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in SCHEMAS_DIR.glob("*.json")}

    assert sorted(committed) == sorted(expected), "run: vlf-frames schemas --output-dir schemas"
    for name, text in expected.items():
        assert committed[name] == text, (
            f"{name} drifted; run: vlf-frames schemas --output-dir schemas"
        )


def run_schemas(output_dir: str) -> subprocess.CompletedProcess[str]:
    """Run ``vlf-frames schemas --output-dir OUTPUT_DIR`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "vlf_frames.cli", "schemas", "--output-dir", output_dir],
        capture_output=True,
        text=True,
        check=False,
    )


def test_schemas_command_writes_every_contract(tmp_path: Path) -> None:
    result = run_schemas(str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.json"))) == len(TABLE_SPECS) + 1


@pytest.mark.parametrize("below", ["", "sub"])
def test_schemas_folder_is_a_file(tmp_path: Path, below: str) -> None:
    """An --output-dir that is a file, or lies below one, is a usage error that names the file."""
    blocker = tmp_path / "afile"
    blocker.write_text("", encoding="utf-8")
    output_dir = blocker / below if below else blocker
    result = run_schemas(str(output_dir))

    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    problem = (
        "exists and is not a folder"
        if not below
        else f"cannot be made, because '{blocker}' is a file, not a folder"
    )
    assert f"--output-dir '{output_dir}' {problem}." in message
    assert "File exists" not in message
    assert sorted(tmp_path.iterdir()) == [blocker]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_schemas_folder_cannot_be_made() -> None:
    """No user, root included, can make a folder in /proc, and the message names the fix."""
    result = run_schemas("/proc/vlf-x")

    assert result.returncode == 3, result.stderr
    message = " ".join(result.stderr.split())
    assert "Cannot write to folder '/proc/vlf-x': No such file or directory." in message
    assert "Pass a folder you can write to, or one that can be created." in message
    assert "Traceback" not in result.stderr


def test_report_contract_lists_columns_in_order() -> None:
    report = json.loads(contract_files()["report.json"])

    assert [column["name"] for column in report["columns"]] == list(REPORT_COLUMNS)
    assert len(report["columns"]) == 35


def test_users_contract_states_key_and_references() -> None:
    users = json.loads(contract_files()["users.json"])

    assert {
        "columns": ["customer_pkid", "userid"],
        "compared_trimmed_and_lower_cased": ["userid"],
    } in users["keys"]
    assert [reference["table"] for reference in users["references"]] == ["customers", "sites"]
