"""Phones: device classes by product, which user a phone belongs to, and the phone count.

A phone belongs to a user of the same customer when the user's associated devices name it
or its ``owner_userid`` is the user's ``userid``. The phone count of a user is the number of
distinct phones of class ``phone`` or ``analog`` that belong to the user. Spark Remote
Devices count only for a user with no other phone, and several of them count as one.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from drop_builder import (
    association,
    nonzero_counts,
    phone,
    report_row,
    user,
    write_drop,
)

from vlf_frames import rules

ONE_PHONE = "One Phone (No VM & No WebEx & No Spark)"
UCM_USER = "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)"


# product, the counts when it is the only device of a subscriber, the counts when it is a
# standalone phone at site level.
DEVICE_CLASS_CASES = [
    # class phone: every product not listed for another class
    pytest.param("Cisco 8845", {ONE_PHONE: 1}, {"Standalone Phones (No UCM User)": 1}, id="8845"),
    pytest.param(
        "Cisco Unified Client Services Framework",
        {ONE_PHONE: 1},
        {"Standalone Phones (No UCM User)": 1},
        id="jabber-csf",
    ),
    pytest.param(
        "CTI Remote Device",
        {ONE_PHONE: 1},
        {"Standalone Phones (No UCM User)": 1},
        id="cti-remote-device",
    ),
    pytest.param(
        "Third-party SIP Device (Advanced)",
        {ONE_PHONE: 1},
        {"Standalone Phones (No UCM User)": 1},
        id="third-party-sip",
    ),
    pytest.param(
        "Cisco Webex Room Kit",
        {ONE_PHONE: 1},
        {"Standalone Phones (No UCM User)": 1},
        id="room-device",
    ),
    # An ATA model that the analog list does not name is an ordinary phone.
    pytest.param(
        "Cisco ATA 188",
        {ONE_PHONE: 1},
        {"Standalone Phones (No UCM User)": 1},
        id="unlisted-ata-model",
    ),
    # class analog
    pytest.param(
        "Analog Phone",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="analog-phone",
    ),
    pytest.param(
        "Cisco ATA 186",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="ata-186",
    ),
    pytest.param(
        "Cisco ATA 187",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="ata-187",
    ),
    pytest.param(
        "Cisco ATA 190",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="ata-190",
    ),
    pytest.param(
        "Cisco ATA 191",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="ata-191",
    ),
    pytest.param(
        "Cisco ATA 192",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="ata-192",
    ),
    # class spark_remote_device: a phone for a user without others, never standalone
    pytest.param("Cisco Spark Remote Device", {ONE_PHONE: 1}, {}, id="spark-remote-device"),
    pytest.param("Cisco Webex Remote Device", {ONE_PHONE: 1}, {}, id="webex-remote-device"),
    # class cti_port: never counted
    pytest.param("CTI Port", {UCM_USER: 1}, {}, id="cti-port"),
    # class template: never counted
    pytest.param("Universal Device Template", {UCM_USER: 1}, {}, id="universal-template"),
    pytest.param("Cisco 8845 Template", {UCM_USER: 1}, {}, id="model-template"),
    # The product is trimmed and compared without regard to case.
    pytest.param(
        "  cisco 8845 ", {ONE_PHONE: 1}, {"Standalone Phones (No UCM User)": 1}, id="8845-spaced"
    ),
    pytest.param(
        " ANALOG PHONE",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="analog-upper-case",
    ),
    pytest.param(
        "cisco ata 191\t",
        {ONE_PHONE: 1},
        {"Standalone Analog Ports (No UCM User)": 1},
        id="ata-191-lower-case",
    ),
    pytest.param("CISCO SPARK REMOTE DEVICE ", {ONE_PHONE: 1}, {}, id="spark-remote-upper-case"),
    pytest.param(" cisco webex remote device", {ONE_PHONE: 1}, {}, id="webex-remote-lower-case"),
    pytest.param("cti port", {UCM_USER: 1}, {}, id="cti-port-lower-case"),
    pytest.param(" CTI PORT ", {UCM_USER: 1}, {}, id="cti-port-upper-case"),
    pytest.param("universal device template", {UCM_USER: 1}, {}, id="universal-template-lower"),
    pytest.param("Cisco 7841 TEMPLATE ", {UCM_USER: 1}, {}, id="model-template-upper"),
]


@pytest.mark.parametrize(("product", "as_only_device", "as_standalone"), DEVICE_CLASS_CASES)
def test_device_class_as_only_device(
    tmp_path: Path, product: str, as_only_device: dict[str, int], as_standalone: dict[str, int]
) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", product=product, owner="emma.holtom")],
    )

    assert nonzero_counts(report_row(drop)) == as_only_device


@pytest.mark.parametrize(("product", "as_only_device", "as_standalone"), DEVICE_CLASS_CASES)
def test_device_class_as_standalone(
    tmp_path: Path, product: str, as_only_device: dict[str, int], as_standalone: dict[str, int]
) -> None:
    drop = write_drop(tmp_path, phones=[phone("SEP001122334455", product=product)])

    assert nonzero_counts(report_row(drop)) == as_standalone


def test_cti_ports_and_templates_add_no_phone(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[
            phone("SEP001122334455", owner="emma.holtom"),
            phone("CTIEHOLTOM", product="CTI Port", owner="emma.holtom"),
            phone("UDTEHOLTOM", product="Universal Device Template", owner="emma.holtom"),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1}


BELONGS_TO_CASES = [
    pytest.param(
        [phone("SEP001122334455")],
        [association("emma.holtom", "SEP001122334455")],
        id="by-association",
    ),
    pytest.param([phone("SEP001122334455", owner="emma.holtom")], [], id="by-owner"),
    # Association and owner name the same phone: it is one phone, not two.
    pytest.param(
        [phone("SEP001122334455", owner="emma.holtom")],
        [association("emma.holtom", "SEP001122334455")],
        id="by-association-and-owner",
    ),
    # A repeated association row is harmless.
    pytest.param(
        [phone("SEP001122334455")],
        [
            association("emma.holtom", "SEP001122334455"),
            association("emma.holtom", "SEP001122334455"),
        ],
        id="duplicate-association",
    ),
    pytest.param(
        [phone("SEP001122334455", owner="EMMA.HOLTOM")],
        [association(" Emma.Holtom ", "sep001122334455")],
        id="association-and-owner-differ-in-case",
    ),
]


@pytest.mark.parametrize(("phones", "associations"), BELONGS_TO_CASES)
def test_phone_belongs_to_user(tmp_path: Path, phones: list, associations: list) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=phones,
        associated_devices=associations,
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1}


def test_phone_owned_and_associated_elsewhere(tmp_path: Path) -> None:
    # One phone by owner, another by association: two distinct phones.
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[
            phone("SEP001122334455", owner="emma.holtom"),
            phone("SEP001122334466"),
        ],
        associated_devices=[association("emma.holtom", "SEP001122334466")],
    )

    assert nonzero_counts(report_row(drop)) == {"Multiple Phones": 1}


@pytest.mark.parametrize(
    ("associations", "owner"),
    [
        pytest.param(
            [association("raj.patel", "SEP001122334455")], "emma.holtom", id="owner-and-association"
        ),
        pytest.param(
            [
                association("emma.holtom", "SEP001122334455"),
                association("raj.patel", "SEP001122334455"),
            ],
            None,
            id="two-associations",
        ),
    ],
)
def test_shared_phone_counts_for_each_user(
    tmp_path: Path, associations: list, owner: str | None
) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom"), user("raj.patel")],
        phones=[phone("SEP001122334455", owner=owner)],
        associated_devices=associations,
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 2}


def test_shared_phone_with_own_phone_is_multiple(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom"), user("raj.patel")],
        phones=[
            phone("SEP001122334455", owner="emma.holtom"),
            phone("SEP001122334466", owner="raj.patel"),
        ],
        associated_devices=[association("raj.patel", "SEP001122334455")],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1, "Multiple Phones": 1}


SPARK_REMOTE_CASES = [
    pytest.param(["Cisco Spark Remote Device"], {ONE_PHONE: 1}, id="one-spark-remote"),
    # Several Spark Remote Devices count as one phone.
    pytest.param(
        ["Cisco Spark Remote Device", "Cisco Spark Remote Device"],
        {ONE_PHONE: 1},
        id="two-spark-remote",
    ),
    pytest.param(
        ["Cisco Spark Remote Device", "Cisco Webex Remote Device", "Cisco Spark Remote Device"],
        {ONE_PHONE: 1},
        id="three-spark-and-webex-remote",
    ),
    # A Spark Remote Device counts only when the user has no other phone.
    pytest.param(
        ["Cisco 8845", "Cisco Spark Remote Device"], {ONE_PHONE: 1}, id="phone-and-spark-remote"
    ),
    pytest.param(
        ["Cisco ATA 191", "Cisco Spark Remote Device"], {ONE_PHONE: 1}, id="analog-and-spark-remote"
    ),
    pytest.param(
        ["Cisco 8845", "Cisco Unified Client Services Framework", "Cisco Spark Remote Device"],
        {"Multiple Phones": 1},
        id="two-phones-and-spark-remote",
    ),
    pytest.param(
        [
            "Cisco 8845",
            "Cisco Spark Remote Device",
            "Cisco Spark Remote Device",
        ],
        {ONE_PHONE: 1},
        id="phone-and-two-spark-remote",
    ),
    # CTI ports and templates are no phones, so the Spark Remote Device still counts.
    pytest.param(
        ["CTI Port", "Cisco Spark Remote Device"], {ONE_PHONE: 1}, id="cti-port-and-spark-remote"
    ),
    pytest.param(
        ["Universal Device Template", "Cisco Webex Remote Device"],
        {ONE_PHONE: 1},
        id="template-and-webex-remote",
    ),
]


@pytest.mark.parametrize(("products", "expected"), SPARK_REMOTE_CASES)
def test_phone_count_with_spark_remote_devices(
    tmp_path: Path, products: list[str], expected: dict[str, int]
) -> None:
    phones = [
        phone(f"DEVICE{number:02d}", product=product, owner="emma.holtom")
        for number, product in enumerate(products, start=1)
    ]
    drop = write_drop(tmp_path, users=[user("emma.holtom")], phones=phones)

    assert nonzero_counts(report_row(drop)) == expected


def test_spark_remote_device_of_user_is_not_standalone(tmp_path: Path) -> None:
    # The user has another phone, so the Spark Remote Device adds nothing anywhere.
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[
            phone("SEP001122334455", owner="emma.holtom"),
            phone("CSREHOLTOM", product="Cisco Spark Remote Device", owner="emma.holtom"),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1}


def test_phone_without_user_is_standalone(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[
            phone("SEP001122334455", owner="emma.holtom"),
            phone("SEPLOBBY00001"),
            phone("SEPLOBBY00002", product="Cisco 7821"),
            phone("ANFAX00001", product="Analog Phone"),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {
        ONE_PHONE: 1,
        "Standalone Phones (No UCM User)": 2,
        "Standalone Analog Ports (No UCM User)": 1,
    }


@pytest.mark.parametrize(
    ("owner", "associations"),
    [
        pytest.param("left.company", [], id="owner-matches-no-user"),
        pytest.param(
            None, [association("left.company", "SEP001122334455")], id="association-user-unknown"
        ),
    ],
)
def test_phone_of_unknown_user_is_standalone(
    tmp_path: Path, owner: str | None, associations: list
) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner=owner)],
        associated_devices=associations,
    )

    assert nonzero_counts(report_row(drop)) == {
        UCM_USER: 1,
        "Standalone Phones (No UCM User)": 1,
    }


def test_association_to_unknown_phone_links_nothing(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        associated_devices=[association("emma.holtom", "SEPDECOMMISSIONED")],
    )

    assert nonzero_counts(report_row(drop)) == {UCM_USER: 1}


@pytest.mark.parametrize("users", [3, 2**32], ids=["64-bit-links", "128-bit-links"])
def test_links_packed_for_any_user_count(users: int) -> None:
    # A part of 2**30 users or more packs its links in 128 bits. The frames stand in for
    # resolved links, because no test can hold that many users.
    high = users - 1
    owners = pl.DataFrame(
        {"user_id": [0, high, None], "phone_id": [7, 2**32 - 1, 5], "count_role": [1, 2, 1]},
        schema={"user_id": pl.UInt32, "phone_id": pl.UInt32, "count_role": pl.UInt8},
    )
    associations = pl.DataFrame(
        {
            "user_id": [0, high, 0, 1],
            "phone_id": [7, 2**32 - 1, 3, None],
            "count_role": [1, 2, 0, None],
        },
        schema={"user_id": pl.UInt32, "phone_id": pl.UInt32, "count_role": pl.UInt8},
    )

    ownership = rules.phone_ownership(owners, associations, users)

    assert ownership.rows() == [(0, 3, 0), (0, 7, 1), (high, 2**32 - 1, 2)]
