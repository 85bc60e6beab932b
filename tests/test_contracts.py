"""The published JSON contracts under schemas/ match the pandera models."""

import json
import subprocess
import sys
from pathlib import Path

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


def test_schemas_command_writes_every_contract(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vlf_frames.cli", "schemas", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.json"))) == len(TABLE_SPECS) + 1


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
