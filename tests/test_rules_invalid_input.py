"""Invalid input: by default a drop with invalid rows raises ``InvalidInputError``.

Invalid rows are a missing required column, a wrong type, a null in a required field, a
duplicate key, a reference to an unknown customer or site, and an unknown contact center
platform. User ids and device names are compared normalized when checking for duplicates
within one customer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from drop_builder import (
    account,
    agent,
    build_report_frame,
    customer,
    ms_account,
    phone,
    site,
    user,
    write_drop,
)

from vlf_frames.chunked import build_report_chunked
from vlf_frames.errors import InvalidInputError
from vlf_frames.partitioned import build_report_partitioned
from vlf_frames.pipeline import InvalidDropError, ReportResult, build_report
from vlf_frames.validation import Finding

TWO_CUSTOMERS: dict[str, Any] = {
    "customers": [customer("C1"), customer("C2")],
    "sites": [site("S1", customer="C1"), site("S2", customer="C2")],
}

INVALID_DROPS = [
    # Duplicate keys
    pytest.param(
        "users",
        {"users": [user("emma.holtom"), user(" EMMA.Holtom\u00a0")]},
        id="duplicate-normalized-userid",
    ),
    pytest.param(
        "users",
        {
            "users": [
                user("emma.holtom", user_pkid="user-1"),
                user("raj.patel", user_pkid="user-1"),
            ]
        },
        id="duplicate-user-pkid",
    ),
    pytest.param(
        "phones",
        {"phones": [phone("SEP001122334455"), phone("sep001122334455 ")]},
        id="duplicate-normalized-device-name",
    ),
    pytest.param(
        "sites",
        {"sites": [site("S1"), site("S1", site_name="Second site")]},
        id="duplicate-site-pkid",
    ),
    pytest.param(
        "customers",
        {"customers": [customer("C1"), customer("C1")]},
        id="duplicate-customer-pkid",
    ),
    pytest.param(
        "webex_accounts",
        {
            "webex_accounts": [
                account(None, account_id="emma.holtom@example.com"),
                account(None, account_id="emma.holtom@example.com"),
            ]
        },
        id="duplicate-account-id",
    ),
    # Unknown customer or site
    pytest.param("sites", {"sites": [site("S1", customer="C9")]}, id="site-unknown-customer"),
    pytest.param(
        "users", {"users": [user("emma.holtom", customer="C9")]}, id="user-unknown-customer"
    ),
    pytest.param("users", {"users": [user("emma.holtom", site="S9")]}, id="user-unknown-site"),
    # Primary keys are compared exactly: "s1" is not site "S1".
    pytest.param("users", {"users": [user("emma.holtom", site="s1")]}, id="user-site-case"),
    pytest.param(
        "users",
        {**TWO_CUSTOMERS, "users": [user("emma.holtom", site="S2", customer="C1")]},
        id="user-site-of-other-customer",
    ),
    pytest.param(
        "phones", {"phones": [phone("SEP001122334455", site="S9")]}, id="phone-unknown-site"
    ),
    pytest.param(
        "phones",
        {**TWO_CUSTOMERS, "phones": [phone("SEP001122334455", site="S2", customer="C1")]},
        id="phone-site-of-other-customer",
    ),
    pytest.param(
        "webex_accounts",
        {"webex_accounts": [account(None, site="S9")]},
        id="account-unknown-site",
    ),
    pytest.param(
        "microsoft_accounts",
        {**TWO_CUSTOMERS, "microsoft_accounts": [ms_account(None, site="S2", customer="C1")]},
        id="microsoft-site-of-other-customer",
    ),
    # Unknown contact center platform
    pytest.param(
        "contact_center_agents",
        {"contact_center_agents": [agent("UCCH")]},
        id="unknown-platform",
    ),
    # Null in a required field
    pytest.param("phones", {"phones": [phone("SEP001122334455", product=None)]}, id="null-product"),
    pytest.param("users", {"users": [user(None)]}, id="null-userid"),
    pytest.param(
        "microsoft_accounts",
        {"microsoft_accounts": [ms_account(None, teams=None)]},
        id="null-teams-flag",
    ),
    # Wrong type
    pytest.param(
        "microsoft_accounts",
        {"microsoft_accounts": [ms_account(None, teams="maybe")]},
        id="teams-flag-not-boolean",
    ),
    pytest.param(
        "customers",
        {"customers": [customer("C1", public_sector="sometimes")]},
        id="public-sector-not-boolean",
    ),
]


@pytest.mark.parametrize(("table", "tables"), INVALID_DROPS)
def test_invalid_drop_raises(tmp_path: Path, table: str, tables: dict[str, Any]) -> None:
    drop = write_drop(tmp_path, **tables)

    with pytest.raises(InvalidInputError) as error:
        build_report_frame(drop)

    # The error names the table that contains the invalid rows.
    assert table in str(error.value)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        pytest.param("users", "userid", id="users-userid"),
        pytest.param("phones", "product", id="phones-product"),
        pytest.param("sites", "customer_pkid", id="sites-customer-pkid"),
    ],
)
def test_missing_required_column_raises(tmp_path: Path, table: str, column: str) -> None:
    drop = write_drop(
        tmp_path,
        users=[user("emma.holtom")],
        phones=[phone("SEP001122334455", owner="emma.holtom")],
    )
    path = drop / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    keep = [index for index, name in enumerate(header) if name != column]
    rewritten = [",".join(line.split(",")[index] for index in keep) for line in lines]
    path.write_text("\n".join(rewritten) + "\n", encoding="utf-8")

    with pytest.raises(InvalidInputError) as error:
        build_report_frame(drop)

    # The error names the table and the missing column.
    assert table in str(error.value)
    assert column in str(error.value)


def test_same_userid_in_two_customers_is_valid(tmp_path: Path) -> None:
    drop = write_drop(
        tmp_path,
        **TWO_CUSTOMERS,
        users=[
            user("emma.holtom", site="S1", customer="C1"),
            user("EMMA.HOLTOM", site="S2", customer="C2"),
        ],
        phones=[
            phone("SEP001122334455", site="S1", customer="C1"),
            phone("sep001122334455", site="S2", customer="C2"),
        ],
    )

    assert build_report_frame(drop).height == 2


def test_two_checks_on_one_row_keep_order(tmp_path: Path) -> None:
    """A site whose customer_pkid is blank fails two checks; reruns list them alike."""
    drop = write_drop(tmp_path, sites=[site("S1"), site("S2", customer="  ")])
    orders = []
    for _ in range(5):
        with pytest.raises(InvalidDropError) as error:
            build_report(drop)
        orders.append([(finding.table, finding.check) for finding in error.value.findings])

    assert orders[0] == [("sites", "known_customer"), ("sites", "not_blank")]
    assert all(order == orders[0] for order in orders)


@pytest.mark.parametrize(
    ("column", "values", "expected", "fix"),
    [
        (
            "public_sector",
            pa.array([1], pa.int8()),
            "expected 'Boolean' or 'String', found Int8",
            "as Boolean, or as text with true/false",
        ),
        ("customer_pkid", pa.array([7], pa.int64()), "expected 'String', found Int64", "as text"),
    ],
)
def test_parquet_wrong_type_expected_named(
    tmp_path: Path, column: str, values: pa.Array, expected: str, fix: str
) -> None:
    """A boolean column may be a Parquet Boolean or text, and the finding names both."""
    drop = write_drop(tmp_path, users=[user("anna")])
    (drop / "customers.csv").unlink()
    customers = {"customer_pkid": pa.array(["C1"]), "public_sector": pa.array([True])}
    customers[column] = values
    pq.write_table(pa.table(customers), drop / "customers.parquet")

    with pytest.raises(InvalidDropError) as error:
        build_report(drop)

    [finding] = error.value.findings
    assert finding.column == column
    assert expected in finding.description
    assert fix in finding.fix


def build_in_two_partitions(drop: Path) -> ReportResult:
    return build_report_partitioned(drop, partitions=2)


@pytest.mark.parametrize("build", [build_report, build_in_two_partitions])
@pytest.mark.parametrize(
    ("pkid", "hint"),
    [
        ("C1\x00", "customers has 'C1\\x00' where other tables have 'C1': they differ only by"),
        ("C1 ", "customers has 'C1 ' where other tables have 'C1': they differ only by"),
        ("\ufeffC1", "customers has '\\ufeffC1' where other tables have 'C1': they differ only by"),
        ("c1", "customers has 'c1' where other tables have 'C1': they differ only by case"),
        ("C9", None),
    ],
)
def test_unknown_customer_close_match_named(
    tmp_path: Path, build: Callable[[Path], ReportResult], pkid: str, hint: str | None
) -> None:
    """A customer row whose pkid has an invisible character looks like the pkid it misses."""
    drop = write_drop(tmp_path, customers=[customer(pkid)], users=[user("anna")])

    with pytest.raises(InvalidDropError) as error:
        build(drop)

    unknown = [finding for finding in error.value.findings if finding.check == "known_customer"]
    assert {finding.table for finding in unknown} == {"sites", "users"}
    for finding in unknown:
        assert "as listed under customers" not in finding.fix
        if hint is None:
            assert "customers has" not in finding.fix
        else:
            assert hint in finding.fix


@pytest.mark.parametrize("build", [build_report, build_in_two_partitions])
def test_invalid_customer_row_named_as_cause(
    tmp_path: Path, build: Callable[[Path], ReportResult]
) -> None:
    """The rows of a customer whose own row is invalid point to that row."""
    customers = [
        customer("C1", public_sector="maybe"),
        customer("C2"),
        customer("C3", inactive_billing="perhaps"),
    ]
    users = [
        user("anna"),
        user("bert", site="S2", customer="C2"),
        user("cleo", site="S3", customer="C3"),
    ]
    sites = [site("S1"), site("S2", customer="C2"), site("S3", customer="C3")]
    drop = write_drop(tmp_path, customers=customers, sites=sites, users=users)

    with pytest.raises(InvalidDropError) as error:
        build(drop)

    findings = error.value.findings
    assert findings[0].table == "customers"
    unknown = [finding for finding in findings if finding.check == "known_customer"]
    assert {finding.table for finding in unknown} == {"sites", "users"}
    for finding in unknown:
        assert "The rows of customers for 'C1', 'C3' are invalid themselves" in finding.fix
        assert "'C2'" not in finding.fix


def test_one_invalid_customer_row_named(tmp_path: Path) -> None:
    customers = [customer("C1", public_sector="maybe")]
    drop = write_drop(tmp_path, customers=customers, users=[user("anna")])

    with pytest.raises(InvalidDropError) as error:
        build_report(drop)

    unknown = [finding for finding in error.value.findings if finding.check == "known_customer"]
    assert {finding.table for finding in unknown} == {"sites", "users"}
    for finding in unknown:
        assert "The row of customers for 'C1' is invalid itself: fix it first" in finding.fix


@pytest.mark.parametrize("build", [build_report, build_in_two_partitions])
def test_invalid_site_rows_named_as_cause(
    tmp_path: Path, build: Callable[[Path], ReportResult]
) -> None:
    """The rows that name a site whose own row is invalid point to that row. A site that is
    invalid because its customer is invalid is left to the customer's hint."""
    customers = [customer("C1"), customer("C2", public_sector="maybe")]
    sites = [
        site("S1"),
        site("S1", site_name="Second S1"),
        site("S2", customer="C2"),
        site("S3"),
        site("S4"),
        site("S4", site_name="Second S4"),
    ]
    users = [
        user("anna"),
        user("bert", site="S2", customer="C2"),
        user("cleo", site="S3"),
        user("dora", site="S9"),
        user("emil", site="S4"),
    ]
    drop = write_drop(tmp_path, customers=customers, sites=sites, users=users)

    with pytest.raises(InvalidDropError) as error:
        build(drop)

    findings = {(finding.table, finding.check): finding for finding in error.value.findings}
    unknown = findings["users", "known_site"]
    # bert's row fails only the customer check, whose finding names the cause.
    assert unknown.failing_rows == 3
    assert findings["users", "known_customer"].failing_rows == 1
    assert (
        ". The rows of sites for site 'S1' of customer 'C1' and site 'S4' of customer 'C1' are "
        "invalid themselves: fix them first, as listed under sites"
    ) in unknown.fix
    for other in ("'S2'", "'S3'", "'S9'", "'C2'"):
        assert other not in unknown.fix
    unknown_customer = findings["users", "known_customer"]
    assert "The row of customers for 'C2' is invalid itself" in unknown_customer.fix


