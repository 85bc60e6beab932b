"""Fixture paths and drop readers shared by the CUCM importer tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

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
