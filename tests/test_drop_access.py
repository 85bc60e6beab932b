"""Drop entries that cannot be read as the table they are named after: broken links, named pipes,
files of the other format, and files or folders this user may not read."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cli_runner import (
    FULL_OPTIONS,
    FULL_REPORT_NAME,
    one_line,
    outcome,
    run_as_other_user,
    run_cli,
)
from drop_builder import customer, site, user, write_drop


def sample_drop(root: Path) -> Path:
    customers = [customer("C1")]
    sites = [site("S1", "C1")]
    users = [user("anna"), user("ben")]
    return write_drop(root, customers=customers, sites=sites, users=users)


def run_report(drop: Path, output_dir: Path) -> tuple[int, str]:
    result = run_cli("report", drop, "--output-dir", output_dir, *FULL_OPTIONS)
    assert "Traceback" not in result.stderr, outcome(result)
    return result.returncode, one_line(result.stderr)


def run_validate(drop: Path) -> tuple[int, str]:
    result = run_cli("validate", drop)
    assert "Traceback" not in result.stderr, outcome(result)
    return result.returncode, one_line(result.stderr)


def test_broken_link_named_like_table(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    (drop / "webex_accounts.csv").unlink(missing_ok=True)
    (drop / "webex_accounts.csv").symlink_to(tmp_path / "missing.csv")

    for exit_code, message in (run_report(drop, tmp_path / "out"), run_validate(drop)):
        assert exit_code == 1, message
        assert "webex_accounts.csv' is a symbolic link to" in message
        assert "missing.csv', which does not exist" in message
    assert not (tmp_path / "out" / FULL_REPORT_NAME).exists()


def test_broken_link_in_table_folder(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    folder = drop / "users"
    (folder / "2026-01").mkdir(parents=True)
    (drop / "users.csv").rename(folder / "2026-01" / "part-0.csv")
    (folder / "part-1.csv").symlink_to(tmp_path / "gone" / "part-1.csv")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "Table users:" in message
    assert "part-1.csv' is a symbolic link to" in message


def test_named_pipe_as_table(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    (drop / "webex_accounts.csv").unlink(missing_ok=True)
    os.mkfifo(drop / "webex_accounts.csv")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "webex_accounts.csv' is neither a file nor a folder" in message


def report_bytes(drop: Path, output_dir: Path) -> bytes:
    exit_code, message = run_report(drop, output_dir)
    assert exit_code == 0, message
    return (output_dir / FULL_REPORT_NAME).read_bytes()


def test_linked_folder_in_table_folder_read(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path / "plain")
    expected = report_bytes(drop, tmp_path / "plain-out")
    # The users' file lies in a folder outside the drop that a link in users/ points to, and a
    # link back to users/ makes a loop.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (drop / "users.csv").rename(elsewhere / "part-0.csv")
    (drop / "users").mkdir()
    (drop / "users" / "2026-01").symlink_to(elsewhere)
    (elsewhere / "loop").symlink_to(drop / "users")

    assert report_bytes(drop, tmp_path / "linked-out") == expected


def test_parquet_file_named_csv(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    table = pa.table({"user_pkid": ["U1"], "customer_pkid": ["C1"], "site_pkid": ["S1"]})
    pq.write_table(table, drop / "webex_accounts.csv")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "webex_accounts.csv' is a Parquet file. Rename it to end in .parquet." in message


def test_csv_file_named_parquet(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    (drop / "users.csv").rename(drop / "users.parquet")

    for exit_code, message in (run_report(drop, tmp_path / "out"), run_validate(drop)):
        assert exit_code == 1, message
        assert "users.parquet' is text, not a Parquet file" in message
        assert "Rename it to end in .csv" in message


def report_as_other_user(drop: Path, root: Path) -> tuple[int, str]:
    output_dir = root / "out"
    result = run_as_other_user("report", drop, "--output-dir", output_dir, *FULL_OPTIONS, home=root)
    assert "Traceback" not in result.stderr, outcome(result)
    return result.returncode, one_line(result.stderr)


def test_unreadable_file_named(shared_root: Path) -> None:
    drop = sample_drop(shared_root)
    (drop / "users.csv").chmod(0)

    exit_code, message = report_as_other_user(drop, shared_root)

    assert exit_code == 1, message
    assert f"Table users: Permission denied: '{drop / 'users.csv'}'" in message
    assert "Give the user that runs vlf-frames read access" in message


def test_unreadable_drop_folder_named(shared_root: Path) -> None:
    drop = sample_drop(shared_root)
    drop.chmod(0o311)

    exit_code, message = report_as_other_user(drop, shared_root)

    assert exit_code == 1, message
    assert f"Permission denied: '{drop}' of the inventory drop" in message


def test_unreadable_table_subfolder_named(shared_root: Path) -> None:
    drop = sample_drop(shared_root)
    month = drop / "users" / "2026-01"
    month.mkdir(parents=True)
    (drop / "users.csv").rename(month / "part-0.csv")
    (drop / "users" / "2026-02").mkdir()
    (drop / "users" / "2026-02").chmod(0)

    exit_code, message = report_as_other_user(drop, shared_root)

    assert exit_code == 1, message
    assert f"Permission denied: '{drop / 'users' / '2026-02'}'" in message
