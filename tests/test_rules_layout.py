"""Report layout and legal dangling references.

The report has the 35 columns of audit version 4.0.0 in header order and one row per
customer, including customers with nothing in them, sorted by ``Customer PKID`` in byte
order. References to phones or users that do not exist are legal and never stop the run.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from drop_builder import (
    account,
    association,
    build_report_frame,
    customer,
    ms_account,
    nonzero_counts,
    phone,
    profile,
    report_row,
    report_rows,
    site,
    user,
    write_drop,
)

UCM_USER = "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)"


def test_report_columns_in_header_order(tmp_path: Path) -> None:
    report = build_report_frame(write_drop(tmp_path))

    assert report.columns == [
        "Customer PKID",
        "One Phone & Spark (No VM & No WebEx)",
        "One Phone (No VM & No WebEx & No Spark)",
        "One Phone & VM (No WebEx)",
        "One Phone & WebEx",
        "Multiple Phones",
        "Users With More Than 10 Phones",
        "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)",
        "SNR (No Phone & No EM & No VM & No WebEx & No Spark)",
        "VM (No Phone & No EM & No WebEx)",
        "WebEx (No Phone & No EM)",
        "Spark (No Phone & No EM & No SNR & No VM & No WebEx)",
        "EM & Spark (No Phone & No VM & No WebEx)",
        "EM (No Phone & No SNR & No VM & No WebEx & No Spark)",
        "EM & SNR (No Phone & No VM & No WebEx & No Spark)",
        "EM & VM (No Phone & No WebEx)",
        "EM & WebEx (No Phone)",
        "Standalone Phones (No UCM User)",
        "Standalone WebEx (No UCM User)",
        "Standalone Voicemail (No UCM User)",
        "Contact Center Enterprise",
        "Contact Center Express",
        "Standalone Spark (No UCM User)",
        "Public Sector",
        "Inactive Billing",
        "Standalone Analog Ports (No UCM User)",
        "Standard Users with Spark",
        "MS Teams (No Voice)",
        "MS Teams & Voice",
        "MS O365 User (no Teams)",
        "Cisco and MS Integrated Service",
        "Multi-vendor Users",
        "PexIP only",
        "Phone Server Phones",
        "Site Count",
    ]


def test_report_column_types(tmp_path: Path) -> None:
    schema = build_report_frame(write_drop(tmp_path)).schema

    assert schema["Customer PKID"] == pl.String
    assert schema["Public Sector"] == pl.Boolean
    assert schema["Inactive Billing"] == pl.Boolean
    count_types = {
        name: dtype
        for name, dtype in schema.items()
        if name not in {"Customer PKID", "Public Sector", "Inactive Billing"}
    }
    assert len(count_types) == 32
    non_integer = {name: dtype for name, dtype in count_types.items() if not dtype.is_integer()}
    assert non_integer == {}


def test_empty_customer_all_zeros(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2")],
        sites=[site("S1", customer="C1")],
        users=[user("emma.holtom")],
    )
    rows = report_rows(drop)

    assert rows[1] == {
        "Customer PKID": "C2",
        "One Phone & Spark (No VM & No WebEx)": 0,
        "One Phone (No VM & No WebEx & No Spark)": 0,
        "One Phone & VM (No WebEx)": 0,
        "One Phone & WebEx": 0,
        "Multiple Phones": 0,
        "Users With More Than 10 Phones": 0,
        "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)": 0,
        "SNR (No Phone & No EM & No VM & No WebEx & No Spark)": 0,
        "VM (No Phone & No EM & No WebEx)": 0,
        "WebEx (No Phone & No EM)": 0,
        "Spark (No Phone & No EM & No SNR & No VM & No WebEx)": 0,
        "EM & Spark (No Phone & No VM & No WebEx)": 0,
        "EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 0,
        "EM & SNR (No Phone & No VM & No WebEx & No Spark)": 0,
        "EM & VM (No Phone & No WebEx)": 0,
        "EM & WebEx (No Phone)": 0,
        "Standalone Phones (No UCM User)": 0,
        "Standalone WebEx (No UCM User)": 0,
        "Standalone Voicemail (No UCM User)": 0,
        "Contact Center Enterprise": 0,
        "Contact Center Express": 0,
        "Standalone Spark (No UCM User)": 0,
        "Public Sector": False,
        "Inactive Billing": False,
        "Standalone Analog Ports (No UCM User)": 0,
        "Standard Users with Spark": 0,
        "MS Teams (No Voice)": 0,
        "MS Teams & Voice": 0,
        "MS O365 User (no Teams)": 0,
        "Cisco and MS Integrated Service": 0,
        "Multi-vendor Users": 0,
        "PexIP only": 0,
        "Phone Server Phones": 0,
        "Site Count": 0,
    }


def test_drop_without_users_has_one_row_per_customer(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, sites=[])

    assert [row["Customer PKID"] for row in report_rows(drop)] == ["C1"]


@pytest.mark.parametrize(
    ("pkids", "expected_order"),
    [
        pytest.param(["a", "B"], ["B", "a"], id="upper-case-before-lower-case"),
        pytest.param(["b", "a", "B", "A"], ["A", "B", "a", "b"], id="four-letters"),
        pytest.param(["c10", "c9", "c1"], ["c1", "c10", "c9"], id="digits-as-text"),
        pytest.param(["z", "_", "Z"], ["Z", "_", "z"], id="underscore-between-cases"),
        pytest.param(["é", "z", "E"], ["E", "z", "é"], id="non-ascii-last"),
        pytest.param(
            [
                "a41c9e7b-62d5-4f10-b3e8-7c9d0a1f2e34",
                "3F9A6D2E-1B4C-4A7D-8E5F-6C0B9A8D7E21",
                "0b7e2c1a-4f3d-4e8a-9c6b-2d1f0e9a8b7c",
            ],
            [
                "0b7e2c1a-4f3d-4e8a-9c6b-2d1f0e9a8b7c",
                "3F9A6D2E-1B4C-4A7D-8E5F-6C0B9A8D7E21",
                "a41c9e7b-62d5-4f10-b3e8-7c9d0a1f2e34",
            ],
            id="guids",
        ),
    ],
)
def test_rows_sorted_by_pkid_byte_order(
    tmp_path: Path, pkids: list[str], expected_order: list[str]
) -> None:
    drop = write_drop(tmp_path, customers=[customer(pkid) for pkid in pkids], sites=[])

    assert [row["Customer PKID"] for row in report_rows(drop)] == expected_order


def test_optional_tables_absent(tmp_path: Path) -> None:
    # Only the required tables: every optional table counts as empty.
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner="emma.holtom")],
    )

    assert sorted(path.name for path in drop.iterdir()) == [
        "associated_devices.csv",
        "customers.csv",
        "phones.csv",
        "sites.csv",
        "users.csv",
    ]
    assert nonzero_counts(report_row(drop)) == {"One Phone (No VM & No WebEx & No Spark)": 1}


def test_dangling_references_not_errors(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner="left.company")],
        associated_devices=[
            association("emma.holtom", "SEPDECOMMISSIONED"),
            association("left.company", "SEP001122334455"),
            association("left.company", "SEPDECOMMISSIONED"),
        ],
        device_profiles=[profile("left.company")],
        remote_destination_profiles=[profile("left.company")],
        voicemail_accounts=[account("left.company")],
        webex_accounts=[account("left.company")],
        spark_accounts=[account("left.company")],
        pexip_accounts=[account("left.company")],
        microsoft_accounts=[ms_account("left.company", teams=True)],
    )

    assert nonzero_counts(report_row(drop)) == {
        UCM_USER: 1,
        "Standalone Phones (No UCM User)": 1,
        "Standalone WebEx (No UCM User)": 1,
        "Standalone Voicemail (No UCM User)": 1,
        "Standalone Spark (No UCM User)": 1,
        "MS Teams (No Voice)": 1,
        "PexIP only": 1,
    }
