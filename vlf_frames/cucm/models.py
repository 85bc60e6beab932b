"""CUCM device classes and the built-in table of device model names.

CUCM stores a device's class and model as enums (``device.tkclass`` and ``device.tkmodel``).
The enums are stable across CUCM releases, but the model names in ``typemodel`` are not:
``Cisco Spark Remote Device`` became ``Cisco Webex Remote Device``, for example.
"""

from __future__ import annotations

from enum import IntEnum

import polars as pl


class DeviceClass(IntEnum):
    """Values of ``device.tkclass`` (CUCM ``typeclass.enum``) that the importer uses."""

    PHONE = 1
    REMOTE_DESTINATION_PROFILE = 20
    PHONE_TEMPLATE = 252
    DEVICE_PROFILE_TEMPLATE = 253
    DEVICE_PROFILE = 254


CTI_PORT_MODEL = 72
UNIVERSAL_DEVICE_TEMPLATE_MODEL = 645

# Models whose name decides how the report counts the device (CTI port, template, Spark
# Remote Device, analog port). The importer writes these names even when a typemodel export
# spells the model differently, so that a renamed model is never counted as a desk phone.
PINNED_MODEL_NAMES: dict[int, str] = {
    CTI_PORT_MODEL: "CTI Port",
    UNIVERSAL_DEVICE_TEMPLATE_MODEL: "Universal Device Template",
    36235: "Cisco Spark Remote Device",
    30027: "Analog Phone",
    12: "Cisco ATA 186",
    550: "Cisco ATA 187",
    681: "Cisco ATA 190",
    36262: "Cisco ATA 191",
}

# Names for other models, used when the source has no typemodel export; a typemodel export
# overrides them. The desk phone numbers match the model constants of Cisco's SIP stack
# (sipcc, core/includes/phone_platform_constants.h, as shipped in Mozilla's source tree).
# NOTE: newer models (78xx, 88xx, room devices) are not listed, because no source at hand
# confirmed their numbers. Without a typemodel export they get the name "CUCM model <enum>",
# which the report counts as a phone.
BUILTIN_MODEL_NAMES: dict[int, str] = {
    7: "Cisco 7960",
    8: "Cisco 7940",
    115: "Cisco 7941",
    119: "Cisco 7971",
    307: "Cisco 7911",
    308: "Cisco 7961G-GE",
    309: "Cisco 7941G-GE",
    348: "Cisco 7931",
    358: "Cisco Unified Personal Communicator",
    369: "Cisco 7906",
    404: "Cisco 7962",
    431: "Cisco 7937",
    434: "Cisco 7942",
    435: "Cisco 7945",
    436: "Cisco 7965",
    437: "Cisco 7975",
    493: "Cisco 9971",
    495: "Cisco 6921",
    496: "Cisco 6941",
    497: "Cisco 6961",
    503: "Cisco Unified Client Services Framework",
    537: "Cisco 9951",
    540: "Cisco 8961",
    547: "Cisco 6901",
    548: "Cisco 6911",
    562: "Cisco Dual Mode for iPhone",
    564: "Cisco 6945",
    575: "Cisco Dual Mode for Android",
    635: "CTI Remote Device",
    652: "Cisco Jabber for Tablet",
    30006: "Cisco 7970",
    30016: "Cisco IP Communicator",
    30018: "Cisco 7961",
    **PINNED_MODEL_NAMES,
}

UNKNOWN_MODEL_PREFIX = "CUCM model "


def model_names_frame(typemodel: pl.DataFrame | None) -> pl.DataFrame:
    """Return the enum-to-name table: built-in names, then the typemodel export, then pins.

    ``typemodel`` has the columns ``enum`` (Int64) and ``name`` (String), or is None when the
    source has no typemodel export. The result has one row per enum.
    """
    builtin = pl.DataFrame(
        {"enum": list(BUILTIN_MODEL_NAMES), "name": list(BUILTIN_MODEL_NAMES.values())},
        schema={"enum": pl.Int64, "name": pl.String},
    )
    pinned = pl.DataFrame(
        {"enum": list(PINNED_MODEL_NAMES), "name": list(PINNED_MODEL_NAMES.values())},
        schema={"enum": pl.Int64, "name": pl.String},
    )
    layers = [builtin]
    if typemodel is not None:
        layers.append(typemodel.select("enum", "name").filter(pl.col("name").is_not_null()))
    layers.append(pinned)
    # The last layer that names an enum wins.
    return pl.concat(layers).unique(subset="enum", keep="last", maintain_order=True)


def is_template_product(product: pl.Expr) -> pl.Expr:
    """Return whether a product name is a template, by the rule the report applies."""
    name = product.str.strip_chars().str.to_lowercase()
    return (name == "universal device template") | name.str.ends_with(" template")


def is_cti_port_product(product: pl.Expr) -> pl.Expr:
    return product.str.strip_chars().str.to_lowercase() == "cti port"
