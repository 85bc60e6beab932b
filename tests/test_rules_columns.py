"""Report columns that are not subscriber buckets.

Standalone phones, analog ports, WebEx and voicemail accounts count at site level only, and
standalone Spark accounts at any level. Contact center agents count at site level by
platform. A Microsoft account is counted when it has Teams or an Office 365 license and is
not linked to a user with a Cisco service, and the Microsoft side of Cisco users shows only
in the two overlay columns.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from drop_builder import (
    account,
    agent,
    customer,
    merge_tables,
    ms_account,
    nonzero_counts,
    phone,
    phone_server_phone,
    profile,
    report_row,
    site,
    user,
    user_with,
    write_drop,
)

ONE_PHONE = "One Phone (No VM & No WebEx & No Spark)"
UCM_USER = "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)"


# Users With More Than 10 Phones and Standard Users with Spark


@pytest.mark.parametrize(
    ("phones", "services", "expected"),
    [
        pytest.param(2, ("spark", "vm"), 1, id="two-phones-spark-vm"),
        pytest.param(2, ("spark", "webex"), 1, id="two-phones-spark-webex"),
        pytest.param(3, ("spark", "vm", "webex"), 1, id="three-phones-spark-vm-webex"),
        pytest.param(2, ("spark",), 0, id="two-phones-spark-only"),
        pytest.param(2, ("vm", "webex"), 0, id="two-phones-no-spark"),
        pytest.param(2, ("spark", "snr", "em"), 0, id="two-phones-spark-snr-em"),
        pytest.param(1, ("spark", "vm"), 0, id="one-phone-spark-vm"),
        pytest.param(0, ("spark", "webex"), 0, id="no-phone-spark-webex"),
    ],
)
def test_standard_users_with_spark(
    tmp_path: Path, phones: int, services: tuple[str, ...], expected: int
) -> None:
    drop = write_drop(tmp_path, **user_with("emma.holtom", phones=phones, services=services))

    assert report_row(drop)["Standard Users with Spark"] == expected


def test_standard_users_with_spark_site_level_only(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path, **user_with("svc.lab", site=None, phones=2, services=("spark", "vm"))
    )

    assert report_row(drop)["Standard Users with Spark"] == 0


def test_more_than_ten_phones_site_level_only(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, **user_with("svc.lab", site=None, phones=11))

    assert nonzero_counts(report_row(drop)) == {}


# Standalone accounts


STANDALONE_ACCOUNT_COLUMNS = [
    pytest.param("webex_accounts", "Standalone WebEx (No UCM User)", id="webex"),
    pytest.param("voicemail_accounts", "Standalone Voicemail (No UCM User)", id="voicemail"),
]


@pytest.mark.parametrize(("table", "column"), STANDALONE_ACCOUNT_COLUMNS)
def test_standalone_account_at_site_level(tmp_path: Path, table: str, column: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        **{
            table: [
                account(None),
                account("left.company"),
                account("Left.Company "),
                account("emma.holtom"),
            ]
        },
    )
    row = report_row(drop)

    # Each row counts: two rows with the same unmatched user id are two accounts.
    assert row[column] == 3


@pytest.mark.parametrize(("table", "column"), STANDALONE_ACCOUNT_COLUMNS)
def test_standalone_account_at_customer_level_not_counted(
    tmp_path: Path, table: str, column: str
) -> None:
    drop = write_drop(
        tmp_path,
        **{table: [account(None, site=None), account("left.company", site=None)]},
    )

    assert nonzero_counts(report_row(drop)) == {}


def test_standalone_spark_any_level(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom"), user("svc.reception", site=None)],
        spark_accounts=[
            account(None),
            account(None, site=None),
            account("left.company", site=None),
            account("emma.holtom", site=None),
            account("svc.reception"),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {
        "Spark (No Phone & No EM & No SNR & No VM & No WebEx)": 1,
        "Standalone Spark (No UCM User)": 3,
    }


def test_standalone_service_accounts_not_in_buckets(tmp_path: Path) -> None:
    # Accounts with no UCM user add no subscriber. Profiles with no user count nowhere.
    drop = write_drop(
        tmp_path,
        webex_accounts=[account(None)],
        voicemail_accounts=[account(None)],
        spark_accounts=[account(None)],
        device_profiles=[profile(None), profile("left.company")],
        remote_destination_profiles=[profile(None)],
    )

    assert nonzero_counts(report_row(drop)) == {
        "Standalone WebEx (No UCM User)": 1,
        "Standalone Voicemail (No UCM User)": 1,
        "Standalone Spark (No UCM User)": 1,
    }


# Contact center agents


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        pytest.param("UCCE", {"Contact Center Enterprise": 1}, id="ucce"),
        pytest.param("ucce", {"Contact Center Enterprise": 1}, id="ucce-lower-case"),
        pytest.param("Ucce", {"Contact Center Enterprise": 1}, id="ucce-mixed-case"),
        pytest.param("UCCX", {"Contact Center Express": 1}, id="uccx"),
        pytest.param("uccx", {"Contact Center Express": 1}, id="uccx-lower-case"),
        pytest.param("uCcX", {"Contact Center Express": 1}, id="uccx-mixed-case"),
    ],
)
def test_contact_center_platform(tmp_path: Path, platform: str, expected: dict[str, int]) -> None:
    drop = write_drop(tmp_path, contact_center_agents=[agent(platform)])

    assert nonzero_counts(report_row(drop)) == expected


def test_contact_center_site_level_only(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        contact_center_agents=[
            agent("UCCE", account_id="4001"),
            agent("UCCE", account_id="4002", site=None),
            agent("UCCX", account_id="4001"),
            agent("UCCX", account_id="4003"),
            agent("UCCX", account_id="4004", site=None),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {
        "Contact Center Enterprise": 1,
        "Contact Center Express": 2,
    }


def test_contact_center_agent_of_user_counts_too(tmp_path: Path) -> None:
    # Agents are counted as rows, whether or not their user id names a UCM user.
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner="emma.holtom")],
        contact_center_agents=[agent("UCCX", userid="emma.holtom")],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1, "Contact Center Express": 1}


# Microsoft accounts


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param(
            {"teams": True, "enterprise_voice": True}, {"MS Teams & Voice": 1}, id="teams-voice"
        ),
        pytest.param({"teams": True}, {"MS Teams (No Voice)": 1}, id="teams"),
        pytest.param({"o365_licensed": True}, {"MS O365 User (no Teams)": 1}, id="o365"),
        pytest.param(
            {"teams": True, "o365_licensed": True}, {"MS Teams (No Voice)": 1}, id="teams-o365"
        ),
        pytest.param(
            {"teams": True, "enterprise_voice": True, "o365_licensed": True},
            {"MS Teams & Voice": 1},
            id="teams-voice-o365",
        ),
        pytest.param(
            {"teams": True, "cisco_integrated": True},
            {"MS Teams (No Voice)": 1},
            id="teams-integrated-no-user",
        ),
        # Neither Teams nor an Office 365 license: not counted.
        pytest.param({}, {}, id="unlicensed"),
        pytest.param({"enterprise_voice": True}, {}, id="voice-without-teams"),
        pytest.param(
            {"enterprise_voice": True, "o365_licensed": True},
            {"MS O365 User (no Teams)": 1},
            id="voice-o365-without-teams",
        ),
    ],
)
def test_microsoft_account_without_user(
    tmp_path: Path, flags: dict[str, bool], expected: dict[str, int]
) -> None:
    drop = write_drop(tmp_path, microsoft_accounts=[ms_account(None, **flags)])

    assert nonzero_counts(report_row(drop)) == expected


def test_microsoft_accounts_sum_any_level(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("noah.williams"), user("svc.teams", site=None)],
        microsoft_accounts=[
            ms_account("noah.williams", teams=True, enterprise_voice=True),
            ms_account("svc.teams", teams=True, site=None),
            ms_account("left.company", teams=True, enterprise_voice=True, site=None),
            ms_account(None, o365_licensed=True),
            ms_account(None, o365_licensed=True, site=None),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {
        "MS Teams & Voice": 2,
        "MS Teams (No Voice)": 1,
        "MS O365 User (no Teams)": 2,
    }


@pytest.mark.parametrize(
    ("services", "bucket"),
    [
        pytest.param(("vm",), "VM (No Phone & No EM & No WebEx)", id="vm"),
        pytest.param(("webex",), "WebEx (No Phone & No EM)", id="webex"),
        pytest.param(
            ("spark",), "Spark (No Phone & No EM & No SNR & No VM & No WebEx)", id="spark"
        ),
        pytest.param(("snr",), "SNR (No Phone & No EM & No VM & No WebEx & No Spark)", id="snr"),
        pytest.param(("em",), "EM (No Phone & No SNR & No VM & No WebEx & No Spark)", id="em"),
    ],
)
def test_microsoft_account_of_cisco_user_not_counted(
    tmp_path: Path, services: tuple[str, ...], bucket: str
) -> None:
    # A Cisco service without a phone is enough to make the user a Cisco user.
    tables = merge_tables(
        user_with("lucas.martin", services=services),
        {"microsoft_accounts": [ms_account("lucas.martin", teams=True, enterprise_voice=True)]},
    )
    drop = write_drop(tmp_path, **tables)

    assert nonzero_counts(report_row(drop)) == {bucket: 1, "Multi-vendor Users": 1}


def test_microsoft_account_of_customer_level_cisco_user(tmp_path: Path) -> None:
    # The user has a phone, so the account is not counted. The user is no subscriber, so
    # the overlay columns do not count it either.
    drop = write_drop(
        tmp_path,
        users=[user("svc.reception", site=None)],
        phones=[phone("SEP001122334455", owner="svc.reception")],
        microsoft_accounts=[ms_account("svc.reception", teams=True, cisco_integrated=True)],
    )

    assert nonzero_counts(report_row(drop)) == {}


def test_microsoft_account_of_user_without_cisco_service(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("noah.williams"), user("svc.teams", site=None)],
        microsoft_accounts=[
            ms_account("NOAH.WILLIAMS ", teams=True, cisco_integrated=True),
            ms_account("svc.teams", o365_licensed=True, cisco_integrated=True),
        ],
    )

    # No Cisco service, so neither overlay column counts them.
    assert nonzero_counts(report_row(drop)) == {
        "MS Teams (No Voice)": 1,
        "MS O365 User (no Teams)": 1,
    }


# Cisco and MS Integrated Service, Multi-vendor Users


OVERLAY_CASES = [
    pytest.param(
        [ms_account("lucas.martin", teams=True, cisco_integrated=True)],
        {"Cisco and MS Integrated Service": 1},
        id="teams-integrated",
    ),
    pytest.param(
        [ms_account("lucas.martin", o365_licensed=True, cisco_integrated=True)],
        {"Cisco and MS Integrated Service": 1},
        id="o365-integrated",
    ),
    pytest.param(
        [ms_account("lucas.martin", teams=True)],
        {"Multi-vendor Users": 1},
        id="teams-not-integrated",
    ),
    pytest.param(
        [ms_account("lucas.martin", o365_licensed=True, enterprise_voice=True)],
        {"Multi-vendor Users": 1},
        id="o365-not-integrated",
    ),
    # One integrated account is enough, and then the user is not also multi-vendor.
    pytest.param(
        [
            ms_account("lucas.martin", teams=True, cisco_integrated=True),
            ms_account("lucas.martin", o365_licensed=True),
        ],
        {"Cisco and MS Integrated Service": 1},
        id="integrated-and-not",
    ),
    # Two accounts of one user count the user once.
    pytest.param(
        [
            ms_account("lucas.martin", teams=True),
            ms_account("Lucas.Martin", o365_licensed=True),
        ],
        {"Multi-vendor Users": 1},
        id="two-accounts-not-integrated",
    ),
    # Without Teams or an Office 365 license the account is no Microsoft service.
    pytest.param(
        [ms_account("lucas.martin", cisco_integrated=True)], {}, id="unlicensed-integrated"
    ),
    pytest.param([ms_account("lucas.martin")], {}, id="unlicensed"),
]


@pytest.mark.parametrize(("accounts", "expected_overlay"), OVERLAY_CASES)
def test_cisco_microsoft_overlay(
    tmp_path: Path, accounts: list, expected_overlay: dict[str, int]
) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("lucas.martin")],
        phones=[phone("SEP001122334455", owner="lucas.martin")],
        microsoft_accounts=accounts,
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1, **expected_overlay}


def test_cisco_microsoft_overlay_sums_subscribers(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        **merge_tables(
            user_with("lucas.martin", phones=1),
            user_with("mia.jones", phones=3),
            user_with("tom.baker", services=("em",)),
            user_with("ava.thompson", services=("webex",)),
            {
                "microsoft_accounts": [
                    ms_account("lucas.martin", teams=True),
                    ms_account("mia.jones", teams=True, enterprise_voice=True),
                    ms_account("tom.baker", o365_licensed=True, cisco_integrated=True),
                    ms_account("ava.thompson", teams=True, cisco_integrated=True),
                ]
            },
        ),
    )

    assert nonzero_counts(report_row(drop)) == {
        ONE_PHONE: 1,
        "Multiple Phones": 1,
        "EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 1,
        "WebEx (No Phone & No EM)": 1,
        "Cisco and MS Integrated Service": 2,
        "Multi-vendor Users": 2,
    }


# PexIP only


def test_pexip_only_user_any_level(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        **merge_tables(
            user_with("ava.thompson", services=("pexip",)),
            user_with("svc.boardroom", site=None, services=("pexip", "pexip")),
        ),
    )

    assert nonzero_counts(report_row(drop)) == {"PexIP only": 2}


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        pytest.param(("pexip", "vm"), {}, id="vm"),
        pytest.param(("pexip", "webex"), {}, id="webex"),
        pytest.param(("pexip", "spark"), {}, id="spark"),
        pytest.param(("pexip", "snr"), {}, id="snr"),
        pytest.param(("pexip", "em"), {}, id="em"),
        pytest.param(("pexip", "teams"), {"MS Teams (No Voice)": 1}, id="teams"),
    ],
)
def test_pexip_with_other_service_not_counted(
    tmp_path: Path, services: tuple[str, ...], expected: dict[str, int]
) -> None:
    # The user sits at customer level, so only the Pexip and Microsoft columns can count it.
    drop = write_drop(tmp_path, **user_with("svc.boardroom", site=None, services=services))

    assert nonzero_counts(report_row(drop)) == expected


def test_pexip_with_phone_not_counted(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path, **user_with("svc.boardroom", site=None, phones=1, services=("pexip",))
    )

    assert nonzero_counts(report_row(drop)) == {}


def test_pexip_unmatched_accounts(tmp_path: Path) -> None:
    # Unmatched accounts count once per distinct normalized user id. Each null user id,
    # including one that is blank after trimming, counts once.
    drop = write_drop(
        tmp_path,
        users=[user("ava.thompson")],
        phones=[phone("SEP001122334455", owner="ava.thompson")],
        pexip_accounts=[
            account("ava.thompson"),
            account("ext.partner1"),
            account(" Ext.Partner1", site=None),
            account("EXT.PARTNER1\u00a0"),
            account("ext.partner2"),
            account(None),
            account(None, site=None),
            account("  "),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1, "PexIP only": 5}


def test_pexip_user_and_unmatched_accounts_add_up(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("ava.thompson")],
        pexip_accounts=[
            account("ava.thompson"),
            account("Ava.Thompson "),
            account("vmr.boardroom"),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {"PexIP only": 2}


# Phone Server Phones and Site Count


def test_phone_server_phones_any_level(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        phone_server_phones=[
            phone_server_phone(),
            phone_server_phone(),
            phone_server_phone(site=None),
        ],
    )

    assert nonzero_counts(report_row(drop)) == {"Phone Server Phones": 3}


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        pytest.param([], 0, id="no-site"),
        pytest.param([site("S1")], 1, id="one-site"),
        pytest.param([site("S1"), site("S2"), site("S3")], 3, id="three-sites"),
    ],
)
def test_site_count(tmp_path: Path, sites: list, expected: int) -> None:
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2")],
        sites=[*sites, site("S9", customer="C2")],
    )

    assert report_row(drop)["Site Count"] == expected
    assert report_row(drop, "C2")["Site Count"] == 1


# Public Sector and Inactive Billing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(True, True, id="true"),
        pytest.param(False, False, id="false"),
        pytest.param(None, False, id="null"),
        pytest.param("TRUE", True, id="upper-case-true"),
        pytest.param("t", True, id="t"),
        pytest.param("1", True, id="one"),
        pytest.param("Yes", True, id="yes"),
        pytest.param("F", False, id="f"),
        pytest.param("0", False, id="zero"),
        pytest.param("no", False, id="no"),
    ],
)
@pytest.mark.parametrize(
    ("column", "report_column", "other_report_column"),
    [
        pytest.param("public_sector", "Public Sector", "Inactive Billing", id="public-sector"),
        pytest.param(
            "inactive_billing", "Inactive Billing", "Public Sector", id="inactive-billing"
        ),
    ],
)
def test_customer_flags(
    tmp_path: Path,
    *,
    column: str,
    report_column: str,
    other_report_column: str,
    value: object,
    expected: bool,
) -> None:
    drop = write_drop(tmp_path, customers=[customer("C1", **{column: value})])
    row = report_row(drop)

    assert row[report_column] is expected
    assert row[other_report_column] is False


def test_customer_flag_columns_absent(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, customers=[customer("C1")])
    row = report_row(drop)

    assert row["Public Sector"] is False
    assert row["Inactive Billing"] is False


def test_customer_flags_per_customer(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        customers=[
            customer("C1", public_sector=True, inactive_billing=None),
            customer("C2", public_sector=None, inactive_billing=True),
            customer("C3", public_sector=False, inactive_billing=False),
        ],
    )

    assert report_row(drop, "C1")["Public Sector"] is True
    assert report_row(drop, "C1")["Inactive Billing"] is False
    assert report_row(drop, "C2")["Public Sector"] is False
    assert report_row(drop, "C2")["Inactive Billing"] is True
    assert report_row(drop, "C3")["Public Sector"] is False
    assert report_row(drop, "C3")["Inactive Billing"] is False
