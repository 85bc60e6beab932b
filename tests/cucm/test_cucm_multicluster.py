"""Importing several clusters of one customer, and adding to an existing drop."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from cucm_support import BAT_EXPORT, CLUSTER_A, CLUSTER_B, DROP_TABLES, read_table

from vlf_frames.cucm import ImportOptions, import_cucm
from vlf_frames.errors import DropError
from vlf_frames.normalize import normalized_id

OPTIONS = ImportOptions(customer_pkid="cust-001")


@pytest.fixture
def two_cluster_drop(drop_dir: Path) -> Path:
    import_cucm(CLUSTER_A, drop_dir, OPTIONS)
    import_cucm(CLUSTER_B, drop_dir, OPTIONS)
    return drop_dir


def test_shared_users_merged(two_cluster_drop: Path) -> None:
    users = read_table(two_cluster_drop, "users")

    assert users.height == 8
    # "Emma.Holtom " and "LIAM.NG" of cluster B are the users of cluster A.
    emma = users.filter(pl.col("userid") == "emma.holtom")
    assert emma["user_pkid"].to_list() == ["a1e5c2f0-0001-4a6e-9c11-000000000001"]
    assert users.filter(pl.col("userid") == "zoe.park").height == 1


def test_device_name_differing_in_case(two_cluster_drop: Path) -> None:
    phones = read_table(two_cluster_drop, "phones")

    assert phones.height == 13
    shared = phones.filter(normalized_id("device_name") == "sep0a0000000002")
    assert shared["phone_pkid"].to_list() == ["b2d6e3a1-0002-4b7f-8d22-000000000002"]


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        pytest.param("users", ["customer_pkid", "userid"], id="users"),
        pytest.param("phones", ["customer_pkid", "device_name"], id="phones"),
        pytest.param(
            "associated_devices", ["customer_pkid", "userid", "device_name"], id="associations"
        ),
        pytest.param("device_profiles", ["customer_pkid", "profile_name"], id="profiles"),
    ],
)
def test_normalized_keys_unique(two_cluster_drop: Path, table: str, columns: list[str]) -> None:
    frame = read_table(two_cluster_drop, table)
    keys = frame.select(
        normalized_id(name).alias(name) if name != "customer_pkid" else pl.col(name)
        for name in columns
    )

    assert keys.is_duplicated().sum() == 0


def test_reimport_changes_nothing(two_cluster_drop: Path) -> None:
    before = {table: read_table(two_cluster_drop, table) for table in DROP_TABLES}

    summary = import_cucm(CLUSTER_A, two_cluster_drop, OPTIONS)

    assert all(count == 0 for count in summary.rows_added.values())
    for table in DROP_TABLES:
        assert read_table(two_cluster_drop, table).equals(before[table]), table


def test_existing_csv_tables_merged(drop_dir: Path) -> None:
    drop_dir.mkdir()
    (drop_dir / "customers.csv").write_text(
        "customer_pkid,customer_name,public_sector\ncust-000,Other Ltd,yes\n"
    )
    (drop_dir / "users.csv").write_text(
        "user_pkid,customer_pkid,site_pkid,userid,department\nu-0,cust-000,,kim.lee,Sales\n"
    )

    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", public_sector=True))

    assert not (drop_dir / "users.csv").exists()
    assert not (drop_dir / "customers.csv").exists()
    customers = read_table(drop_dir, "customers")
    assert customers.select("customer_pkid", "customer_name", "public_sector").rows() == [
        ("cust-000", "Other Ltd", True),
        ("cust-001", None, True),
    ]
    users = read_table(drop_dir, "users")
    assert users.height == 8
    # The existing row keeps its values and its extra column.
    assert users.row(0, named=True) == {
        "user_pkid": "u-0",
        "customer_pkid": "cust-000",
        "site_pkid": None,
        "userid": "kim.lee",
        "department": "Sales",
    }


def test_table_folder_with_partitions(drop_dir: Path) -> None:
    partition = drop_dir / "phones" / "customer_pkid=cust-000"
    partition.mkdir(parents=True)
    (partition / "part-0.csv").write_text(
        "phone_pkid,site_pkid,device_name,product,owner_userid\n"
        "p-0,,SEP0A0000000001,Cisco 8845,\n"
    )

    import_cucm(CLUSTER_A, drop_dir, OPTIONS)

    assert not (drop_dir / "phones").exists()
    phones = read_table(drop_dir, "phones")
    assert phones.row(0, named=True)["customer_pkid"] == "cust-000"
    # Same device name, other customer: both phones stay.
    assert phones.filter(pl.col("device_name") == "SEP0A0000000001").height == 2


def test_customer_flags_updated(drop_dir: Path) -> None:
    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", customer_name="Acme"))
    import_cucm(CLUSTER_B, drop_dir, ImportOptions(customer_pkid="cust-001", inactive_billing=True))

    customers = read_table(drop_dir, "customers")
    assert customers.select("customer_pkid", "customer_name", "inactive_billing").rows() == [
        ("cust-001", "Acme", True)
    ]


def test_same_cluster_for_two_customers(drop_dir: Path) -> None:
    import_cucm(CLUSTER_A, drop_dir, OPTIONS)

    with pytest.raises(DropError, match="already belongs to customer 'cust-001'"):
        import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-002"))


def test_existing_table_without_key_column(drop_dir: Path) -> None:
    drop_dir.mkdir()
    phones = "phone_pkid,customer_pkid,product\np-0,cust-000,CTI Port\n"
    (drop_dir / "phones.csv").write_text(phones)

    with pytest.raises(DropError, match="has no column 'device_name'"):
        import_cucm(CLUSTER_A, drop_dir, OPTIONS)
    assert (drop_dir / "phones.csv").exists()


def test_new_customer_flags_false(drop_dir: Path) -> None:
    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", public_sector=True))
    import_cucm(CLUSTER_B, drop_dir, OPTIONS)
    import_cucm(BAT_EXPORT, drop_dir, ImportOptions(customer_pkid="cust-002"))

    customers = read_table(drop_dir, "customers")
    assert customers.select("customer_pkid", "public_sector", "inactive_billing").rows() == [
        # An unset flag is false for a new customer and kept for an existing one.
        ("cust-001", True, False),
        ("cust-002", False, False),
    ]
