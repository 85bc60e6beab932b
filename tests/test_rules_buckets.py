"""Subscriber buckets: every subscriber lands in exactly one bucket column, first match wins.

The order of the bucket rows is the precedence: more than one phone, then one phone, then
Extension Mobility, then services alone. Within each group WebEx wins over VM, VM over
Spark, Spark over SNR, and SNR over nothing. A user whose only services are a counted
Microsoft account adds to no bucket, and a user with only Pexip is counted in ``PexIP only``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from drop_builder import (
    merge_tables,
    nonzero_counts,
    phone,
    report_row,
    user_with,
    write_drop,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def bucket_case(
    case_id: str, phones: int, services: tuple[str, ...], expected: dict[str, int]
) -> object:
    return pytest.param(phones, services, expected, id=case_id)


# One row per bucket of the precedence table, each with the least input that reaches it.
BUCKET_ROWS = [
    bucket_case("multiple-phones", 2, (), {"Multiple Phones": 1}),
    bucket_case("one-phone-webex", 1, ("webex",), {"One Phone & WebEx": 1}),
    bucket_case("one-phone-vm", 1, ("vm",), {"One Phone & VM (No WebEx)": 1}),
    bucket_case("one-phone-spark", 1, ("spark",), {"One Phone & Spark (No VM & No WebEx)": 1}),
    bucket_case("one-phone", 1, (), {"One Phone (No VM & No WebEx & No Spark)": 1}),
    bucket_case("em-webex", 0, ("em", "webex"), {"EM & WebEx (No Phone)": 1}),
    bucket_case("em-vm", 0, ("em", "vm"), {"EM & VM (No Phone & No WebEx)": 1}),
    bucket_case("em-spark", 0, ("em", "spark"), {"EM & Spark (No Phone & No VM & No WebEx)": 1}),
    bucket_case(
        "em-snr", 0, ("em", "snr"), {"EM & SNR (No Phone & No VM & No WebEx & No Spark)": 1}
    ),
    bucket_case("em", 0, ("em",), {"EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 1}),
    bucket_case("webex", 0, ("webex",), {"WebEx (No Phone & No EM)": 1}),
    bucket_case("vm", 0, ("vm",), {"VM (No Phone & No EM & No WebEx)": 1}),
    bucket_case(
        "spark", 0, ("spark",), {"Spark (No Phone & No EM & No SNR & No VM & No WebEx)": 1}
    ),
    bucket_case("snr", 0, ("snr",), {"SNR (No Phone & No EM & No VM & No WebEx & No Spark)": 1}),
    # Counted once, through the Microsoft account: no bucket column grows.
    bucket_case("microsoft-only", 0, ("teams",), {"MS Teams (No Voice)": 1}),
    bucket_case("pexip-only", 0, ("pexip",), {"PexIP only": 1}),
    bucket_case(
        "no-service",
        0,
        (),
        {"UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)": 1},
    ),
]


@pytest.mark.parametrize(("phones", "services", "expected"), BUCKET_ROWS)
def test_bucket_row(
    tmp_path: Path, phones: int, services: tuple[str, ...], expected: dict[str, int]
) -> None:
    drop = write_drop(tmp_path, **user_with("emma.holtom", phones=phones, services=services))

    assert nonzero_counts(report_row(drop)) == expected


# A subscriber that matches several rows is counted only in the first of them.
PRECEDENCE_CASES = [
    bucket_case(
        "one-phone-all-services-is-webex",
        1,
        ("webex", "vm", "spark", "snr", "em"),
        {"One Phone & WebEx": 1},
    ),
    bucket_case("one-phone-webex-vm-is-webex", 1, ("webex", "vm"), {"One Phone & WebEx": 1}),
    bucket_case(
        "one-phone-vm-spark-snr-em-is-vm",
        1,
        ("vm", "spark", "snr", "em"),
        {"One Phone & VM (No WebEx)": 1},
    ),
    bucket_case(
        "one-phone-spark-snr-em-is-spark",
        1,
        ("spark", "snr", "em"),
        {"One Phone & Spark (No VM & No WebEx)": 1},
    ),
    bucket_case(
        "one-phone-em-snr-is-one-phone",
        1,
        ("em", "snr"),
        {"One Phone (No VM & No WebEx & No Spark)": 1},
    ),
    bucket_case(
        "one-phone-pexip-is-one-phone",
        1,
        ("pexip",),
        {"One Phone (No VM & No WebEx & No Spark)": 1},
    ),
    # The Teams account belongs to a Cisco user, so it shows only as multi-vendor.
    bucket_case(
        "one-phone-teams-is-one-phone",
        1,
        ("teams",),
        {"One Phone (No VM & No WebEx & No Spark)": 1, "Multi-vendor Users": 1},
    ),
    bucket_case(
        "two-phones-all-services-is-multiple",
        2,
        ("webex", "vm", "spark", "snr", "em"),
        {"Multiple Phones": 1, "Standard Users with Spark": 1},
    ),
    bucket_case(
        "em-all-services-is-em-webex",
        0,
        ("em", "webex", "vm", "spark", "snr"),
        {"EM & WebEx (No Phone)": 1},
    ),
    bucket_case(
        "em-vm-spark-is-em-vm",
        0,
        ("em", "vm", "spark"),
        {"EM & VM (No Phone & No WebEx)": 1},
    ),
    bucket_case(
        "em-vm-spark-snr-is-em-vm",
        0,
        ("em", "vm", "spark", "snr"),
        {"EM & VM (No Phone & No WebEx)": 1},
    ),
    bucket_case(
        "em-spark-snr-is-em-spark",
        0,
        ("em", "spark", "snr"),
        {"EM & Spark (No Phone & No VM & No WebEx)": 1},
    ),
    bucket_case(
        "em-pexip-is-em",
        0,
        ("em", "pexip"),
        {"EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 1},
    ),
    bucket_case(
        "em-teams-is-em",
        0,
        ("em", "teams"),
        {"EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 1, "Multi-vendor Users": 1},
    ),
    bucket_case(
        "webex-vm-spark-snr-is-webex",
        0,
        ("webex", "vm", "spark", "snr"),
        {"WebEx (No Phone & No EM)": 1},
    ),
    bucket_case(
        "vm-spark-snr-is-vm",
        0,
        ("vm", "spark", "snr"),
        {"VM (No Phone & No EM & No WebEx)": 1},
    ),
    # SNR and Spark without anything else: Spark ranks above SNR, as in the EM group.
    bucket_case(
        "snr-spark-is-spark",
        0,
        ("snr", "spark"),
        {"Spark (No Phone & No EM & No SNR & No VM & No WebEx)": 1},
    ),
    bucket_case(
        "snr-pexip-is-snr",
        0,
        ("snr", "pexip"),
        {"SNR (No Phone & No EM & No VM & No WebEx & No Spark)": 1},
    ),
    bucket_case(
        "spark-teams-is-spark",
        0,
        ("spark", "teams"),
        {"Spark (No Phone & No EM & No SNR & No VM & No WebEx)": 1, "Multi-vendor Users": 1},
    ),
    # A counted Microsoft account ranks above Pexip, and then Pexip is not "only".
    bucket_case("teams-pexip-is-microsoft", 0, ("teams", "pexip"), {"MS Teams (No Voice)": 1}),
    # An account with neither Teams nor an Office 365 license is not a Microsoft service.
    bucket_case(
        "unlicensed-microsoft-pexip-is-pexip", 0, ("ms-unlicensed", "pexip"), {"PexIP only": 1}
    ),
    bucket_case(
        "unlicensed-microsoft-is-ucm-user",
        0,
        ("ms-unlicensed",),
        {"UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)": 1},
    ),
    # Two rows of one service are still one service.
    bucket_case("two-webex-accounts", 0, ("webex", "webex"), {"WebEx (No Phone & No EM)": 1}),
    bucket_case(
        "two-em-profiles",
        0,
        ("em", "em"),
        {"EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 1},
    ),
]


@pytest.mark.parametrize(("phones", "services", "expected"), PRECEDENCE_CASES)
def test_bucket_precedence(
    tmp_path: Path, phones: int, services: tuple[str, ...], expected: dict[str, int]
) -> None:
    drop = write_drop(tmp_path, **user_with("emma.holtom", phones=phones, services=services))

    assert nonzero_counts(report_row(drop)) == expected


# A user with n phones needs ceil(n / 10) licenses, all counted in "Multiple Phones".
@pytest.mark.parametrize(
    ("phones", "multiple_phones", "more_than_ten"),
    [
        pytest.param(2, 1, 0, id="2-phones"),
        pytest.param(5, 1, 0, id="5-phones"),
        pytest.param(9, 1, 0, id="9-phones"),
        pytest.param(10, 1, 0, id="10-phones"),
        pytest.param(11, 2, 1, id="11-phones"),
        pytest.param(15, 2, 1, id="15-phones"),
        pytest.param(20, 2, 1, id="20-phones"),
        pytest.param(21, 3, 1, id="21-phones"),
        pytest.param(30, 3, 1, id="30-phones"),
        pytest.param(31, 4, 1, id="31-phones"),
    ],
)
def test_multiple_phones_license_multiple(
    tmp_path: Path, phones: int, multiple_phones: int, more_than_ten: int
) -> None:
    drop = write_drop(tmp_path, **user_with("emma.holtom", phones=phones))
    row = report_row(drop)

    assert row["Multiple Phones"] == multiple_phones
    assert row["Users With More Than 10 Phones"] == more_than_ten
    assert row["One Phone (No VM & No WebEx & No Spark)"] == 0


def test_multiple_phones_counts_analog_ports(tmp_path: Path) -> None:
    tables = user_with("emma.holtom", phones=9)
    tables["phones"] += [
        phone("ATA00AABBCC0101", product="Cisco ATA 191", owner="emma.holtom"),
        phone("ATA00AABBCC0102", product="Analog Phone", owner="emma.holtom"),
    ]
    drop = write_drop(tmp_path, **tables)

    assert nonzero_counts(report_row(drop)) == {
        "Multiple Phones": 2,
        "Users With More Than 10 Phones": 1,
    }


def test_multiple_phones_sums_over_subscribers(tmp_path: Path) -> None:
    tables = merge_tables(
        user_with("emma.holtom", phones=11),
        user_with("raj.patel", phones=25),
        user_with("li.wei", phones=3),
    )
    drop = write_drop(tmp_path, **tables)

    assert nonzero_counts(report_row(drop)) == {
        "Multiple Phones": 6,
        "Users With More Than 10 Phones": 2,
    }


def test_buckets_sum_over_subscribers(tmp_path: Path) -> None:
    tables = merge_tables(
        user_with("emma.holtom", phones=1, services=("vm",)),
        user_with("raj.patel", phones=1, services=("vm", "spark")),
        user_with("li.wei", phones=1),
        user_with("oliver.grant", services=("em", "snr")),
        user_with("sofia.marin", services=("em", "snr")),
        user_with("aisha.khan"),
        user_with("daniel.okafor", services=("pexip",)),
    )
    drop = write_drop(tmp_path, **tables)

    assert nonzero_counts(report_row(drop)) == {
        "One Phone & VM (No WebEx)": 2,
        "One Phone (No VM & No WebEx & No Spark)": 1,
        "EM & SNR (No Phone & No VM & No WebEx & No Spark)": 2,
        "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)": 1,
        "PexIP only": 1,
    }


BUCKET_COLUMNS = (
    "Multiple Phones",
    "One Phone & WebEx",
    "One Phone & VM (No WebEx)",
    "One Phone & Spark (No VM & No WebEx)",
    "One Phone (No VM & No WebEx & No Spark)",
    "EM & WebEx (No Phone)",
    "EM & VM (No Phone & No WebEx)",
    "EM & Spark (No Phone & No VM & No WebEx)",
    "EM & SNR (No Phone & No VM & No WebEx & No Spark)",
    "EM (No Phone & No SNR & No VM & No WebEx & No Spark)",
    "WebEx (No Phone & No EM)",
    "VM (No Phone & No EM & No WebEx)",
    "Spark (No Phone & No EM & No SNR & No VM & No WebEx)",
    "SNR (No Phone & No EM & No VM & No WebEx & No Spark)",
    "PexIP only",
    "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)",
)
CISCO_SERVICES = {"em", "snr", "vm", "webex", "spark"}

user_strategy = st.tuples(
    st.integers(min_value=0, max_value=3),
    st.sets(st.sampled_from(["em", "snr", "vm", "webex", "spark", "pexip", "teams"])),
    st.booleans(),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(user_strategy, min_size=1, max_size=6))
def test_every_subscriber_in_one_bucket(users: list[tuple[int, set[str], bool]]) -> None:
    # With at most 3 phones each, every subscriber adds exactly 1 to the bucket columns,
    # except one whose only services are a counted Microsoft account. "PexIP only" also
    # counts users at customer level whose only service is Pexip.
    parts = []
    expected_total = 0
    for number, (phones, services, at_site_level) in enumerate(users):
        site = "S1" if at_site_level else None
        parts.append(
            user_with(f"user.{number}", phones=phones, services=sorted(services), site=site)
        )
        has_cisco_service = phones > 0 or bool(services & CISCO_SERVICES)
        only_microsoft = not has_cisco_service and "teams" in services
        only_pexip = not has_cisco_service and services == {"pexip"}
        if (at_site_level and not only_microsoft) or only_pexip:
            expected_total += 1

    with tempfile.TemporaryDirectory() as root:
        row = report_row(write_drop(Path(root), **merge_tables(*parts)))

    assert sum(row[column] for column in BUCKET_COLUMNS) == expected_total
