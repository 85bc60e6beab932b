"""Check the options of ``import cucm`` through the command line, where exit codes matter."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import one_line, outcome, run_cli
from cucm_support import CLUSTER_A


@pytest.mark.parametrize(
    ("pkid", "advice"),
    [
        ("c1 ", "Pass --customer-pkid 'c1'."),
        (" c1", "Pass --customer-pkid 'c1'."),
        ("", "it is empty or only white space"),
        ("   ", "it is empty or only white space"),
        ("c1\nc2", "character '\\n' (U+000A)"),
        ("c1\x07", "character '\\x07' (U+0007)"),
        ("c1\u200b", "character '\\u200b' (U+200B)"),
        ("c1\u2028c2", "character '\\u2028' (U+2028)"),
    ],
)
def test_invalid_customer_pkid_rejected(tmp_path: Path, pkid: str, advice: str) -> None:
    drop_dir = tmp_path / "drop"
    result = run_cli("import", "cucm", CLUSTER_A, "-o", drop_dir, "--customer-pkid", pkid)

    assert result.returncode == 2, outcome(result)
    # The value is checked in the raw output, where its spaces are not collapsed.
    assert f"Invalid --customer-pkid {pkid!r}" in result.stderr
    assert advice in one_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert not drop_dir.exists()


def test_customer_pkid_with_inner_space_accepted(tmp_path: Path) -> None:
    drop_dir = tmp_path / "drop"
    result = run_cli("import", "cucm", CLUSTER_A, "-o", drop_dir, "--customer-pkid", "acme 01")

    assert result.returncode == 0, outcome(result)
