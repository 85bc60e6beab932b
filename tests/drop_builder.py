"""Write small inventory drops for rule tests, and read one customer's report row.

A test names only the rows that matter. ``write_drop`` adds the rest: one customer ``C1``
with one site ``S1``, the other required tables empty, and every contract column that a row
leaves out set to null. Row helpers such as ``user`` and ``phone`` default to customer ``C1``
and site ``S1``. Pass ``site=None`` for a record at customer level.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

Row = dict[str, Any]

# Columns of each table in the input contract, in the order they are written.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_pkid",
        "customer_name",
        "provider_name",
        "reseller_name",
        "public_sector",
        "inactive_billing",
    ),
    "sites": ("site_pkid", "customer_pkid", "site_name"),
    "users": ("user_pkid", "customer_pkid", "site_pkid", "userid"),
    "phones": (
        "phone_pkid",
        "customer_pkid",
        "site_pkid",
        "device_name",
        "product",
        "owner_userid",
    ),
    "associated_devices": ("customer_pkid", "userid", "device_name"),
    "device_profiles": ("profile_name", "customer_pkid", "userid"),
    "remote_destination_profiles": ("profile_name", "customer_pkid", "userid"),
    "voicemail_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "webex_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "spark_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "pexip_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "contact_center_agents": ("account_id", "customer_pkid", "site_pkid", "platform", "userid"),
    "microsoft_accounts": (
        "account_id",
        "customer_pkid",
        "site_pkid",
        "userid",
        "teams",
        "enterprise_voice",
        "o365_licensed",
        "cisco_integrated",
    ),
    "phone_server_phones": ("device_name", "customer_pkid", "site_pkid"),
}

REQUIRED_TABLES = ("customers", "sites", "users", "phones", "associated_devices")

# Customer columns that the contract allows to be absent: written only when a row sets them.
OPTIONAL_CUSTOMER_COLUMNS = ("public_sector", "inactive_billing")

# Key columns that a test rarely cares about: filled with a unique value when a row leaves
# them out, so that two rows never collide on the table's key by accident.
GENERATED_KEYS = {
    "users": ("user_pkid", "user-"),
    "phones": ("phone_pkid", "phone-"),
    "device_profiles": ("profile_name", "em-profile-"),
    "remote_destination_profiles": ("profile_name", "rdp-"),
    "voicemail_accounts": ("account_id", "mailbox-"),
    "webex_accounts": ("account_id", "webex-"),
    "spark_accounts": ("account_id", "spark-"),
    "pexip_accounts": ("account_id", "vmr-"),
    "contact_center_agents": ("account_id", "agent-"),
    "microsoft_accounts": ("account_id", "upn-"),
    "phone_server_phones": ("device_name", "psp-"),
}

# The 35 report columns of audit version 4.0.0, in header order.
REPORT_COLUMNS = (
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
)

FLAG_COLUMNS = ("Public Sector", "Inactive Billing")
COUNT_COLUMNS = tuple(
    name for name in REPORT_COLUMNS if name != "Customer PKID" and name not in FLAG_COLUMNS
)


# Row helpers: each returns one row of one table, with the contract's column names.


def customer(pkid: str = "C1", **columns: Any) -> Row:
    return {"customer_pkid": pkid, **columns}


def site(pkid: str = "S1", customer: str = "C1", **columns: Any) -> Row:
    return {"site_pkid": pkid, "customer_pkid": customer, **columns}


def user(userid: str, site: str | None = "S1", customer: str = "C1", **columns: Any) -> Row:
    return {"userid": userid, "site_pkid": site, "customer_pkid": customer, **columns}


def phone(
    device_name: str,
    product: str = "Cisco 8845",
    owner: str | None = None,
    site: str | None = "S1",
    customer: str = "C1",
    **columns: Any,
) -> Row:
    return {
        "device_name": device_name,
        "product": product,
        "owner_userid": owner,
        "site_pkid": site,
        "customer_pkid": customer,
        **columns,
    }


def association(userid: str, device_name: str, customer: str = "C1") -> Row:
    return {"userid": userid, "device_name": device_name, "customer_pkid": customer}


def profile(userid: str | None, customer: str = "C1", **columns: Any) -> Row:
    """Row of ``device_profiles`` (Extension Mobility) or ``remote_destination_profiles``."""
    return {"userid": userid, "customer_pkid": customer, **columns}


def account(
    userid: str | None, site: str | None = "S1", customer: str = "C1", **columns: Any
) -> Row:
    """Row of a voicemail, Webex, Spark or Pexip account table."""
    return {"userid": userid, "site_pkid": site, "customer_pkid": customer, **columns}


def agent(
    platform: str,
    userid: str | None = None,
    site: str | None = "S1",
    customer: str = "C1",
    **columns: Any,
) -> Row:
    return {
        "platform": platform,
        "userid": userid,
        "site_pkid": site,
        "customer_pkid": customer,
        **columns,
    }


def ms_account(
    userid: str | None,
    *,
    teams: bool = False,
    enterprise_voice: bool = False,
    o365_licensed: bool = False,
    cisco_integrated: bool = False,
    site: str | None = "S1",
    customer: str = "C1",
    **columns: Any,
) -> Row:
    return {
        "userid": userid,
        "teams": teams,
        "enterprise_voice": enterprise_voice,
        "o365_licensed": o365_licensed,
        "cisco_integrated": cisco_integrated,
        "site_pkid": site,
        "customer_pkid": customer,
        **columns,
    }


def phone_server_phone(site: str | None = "S1", customer: str = "C1", **columns: Any) -> Row:
    return {"site_pkid": site, "customer_pkid": customer, **columns}


# Service names understood by ``user_with``: each adds one row linked to the user.
SERVICE_ROWS = {
    "em": ("device_profiles", profile),
    "snr": ("remote_destination_profiles", profile),
    "vm": ("voicemail_accounts", account),
    "webex": ("webex_accounts", account),
    "spark": ("spark_accounts", account),
    "pexip": ("pexip_accounts", account),
    # A counted Microsoft account: Teams without voice, not integrated with Cisco.
    "teams": ("microsoft_accounts", partial(ms_account, teams=True)),
    # A Microsoft account that is never counted: no Teams and no Office 365 license.
    "ms-unlicensed": ("microsoft_accounts", ms_account),
}


def user_with(
    userid: str,
    *,
    phones: int = 0,
    product: str = "Cisco 8845",
    services: Sequence[str] = (),
    site: str | None = "S1",
) -> dict[str, list[Row]]:
    """Return the tables of one user of customer ``C1`` with owned phones and services.

    The user owns ``phones`` phones of ``product`` (through ``owner_userid``) and has one
    row for each name in ``services`` (a key of ``SERVICE_ROWS``). Combine several users
    with ``merge_tables``.
    """
    tables: dict[str, list[Row]] = {
        "users": [user(userid, site=site)],
        "phones": [
            phone(f"{userid}-phone-{number}", product=product, owner=userid, site=site)
            for number in range(1, phones + 1)
        ],
    }
    for service in services:
        table, make_row = SERVICE_ROWS[service]
        tables.setdefault(table, []).append(make_row(userid))
    return tables


def merge_tables(*parts: Mapping[str, Sequence[Row]]) -> dict[str, list[Row]]:
    """Concatenate the rows of each table across several table dicts."""
    merged: dict[str, list[Row]] = {}
    for part in parts:
        for name, rows in part.items():
            merged.setdefault(name, []).extend(rows)
    return merged


def write_drop(root: Path, **tables: Sequence[Mapping[str, Any]]) -> Path:
    """Write an inventory drop of CSV files under ``root/drop`` and return its path.

    Each keyword is a table name with its rows. A required table that is not given is
    written with its default rows: customer ``C1``, site ``S1``, and no users, phones or
    associations. An optional table that is not given is absent from the drop.
    """
    unknown = sorted(set(tables) - set(TABLE_COLUMNS))
    if unknown:
        raise ValueError(f"unknown table name(s) {unknown}; expected names from TABLE_COLUMNS")

    defaults: dict[str, Sequence[Mapping[str, Any]]] = {
        "customers": [customer()],
        "sites": [site()],
        "users": [],
        "phones": [],
        "associated_devices": [],
    }
    drop_dir = root / "drop"
    drop_dir.mkdir(parents=True, exist_ok=False)
    for name in REQUIRED_TABLES:
        write_table(drop_dir, name, tables.get(name, defaults[name]))
    for name, rows in tables.items():
        if name not in REQUIRED_TABLES:
            write_table(drop_dir, name, rows)
    return drop_dir


def write_table(drop_dir: Path, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write one table as ``<name>.csv``: a header of the contract columns, then the rows.

    ``None`` is written as an empty field (null) and booleans as ``true``/``false``. Columns
    that a row adds beyond the contract are written after the contract columns.
    """
    columns = list(TABLE_COLUMNS[name])
    if name == "customers":
        columns = [
            column
            for column in columns
            if column not in OPTIONAL_CUSTOMER_COLUMNS or any(column in row for row in rows)
        ]
    for row in rows:
        columns.extend(column for column in row if column not in columns)

    key_column, key_prefix = GENERATED_KEYS.get(name, (None, ""))
    serial = itertools.count(1)
    path = drop_dir / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            values = dict(row)
            if key_column is not None and key_column not in values:
                values[key_column] = f"{key_prefix}{next(serial)}"
            writer.writerow([format_field(values.get(column)) for column in columns])
    return path


def format_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_report_frame(drop_dir: Path) -> Any:
    """Build the report of a drop in-process and return it as a Polars DataFrame."""
    # Imported here so that the test modules still collect while the pipeline is missing.
    from vlf_frames.pipeline import build_report  # noqa: PLC0415

    return build_report(drop_dir).report


def report_rows(drop_dir: Path) -> list[Row]:
    """Build the report of a drop in-process and return its rows as dicts, in report order."""
    return build_report_frame(drop_dir).to_dicts()


def report_row(drop_dir: Path, pkid: str = "C1") -> Row:
    """Build the report of a drop and return the row of customer ``pkid`` as a dict."""
    rows = [row for row in report_rows(drop_dir) if row["Customer PKID"] == pkid]
    assert len(rows) == 1, f"expected one report row for customer {pkid!r}, found {len(rows)}"
    return rows[0]


def nonzero_counts(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the count columns of a report row whose value is not 0, without ``Site Count``.

    Comparing this with a literal dict checks every count column at once: the listed ones
    have the given values and all others are 0. ``Site Count`` is left out because nearly
    every drop has one site.
    """
    return {name: row[name] for name in COUNT_COLUMNS if name != "Site Count" and row[name] != 0}
