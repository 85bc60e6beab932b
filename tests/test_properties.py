"""Properties of the report over small random drops, checked with hypothesis.

Each generated drop has one or two customers with sites and users at site or customer level.
It has phones of every device class, with owners and associations, some of which name no user
or no phone. Every service table has rows, linked to users or not, and an optional table may
be absent.

The properties:
- Every subscriber lands in exactly one bucket, so the bucket columns match a count computed
  here in plain Python, one subscriber at a time.
- The order of input rows, and the case and surrounding white space of user ids, device names,
  owners, profile names and account ids, do not change the report.
- The CSV and Parquet forms of one drop give the same report bytes.

Variants marked ``slow`` run many more examples of larger drops. Each example runs the whole
job once or twice, so the quick variants run 12 to 15 examples to keep the README's test run
short. CI runs the slow variants as well.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from drop_builder import REQUIRED_TABLES, TABLE_COLUMNS, write_drop
from hypothesis import given, settings
from hypothesis import strategies as st

from vlf_frames.pipeline import build_report
from vlf_frames.writing import report_csv_text

Row = dict[str, Any]
Tables = dict[str, list[Row]]

METADATA_LINES = [
    "#Platform ID=5e54067d116fa10046313224",
    "#Provider Name=CS-P",
    "#Software Version=21.1",
    "#Platform Version=21.1.0-1630252949",
    "#Deployment Mode=Provider with HCMF",
    "#Date Time=2026-01-31 23:59",
    "#Audit Version=4.0.0",
]

# User ids of the generated drops. Each customer has users with some of them, so the others,
# and the users of the other customer, match no user of the customer.
# zoë.müller checks lower-casing beyond ASCII.
USER_IDS = ("emma.holtom", "raj.patel", "li.wei", "sofia.marin", "zoë.müller", "ava.thompson")

# Products by device class, as the counting rules define the classes.
PRODUCTS_BY_CLASS = {
    "cti_port": ("CTI Port", " cti port "),
    "template": ("Universal Device Template", "Cisco 8845 Template"),
    "spark_remote_device": ("Cisco Spark Remote Device", "CISCO WEBEX REMOTE DEVICE"),
    "analog": ("Analog Phone", "Cisco ATA 190", "cisco ata 186"),
    "phone": ("Cisco 8845", "Cisco Unified Client Services Framework", "CTI Remote Device"),
}
DEVICE_CLASS = {
    product: device_class
    for device_class, products in PRODUCTS_BY_CLASS.items()
    for product in products
}
PRODUCTS = tuple(DEVICE_CLASS)

# A device name that no generated phone has.
UNKNOWN_DEVICE = "SEP0011DEADBEEF"

SERVICE_TABLES = {
    "em": "device_profiles",
    "snr": "remote_destination_profiles",
    "vm": "voicemail_accounts",
    "webex": "webex_accounts",
    "spark": "spark_accounts",
    "pexip": "pexip_accounts",
}
PROFILE_TABLES = ("device_profiles", "remote_destination_profiles")
ACCOUNT_TABLES = ("voicemail_accounts", "webex_accounts", "spark_accounts", "pexip_accounts")
OPTIONAL_TABLES = tuple(name for name in TABLE_COLUMNS if name not in REQUIRED_TABLES)
BOOLEAN_COLUMNS = frozenset(
    {
        "public_sector",
        "inactive_billing",
        "teams",
        "enterprise_voice",
        "o365_licensed",
        "cisco_integrated",
    }
)

# The bucket columns in precedence order. The Microsoft row has no column: such a subscriber
# is counted once, through the Microsoft account, and adds 0 here.
MULTIPLE_PHONES = "Multiple Phones"
MICROSOFT_BUCKET = None
PEXIP_ONLY = "PexIP only"
BUCKET_COLUMNS = (
    MULTIPLE_PHONES,
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
    PEXIP_ONLY,
    "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)",
)
PHONES_PER_LICENSE = 10


# Generated drops


@dataclass(frozen=True)
class DropSize:
    max_users: int
    max_phones: int
    max_extra_phones: int
    max_rows: int  # rows of each other table, per customer


SMALL = DropSize(max_users=4, max_phones=6, max_extra_phones=21, max_rows=3)
LARGER = DropSize(max_users=6, max_phones=12, max_extra_phones=25, max_rows=6)


@st.composite
def drops(draw: st.DrawFn, size: DropSize = SMALL) -> Tables:
    """Draw the tables of a valid drop: unique keys, known customers and sites."""
    tables: Tables = {name: [] for name in TABLE_COLUMNS}
    for customer in draw(st.sampled_from([("C1",), ("C1", "C2")])):
        sites = [f"{customer}-S{number}" for number in range(1, draw(st.integers(1, 2)) + 1)]
        tables["customers"].append(
            {
                "customer_pkid": customer,
                "public_sector": draw(st.none() | st.booleans()),
                "inactive_billing": draw(st.none() | st.booleans()),
            }
        )
        tables["sites"] += [{"site_pkid": pkid, "customer_pkid": customer} for pkid in sites]
        user_ids = draw_users(draw, tables, customer, sites, size)
        device_names = draw_phones(
            draw, tables, customer=customer, sites=sites, user_ids=user_ids, size=size
        )
        draw_links(
            draw,
            tables,
            customer=customer,
            sites=sites,
            user_ids=user_ids,
            device_names=device_names,
            size=size,
        )

    # An absent optional table counts as empty.
    for table in OPTIONAL_TABLES:
        if not tables[table] and draw(st.booleans()):
            del tables[table]
    return tables


def levels(sites: list[str]) -> st.SearchStrategy[str | None]:
    """Draw a site of the customer, or None for the customer level."""
    return st.sampled_from([*sites, None])


def link_targets(user_ids: list[str]) -> st.SearchStrategy[str | None]:
    """Draw a user id for a link: mostly a user of the customer, else an id of no user, or None.

    The id is spelled as in the users table, in upper case or in title case with white space.
    """
    return st.sampled_from([*user_ids, *user_ids, *USER_IDS]).flatmap(spellings) | st.none()


def spellings(link_id: str) -> st.SearchStrategy[str]:
    """Draw one of three spellings of an id that all match it after trimming and lower-casing."""
    return st.sampled_from([link_id, link_id.upper(), f" {link_id.title()}\u00a0"])


def draw_users(
    draw: st.DrawFn, tables: Tables, customer: str, sites: list[str], size: DropSize
) -> list[str]:
    user_ids = draw(st.lists(st.sampled_from(USER_IDS), unique=True, max_size=size.max_users))
    for number, userid in enumerate(user_ids):
        tables["users"].append(
            {
                "user_pkid": f"{customer}-U{number}",
                "customer_pkid": customer,
                "site_pkid": draw(levels(sites)),
                "userid": draw(spellings(userid)),
            }
        )
    return user_ids


def draw_phones(
    draw: st.DrawFn,
    tables: Tables,
    *,
    customer: str,
    sites: list[str],
    user_ids: list[str],
    size: DropSize,
) -> list[str]:
    """Draw phones of every class, and a batch of desk phones of one owner."""
    device_names = []
    for number in range(draw(st.integers(0, size.max_phones))):
        device_name = f"SEP{customer}{number:04d}"
        device_names.append(device_name)
        tables["phones"].append(
            {
                "phone_pkid": f"{customer}-P{number}",
                "customer_pkid": customer,
                "site_pkid": draw(levels(sites)),
                "device_name": device_name,
                "product": draw(st.sampled_from(PRODUCTS)),
                "owner_userid": draw(link_targets(user_ids)),
            }
        )

    # A batch of 9 or more phones gives some users more than 10, so ceil(n / 10) reaches 2 or 3.
    extra_phones = draw(st.just(0) | st.integers(9, size.max_extra_phones))
    extra_owner = draw(
        link_targets(user_ids) if not user_ids else st.sampled_from(user_ids).flatmap(spellings)
    )
    for number in range(extra_phones):
        device_name = f"CSF{customer}{number:04d}"
        device_names.append(device_name)
        tables["phones"].append(
            {
                "phone_pkid": f"{customer}-X{number}",
                "customer_pkid": customer,
                "site_pkid": draw(levels(sites)),
                "device_name": device_name,
                "product": "Cisco 8845",
                "owner_userid": extra_owner,
            }
        )
    return device_names


def draw_links(
    draw: st.DrawFn,
    tables: Tables,
    *,
    customer: str,
    sites: list[str],
    user_ids: list[str],
    device_names: list[str],
    size: DropSize,
) -> None:
    """Draw associations and the rows of every service table, linked to a user or not."""
    # Repeated associations are allowed, and some name no user or no phone.
    associations = st.tuples(
        st.sampled_from([*user_ids, *USER_IDS]).flatmap(spellings),
        st.sampled_from([*device_names[:8], UNKNOWN_DEVICE]).flatmap(spellings),
    )
    for userid, device_name in draw(st.lists(associations, max_size=size.max_rows * 2)):
        tables["associated_devices"].append(
            {"customer_pkid": customer, "userid": userid, "device_name": device_name}
        )

    rows = st.integers(0, size.max_rows)
    for table in PROFILE_TABLES:
        for number in range(draw(rows)):
            tables[table].append(
                {
                    "profile_name": f"{table[:3].upper()}-{customer}-{number}",
                    "customer_pkid": customer,
                    "userid": draw(link_targets(user_ids)),
                }
            )
    for table in ACCOUNT_TABLES:
        for number in range(draw(rows)):
            tables[table].append(
                {
                    "account_id": f"{table[:3]}-{customer}-{number}@example.com",
                    "customer_pkid": customer,
                    "site_pkid": draw(levels(sites)),
                    "userid": draw(link_targets(user_ids)),
                }
            )
    for number in range(draw(rows)):
        tables["contact_center_agents"].append(
            {
                "account_id": f"{customer}-{number}",
                "customer_pkid": customer,
                "site_pkid": draw(levels(sites)),
                "platform": draw(st.sampled_from(["UCCE", "UCCX", "uccx"])),
                "userid": draw(link_targets(user_ids)),
            }
        )
    for number in range(draw(rows)):
        tables["microsoft_accounts"].append(
            {
                "account_id": f"upn-{customer}-{number}@example.com",
                "customer_pkid": customer,
                "site_pkid": draw(levels(sites)),
                "userid": draw(link_targets(user_ids)),
                "teams": draw(st.booleans()),
                "enterprise_voice": draw(st.booleans()),
                "o365_licensed": draw(st.booleans()),
                "cisco_integrated": draw(st.booleans()),
            }
        )
    for number in range(draw(st.integers(0, 2))):
        tables["phone_server_phones"].append(
            {
                "device_name": f"PSP-{customer}-{number}",
                "customer_pkid": customer,
                "site_pkid": draw(levels(sites)),
            }
        )


@contextmanager
def temporary_folder() -> Iterator[Path]:
    # hypothesis runs the test body many times per test, so pytest's tmp_path would be shared.
    with tempfile.TemporaryDirectory(prefix="vlf-properties-") as folder:
        yield Path(folder)


def report_of(tables: Mapping[str, Sequence[Row]]) -> str:
    """Write the tables as a CSV drop and return the report text, built in-process."""
    with temporary_folder() as root:
        drop = write_drop(root, **tables)
        return report_csv_text(build_report(drop).report, METADATA_LINES)


# The reference count, in plain Python


def normalized(value: str | None) -> str | None:
    """Trim and lower-case a link id. An empty result is None, which links nothing."""
    if value is None:
        return None
    return value.strip().lower() or None


@dataclass
class UserFeatures:
    """A user's phone count n(U), linked services and counted Microsoft link."""

    customer: str
    userid: str
    phone_count: int
    services: set[str]
    microsoft: bool


