"""Map a Bulk Administration "Export Phones - All Details" CSV to drop rows.

Headers are matched after lower-casing and collapsing white space, because real exports
differ from the documented ones (``User ID 1`` versus ``User ID``, double spaces). The
export names the model (``Device Type``), the device pool, the owner (``Owner User ID``)
and the associated users (``User ID``, ``User ID 1``, ``User ID 2``, ...). It has no user
table: an enduser export in the same folder supplies the users, and without one the users
are the user ids that the export names.
"""

from __future__ import annotations

import re

import polars as pl

from vlf_frames.cucm.exports import Export, ExportError, ExportKind, SourceExports
from vlf_frames.cucm.frames import (
    CucmInventory,
    Findings,
    is_token_user,
    stripped,
)
from vlf_frames.cucm.models import is_template_product
from vlf_frames.cucm.tables import read_endusers, select_users
from vlf_frames.normalize import normalized_id

ASSOCIATED_USER_HEADER = re.compile(r"^user id(?: \d+)?$")
PROFILE_SCHEMA = {"profile_name": pl.String, "userid": pl.String}


def map_bat_export(exports: SourceExports, customer_pkid: str) -> CucmInventory:
    """Map the BAT phone exports in ``exports`` (and an enduser export, if any) to drop rows."""
    findings = Findings()
    phone_rows = pl.concat(
        [read_bat_phones(export) for export in exports.files(ExportKind.BAT_PHONES)],
        how="vertical",
    ).unique(subset=normalized_id("device_name"), keep="first", maintain_order=True)

    is_template = is_template_product(pl.col("product")).fill_null(False)
    findings.add("templates skipped", phone_rows.filter(is_template).height)
    phone_rows = phone_rows.filter(~is_template)

    owner_is_token = is_token_user("owner_userid")
    findings.add(
        "phones owned by the Token user (written without owner)",
        phone_rows.filter(owner_is_token).height,
    )
    phones = phone_rows.with_columns(
        pl.when(owner_is_token).then(None).otherwise(pl.col("owner_userid")).alias("owner_userid"),
        generated_pkid("cucm-device", customer_pkid, "device_name").alias("phone_pkid"),
    ).select("phone_pkid", "device_name", "product", "owner_userid", "device_pool")

    associations = (
        phone_rows.select("device_name", "associated_userids")
        .explode("associated_userids")
        .rename({"associated_userids": "userid"})
        .filter(pl.col("userid").is_not_null())
    )
    findings.add(
        "associations to the Token user skipped",
        associations.filter(is_token_user("userid")).height,
    )
    associations = associations.filter(~is_token_user("userid")).select("userid", "device_name")

    if exports.has(ExportKind.ENDUSER):
        users = select_users(read_endusers(exports), findings)
        known = users.select(normalized_id("userid").alias("key"))
        findings.add(
            "phones whose owner is not in the enduser export (owner kept)",
            phones.filter(
                pl.col("owner_userid").is_not_null()
                & ~normalized_id("owner_userid").is_in(known["key"].implode())
            ).height,
        )
    else:
        users = users_named_in(phones, associations, customer_pkid)

    empty_profiles = pl.DataFrame(schema=PROFILE_SCHEMA)
    return CucmInventory(
        users=users,
        phones=phones,
        associated_devices=associations,
        device_profiles=empty_profiles,
        remote_destination_profiles=empty_profiles,
        findings=findings,
    )


def read_bat_phones(export: Export) -> pl.DataFrame:
    """Return device_name, product, device_pool, owner_userid and associated_userids (a list)."""
    frame = export.frame
    has_no_type = stripped("device name").is_not_null() & stripped("device type").is_null()
    untyped = frame.filter(has_no_type)
    if untyped.height:
        raise ExportError(
            f"{export.path}: {untyped.height} phones have an empty Device Type (first: "
            f"{untyped['device name'][0]!r}). Export the phones again with All Details."
        )
    user_columns = [name for name in frame.columns if ASSOCIATED_USER_HEADER.match(name)]
    optional = {
        name: pl.col(name) if name in frame.columns else pl.lit(None, pl.String)
        for name in ("device pool", "owner user id")
    }
    return frame.select(
        stripped("device name").alias("device_name"),
        stripped("device type").alias("product"),
        stripped(optional["device pool"]).alias("device_pool"),
        stripped(optional["owner user id"]).alias("owner_userid"),
        pl.concat_list([stripped(name) for name in user_columns])
        .list.drop_nulls()
        .alias("associated_userids")
        if user_columns
        else pl.lit([], pl.List(pl.String)).alias("associated_userids"),
    ).filter(pl.col("device_name").is_not_null())


def users_named_in(
    phones: pl.DataFrame, associations: pl.DataFrame, customer_pkid: str
) -> pl.DataFrame:
    """Return one user per user id that owns or is associated with a phone."""
    userids = pl.concat(
        [
            phones.select(pl.col("owner_userid").alias("userid")),
            associations.select("userid"),
        ]
    ).filter(pl.col("userid").is_not_null())
    return userids.unique(subset=normalized_id("userid"), keep="first", maintain_order=True).select(
        generated_pkid("cucm-user", customer_pkid, "userid").alias("user_pkid"), "userid"
    )


def generated_pkid(prefix: str, customer_pkid: str, column: str) -> pl.Expr:
    """Return a stable pkid ``<prefix>:<customer_pkid>:<normalized id>`` for sources without one."""
    return pl.lit(f"{prefix}:{customer_pkid}:") + normalized_id(column)
