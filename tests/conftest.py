"""Fixtures shared by the test modules."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """Yield a folder that every user may enter, for runs as a user other than the owner."""
    root = Path(tempfile.mkdtemp(prefix="vlf-access-"))
    root.chmod(0o777)
    try:
        yield root
    finally:
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(stat.S_IRWXU | path.stat().st_mode)
        shutil.rmtree(root)
