"""Map CUCM table exports (device, enduser, enduserdevicemap, typemodel, devicepool).

Phones are class-1 devices other than templates, with the model name as product. A device's
owner is ``device.fkenduser`` resolved to ``enduser.userid``. A user's associated devices are
the ``enduserdevicemap`` rows with ``tkuserassociation`` 1 (controlled devices). Device
profiles (class 254) and remote destination profiles (class 20) get their owner, or else an
associated user. The Token user is skipped everywhere; inactive users (status 2) are kept.
"""

from __future__ import annotations

import logging

import polars as pl

from vlf_frames import stopping
from vlf_frames.cucm.exports import ExportError, ExportKind, SourceExports
from vlf_frames.cucm.frames import (
    SOURCE_FILE,
    CucmInventory,
    Findings,
    concat_exports,
    is_token_user,
    reject_conflicting_duplicates,
    reject_empty_values,
    stripped,
)
from vlf_frames.cucm.models import (
    UNIVERSAL_DEVICE_TEMPLATE_MODEL,
    UNKNOWN_MODEL_PREFIX,
    DeviceClass,
    is_template_product,
    model_names_frame,
)
from vlf_frames.normalize import normalized_id

log = logging.getLogger(__name__)

CONTROLLED_DEVICE_ASSOCIATION = 1
INACTIVE_USER_STATUS = 2
REQUIRED_TABLES = (ExportKind.DEVICE, ExportKind.ENDUSER, ExportKind.ENDUSERDEVICEMAP)


def map_table_exports(exports: SourceExports) -> CucmInventory:
    """Map the table exports of one cluster to drop rows.

    Raises ExportError when the device, enduser or enduserdevicemap export is missing.
    """
    missing = [kind.value for kind in REQUIRED_TABLES if not exports.has(kind)]
    if missing:
        raise ExportError(
            f"The import source has no {', '.join(missing)} export. Save the output of each "
            "query in the CUCM import guide as a file in the source folder."
        )
    findings = Findings()

    endusers = read_endusers(exports)
    findings.add(
        "inactive users kept (status 2: removed from LDAP, still counted by CUCM)",
        endusers.filter(pl.col("status") == INACTIVE_USER_STATUS).height,
    )
    findings.add("Token users skipped", endusers.filter(pl.col("is_token")).height)

    stopping.check()
    devices = read_devices(exports, endusers)
    stopping.check()
    memberships = read_memberships(exports)
    stopping.check()

    users = select_users(endusers, findings)
    phones = select_phones(devices, findings)
    associated_devices = select_associated_devices(memberships, endusers, devices, phones, findings)
    stopping.check()
    device_profiles = select_profiles(
        devices, memberships, endusers, DeviceClass.DEVICE_PROFILE, findings
    )
    remote_destination_profiles = select_profiles(
        devices, memberships, endusers, DeviceClass.REMOTE_DESTINATION_PROFILE, findings
    )
    return CucmInventory(
        users=users,
        phones=phones,
        associated_devices=associated_devices,
        device_profiles=device_profiles,
        remote_destination_profiles=remote_destination_profiles,
        findings=findings,
    )


def read_endusers(exports: SourceExports) -> pl.DataFrame:
    """Return one row per enduser pkid: user_key, user_pkid, userid, status, is_token.

    An export without ``status`` is read with a warning, because status only feeds the
    count of inactive users and every user is imported whatever their status.
    """
    for export in exports.files(ExportKind.ENDUSER):
        if "status" not in export.frame.columns:
            log.warning(
                "%s: the enduser export has no column 'status', so inactive users (status 2, "
                "removed from LDAP) cannot be told apart from active ones. All users are "
                "imported either way; add status to the query to have them counted.",
                export.path,
            )
    table = concat_exports(
        exports.files(ExportKind.ENDUSER), ["pkid", "userid"], optional_columns=["status"]
    )
    endusers = table.select(
        normalized_id("pkid").alias("user_key"),
        stripped("pkid").alias("user_pkid"),
        stripped("userid").alias("userid"),
        pl.col("status").str.strip_chars().str.to_integer(strict=False).alias("status"),
        SOURCE_FILE,
    )
    reject_empty_values(endusers, {"user_pkid": "pkid"}, "enduser")
    reject_conflicting_duplicates(
        endusers,
        "enduser",
        key="user_key",
        pkid="user_pkid",
        value="userid",
        exported_value="userid",
    )
    return (
        # Paged exports may overlap, so a repeated pkid is kept once.
        endusers.unique(subset="user_key", keep="first", maintain_order=True)
        .with_columns(is_token_user("userid").alias("is_token"))
        .drop(SOURCE_FILE)
    )


