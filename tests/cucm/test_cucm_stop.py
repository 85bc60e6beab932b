"""Stop an import on SIGTERM or SIGINT, leaving the drop as it was."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import polars as pl
import pytest
from cli_runner import outcome, run_cli, stop_after_line
from cucm_support import CLUSTER_A, write_large_cluster

from vlf_frames import stopping
from vlf_frames.cucm.drop import write_drop_tables

CompletedRun = subprocess.CompletedProcess[str]


def file_contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def stop_after_first_read(source: Path, drop_dir: Path, signum: int) -> CompletedRun:
    """Run the import with -v, and send ``signum`` once it has logged the first export it read.

    The import checks for a stop before each further file, so the stop comes while the
    exports are read, before the drop is written.
    """
    arguments = ["import", "cucm", source, "-o", drop_dir, "--customer-pkid", "c1", "-v"]
    return stop_after_line(arguments, " read ", signum)


@pytest.mark.parametrize(
    ("signum", "message"),
    [(signal.SIGTERM, "Terminated by SIGTERM"), (signal.SIGINT, "Interrupted")],
)
def test_stop_signal_leaves_drop_unchanged(
    tmp_path: Path, signum: int, message: str
) -> None:
    source = tmp_path / "source"
    write_large_cluster(source, users=150_000, devices=300_000, pages=10)
    drop_dir = tmp_path / "drop"
    first = run_cli("import", "cucm", CLUSTER_A, "-o", drop_dir, "--customer-pkid", "c1")
    assert first.returncode == 0, outcome(first)
    before = file_contents(drop_dir)

    result = stop_after_first_read(source, drop_dir, signum)

    assert result.returncode == 128 + signum, outcome(result)
    assert f"{message}; nothing was written to the drop {drop_dir}." in result.stderr
    assert "no report was written" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "panicked" not in result.stderr
    assert file_contents(drop_dir) == before


def test_stop_signal_writes_no_new_drop(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_large_cluster(source, users=150_000, devices=300_000, pages=10)
    drop_dir = tmp_path / "drop"

    result = stop_after_first_read(source, drop_dir, signal.SIGTERM)

    assert result.returncode == 128 + signal.SIGTERM, outcome(result)
    assert not drop_dir.exists()


def test_stop_while_writing_removes_temporary_files(tmp_path: Path) -> None:
    """A signal recorded while the tables are written removes what was written so far."""
    drop_dir = tmp_path / "drop"
    tables = {
        "users": pl.DataFrame({"user_pkid": ["u1"]}),
        "phones": pl.DataFrame({"phone_pkid": ["p1"]}),
    }
    stopping.request(signal.SIGTERM, None)
    try:
        with pytest.raises(stopping.StopRequestedError):
            write_drop_tables(drop_dir, tables)
    finally:
        stopping.reset()

    assert not drop_dir.exists()


def test_stop_while_writing_keeps_existing_drop(tmp_path: Path) -> None:
    drop_dir = tmp_path / "drop"
    drop_dir.mkdir()
    (drop_dir / "users.csv").write_text("user_pkid\nu0\n")
    tables = {
        "users": pl.DataFrame({"user_pkid": ["u1"]}),
        "phones": pl.DataFrame({"phone_pkid": ["p1"]}),
    }
    stopping.request(signal.SIGINT, None)
    try:
        with pytest.raises(stopping.StopRequestedError):
            write_drop_tables(drop_dir, tables)
    finally:
        stopping.reset()

    assert [path.name for path in drop_dir.iterdir()] == ["users.csv"]
    assert (drop_dir / "users.csv").read_text() == "user_pkid\nu0\n"
