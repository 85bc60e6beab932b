"""Unique keys are checked within one customer, after trimming and lower-casing ids."""

from pathlib import Path

import pytest
from drop_builder import agent, customer, phone, site, user, write_drop

from vlf_frames.errors import InvalidInputError
from vlf_frames.pipeline import build_report

TWO_CUSTOMERS = {
    "customers": [customer("C1"), customer("C2")],
    "sites": [site("S1", "C1"), site("S2", "C2")],
}


def test_same_userid_in_two_customers_valid(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        **TWO_CUSTOMERS,
        users=[
            user("Emma.Holtom", site="S1", customer="C1", user_pkid="U1"),
            user("emma.holtom", site="S2", customer="C2", user_pkid="U2"),
        ],
        phones=[
            phone("SEP1", site="S1", customer="C1", phone_pkid="P1"),
            phone("sep1", site="S2", customer="C2", phone_pkid="P2"),
        ],
    )

    report = build_report(drop).report

    assert report.height == 2


def test_agent_key_includes_platform(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        contact_center_agents=[
            agent("UCCE", account_id="agent-7"),
            agent("UCCX", account_id="agent-7"),
        ],
    )

    report = build_report(drop).report

    assert report.get_column("Contact Center Enterprise").to_list() == [1]
    assert report.get_column("Contact Center Express").to_list() == [1]


def test_agent_platform_case_duplicate_invalid(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        contact_center_agents=[
            agent("UCCE", account_id="agent-7"),
            agent(" ucce", account_id="AGENT-7 "),
        ],
    )

    with pytest.raises(InvalidInputError) as error:
        build_report(drop)

    assert "unique_key(customer_pkid, platform, account_id)" in str(error.value)
    assert "2 rows" in str(error.value)