def user_key(row: Row) -> tuple[str, str]:
    """Return a user's (customer, normalized userid). A valid user always has a userid."""
    userid = normalized(row["userid"])
    assert userid is not None
    return row["customer_pkid"], userid


def phone_counts(tables: Tables, user_keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return n(U) per (customer, userid): phones and analog phones that belong to the user,
    or 1 when the user has none of those but a Spark Remote Device."""
    phones_by_name = {
        (phone["customer_pkid"], normalized(phone["device_name"])): phone
        for phone in tables["phones"]
    }
    owned: dict[tuple[str, str], set[str]] = {key: set() for key in user_keys}
    for phone in tables["phones"]:
        owner = (phone["customer_pkid"], normalized(phone["owner_userid"]))
        if owner in owned:
            owned[owner].add(phone["phone_pkid"])
    for association in tables["associated_devices"]:
        customer = association["customer_pkid"]
        user_key = (customer, normalized(association["userid"]))
        phone = phones_by_name.get((customer, normalized(association["device_name"])))
        if user_key in owned and phone is not None:
            owned[user_key].add(phone["phone_pkid"])

    classes = {phone["phone_pkid"]: DEVICE_CLASS[phone["product"]] for phone in tables["phones"]}
    counts = {}
    for key, phone_ids in owned.items():
        counted = [pkid for pkid in phone_ids if classes[pkid] in ("phone", "analog")]
        has_spark_remote_device = any(classes[pkid] == "spark_remote_device" for pkid in phone_ids)
        if counted:
            counts[key] = len(counted)
        elif has_spark_remote_device:
            counts[key] = 1
        else:
            counts[key] = 0
    return counts


def linked_users(rows: Sequence[Row]) -> set[tuple[str, str | None]]:
    return {(row["customer_pkid"], normalized(row["userid"])) for row in rows}


def all_users(tables: Tables) -> list[UserFeatures]:
    """Return every user, at site or customer level, with phone count and services."""
    user_keys = {user_key(user) for user in tables["users"]}
    counts = phone_counts(tables, user_keys)
    linked = {
        service: linked_users(tables.get(table, [])) for service, table in SERVICE_TABLES.items()
    }
    microsoft_linked = linked_users(
        [
            account
            for account in tables.get("microsoft_accounts", [])
            if account["teams"] or account["o365_licensed"]
        ]
    )
    users = []
    for key in sorted(user_keys):
        services = {service for service, keys in linked.items() if key in keys}
        customer, userid = key
        users.append(UserFeatures(customer, userid, counts[key], services, key in microsoft_linked))
    return users


def bucket(user: UserFeatures) -> str | None:
    """Return the user's bucket column: the first matching row of the precedence table.

    None is the Microsoft row, which has no column.
    """
    n = user.phone_count
    em, snr, vm = "em" in user.services, "snr" in user.services, "vm" in user.services
    webex, spark = "webex" in user.services, "spark" in user.services
    precedence = [
        (n >= 2, MULTIPLE_PHONES),
        (n == 1 and webex, "One Phone & WebEx"),
        (n == 1 and vm, "One Phone & VM (No WebEx)"),
        (n == 1 and spark, "One Phone & Spark (No VM & No WebEx)"),
        (n == 1, "One Phone (No VM & No WebEx & No Spark)"),
        (em and webex, "EM & WebEx (No Phone)"),
        (em and vm, "EM & VM (No Phone & No WebEx)"),
        (em and spark, "EM & Spark (No Phone & No VM & No WebEx)"),
        (em and snr, "EM & SNR (No Phone & No VM & No WebEx & No Spark)"),
        (em, "EM (No Phone & No SNR & No VM & No WebEx & No Spark)"),
        (webex, "WebEx (No Phone & No EM)"),
        (vm, "VM (No Phone & No EM & No WebEx)"),
        (spark, "Spark (No Phone & No EM & No SNR & No VM & No WebEx)"),
        (snr, "SNR (No Phone & No EM & No VM & No WebEx & No Spark)"),
        (user.microsoft, MICROSOFT_BUCKET),
        ("pexip" in user.services, PEXIP_ONLY),
    ]
    for matches, column in precedence:
        if matches:
            return column
    return "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)"


def licenses(user: UserFeatures) -> int:
    """Return what a subscriber adds to its bucket column."""
    column = bucket(user)
    if column == MULTIPLE_PHONES:
        return math.ceil(user.phone_count / PHONES_PER_LICENSE)
    if column is MICROSOFT_BUCKET:
        return 0
    return 1


def unmatched_pexip_count(tables: Tables, customer: str, users: list[UserFeatures]) -> int:
    """Count Pexip accounts of no user: once per distinct user id, once per row without one."""
    user_ids = {user.userid for user in users if user.customer == customer}
    unmatched_ids = set()
    rows_without_id = 0
    for account in tables.get("pexip_accounts", []):
        if account["customer_pkid"] != customer:
            continue
        userid = normalized(account["userid"])
        if userid is None:
            rows_without_id += 1
        elif userid not in user_ids:
            unmatched_ids.add(userid)
    return len(unmatched_ids) + rows_without_id


@dataclass
class ReferenceCounts:
    """Expected values of one customer's report row."""

    buckets: dict[str, int]  # count per bucket column
    # Licenses of the subscribers, plus the PexIP only counts of users at customer level and
    # of Pexip accounts of no user.
    licenses: int
    more_than_10_phones: int


def reference_counts(tables: Tables) -> dict[str, ReferenceCounts]:
    """Count each customer's bucket columns one user at a time."""
    users = all_users(tables)
    site_level = {user_key(user) for user in tables["users"] if user["site_pkid"] is not None}
    counts = {}
    for row in tables["customers"]:
        customer = row["customer_pkid"]
        buckets = dict.fromkeys(BUCKET_COLUMNS, 0)
        total = 0
        more_than_10 = 0
        for user in users:
            if user.customer != customer:
                continue
            is_subscriber = (customer, user.userid) in site_level
            column = bucket(user)
            if is_subscriber and column is not MICROSOFT_BUCKET:
                buckets[column] += licenses(user)
            if is_subscriber:
                total += licenses(user)
                more_than_10 += user.phone_count > PHONES_PER_LICENSE
            elif column == PEXIP_ONLY:
                # PexIP only also counts users at customer level.
                buckets[PEXIP_ONLY] += 1
                total += 1
        extra_pexip = unmatched_pexip_count(tables, customer, users)
        buckets[PEXIP_ONLY] += extra_pexip
        total += extra_pexip
        counts[customer] = ReferenceCounts(buckets, total, more_than_10)
    return counts


def check_buckets_reconcile(tables: Tables) -> None:
    with temporary_folder() as root:
        report = build_report(write_drop(root, **tables)).report
    expected = reference_counts(tables)

    assert sorted(report.get_column("Customer PKID")) == sorted(expected)
    for row in report.iter_rows(named=True):
        reference = expected[row["Customer PKID"]]
        buckets = {column: row[column] for column in BUCKET_COLUMNS}
        assert buckets == reference.buckets
        assert sum(buckets.values()) == reference.licenses
        assert row["Users With More Than 10 Phones"] == reference.more_than_10_phones


@settings(max_examples=15, deadline=None)
@given(drops())
def test_buckets_reconcile(tables: Tables) -> None:
    check_buckets_reconcile(tables)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(drops(LARGER))
def test_buckets_reconcile_many(tables: Tables) -> None:
    check_buckets_reconcile(tables)


# Row order and the spelling of link ids

# Columns compared trimmed and lower-cased.
LINK_ID_COLUMNS = ("userid", "device_name", "owner_userid", "profile_name", "account_id")
# Characters with the Unicode White_Space property: space, tab, no-break space, em space.
WHITE_SPACE = ("", " ", "  ", "\t", "\u00a0", "\u2003")


def respelled(value: str, rng: random.Random) -> str:
    """Return the value with each letter in random case and white space around it."""
    letters = "".join(letter.upper() if rng.random() < 0.5 else letter.lower() for letter in value)
    return rng.choice(WHITE_SPACE) + letters + rng.choice(WHITE_SPACE)


def shuffled_and_respelled(tables: Tables, rng: random.Random) -> Tables:
    varied: Tables = {}
    for name, rows in tables.items():
        new_rows = []
        for row in rows:
            new_row = dict(row)
            for column in LINK_ID_COLUMNS:
                if new_row.get(column) is not None:
                    new_row[column] = respelled(new_row[column], rng)
            new_rows.append(new_row)
        rng.shuffle(new_rows)
        varied[name] = new_rows
    return varied


def check_order_and_spelling_ignored(tables: Tables, rng: random.Random) -> None:
    varied = shuffled_and_respelled(tables, rng)

    assert report_of(varied) == report_of(tables)


@settings(max_examples=12, deadline=None)
@given(drops(), st.randoms(use_true_random=False))
def test_order_and_spelling_ignored(tables: Tables, rng: random.Random) -> None:
    check_order_and_spelling_ignored(tables, rng)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(drops(LARGER), st.randoms(use_true_random=False))
def test_order_and_spelling_ignored_many(tables: Tables, rng: random.Random) -> None:
    check_order_and_spelling_ignored(tables, rng)


# CSV and Parquet forms


def write_parquet_drop(root: Path, tables: Mapping[str, Sequence[Row]]) -> Path:
    """Write the tables as ``<table>.parquet``: booleans as booleans, other columns as strings."""
    drop = root / "parquet-drop"
    drop.mkdir()
    for name, rows in tables.items():
        columns = {}
        for column in TABLE_COLUMNS[name]:
            values = [row.get(column) for row in rows]
            dtype = pa.bool_() if column in BOOLEAN_COLUMNS else pa.string()
            columns[column] = pa.array(values, dtype)
        pq.write_table(pa.table(columns), drop / f"{name}.parquet")
    return drop


def check_csv_and_parquet_agree(tables: Tables) -> None:
    with temporary_folder() as root:
        parquet_drop = write_parquet_drop(root, tables)
        parquet_report = report_csv_text(build_report(parquet_drop).report, METADATA_LINES)

    assert parquet_report == report_of(tables)


@settings(max_examples=12, deadline=None)
@given(drops())
def test_csv_and_parquet_agree(tables: Tables) -> None:
    check_csv_and_parquet_agree(tables)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(drops(LARGER))
def test_csv_and_parquet_agree_many(tables: Tables) -> None:
    check_csv_and_parquet_agree(tables)
