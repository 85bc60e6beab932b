"""Levels: only users at site level are subscribers, but users at customer level still exist.

A record is at site level when its ``site_pkid`` names a site of the same customer. A user at
customer level (no site) is counted in no subscriber column, yet the phones and accounts
linked to that user are not standalone.
"""

from __future__ import annotations

from pathlib import Path

from drop_builder import (
    account,
    association,
    merge_tables,
    ms_account,
    nonzero_counts,
    phone,
    profile,
    report_row,
    user,
    user_with,
    write_drop,
)


def test_customer_level_user_not_counted(tmp_path: Path) -> None:
    tables = merge_tables(
        user_with("svc.reception", site=None, phones=1, services=("vm",)),
        user_with("svc.lab", site=None, phones=12, services=("spark", "webex")),
        user_with("svc.hunt", site=None, services=("em", "snr")),
        user_with("svc.idle", site=None),
    )
    drop = write_drop(tmp_path, **tables)

    assert nonzero_counts(report_row(drop)) == {}


def test_customer_level_user_phones_not_standalone(tmp_path: Path) -> None:
    # The phones sit at site level but belong to a user at customer level.
    drop = write_drop(
        tmp_path,
        users=[user("svc.reception", site=None)],
        phones=[
            phone("SEP001122334455", owner="svc.reception"),
            phone("SEP001122334466"),
            phone("ANFAX00001", product="Analog Phone", owner="SVC.Reception"),
        ],
        associated_devices=[association("svc.reception", "SEP001122334466")],
    )

    assert nonzero_counts(report_row(drop)) == {}


def test_customer_level_user_accounts_not_standalone(tmp_path: Path) -> None:
    # The accounts sit at site level but belong to a user at customer level.
    drop = write_drop(
        tmp_path,
        users=[user("svc.reception", site=None)],
        webex_accounts=[account("svc.reception")],
        voicemail_accounts=[account("svc.reception")],
        spark_accounts=[account("svc.reception", site=None)],
        device_profiles=[profile("svc.reception")],
    )

    assert nonzero_counts(report_row(drop)) == {}


def test_site_level_user_with_customer_level_accounts(tmp_path: Path) -> None:
    # A service counts for a subscriber whatever level the account itself sits at.
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner="emma.holtom", site=None)],
        webex_accounts=[account("emma.holtom", site=None)],
    )

    assert nonzero_counts(report_row(drop)) == {"One Phone & WebEx": 1}


def test_customer_level_standalone_records_not_counted(tmp_path: Path) -> None:
    # Standalone phones, analog ports, WebEx and voicemail accounts count at site level
    # only. Standalone Spark accounts count at any level.
    drop = write_drop(
        tmp_path,
        phones=[
            phone("SEPLOBBY00001", site=None),
            phone("ANFAX00001", product="Cisco ATA 191", site=None),
        ],
        webex_accounts=[account(None, site=None)],
        voicemail_accounts=[account("left.company", site=None)],
        spark_accounts=[account(None, site=None)],
    )

    assert nonzero_counts(report_row(drop)) == {"Standalone Spark (No UCM User)": 1}


def test_customer_level_microsoft_account_counted(tmp_path: Path) -> None:
    # Microsoft columns cover the whole customer, any level.
    drop = write_drop(
        tmp_path,
        microsoft_accounts=[ms_account(None, teams=True, enterprise_voice=True, site=None)],
    )

    assert nonzero_counts(report_row(drop)) == {"MS Teams & Voice": 1}
