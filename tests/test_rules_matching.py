"""Identifier matching: links compare trimmed, lower-cased values, keys compare exactly.

User ids, device names and account user ids link after trimming Unicode white space and
applying the full Unicode lower-case mapping. A value that is empty after trimming is null
and links nothing. Primary keys (``*_pkid``) are compared and written exactly as given, and
no link crosses from one customer to another.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from drop_builder import (
    account,
    association,
    customer,
    nonzero_counts,
    phone,
    profile,
    report_row,
    report_rows,
    site,
    user,
    write_drop,
)

ONE_PHONE = "One Phone (No VM & No WebEx & No Spark)"
UCM_USER = "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)"


# (userid of the user, the same id as written in the link)
MATCHING_IDS = [
    pytest.param("emma.holtom", " Emma.Holtom ", id="spaces-and-case"),
    pytest.param(" Emma.Holtom ", "EMMA.HOLTOM", id="user-side-spaced"),
    pytest.param("emma.holtom", "\temma.holtom\t", id="tabs"),
    pytest.param("emma.holtom", "\u00a0emma.holtom\u00a0", id="no-break-space"),
    pytest.param("emma.holtom", "\u3000emma.holtom\u3000", id="ideographic-space"),
    pytest.param("emma.holtom", "\u2003Emma.Holtom\u2009", id="em-and-thin-space"),
    pytest.param("ÉMILE.DUPONT", "émile.dupont", id="non-ascii-upper-to-lower"),
    pytest.param("émile.dupont", " ÉMILE.DUPONT\u00a0", id="non-ascii-lower-to-upper"),
    pytest.param("ΣΟΦΙΑ.ΠΑΠΑ", "σοφια.παπα", id="greek"),
    pytest.param("JÜRGEN.MÜLLER", "jürgen.müller", id="umlaut"),
]

# (userid of the user, a different id as written in the link)
NON_MATCHING_IDS = [
    # Only surrounding white space is trimmed, never white space inside the value.
    pytest.param("emma.holtom", "emma .holtom", id="inner-space"),
    # U+200B ZERO WIDTH SPACE does not have the Unicode White_Space property.
    pytest.param("emma.holtom", "\u200bemma.holtom", id="zero-width-space"),
    pytest.param("emile.dupont", "émile.dupont", id="accent-is-not-ignored"),
]


@pytest.mark.parametrize(("userid", "link"), MATCHING_IDS)
def test_owner_userid_matches_user(tmp_path: Path, userid: str, link: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user(userid)],
        phones=[phone("SEP001122334455", owner=link)],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1}


@pytest.mark.parametrize(("userid", "link"), MATCHING_IDS)
def test_association_userid_matches_user(tmp_path: Path, userid: str, link: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user(userid)],
        phones=[phone("SEP001122334455")],
        associated_devices=[association(link, "SEP001122334455")],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1}


@pytest.mark.parametrize(("userid", "link"), MATCHING_IDS)
def test_account_userid_matches_user(tmp_path: Path, userid: str, link: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user(userid)],
        webex_accounts=[account(link)],
    )

    assert nonzero_counts(report_row(drop)) == {"WebEx (No Phone & No EM)": 1}


@pytest.mark.parametrize(("userid", "link"), MATCHING_IDS)
def test_profile_userid_matches_user(tmp_path: Path, userid: str, link: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user(userid)],
        device_profiles=[profile(link)],
    )

    assert nonzero_counts(report_row(drop)) == {
        "EM (No Phone & No SNR & No VM & No WebEx & No Spark)": 1
    }


@pytest.mark.parametrize(
    ("phone_name", "link"),
    [
        pytest.param("SEP001122334455", "sep001122334455", id="lower-case"),
        pytest.param("SEP001122334455", "  SEP001122334455 ", id="spaces"),
        pytest.param(" sep001122334455\u00a0", "SEP001122334455", id="phone-side-spaced"),
        pytest.param("CSFÉMILE", "csfémile\u3000", id="non-ascii"),
    ],
)
def test_device_name_matches_association(tmp_path: Path, phone_name: str, link: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone(phone_name)],
        associated_devices=[association("emma.holtom", link)],
    )

    assert nonzero_counts(report_row(drop)) == {ONE_PHONE: 1}


@pytest.mark.parametrize(("userid", "link"), NON_MATCHING_IDS)
def test_different_ids_do_not_match(tmp_path: Path, userid: str, link: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user(userid)],
        phones=[phone("SEP001122334455", owner=link)],
        webex_accounts=[account(link)],
    )

    assert nonzero_counts(report_row(drop)) == {
        UCM_USER: 1,
        "Standalone Phones (No UCM User)": 1,
        "Standalone WebEx (No UCM User)": 1,
    }


@pytest.mark.parametrize(
    "blank",
    [
        pytest.param(" ", id="space"),
        pytest.param("\t ", id="tab-and-space"),
        pytest.param("\u00a0", id="no-break-space"),
        pytest.param("\u3000", id="ideographic-space"),
    ],
)
def test_blank_link_is_null(tmp_path: Path, blank: str) -> None:
    # A link that is empty after trimming links nothing, so phone and account stay
    # standalone.
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner=blank)],
        webex_accounts=[account(blank)],
        voicemail_accounts=[account(blank)],
        spark_accounts=[account(blank)],
        device_profiles=[profile(blank)],
    )

    assert nonzero_counts(report_row(drop)) == {
        UCM_USER: 1,
        "Standalone Phones (No UCM User)": 1,
        "Standalone WebEx (No UCM User)": 1,
        "Standalone Voicemail (No UCM User)": 1,
        "Standalone Spark (No UCM User)": 1,
    }


def test_pkids_compared_exactly(tmp_path: Path) -> None:
    # "C1" and "c1" are two customers, and "S1" and "s1" two sites.
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("c1")],
        sites=[site("S1", customer="C1"), site("s1", customer="c1"), site("s2", customer="c1")],
        users=[user("emma.holtom", site="s1", customer="c1")],
        phones=[phone("SEP001122334455", owner="emma.holtom", site="s1", customer="c1")],
    )
    rows = report_rows(drop)

    assert [row["Customer PKID"] for row in rows] == ["C1", "c1"]
    assert nonzero_counts(rows[0]) == {}
    assert rows[0]["Site Count"] == 1
    assert nonzero_counts(rows[1]) == {ONE_PHONE: 1}
    assert rows[1]["Site Count"] == 2


@pytest.mark.parametrize(
    "pkid",
    [
        pytest.param("5E54067D116FA10046313224", id="upper-case-hex"),
        pytest.param("0b7e2C1a-4F3d-4e8a-9c6b-2d1f0e9a8b7c", id="mixed-case-guid"),
        pytest.param("Kunde-Öresund", id="non-ascii"),
    ],
)
def test_customer_pkid_written_as_given(tmp_path: Path, pkid: str) -> None:
    drop = write_drop(
        tmp_path,
        customers=[customer(pkid)],
        sites=[site("S1", customer=pkid)],
        users=[user("emma.holtom", customer=pkid)],
    )
    rows = report_rows(drop)

    assert [row["Customer PKID"] for row in rows] == [pkid]
    assert nonzero_counts(rows[0]) == {UCM_USER: 1}


def test_links_never_cross_customers(tmp_path: Path) -> None:
    # Customer C2 has no user "emma.holtom": its phone, association and accounts that name
    # her link nothing, even though customer C1 has a user with that id.
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2")],
        sites=[site("S1", customer="C1"), site("S2", customer="C2")],
        users=[user("emma.holtom", site="S1", customer="C1")],
        phones=[
            phone("SEP001122334455", owner="emma.holtom", site="S2", customer="C2"),
            phone("SEP001122334466", site="S2", customer="C2"),
        ],
        associated_devices=[association("emma.holtom", "SEP001122334466", customer="C2")],
        webex_accounts=[account("emma.holtom", site="S2", customer="C2")],
        spark_accounts=[account("emma.holtom", site="S2", customer="C2")],
        device_profiles=[profile("emma.holtom", customer="C2")],
    )

    assert nonzero_counts(report_row(drop, "C1")) == {UCM_USER: 1}
    assert nonzero_counts(report_row(drop, "C2")) == {
        "Standalone Phones (No UCM User)": 2,
        "Standalone WebEx (No UCM User)": 1,
        "Standalone Spark (No UCM User)": 1,
    }


def test_association_never_crosses_customers(tmp_path: Path) -> None:
    # C1's association names a device that exists only in C2.
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2")],
        sites=[site("S1", customer="C1"), site("S2", customer="C2")],
        users=[user("emma.holtom", site="S1", customer="C1")],
        phones=[phone("SEP001122334455", site="S2", customer="C2")],
        associated_devices=[association("emma.holtom", "SEP001122334455", customer="C1")],
    )

    assert nonzero_counts(report_row(drop, "C1")) == {UCM_USER: 1}
    assert nonzero_counts(report_row(drop, "C2")) == {"Standalone Phones (No UCM User)": 1}


def test_same_userid_in_two_customers(tmp_path: Path) -> None:
    # Each customer's user gets only that customer's phone.
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2")],
        sites=[site("S1", customer="C1"), site("S2", customer="C2")],
        users=[
            user("emma.holtom", site="S1", customer="C1"),
            user("Emma.Holtom", site="S2", customer="C2"),
        ],
        phones=[
            phone("SEP001122334455", owner="emma.holtom", site="S1", customer="C1"),
            phone("SEP001122334455", owner="emma.holtom", site="S2", customer="C2"),
            phone("SEP001122334466", owner="emma.holtom", site="S2", customer="C2"),
        ],
    )

    assert nonzero_counts(report_row(drop, "C1")) == {ONE_PHONE: 1}
    assert nonzero_counts(report_row(drop, "C2")) == {"Multiple Phones": 1}
