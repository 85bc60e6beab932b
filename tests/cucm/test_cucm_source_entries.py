"""Report the entries of a source folder that the import cannot read, by name."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import one_line, outcome, run_as_other_user, run_cli
from cucm_support import CLUSTER_B, copy_cluster


def test_entries_that_are_not_files_skipped(tmp_path: Path) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    (source / "broken.csv").symlink_to(tmp_path / "missing.csv")
    (source / "older").mkdir()
    (source / "pages.csv").mkdir()
    os.mkfifo(source / "pipe")
    drop_dir = tmp_path / "drop"

    result = run_cli("import", "cucm", source, "-o", drop_dir, "--customer-pkid", "c1", "-q")

    assert result.returncode == 0, outcome(result)
    message = one_line(result.stderr)
    assert f"skipped {source / 'broken.csv'}: it is a symbolic link to " in message
    assert "missing.csv, which does not exist." in message
    assert f"skipped {source / 'older'}: it is a folder." in message
    assert f"skipped {source / 'pages.csv'}: it is a folder." in message
    assert f"skipped {source / 'pipe'}: it is a named pipe (FIFO)." in message


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_broken_link(path: Path) -> None:
    path.symlink_to(path.parent / "missing.csv")


@pytest.mark.parametrize(
    ("name", "make_entry", "description"),
    [
        ("device-2.csv", make_fifo, "a named pipe (FIFO)"),
        ("enduser-2.csv", make_broken_link, "a symbolic link to "),
    ],
)
def test_export_named_entry_not_a_file(
    tmp_path: Path, name: str, make_entry: Callable[[Path], None], description: str
) -> None:
    source = copy_cluster(CLUSTER_B, tmp_path)
    entry = source / name
    make_entry(entry)
    drop_dir = tmp_path / "drop"

    result = run_cli("import", "cucm", source, "-o", drop_dir, "--customer-pkid", "c1")

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    table = name.removesuffix("-2.csv")
    assert f"{entry} names the CUCM table {table} but cannot be read as a file" in message
    assert f"it is {description}" in message
    assert not drop_dir.exists()


def test_unreadable_source_folder(shared_root: Path) -> None:
    source = shared_root / "source"
    shutil.copytree(CLUSTER_B, source)
    source.chmod(0)

    result = run_as_other_user(
        "import",
        "cucm",
        source,
        "-o",
        shared_root / "drop",
        "--customer-pkid",
        "c1",
        home=shared_root,
    )

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert f"Permission denied: the import source {source} cannot be read by this user." in message
    assert "Internal error" not in message
