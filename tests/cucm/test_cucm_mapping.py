"""Mapping one CUCM cluster's table exports and a BAT export to drop tables."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import polars as pl
import pytest
from cucm_support import BAT_EXPORT, CLUSTER_A, CLUSTER_B, column_set, read_table

from vlf_frames.cucm import ImportOptions, import_cucm
from vlf_frames.cucm.exports import ExportError


@pytest.fixture
def cluster_a_drop(drop_dir: Path) -> Path:
    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001"))
    return drop_dir


def products(drop_dir: Path) -> dict[str, str]:
    phones = read_table(drop_dir, "phones")
    return dict(zip(phones["device_name"].to_list(), phones["product"].to_list(), strict=True))


def test_phones_are_class_one_without_templates(cluster_a_drop: Path) -> None:
    assert products(cluster_a_drop) == {
        "SEP0A0000000001": "Cisco 8845",
        "SEP0A0000000002": "Cisco 8845",
        "SEP0A0000000003": "Cisco 8845",
        # The typemodel export names it "Cisco Webex Remote Device", but the built-in name wins.
        "SRD_NOAH": "Cisco Spark Remote Device",
        "CSFOLIVIA": "Cisco Unified Client Services Framework",
        "CTIPORT_IVR_1": "CTI Port",
        "SEP0A0000000009": "Cisco 8845",
        "AN0A0000000A01": "Analog Phone",
        "SEP0A000000000C": "Cisco 7960",
    }


def test_owners_resolved_through_enduser(cluster_a_drop: Path) -> None:
    phones = read_table(cluster_a_drop, "phones")
    owners = dict(zip(phones["device_name"], phones["owner_userid"], strict=True))

    assert owners["SEP0A0000000001"] == "emma.holtom"
    assert owners["SRD_NOAH"] == "noah.berg"
    assert owners["SEP0A000000000C"] == "old.user"
    # The owner pkid of this phone is not in the enduser export.
    assert owners["SEP0A0000000009"] is None
    assert owners["SEP0A0000000002"] is None


def test_phone_associated_to_two_users(cluster_a_drop: Path) -> None:
    associations = read_table(cluster_a_drop, "associated_devices")
    users_of_shared_phone = associations.filter(pl.col("device_name") == "SEP0A0000000002")

    assert sorted(users_of_shared_phone["userid"].to_list()) == ["emma.holtom", "liam.ng"]


def test_associations_only_to_phones(cluster_a_drop: Path) -> None:
    associations = read_table(cluster_a_drop, "associated_devices")

    # The Token user's CTI port, the missing device and the profile rows are not written.
    assert sorted(associations.select("userid", "device_name").rows()) == [
        ("emma.holtom", "SEP0A0000000002"),
        ("liam.ng", "SEP0A0000000002"),
        ("noah.berg", "SEP0A0000000003"),
        ("noah.berg", "SRD_NOAH"),
        ("olivia.wu", "CSFOLIVIA"),
    ]


def test_token_user_skipped_inactive_kept(cluster_a_drop: Path) -> None:
    userids = column_set(cluster_a_drop, "users", "userid")

    assert userids == {
        "emma.holtom",
        "liam.ng",
        "noah.berg",
        "olivia.wu",
        "ava.king",
        "old.user",
        "mia.costa",
    }


def test_profiles_get_associated_or_owning_user(cluster_a_drop: Path) -> None:
    device_profiles = read_table(cluster_a_drop, "device_profiles")
    remote_destination_profiles = read_table(cluster_a_drop, "remote_destination_profiles")

    assert device_profiles.select("profile_name", "userid").rows() == [("UDP_AVA", "ava.king")]
    assert remote_destination_profiles.select("profile_name", "userid").rows() == [
        ("RDP_OLIVIA", "olivia.wu")
    ]


def test_customer_and_single_site(cluster_a_drop: Path) -> None:
    customers = read_table(cluster_a_drop, "customers")
    sites = read_table(cluster_a_drop, "sites")

    assert customers["customer_pkid"].to_list() == ["cust-001"]
    assert sites.select("site_pkid", "customer_pkid", "site_name").rows() == [
        ("cucm-site:cust-001:default", "cust-001", "Default")
    ]
    assert column_set(cluster_a_drop, "phones", "site_pkid") == {"cucm-site:cust-001:default"}
    assert column_set(cluster_a_drop, "users", "site_pkid") == {"cucm-site:cust-001:default"}


def test_unknown_model_without_typemodel(tmp_path: Path, drop_dir: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(CLUSTER_A, source)
    (source / "models.txt").unlink()

    summary = import_cucm(source, drop_dir, ImportOptions(customer_pkid="cust-001"))

    names = products(drop_dir)
    assert names["SEP0A0000000001"] == "CUCM model 36224"
    assert names["SEP0A000000000C"] == "Cisco 7960"
    assert names["SRD_NOAH"] == "Cisco Spark Remote Device"
    assert summary.findings["phones of a model without a name (no typemodel row)"] == 4


def test_missing_table_export(tmp_path: Path, drop_dir: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(CLUSTER_A, source)
    (source / "enduserdevicemap.txt").unlink()

    with pytest.raises(ExportError, match="no enduserdevicemap export"):
        import_cucm(source, drop_dir, ImportOptions(customer_pkid="cust-001"))


def test_bat_export_mapping(drop_dir: Path) -> None:
    import_cucm(BAT_EXPORT, drop_dir, ImportOptions(customer_pkid="cust-bat"))

    phones = read_table(drop_dir, "phones")
    assert phones.select("device_name", "product", "owner_userid").rows() == [
        ("SEP0C0000000001", "Cisco 8845", "anna.roth"),
        ("SEP0C0000000002", "Cisco 7960", "BEN.IYER"),
        ("CTIPORT_C_1", "CTI Port", None),
        ("SRD_ANNA", "Cisco Webex Remote Device", "anna.roth"),
        ("AN0C00000001", "Analog Phone", None),
        # Owned by the Token user, so written without owner.
        ("SEP0C0000000003", "Cisco 8845", None),
    ]
    assert phones["phone_pkid"][0] == "cucm-device:cust-bat:sep0c0000000001"
    users = read_table(drop_dir, "users")
    assert users.select("user_pkid", "userid").rows() == [
        ("cucm-user:cust-bat:anna.roth", "anna.roth"),
        ("cucm-user:cust-bat:ben.iyer", "BEN.IYER"),
    ]
    associations = read_table(drop_dir, "associated_devices")
    assert associations.select("userid", "device_name").rows() == [
        ("anna.roth", "SEP0C0000000001"),
        ("ben.iyer", "SEP0C0000000001"),
    ]


def test_bat_and_device_export_together(tmp_path: Path, drop_dir: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(CLUSTER_A, source)
    shutil.copy(BAT_EXPORT, source / "bat.csv")

    with pytest.raises(ExportError, match="both a BAT phone export and a device table export"):
        import_cucm(source, drop_dir, ImportOptions(customer_pkid="cust-001"))


def test_bat_phone_without_device_type(tmp_path: Path, drop_dir: Path) -> None:
    export = tmp_path / "phones.csv"
    export.write_text("Device Name,Device Type,Owner User ID\nSEP0E0000000001,,erin.hale\n")

    with pytest.raises(ExportError, match="1 phones have an empty Device Type"):
        import_cucm(export, drop_dir, ImportOptions(customer_pkid="cust-bat"))


def test_enduser_without_status_warns(
    tmp_path: Path, drop_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "source"
    shutil.copytree(CLUSTER_B, source)
    enduser_path = source / "enduser.csv"
    pl.read_csv(enduser_path, infer_schema=False).drop("status").write_csv(enduser_path)
    with_status_drop = tmp_path / "with-status"
    import_cucm(CLUSTER_B, with_status_drop, ImportOptions(customer_pkid="cust-002"))

    with caplog.at_level(logging.WARNING, logger="vlf_frames.cucm"):
        import_cucm(source, drop_dir, ImportOptions(customer_pkid="cust-002"))

    warnings = [record.getMessage() for record in caplog.records]
    assert any(
        str(enduser_path) in message
        and "no column 'status'" in message
        and "inactive users" in message
        for message in warnings
    ), warnings
    assert column_set(drop_dir, "users", "userid") == column_set(
        with_status_drop, "users", "userid"
    )