def rename_site_column(drop: Path, written: str) -> None:
    """Write the site_pkid column of the drop's users.csv as ``written`` in its header."""
    users = drop / "users.csv"
    header, rows = users.read_text(encoding="utf-8").split("\n", 1)
    users.write_text(header.replace("site_pkid", written) + "\n" + rows, encoding="utf-8")


@pytest.mark.parametrize("written", ["SITE_PKID", " site_pkid", "Site_Pkid "])
def test_misspelled_column_named(tmp_path: Path, written: str) -> None:
    """A header that differs from a column only by case or spaces gets the rename as its fix."""
    drop = write_drop(tmp_path, users=[user("anna")])
    rename_site_column(drop, written)

    with pytest.raises(InvalidDropError) as error:
        build_report(drop)

    [missing] = error.value.findings
    assert (missing.table, missing.column, missing.check) == (
        "users",
        "site_pkid",
        "column_in_dataframe",
    )
    assert missing.fix == (
        f"rename the column {written!r} to 'site_pkid' in the export (column names are matched "
        "exactly)"
    )


@pytest.mark.parametrize(
    ("column", "written"),
    [("public_sector", " public_sector"), ("inactive_billing", "Inactive_Billing")],
)
@pytest.mark.parametrize("build", [build_report, build_report_chunked])
def test_misspelled_optional_column_stops(
    tmp_path: Path, build: Callable[..., ReportResult], column: str, written: str
) -> None:
    """An optional column read as absent would turn every flag False, so a column that is
    only spelled differently stops the run."""
    flags = {"public_sector": "true", "inactive_billing": "true"}
    drop = write_drop(tmp_path, customers=[customer("C1", **flags)])
    customers = drop / "customers.csv"
    header, rows = customers.read_text(encoding="utf-8").split("\n", 1)
    customers.write_text(header.replace(column, written) + "\n" + rows, encoding="utf-8")

    with pytest.raises(InvalidDropError) as error:
        build(drop)

    [finding] = error.value.findings
    assert (finding.table, finding.column, finding.check) == ("customers", column, "column_name")
    assert finding.description == f"optional column is missing, and the file has {written!r}"
    assert finding.fix.startswith(f"rename the column {written!r} to {column!r}")
    assert finding.stops_run


