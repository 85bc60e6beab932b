"""Fixtures shared by the test modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A drop whose larger customers are spread over several part files per table."""
    drop = tmp_path_factory.mktemp("synth") / "drop"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vlf_frames.cli",
            "synth",
            str(drop),
            "--subscribers",
            "3000",
            "--customers",
            "9",
            "--chunk-size",
            "400",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return drop
