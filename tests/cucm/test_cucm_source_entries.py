"""Report the entries of a source folder that the import cannot read, by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_runner import CLI_COMMAND, cli_environment, one_line, outcome, run_cli
from cucm_support import CLUSTER_B

# Runs a command as user and group 65534 (nobody), because file permissions do not bind root.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def copy_cluster_b(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(CLUSTER_B, source)
    return source


def test_entries_that_are_not_files_skipped(tmp_path: Path) -> None:
    source = copy_cluster_b(tmp_path)
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
    source = copy_cluster_b(tmp_path)
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


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """Return a new folder under the system's temporary folder that every user can enter.

    Pytest's own temporary folders are private to the user that runs the tests.
    """
    folder = Path(tempfile.mkdtemp(prefix="vlf-cucm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(folder)


def run_as_unprivileged(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as this user, or as "nobody" when the tests run as root."""
    prefix = NOBODY if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *CLI_COMMAND, *map(str, arguments)],
        capture_output=True,
        text=True,
        env=cli_environment(),
        check=False,
    )


def test_unreadable_source_folder(shared_folder: Path) -> None:
    if os.geteuid() == 0:
        probe = subprocess.run(
            [*NOBODY, *CLI_COMMAND, "--version"], capture_output=True, check=False
        )
        if probe.returncode != 0:
            pytest.skip("the CLI cannot run as user nobody (setpriv or file access missing)")
    source = shared_folder / "source"
    shutil.copytree(CLUSTER_B, source)
    source.chmod(0)

    result = run_as_unprivileged(
        "import", "cucm", source, "-o", shared_folder / "drop", "--customer-pkid", "c1"
    )

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert f"Permission denied: the import source {source} cannot be read by this user." in message
    assert "Internal error" not in message