def test_misspelled_parquet_column_named(tmp_path: Path) -> None:
    drop = write_drop(tmp_path)
    customers = {"Customer_PKID": pa.array(["C1"]), "public_sector": pa.array([True])}
    (drop / "customers.csv").unlink()
    pq.write_table(pa.table(customers), drop / "customers.parquet")

    with pytest.raises(InvalidDropError) as error:
        build_report(drop)

    [missing] = error.value.findings
    assert missing.column == "customer_pkid"
    assert missing.fix.startswith("rename the column 'Customer_PKID' to 'customer_pkid'")


def test_missing_column_without_near_name(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, users=[user("anna")])
    rename_site_column(drop, "site")

    with pytest.raises(InvalidDropError) as error:
        build_report(drop)

    [missing] = error.value.findings
    assert missing.fix == "add the column to the export (column names are matched exactly)"


@pytest.mark.parametrize("build", [build_report, build_in_two_partitions])
def test_unknown_customer_no_site_finding(
    tmp_path: Path, build: Callable[[Path], ReportResult]
) -> None:
    """A row of an unknown customer gets no site finding, because its site is looked up under
    that customer."""
    drop = write_drop(tmp_path, users=[user("anna"), user("ben", customer="C9")])

    with pytest.raises(InvalidDropError) as error:
        build(drop)

    assert [(finding.table, finding.check) for finding in error.value.findings] == [
        ("users", "known_customer")
    ]