def read_devices(exports: SourceExports, endusers: pl.DataFrame) -> pl.DataFrame:
    """Return one row per device pkid with its class, product, owner and device pool name."""
    table = concat_exports(
        exports.files(ExportKind.DEVICE),
        ["pkid", "name", "tkclass", "tkmodel", "fkenduser"],
        optional_columns=["fkdevicepool"],
        integer_columns=["tkclass", "tkmodel"],
    )
    devices = table.select(
        normalized_id("pkid").alias("device_key"),
        stripped("pkid").alias("phone_pkid"),
        stripped("name").alias("device_name"),
        pl.col("tkclass").alias("device_class"),
        pl.col("tkmodel").alias("model"),
        normalized_id("fkenduser").alias("owner_key"),
        normalized_id("fkdevicepool").alias("pool_key"),
        SOURCE_FILE,
    )
    reject_empty_values(devices, {"phone_pkid": "pkid", "device_name": "name"}, "device")
    reject_conflicting_duplicates(
        devices,
        "device",
        key="device_key",
        pkid="phone_pkid",
        value="device_name",
        exported_value="name",
    )
    # Paged exports may overlap, so a repeated pkid is kept once.
    devices = devices.unique(subset="device_key", keep="first", maintain_order=True).drop(
        SOURCE_FILE
    )

    model_names = model_names_frame(read_typemodel(exports))
    owners = endusers.select(
        "user_key",
        pl.col("userid").alias("owner_found_userid"),
        pl.col("is_token").alias("owner_is_token"),
    )
    devices = (
        devices.join(model_names, left_on="model", right_on="enum", how="left", validate="m:1")
        .join(owners, left_on="owner_key", right_on="user_key", how="left", validate="m:1")
        .with_columns(
            pl.coalesce(
                pl.col("name"),
                pl.lit(UNKNOWN_MODEL_PREFIX) + pl.col("model").cast(pl.String),
            ).alias("product"),
            pl.when(pl.col("owner_is_token").fill_null(False))
            .then(None)
            .otherwise(pl.col("owner_found_userid"))
            .alias("owner_userid"),
            (pl.col("owner_key").is_not_null() & pl.col("owner_found_userid").is_null()).alias(
                "has_unknown_owner"
            ),
            pl.col("owner_is_token").fill_null(False).alias("has_token_owner"),
        )
        .drop("name", "owner_found_userid", "owner_is_token")
    )
    return devices.join(read_device_pools(exports), on="pool_key", how="left", validate="m:1")


def read_typemodel(exports: SourceExports) -> pl.DataFrame | None:
    if not exports.has(ExportKind.TYPEMODEL):
        return None
    table = concat_exports(
        exports.files(ExportKind.TYPEMODEL), ["enum", "name"], integer_columns=["enum"]
    )
    return table.select("enum", stripped("name").alias("name")).filter(
        pl.col("enum").is_not_null()
    )


def read_device_pools(exports: SourceExports) -> pl.DataFrame:
    """Return pool_key and device_pool (the name); empty when the source has no export."""
    if not exports.has(ExportKind.DEVICEPOOL):
        return pl.DataFrame(schema={"pool_key": pl.String, "device_pool": pl.String})
    table = concat_exports(exports.files(ExportKind.DEVICEPOOL), ["pkid", "name"])
    return (
        table.select(normalized_id("pkid").alias("pool_key"), stripped("name").alias("device_pool"))
        .filter(pl.col("pool_key").is_not_null())
        .unique(subset="pool_key", keep="first", maintain_order=True)
    )


def read_memberships(exports: SourceExports) -> pl.DataFrame:
    """Return enduserdevicemap rows: user_key, device_key, association, is_default_profile."""
    table = concat_exports(
        exports.files(ExportKind.ENDUSERDEVICEMAP),
        ["fkenduser", "fkdevice", "tkuserassociation"],
        optional_columns=["defaultprofile"],
        integer_columns=["tkuserassociation"],
    )
    return table.select(
        normalized_id("fkenduser").alias("user_key"),
        normalized_id("fkdevice").alias("device_key"),
        pl.col("tkuserassociation").alias("association"),
        normalized_id("defaultprofile").is_in(["t", "true", "1"]).fill_null(False).alias(
            "is_default_profile"
        ),
    ).filter(pl.col("user_key").is_not_null() & pl.col("device_key").is_not_null())


def select_users(endusers: pl.DataFrame, findings: Findings) -> pl.DataFrame:
    """Return the users: every enduser except the Token user, one per normalized userid."""
    people = endusers.filter(~pl.col("is_token"))
    findings.add(
        "users with an empty userid skipped", people.filter(pl.col("userid").is_null()).height
    )
    people = people.filter(pl.col("userid").is_not_null())
    users = people.unique(
        subset=normalized_id("userid"), keep="first", maintain_order=True
    ).select("user_pkid", "userid")
    findings.add(
        "users whose userid differs from another only in case or blanks, merged",
        people.height - users.height,
    )
    return users


