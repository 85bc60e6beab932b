"""Removing a run's temporary files during the run, as a clean-up by someone else would."""

from __future__ import annotations

import shutil
from pathlib import Path


def remove_temporary(path: Path, tmp_path: Path) -> None:
    """Remove a folder or file of a run's temporary folder under ``tmp_path``, as a clean-up by
    someone else would. Anything else is refused: the tests run as root in CI."""
    if tmp_path.resolve() not in path.resolve().parents:
        message = f"refusing to remove {path}, which is outside {tmp_path}"
        raise AssertionError(message)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
