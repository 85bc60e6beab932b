"""Import one CUCM cluster's exports into an inventory drop."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from vlf_frames import stopping
from vlf_frames.cucm.bat import map_bat_export
from vlf_frames.cucm.drop import (
    DROP_COLUMNS,
    check_replaceable,
    merge_rows,
    read_drop_table,
    write_drop_tables,
)
from vlf_frames.cucm.exports import ExportError, ExportKind, SourceExports, read_source
from vlf_frames.cucm.frames import CucmInventory
from vlf_frames.cucm.sites import place_phones, place_users, read_site_map, site_pkid_expr
from vlf_frames.cucm.tables import map_table_exports
from vlf_frames.errors import ConfigError
from vlf_frames.normalize import normalized_id

log = logging.getLogger(__name__)

DROP_TABLES = tuple(DROP_COLUMNS)


@dataclass(frozen=True)
class ImportOptions:
    """Options of an import: the customer, its flags, and how phones are placed at sites.

    A ``public_sector`` or ``inactive_billing`` of None leaves an existing customer's flag
    as it is. A new customer then gets false.
    """

    customer_pkid: str
    default_site: str = "Default"
    site_map: Path | None = None
    customer_name: str | None = None
    public_sector: bool | None = None
    inactive_billing: bool | None = None


@dataclass
class ImportSummary:
    """Rows added to and held by each drop table, and counts of rows skipped or kept."""

    rows_added: dict[str, int] = field(default_factory=dict)
    rows_total: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)


def import_cucm(source: Path, drop_dir: Path, options: ImportOptions) -> ImportSummary:
    """Map the CUCM exports in ``source`` and add them to the drop in ``drop_dir``.

    Raises ExportError for unreadable or incomplete exports, ConfigError for an invalid
    option or site map, DropError for an unreadable drop, OutputError when writing fails.
    """
    customer_pkid = options.customer_pkid
    check_customer_pkid(customer_pkid)
    if not options.default_site.strip():
        raise ConfigError("--default-site must not be empty.")

    inventory = map_source(source, customer_pkid, needs_device_pool=options.site_map is not None)
    stopping.check()
    site_map = read_site_map(options.site_map, customer_pkid) if options.site_map else None
    default_site = _default_site(customer_pkid, options.default_site, site_map)
    default_site_pkid = default_site["site_pkid"][0]
    phones = place_phones(inventory.phones, site_map, default_site_pkid)

    check_replaceable(drop_dir, DROP_TABLES)
    existing: dict[str, pl.DataFrame] = {}
    for table in DROP_TABLES:
        stopping.check()
        existing[table] = read_drop_table(drop_dir, table)
    summary = ImportSummary(findings=dict(inventory.findings.counts))
    merged: dict[str, pl.DataFrame] = {}

    merged["customers"] = _merge_customer(existing["customers"], options)
    # Every site of the map is written, and the default site unless nothing ends up there.
    new_sites = default_site
    if site_map is not None:
        new_sites = pl.concat([site_map.select("site_pkid", "site_name"), default_site])
    with_customer = pl.lit(customer_pkid).alias("customer_pkid")
    new_rows = {
        "sites": new_sites.with_columns(with_customer),
        "phones": phones.with_columns(with_customer),
        "associated_devices": inventory.associated_devices.with_columns(with_customer),
        "device_profiles": inventory.device_profiles.with_columns(with_customer),
        "remote_destination_profiles": inventory.remote_destination_profiles.with_columns(
            with_customer
        ),
        "users": inventory.users.with_columns(
            with_customer, pl.lit(None, pl.String).alias("site_pkid")
        ),
    }
    for table, rows in new_rows.items():
        stopping.check()
        merged[table], duplicates = merge_rows(table, existing[table], rows)
        # Each import offers its sites again, so repeated sites are expected, not a finding.
        if duplicates and table != "sites":
            summary.findings[
                f"{table} rows not added because the drop or this import already has their key"
            ] = duplicates

    stopping.check()
    merged["users"] = _place_imported_users(
        merged, inventory.users, customer_pkid, default_site_pkid
    )
    merged["sites"] = _drop_unused_default_site(merged, customer_pkid, default_site_pkid, site_map)

    for table in DROP_TABLES:
        summary.rows_total[table] = merged[table].height
        summary.rows_added[table] = merged[table].height - existing[table].height
    write_drop_tables(drop_dir, merged)
    log.info("wrote %d tables to %s", len(merged), drop_dir)
    return summary


# Unicode categories of characters that no customer pkid may contain: those of
# models.CONTROL_OR_FORMAT_CHARACTER, which the report checks, and surrogates.
INVALID_PKID_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def check_customer_pkid(customer_pkid: str) -> None:
    """Raise ConfigError for a customer pkid that is empty, has white space at either end or
    contains a control or format character.

    The report compares pkids exactly, so ``"c1 "`` next to ``"c1"`` would be a second
    customer, and a line break or control character fails only later, in the report.
    """
    if not customer_pkid.strip():
        raise ConfigError(
            f"Invalid --customer-pkid {customer_pkid!r}: it is empty or only white space. "
            "Pass the customer's key."
        )
    if customer_pkid != customer_pkid.strip():
        raise ConfigError(
            f"Invalid --customer-pkid {customer_pkid!r}: it starts or ends with white space, "
            "so the report would count it as another customer than the key without it. Pass "
            f"--customer-pkid {customer_pkid.strip()!r}."
        )
    invalid = [
        character
        for character in customer_pkid
        if unicodedata.category(character) in INVALID_PKID_CATEGORIES
    ]
    if invalid:
        raise ConfigError(
            f"Invalid --customer-pkid {customer_pkid!r}: it contains the control or format "
            f"character {invalid[0]!r} (U+{ord(invalid[0]):04X}). Pass the customer's key as "
            "printable text on one line."
        )


def map_source(
    source: Path, customer_pkid: str, needs_device_pool: bool = False
) -> CucmInventory:
    """Read the exports in ``source`` and map them to drop rows of one cluster.

    With ``needs_device_pool`` (a site map is given), raises ExportError when a device or
    BAT export lacks its device pool column.
    """
    exports = read_source(source)
    if needs_device_pool:
        _require_device_pool_columns(exports)
    if exports.has(ExportKind.BAT_PHONES):
        if exports.has(ExportKind.DEVICE):
            raise ExportError(
                f"{source} contains both a BAT phone export and a device table export; "
                "import them separately, because each lists the same phones."
            )
        return map_bat_export(exports, customer_pkid)
    return map_table_exports(exports)


# The column that names a phone's device pool, by export kind.
DEVICE_POOL_COLUMNS = {ExportKind.DEVICE: "fkdevicepool", ExportKind.BAT_PHONES: "device pool"}


def _require_device_pool_columns(exports: SourceExports) -> None:
    """Raise ExportError naming the first device or BAT export without a device pool column."""
    for kind, column in DEVICE_POOL_COLUMNS.items():
        for export in exports.files(kind):
            if column not in export.frame.columns:
                raise ExportError(
                    f"{export.path}: the {kind} export has no column {column!r}, which "
                    "--site-map needs to place phones at sites. Export it again with that "
                    "column (see the CUCM import guide), or leave out --site-map."
                )


def _default_site(
    customer_pkid: str, name: str, site_map: pl.DataFrame | None
) -> pl.DataFrame:
    """Return the default site as one row; a site of the same name in the map is reused."""
    name = name.strip()
    if site_map is not None:
        same_name = site_map.filter(normalized_id("site_name") == name.lower()).select(
            "site_pkid", "site_name"
        )
        if same_name.height:
            return same_name.head(1)
    return pl.DataFrame({"site_name": [name]}).select(
        site_pkid_expr(customer_pkid, pl.col("site_name")).alias("site_pkid"), "site_name"
    )


def _merge_customer(customers: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    """Add the customer, or update the flags and name that the options set."""
    given = {
        "customer_name": options.customer_name,
        "public_sector": options.public_sector,
        "inactive_billing": options.inactive_billing,
    }
    is_this_customer = pl.col("customer_pkid") == options.customer_pkid
    if customers.filter(is_this_customer).height:
        return customers.with_columns(
            pl.when(is_this_customer).then(pl.lit(value)).otherwise(pl.col(name)).alias(name)
            for name, value in given.items()
            if value is not None
        )
    # A new customer gets false for a flag that the options leave unset, as the option help states.
    new_flags = {name: bool(given[name]) for name in ("public_sector", "inactive_billing")}
    values = {"customer_pkid": options.customer_pkid, **given, **new_flags}
    row = pl.DataFrame(
        {name: [value] for name, value in values.items()},
        schema={name: DROP_COLUMNS["customers"][name] for name in values},
    )
    return pl.concat([customers, row], how="diagonal_relaxed")


def _place_imported_users(
    merged: dict[str, pl.DataFrame],
    imported_users: pl.DataFrame,
    customer_pkid: str,
    default_site_pkid: str,
) -> pl.DataFrame:
    """Set the site of this customer's users named by this import, from all their phones.

    The phones and associations of earlier imports count too, so a user synced to several
    clusters sits where most of their phones sit in any of them.
    """
    def of_customer(table: str) -> pl.DataFrame:
        return merged[table].filter(pl.col("customer_pkid") == customer_pkid)

    imported_keys = imported_users.select(normalized_id("userid").alias("user_key"))
    is_imported = (pl.col("customer_pkid") == customer_pkid) & normalized_id("userid").is_in(
        imported_keys["user_key"].implode()
    )
    users = merged["users"].with_row_index("__row")
    placed = place_users(
        users.filter(is_imported),
        of_customer("phones"),
        of_customer("associated_devices"),
        of_customer("sites"),
        default_site_pkid,
    )
    untouched = users.filter(~is_imported)
    return pl.concat([untouched, placed], how="diagonal_relaxed").sort("__row").drop("__row")


def _drop_unused_default_site(
    merged: dict[str, pl.DataFrame],
    customer_pkid: str,
    default_site_pkid: str,
    site_map: pl.DataFrame | None,
) -> pl.DataFrame:
    """Remove the default site when this import added it and nothing sits there."""
    sites = merged["sites"]
    is_default = pl.col("site_pkid") == default_site_pkid
    if site_map is not None and site_map.filter(is_default).height:
        return sites
    used = pl.concat([merged["phones"].select("site_pkid"), merged["users"].select("site_pkid")])
    if used.filter(is_default).height:
        return sites
    return sites.filter(
        ~((pl.col("site_pkid") == default_site_pkid) & (pl.col("customer_pkid") == customer_pkid))
    )