def select_phones(devices: pl.DataFrame, findings: Findings) -> pl.DataFrame:
    """Return class-1 devices that are not templates, as phones."""
    is_phone_class = pl.col("device_class") == DeviceClass.PHONE
    is_template = (
        pl.col("device_class").is_in(
            [DeviceClass.PHONE_TEMPLATE, DeviceClass.DEVICE_PROFILE_TEMPLATE]
        )
        | (is_phone_class & (pl.col("model") == UNIVERSAL_DEVICE_TEMPLATE_MODEL))
        | (is_phone_class & is_template_product(pl.col("product")))
    )
    findings.add("templates skipped", devices.filter(is_template).height)
    phones = devices.filter(is_phone_class & ~is_template)
    findings.add(
        "phones whose owner is not in the enduser export (written without owner)",
        phones.filter(pl.col("has_unknown_owner")).height,
    )
    findings.add(
        "phones owned by the Token user (written without owner)",
        phones.filter(pl.col("has_token_owner")).height,
    )
    unknown_models = phones.filter(pl.col("product").str.starts_with(UNKNOWN_MODEL_PREFIX))
    if unknown_models.height:
        enums = sorted(set(unknown_models["model"].to_list()))
        log.warning(
            "%d phones have a model with no known name (tkmodel %s): neither the typemodel "
            "export nor the built-in table names it. They are written as 'CUCM model <enum>' "
            "and counted as phones. Add the typemodel export to name them.",
            unknown_models.height, ", ".join(str(enum) for enum in enums),
        )
    findings.add("phones of a model without a name (no typemodel row)", unknown_models.height)
    return phones.select("phone_pkid", "device_name", "product", "owner_userid", "device_pool")


def select_associated_devices(
    memberships: pl.DataFrame,
    endusers: pl.DataFrame,
    devices: pl.DataFrame,
    phones: pl.DataFrame,
    findings: Findings,
) -> pl.DataFrame:
    """Return (userid, device_name) for controlled-device rows that link a user and a phone."""
    controlled = memberships.filter(pl.col("association") == CONTROLLED_DEVICE_ASSOCIATION)
    linked = controlled.join(
        endusers.select("user_key", "userid", "is_token"), on="user_key", how="left", validate="m:1"
    ).join(
        devices.select("device_key", "device_name", "device_class"),
        on="device_key", how="left", validate="m:1",
    )
    findings.add(
        "associations to a user not in the enduser export skipped",
        linked.filter(pl.col("userid").is_null()).height,
    )
    findings.add(
        "associations to the Token user skipped",
        linked.filter(pl.col("is_token").fill_null(False)).height,
    )
    findings.add(
        "associations to a device not in the device export skipped",
        linked.filter(pl.col("device_name").is_null()).height,
    )
    linked = linked.filter(pl.col("userid").is_not_null() & ~pl.col("is_token"))
    phone_names = phones.select("device_name")
    to_phones = linked.join(phone_names, on="device_name", how="semi")
    findings.add(
        "associations to templates or devices that are not phones skipped",
        linked.filter(pl.col("device_name").is_not_null()).height - to_phones.height,
    )
    return to_phones.select("userid", "device_name")


def select_profiles(
    devices: pl.DataFrame,
    memberships: pl.DataFrame,
    endusers: pl.DataFrame,
    device_class: DeviceClass,
    findings: Findings,
) -> pl.DataFrame:
    """Return profile_name and userid for the devices of one profile class.

    The user is the profile's owner. A profile without owner gets an associated user (any
    ``tkuserassociation``): the user whose default profile it is, else the lowest
    normalized userid.
    """
    profiles = devices.filter(pl.col("device_class") == device_class)
    people = endusers.filter(~pl.col("is_token") & pl.col("userid").is_not_null()).select(
        "user_key", "userid"
    )
    candidates = memberships.join(profiles.select("device_key"), on="device_key", how="semi").join(
        people, on="user_key", how="inner", validate="m:1"
    )
    chosen = (
        candidates.sort(
            ["device_key", "is_default_profile", normalized_id("userid")],
            descending=[False, True, False],
        )
        .group_by("device_key", maintain_order=True)
        .agg(
            pl.col("userid").first().alias("associated_userid"),
            normalized_id("userid").n_unique().alias("associated_user_count"),
        )
    )
    profiles = profiles.join(chosen, on="device_key", how="left", validate="1:1").with_columns(
        pl.coalesce("owner_userid", "associated_userid").alias("userid")
    )
    label = (
        "device profiles"
        if device_class == DeviceClass.DEVICE_PROFILE
        else "remote destination profiles"
    )
    findings.add(
        f"{label} with several associated users (one kept; see the import guide)",
        profiles.filter(
            pl.col("owner_userid").is_null() & (pl.col("associated_user_count") > 1)
        ).height,
    )
    return profiles.select(pl.col("device_name").alias("profile_name"), "userid")
