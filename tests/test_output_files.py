"""Permissions and atomic writes of the report and rejects files."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vlf_frames.validation import empty_rejects
from vlf_frames.writing import write_atomically, write_rejects


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def permissions(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_report_follows_umask(tmp_path: Path) -> None:
    report = tmp_path / "report.csv"

    write_atomically(report, "a,b\n1,2\n")

    assert report.read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert permissions(report) == 0o644


@pytest.mark.usefixtures("umask_022")
def test_rejects_readable_by_owner_only(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"

    write_rejects(empty_rejects(), rejects)

    assert rejects.read_text(encoding="utf-8") == "table,file,row,reasons,values\n"
    assert permissions(rejects) == 0o600


def test_no_temporary_file_left(tmp_path: Path) -> None:
    write_atomically(tmp_path / "report.csv", "x\n")

    assert [path.name for path in tmp_path.iterdir()] == ["report.csv"]
