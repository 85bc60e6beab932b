"""Drop entries that cannot be read as the table they are named after: broken links, named pipes,
files of the other format, and files or folders this user may not read."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
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


def table_folder_drop(root: Path) -> Path:
    """Return a sample drop whose users are in the folder users/, as part-0.csv."""
    drop = sample_drop(root)
    (drop / "users").mkdir()
    (drop / "users.csv").rename(drop / "users" / "part-0.csv")
    return drop


def test_hidden_data_file_warned(tmp_path: Path) -> None:
    """Spark marks files that are not data with . or _, so a data file named so is skipped."""
    drop = table_folder_drop(tmp_path)
    (drop / "users" / "_part-1.csv").write_bytes((drop / "users" / "part-0.csv").read_bytes())

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 0, message
    assert f"Ignored 1 file in {drop / 'users'}" in message
    assert "_part-1.csv. Rename it if it contains rows of the table." in message


def test_file_linked_twice_rejected(tmp_path: Path) -> None:
    drop = table_folder_drop(tmp_path)
    (drop / "users" / "part-1.csv").symlink_to("part-0.csv")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "part-1.csv' are the same file, reached through a symbolic link" in message


def test_link_to_drop_folder_rejected(tmp_path: Path) -> None:
    drop = table_folder_drop(tmp_path)
    (drop / "users" / "sub").symlink_to("..")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert f"'{drop / 'users' / 'sub'}' is a symbolic link to '{drop.resolve()}'" in message
    assert "a folder that contains the table folder" in message


def test_link_loop_named(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    (drop / "webex_accounts.csv").unlink(missing_ok=True)
    (drop / "webex_accounts.csv").symlink_to("webex_accounts.csv")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "webex_accounts.csv' is a symbolic link that leads back to itself" in message


def test_gzip_file_named(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    path = drop / "users.csv"
    path.write_bytes(gzip.compress(path.read_bytes()))

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "users.csv' is compressed with gzip. Decompress it" in message


def test_empty_parquet_file_not_text(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    (drop / "webex_accounts.csv").unlink(missing_ok=True)
    (drop / "webex_accounts.parquet").write_bytes(b"")

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert "webex_accounts.parquet' cannot be read as Parquet" in message
    assert "is text" not in message


def test_output_dir_inside_drop_rejected(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    before = sorted(drop.rglob("*"))

    exit_code, message = run_report(drop, drop / "users")

    assert exit_code == 2, message
    assert f"--output-dir '{drop / 'users'}' is inside the inventory drop" in message
    assert sorted(drop.rglob("*")) == before


def test_stale_rejects_file_warned(tmp_path: Path) -> None:
    drop = sample_drop(tmp_path)
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    rejects = output_dir / FULL_REPORT_NAME.replace("_anonymous_", "_rejects_")
    rejects.write_text("table,file,row,reasons,values\n", encoding="utf-8")

    exit_code, message = run_report(drop, output_dir)

    assert exit_code == 0, message
    assert f"{rejects} comes from an earlier run with --on-invalid quarantine" in message


def test_paths_under_closed_folder_named(shared_root: Path) -> None:
    """Paths in a folder that this user may not enter get their own messages, not a bug."""
    closed = shared_root / "closed"
    drop = sample_drop(closed)
    settings = closed / "settings.toml"
    settings.write_text('provider_name = "CS-P"\n', encoding="utf-8")
    open_drop = sample_drop(shared_root / "open")
    closed.chmod(0o700)
    cases = [
        (("validate", drop), 1, f"Permission denied: '{drop}' of the inventory drop"),
        (
            ("report", open_drop, "--output-dir", closed / "out", *FULL_OPTIONS),
            3,
            f"Cannot write to the output folder '{closed / 'out'}': Permission denied",
        ),
        (
            ("report", open_drop, "--output-dir", shared_root / "out", "--config", settings),
            2,
            f"Settings file '{settings}' cannot be read: permission denied",
        ),
    ]

    for arguments, expected_code, expected_message in cases:
        result = run_as_other_user(*arguments, home=shared_root)
        assert "Traceback" not in result.stderr, outcome(result)
        assert result.returncode == expected_code, outcome(result)
        assert expected_message in one_line(result.stderr)


def test_hidden_link_leaves_folder_read(tmp_path: Path) -> None:
    """A hidden link to a folder of the table does not hide the folder itself."""
    drop = table_folder_drop(tmp_path / "plain")
    expected = report_bytes(drop, tmp_path / "plain-out")
    (drop / "users" / "sub").mkdir()
    (drop / "users" / "part-0.csv").rename(drop / "users" / "sub" / "part-0.csv")
    # Listed before sub/ or after it, depending on the file system.
    for name in ("_prev", ".old", "_zz"):
        (drop / "users" / name).symlink_to("sub")

    assert report_bytes(drop, tmp_path / "linked-out") == expected


def test_output_dir_through_link_rejected(tmp_path: Path) -> None:
    """A table folder that links outside the drop is still part of the drop."""
    drop = table_folder_drop(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (drop / "users").rename(elsewhere)
    (drop / "users").symlink_to(elsewhere)

    exit_code, message = run_report(drop, elsewhere)

    assert exit_code == 2, message
    assert "is inside the inventory drop" in message
    assert sorted(path.name for path in elsewhere.iterdir()) == ["part-0.csv"]


@pytest.mark.parametrize(
    ("compress", "name"),
    [(bz2.compress, "bzip2"), (lzma.compress, "xz")],
)
def test_other_compression_named(
    tmp_path: Path, compress: Callable[[bytes], bytes], name: str
) -> None:
    drop = sample_drop(tmp_path)
    path = drop / "users.csv"
    path.write_bytes(compress(path.read_bytes()))

    exit_code, message = run_report(drop, tmp_path / "out")

    assert exit_code == 1, message
    assert f"users.csv' is compressed with {name}. Decompress it" in message