def test_unknown_customer_reject_reason(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, users=[user("anna"), user("ben", customer="C9")])

    result = build_report(drop, on_invalid="quarantine")

    [reasons] = result.validation.rejects().get_column("reasons").to_list()
    assert "customer_pkid names no customer" in reasons
    assert "site_pkid" not in reasons


def site_finding(drop: Path) -> Finding:
    """Return the one finding of the known_site check of a drop that fails in one pass."""
    with pytest.raises(InvalidDropError) as error:
        build_report(drop)
    [finding] = [finding for finding in error.value.findings if finding.check == "known_site"]
    return finding


def test_one_invalid_site_row_named(tmp_path: Path) -> None:
    sites = [site("S1"), site("S1", site_name="Second S1")]
    drop = write_drop(tmp_path, sites=sites, users=[user("anna")])

    unknown = site_finding(drop)
    assert (
        "The row of sites for site 'S1' of customer 'C1' is invalid itself: fix it first, as "
        "listed under sites"
    ) in unknown.fix


def test_many_invalid_site_rows_counted(tmp_path: Path) -> None:
    pkids = ["S1", "S2", "S3", "S4", "S5"]
    sites = [site(pkid, site_name=name) for pkid in pkids for name in ("one", "two")]
    users = [user(f"user{number}", site=pkid) for number, pkid in enumerate(pkids)]
    drop = write_drop(tmp_path, sites=sites, users=users)

    unknown = site_finding(drop)
    assert (
        "The rows of sites for site 'S1' of customer 'C1', site 'S2' of customer 'C1', site "
        "'S3' of customer 'C1' and 2 more are invalid themselves"
    ) in unknown.fix


def test_unknown_site_has_no_hint(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, users=[user("anna", site="S9")])

    unknown = site_finding(drop)
    assert "listed under sites" not in unknown.fix


@pytest.mark.parametrize("pkid", ["C2\x00", "C2\n", "\ufeffC2", "C2\u200b", "C\u20282"])
def test_customer_pkid_invisible_character_rejected(tmp_path: Path, pkid: str) -> None:
    """The report writes the pkid as given, so a control or format character in it is invalid."""
    drop = write_drop(tmp_path, customers=[customer("C1"), customer(pkid)])

    with pytest.raises(InvalidDropError) as error:
        build_report(drop)

    [finding] = error.value.findings
    assert (finding.table, finding.column, finding.check) == (
        "customers",
        "customer_pkid",
        "printable",
    )
    assert finding.examples[0].startswith(repr(pkid))


def test_customer_pkid_visible_characters_kept(tmp_path: Path) -> None:
    """Spaces, a non-breaking space and letters beyond ASCII are part of the pkid as given."""
    pkid = " C2\u00a0é "
    drop = write_drop(tmp_path, customers=[customer("C1"), customer(pkid)])

    report = build_report(drop).report

    assert pkid in report.get_column("Customer PKID").to_list()
