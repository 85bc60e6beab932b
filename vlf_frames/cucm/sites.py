"""Place phones and users at sites.

A site map is a CSV file with the columns ``device_pool`` and ``site_name`` and an optional
``site_pkid``. Each row puts the phones of one CUCM device pool at one site. Without a
site map every phone sits at the default site. A user sits at the site of most of their
phones; see ``place_users`` for ties and for users without phones.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vlf_frames.cucm.frames import stripped
from vlf_frames.cucm.models import is_cti_port_product
from vlf_frames.errors import ConfigError
from vlf_frames.normalize import normalized_id

SITE_MAP_COLUMNS = ("device_pool", "site_name")
SITE_SCHEMA = {"site_pkid": pl.String, "site_name": pl.String}


def site_pkid_expr(customer_pkid: str, site_name: pl.Expr) -> pl.Expr:
    """Return the generated pkid ``cucm-site:<customer_pkid>:<normalized site name>``.

    The same customer and site name always give the same pkid, so that a second import
    into the same drop finds the site again.
    """
    return pl.lit(f"cucm-site:{customer_pkid}:") + normalized_id(site_name)


def read_site_map(path: Path, customer_pkid: str) -> pl.DataFrame:
    """Read a site map and return pool_key, site_pkid and site_name, one row per device pool.

    Raises ConfigError when the file cannot be read, lacks a column, has an empty value,
    maps one device pool to two sites, or gives one site name two pkids.
    """
    try:
        raw = pl.read_csv(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), infer_schema=False)
    except OSError as error:
        raise ConfigError(f"Cannot read the site map {path}: {error.strerror}") from error
    except pl.exceptions.PolarsError as error:
        raise ConfigError(f"The site map {path} is not a valid CSV file: {error}") from error

    missing = [name for name in SITE_MAP_COLUMNS if name not in raw.columns]
    if missing:
        raise ConfigError(
            f"The site map {path} has no column {missing[0]!r}; its header must be "
            "device_pool,site_name (and optionally site_pkid)."
        )
    site_pkid = stripped("site_pkid") if "site_pkid" in raw.columns else pl.lit(None, pl.String)
    mapping = raw.select(
        normalized_id("device_pool").alias("pool_key"),
        stripped("device_pool").alias("device_pool"),
        stripped("site_name").alias("site_name"),
        site_pkid.alias("site_pkid"),
    ).with_columns(
        pl.coalesce("site_pkid", site_pkid_expr(customer_pkid, pl.col("site_name"))).alias(
            "site_pkid"
        )
    )

    empty = mapping.filter(pl.col("pool_key").is_null() | pl.col("site_name").is_null())
    if empty.height:
        raise ConfigError(
            f"The site map {path} has {empty.height} rows with an empty device_pool or "
            "site_name; fill them in or delete them."
        )
    conflicts = (
        mapping.group_by("pool_key")
        .agg(pl.col("device_pool").first(), pl.col("site_pkid").n_unique().alias("sites"))
        .filter(pl.col("sites") > 1)
    )
    if conflicts.height:
        raise ConfigError(
            f"The site map {path} maps device pool {conflicts['device_pool'][0]!r} to more "
            "than one site; keep one row per device pool."
        )
    pkids_per_name = mapping.group_by(normalized_id("site_name").alias("name_key")).agg(
        pl.col("site_name").first(), pl.col("site_pkid").n_unique().alias("pkids")
    )
    renamed = pkids_per_name.filter(pl.col("pkids") > 1)
    if renamed.height:
        raise ConfigError(
            f"The site map {path} gives site {renamed['site_name'][0]!r} more than one "
            "site_pkid; use one site_pkid per site."
        )
    return mapping.unique(subset="pool_key", keep="first", maintain_order=True).select(
        "pool_key", "site_pkid", "site_name"
    )


def place_phones(
    phones: pl.DataFrame, site_map: pl.DataFrame | None, default_site_pkid: str
) -> pl.DataFrame:
    """Add ``site_pkid`` to phones from their device pool, or the default site without a map.

    Raises ConfigError listing the device pools that the site map does not name.
    """
    if site_map is None:
        return phones.with_columns(pl.lit(default_site_pkid).alias("site_pkid"))

    placed = phones.with_columns(normalized_id("device_pool").alias("pool_key")).join(
        site_map.select("pool_key", "site_pkid"), on="pool_key", how="left", validate="m:1"
    )
    unplaced = placed.filter(pl.col("site_pkid").is_null())
    if unplaced.height:
        pools = (
            unplaced.group_by(pl.col("device_pool").fill_null("(unknown device pool)"))
            .len()
            .sort(["len", "device_pool"], descending=[True, False])
        )
        listed = ", ".join(
            f"{pool!r} ({count} phones)" for pool, count in pools.head(10).iter_rows()
        )
        hint = (
            " Phones without a device pool name need the devicepool export in the source."
            if unplaced.filter(pl.col("device_pool").is_null()).height
            else ""
        )
        raise ConfigError(
            f"The site map does not place {unplaced.height} phones. Add a row for each of "
            f"these device pools: {listed}.{hint}"
        )
    return placed.drop("pool_key")


def place_users(
    users: pl.DataFrame,
    phones: pl.DataFrame,
    associated_devices: pl.DataFrame,
    sites: pl.DataFrame,
    default_site_pkid: str,
) -> pl.DataFrame:
    """Set each user's ``site_pkid`` to the site where most of the user's phones sit.

    All frames belong to one customer. A user's phones are those the user owns or is
    associated with, CTI ports excluded. On a tie the site whose name sorts first
    (case-insensitive) wins, then the lower site_pkid. A user with no phone sits at the
    default site.
    """
    located = phones.filter(~is_cti_port_product(pl.col("product"))).select(
        normalized_id("device_name").alias("device_key"), "site_pkid", "owner_userid"
    )
    owned = located.select(
        normalized_id("owner_userid").alias("user_key"), "device_key", "site_pkid"
    )
    associated = associated_devices.select(
        normalized_id("userid").alias("user_key"), normalized_id("device_name").alias("device_key")
    ).join(located.select("device_key", "site_pkid"), on="device_key", how="inner")
    belongs = (
        pl.concat([owned, associated.select(owned.columns)])
        .filter(pl.col("user_key").is_not_null())
        .unique()
    )
    site_names = sites.select("site_pkid", normalized_id("site_name").alias("site_order_name"))
    best_site = (
        belongs.group_by("user_key", "site_pkid")
        .len("phones")
        .join(site_names, on="site_pkid", how="left", validate="m:1")
        .sort(
            ["user_key", "phones", "site_order_name", "site_pkid"],
            descending=[False, True, False, False],
            nulls_last=True,
        )
        .group_by("user_key", maintain_order=True)
        .agg(pl.col("site_pkid").first().alias("placed_site_pkid"))
    )
    return (
        users.with_columns(normalized_id("userid").alias("user_key"))
        .join(best_site, on="user_key", how="left", validate="m:1")
        .with_columns(
            pl.coalesce("placed_site_pkid", pl.lit(default_site_pkid)).alias("site_pkid")
        )
        .drop("user_key", "placed_site_pkid")
    )
