"""Fixture paths and drop readers shared by the CUCM importer tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
from cli_runner import one_line, outcome, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
CLUSTER_A = FIXTURES / "cluster_a"
CLUSTER_B = FIXTURES / "cluster_b"
BAT_EXPORT = FIXTURES / "bat" / "phones-all-details.txt"

DROP_TABLES = (
    "customers",
    "sites",
    "users",
    "phones",
    "associated_devices",
    "device_profiles",
    "remote_destination_profiles",
)


def read_table(drop_dir: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(drop_dir / f"{table}.parquet")


def column_set(drop_dir: Path, table: str, column: str) -> set[str | None]:
    return set(read_table(drop_dir, table)[column].to_list())


def write_large_cluster(folder: Path, users: int, devices: int, pages: int) -> None:
    """Write AXL CSV exports of one cluster with ``users`` users and ``devices`` phones.

    The device and enduser exports are split into ``pages`` files each, as paged AXL
    queries save them, so that the import reads the cluster in several steps.
    """
    folder.mkdir(parents=True, exist_ok=True)
    enduser = pl.select(pl.int_range(0, users).alias("id")).select(
        pl.format("u-{}", "id").alias("pkid"),
        pl.format("user.{}", "id").alias("userid"),
        pl.lit("1").alias("status"),
    )
    device = pl.select(pl.int_range(0, devices).alias("id")).select(
        pl.format("d-{}", "id").alias("pkid"),
        pl.format("SEP{}", "id").alias("name"),
        pl.lit("1").alias("tkclass"),
        pl.lit("36224").alias("tkmodel"),
        pl.format("u-{}", pl.col("id") % users).alias("fkenduser"),
    )
    for page in range(pages):
        enduser.gather_every(pages, offset=page).write_csv(folder / f"enduser-{page}.csv")
        device.gather_every(pages, offset=page).write_csv(folder / f"device-{page}.csv")
    association = {"fkenduser": ["u-0"], "fkdevice": ["d-0"], "tkuserassociation": ["1"]}
    pl.DataFrame(association).write_csv(folder / "enduserdevicemap.csv")


def copy_cluster(cluster: Path, tmp_path: Path) -> Path:
    """Copy a cluster's exports to ``tmp_path / "source"``, to be changed by a test."""
    source = tmp_path / "source"
    shutil.copytree(cluster, source)
    return source


def run_import(source: Path, drop_dir: Path) -> tuple[int, str, str]:
    """Import ``source`` for customer c1 and return the exit code, the message on one line
    and the whole output for a failed assert."""
    result = run_cli("import", "cucm", source, "-o", drop_dir, "--customer-pkid", "c1")
    return result.returncode, one_line(result.stderr), outcome(result)
