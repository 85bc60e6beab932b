"""Pytest fixtures of the CUCM importer tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def drop_dir(tmp_path: Path) -> Path:
    return tmp_path / "drop"
