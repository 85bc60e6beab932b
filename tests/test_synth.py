"""The ``synth`` command: reproducible, valid synthetic drops (run as a subprocess)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from cli_runner import outcome, stop_after_line

SUBSCRIBERS = 3000
CHUNK_SIZE = 1000  # several part files per table

TABLES = (
    "customers", "sites", "users", "phones", "associated_devices", "device_profiles",
    "remote_destination_profiles", "voicemail_accounts", "webex_accounts", "spark_accounts",
    "pexip_accounts", "contact_center_agents", "microsoft_accounts", "phone_server_phones",
)

# Keys compared after trimming and lower-casing, within a customer.
NORMALIZED_KEYS = {
    "users": ["userid"],
    "phones": ["device_name"],
    "device_profiles": ["profile_name"],
    "remote_destination_profiles": ["profile_name"],
    "voicemail_accounts": ["account_id"],
    "webex_accounts": ["account_id"],
    "spark_accounts": ["account_id"],
    "pexip_accounts": ["account_id"],
    "contact_center_agents": ["platform", "account_id"],
    "microsoft_accounts": ["account_id"],
    "phone_server_phones": ["device_name"],
}
EXACT_KEYS = {
    "customers": "customer_pkid",
    "sites": "site_pkid",
    "users": "user_pkid",
    "phones": "phone_pkid",
}
ACCOUNT_TABLES = (
    "device_profiles", "remote_destination_profiles", "voicemail_accounts", "webex_accounts",
    "spark_accounts", "pexip_accounts", "contact_center_agents", "microsoft_accounts",
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vlf_frames.cli", *args],
        capture_output=True, text=True, check=False, timeout=300,
    )


def synth(out: Path, *extra: str) -> None:
    result = run_cli(
        "synth", str(out), "--subscribers", str(SUBSCRIBERS), "--chunk-size", str(CHUNK_SIZE),
        "-q", *extra,
    )
    assert result.returncode == 0, result.stderr


def read(drop: Path, table: str) -> pl.DataFrame:
    single = drop / f"{table}.parquet"
    if single.exists():
        return pl.read_parquet(single)
    return pl.read_parquet(drop / table / "*.parquet")


def normalized(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_lowercase()


def file_bytes(drop: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(drop)): path.read_bytes()
        for path in sorted(drop.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "drop"
    synth(out)
    return out


def test_synth_same_seed_same_bytes(drop: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    synth(again)
    first = file_bytes(drop)
    second = file_bytes(again)
    assert sorted(first) == sorted(second)
    for name, content in first.items():
        assert second[name] == content, f"{name} differs between two runs with seed 1"


def test_synth_other_seed_other_data(drop: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    synth(other, "--seed", "2")
    assert not read(other, "phones").equals(read(drop, "phones"))


def test_synth_writes_every_table(drop: Path) -> None:
    assert (drop / "customers.parquet").is_file()
    assert (drop / "sites.parquet").is_file()
    for table in TABLES[2:]:
        parts = sorted(path.name for path in (drop / table).iterdir())
        assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet",
                         "part-00003.parquet"], table
        assert read(drop, table).height > 0, f"{table} is empty"
    assert not (drop.parent / "drop.partial").exists()


def test_synth_subscriber_count(drop: Path) -> None:
    users = read(drop, "users")
    assert users.filter(pl.col("site_pkid").is_not_null()).height == SUBSCRIBERS
    assert users.filter(pl.col("site_pkid").is_null()).height > 0


@pytest.mark.parametrize("table", list(EXACT_KEYS))
def test_synth_exact_keys_unique(drop: Path, table: str) -> None:
    keys = read(drop, table)[EXACT_KEYS[table]]
    assert keys.null_count() == 0
    assert keys.n_unique() == keys.len()


@pytest.mark.parametrize("table", list(NORMALIZED_KEYS))
def test_synth_normalized_keys_unique(drop: Path, table: str) -> None:
    frame = read(drop, table)
    keys = frame.select(pl.col("customer_pkid"), *[normalized(c) for c in NORMALIZED_KEYS[table]])
    assert keys.null_count().sum_horizontal().item() == 0
    assert keys.unique().height == frame.height


@pytest.mark.parametrize("table", [t for t in TABLES if t != "customers"])
def test_synth_references_valid(drop: Path, table: str) -> None:
    customers = read(drop, "customers").select("customer_pkid")
    sites = read(drop, "sites").select("site_pkid", "customer_pkid")
    frame = read(drop, table)
    unknown_customers = frame.join(customers, on="customer_pkid", how="anti")
    assert unknown_customers.height == 0
    if table != "sites" and "site_pkid" in frame.columns:
        at_site = frame.filter(pl.col("site_pkid").is_not_null())
        wrong_sites = at_site.join(sites, on=["site_pkid", "customer_pkid"], how="anti")
        assert wrong_sites.height == 0


@pytest.mark.parametrize("table", ACCOUNT_TABLES)
def test_synth_accounts_linked_and_unlinked(drop: Path, table: str) -> None:
    users = read(drop, "users").select("customer_pkid", uid=normalized("userid"))
    accounts = read(drop, table).with_columns(uid=normalized("userid"))
    linked = accounts.join(users, on=["customer_pkid", "uid"], how="semi")
    assert linked.height > 0
    assert accounts.height - linked.height > 0
    assert accounts["userid"].null_count() > 0


def test_synth_varies_identifier_spelling(drop: Path) -> None:
    references = read(drop, "associated_devices")["userid"]
    padded = references.filter(references != references.str.strip_chars())
    upper = references.filter(references == references.str.to_uppercase())
    assert padded.len() > 0
    assert upper.len() > 0


@pytest.mark.parametrize(
    ("table", "column"),
    [("phones", "owner_userid"), ("voicemail_accounts", "userid"), ("pexip_accounts", "userid")],
)
def test_synth_blank_nullable_links(drop: Path, table: str, column: str) -> None:
    links = read(drop, table)[column].drop_nulls()
    blank = links.filter(links.str.strip_chars() == "")
    assert blank.len() > 0


def test_synth_device_classes_present(drop: Path) -> None:
    products = set(read(drop, "phones")["product"].str.strip_chars().str.to_lowercase())
    for product in ("cti port", "cisco spark remote device", "analog phone",
                    "universal device template", "cti remote device"):
        assert product in products


def test_synth_phone_count_tail(drop: Path) -> None:
    phones = read(drop, "phones").select("customer_pkid", uid=normalized("owner_userid"))
    per_owner = phones.drop_nulls().group_by("customer_pkid", "uid").len()
    assert per_owner["len"].max() > 10


def test_synth_associations_dangle_and_repeat(drop: Path) -> None:
    phones = read(drop, "phones").select("customer_pkid", device=normalized("device_name"))
    associations = read(drop, "associated_devices").select(
        "customer_pkid", uid=normalized("userid"), device=normalized("device_name")
    )
    unknown = associations.join(phones, on=["customer_pkid", "device"], how="anti")
    assert unknown.height > 0
    assert associations.unique().height < associations.height


def test_synth_drop_passes_validation(drop: Path) -> None:
    result = run_cli("validate", str(drop))
    assert result.returncode == 0, result.stderr


def test_synth_csv_format(tmp_path: Path) -> None:
    out = tmp_path / "csv"
    synth(out, "--format", "csv")
    assert (out / "customers.csv").is_file()
    users = pl.read_csv(out / "users" / "*.csv", infer_schema=False)
    assert users.filter(pl.col("site_pkid").is_not_null()).height == SUBSCRIBERS


def test_synth_existing_folder_rejected(drop: Path) -> None:
    result = run_cli("synth", str(drop), "--subscribers", "10")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"OUT '{drop}' is a folder that is not empty. Pass the path of a new or empty" in message


def test_synth_invalid_subscribers_rejected(tmp_path: Path) -> None:
    result = run_cli("synth", str(tmp_path / "none"), "--subscribers", "0")
    assert result.returncode == 2, result.stderr
    assert "subscribers must be at least 1" in result.stderr


def test_synth_more_customers_than_subscribers(tmp_path: Path) -> None:
    result = run_cli("synth", str(tmp_path / "none"), "--subscribers", "10", "--customers", "11")
    assert result.returncode == 2, result.stderr
    assert "customers must be at most the 10 subscribers, got 11" in result.stderr
    assert not (tmp_path / "none").exists()


def test_synth_output_file_named(tmp_path: Path) -> None:
    out = tmp_path / "afile"
    out.write_text("", encoding="utf-8")
    result = run_cli("synth", str(out), "--subscribers", "10")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"OUT '{out}' exists and is not a folder" in message
    assert not out.with_name("afile.partial").exists()


def test_synth_under_a_file(tmp_path: Path) -> None:
    """A drop folder below a file cannot be made, and the message names the file."""
    blocker = tmp_path / "afile"
    blocker.write_text("", encoding="utf-8")
    out = blocker / "drop"
    result = run_cli("synth", str(out), "--subscribers", "10")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert (
        f"OUT '{out}' cannot be made, because '{blocker}' is a file, not a folder. "
        "Pass the path of a new or empty folder."
    ) in message
    assert "Errno" not in message
    assert sorted(tmp_path.iterdir()) == [blocker]


def test_synth_messages_start_at_first_line(tmp_path: Path) -> None:
    """Off a terminal the progress bar is off, so no empty line comes before the output."""
    done = run_cli("synth", str(tmp_path / "drop"), "--subscribers", "10")
    failed = run_cli("synth", str(tmp_path / "drop"), "--subscribers", "10")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("Synthetic drop "), done.stderr
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.startswith("error: OUT "), failed.stderr


def test_synth_into_current_folder_rejected(tmp_path: Path) -> None:
    """The drop would replace the folder the command runs in."""
    for out in (".", ".."):
        result = subprocess.run(
            [sys.executable, "-m", "vlf_frames.cli", "synth", out, "--subscribers", "10"],
            capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
        )
        assert result.returncode == 2, result.stderr
        message = " ".join(result.stderr.split())
        assert f"Cannot write the drop to '{out}': it is the current folder or a folder" in message
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("signum", "message"),
    [(signal.SIGINT, "Interrupted"), (signal.SIGTERM, "Terminated by SIGTERM")],
)
def test_synth_stop_leaves_nothing(tmp_path: Path, signum: int, message: str) -> None:
    """A run stopped after its first part files removes them, and the folders it created."""
    out = tmp_path / "new" / "drop"
    arguments = ["synth", out, "--subscribers", "400000", "--chunk-size", "1000", "-vv"]

    result = stop_after_line(arguments, "wrote chunk 1:", signum)

    assert result.returncode == 128 + signum, outcome(result)
    # The run had written part files before the signal.
    assert "wrote chunk 0:" in result.stderr
    assert f"{message}; no drop was written." in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
