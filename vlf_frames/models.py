"""pandera models of the inventory tables and of the report: the column registry of the package.

Code refers to a column through these models (``Users.userid``) rather than through a string
literal. The column-level rules live here: types, nullability, non-blank text and closed
vocabularies. Table-level rules that need the key definitions or other tables (unique keys after
normalization, references to customers and sites) are added by ``vlf_frames.validation``.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl

# Spellings of a boolean accepted in CSV files, compared after trimming and lower-casing.
TRUE_SPELLINGS = ("true", "t", "1", "yes")
FALSE_SPELLINGS = ("false", "f", "0", "no")
CONTACT_CENTER_PLATFORMS = ("ucce", "uccx")


def is_not_blank(data: pa.PolarsData) -> pl.LazyFrame:
    """Pass a value unless it is empty or only white space; nulls are left to ``nullable``."""
    column = pl.col(data.key)
    return data.lazyframe.select(column.is_null() | (column.str.strip_chars().str.len_bytes() > 0))


# Characters that a customer pkid, which the report carries, must not contain: control
# characters such as NUL or a line break, format characters such as a byte order mark, and
# the line and paragraph separators U+2028 and U+2029.
CONTROL_OR_FORMAT_CHARACTER = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"


def is_printable(data: pa.PolarsData) -> pl.LazyFrame:
    """Pass a value without control or format characters; nulls are left to ``nullable``."""
    column = pl.col(data.key)
    invisible = column.str.contains(CONTROL_OR_FORMAT_CHARACTER)
    return data.lazyframe.select(column.is_null() | ~invisible)


def is_boolean_spelling(data: pa.PolarsData) -> pl.LazyFrame:
    """Pass null and the accepted spellings of true and false, in any case and with spaces."""
    column = pl.col(data.key)
    spelling = column.str.strip_chars().str.to_lowercase()
    return data.lazyframe.select(
        column.is_null() | spelling.is_in(TRUE_SPELLINGS + FALSE_SPELLINGS)
    )


def is_contact_center_platform(data: pa.PolarsData) -> pl.LazyFrame:
    column = pl.col(data.key)
    return data.lazyframe.select(
        column.is_null()
        | column.str.strip_chars().str.to_lowercase().is_in(CONTACT_CENTER_PLATFORMS)
    )


def pkid() -> Any:
    """Field of a primary key or a reference to one: required, non-null, compared exactly."""
    return pa.Field(nullable=False)


def link_id(*, nullable: bool) -> Any:
    """Field of a user id, device name or account id: compared trimmed and lower-cased."""
    return pa.Field(nullable=nullable, metadata={"compared": "trimmed and lower-cased"})


def boolean(*, nullable: bool, required: bool = True) -> Any:
    """Field of a boolean.

    Booleans are validated as text, because CSV files spell them in several ways and Parquet
    booleans are read as ``true``/``false``; ``vlf_frames.normalize`` turns them into booleans.
    """
    return pa.Field(nullable=nullable, required=required, metadata={"logical_type": "bool"})


def identifying() -> Any:
    """Field of a name that the anonymous report never contains; the job does not read it."""
    return pa.Field(nullable=True, required=False, metadata={"identifying": True})


class InputModel(pa.DataFrameModel):
    class Config:
        # Extra columns of an export are allowed and ignored.
        strict = False


class Customers(InputModel):
    customer_pkid: str = pkid()
    customer_name: str = identifying()
    provider_name: str = identifying()
    reseller_name: str = identifying()
    public_sector: str = boolean(nullable=True, required=False)
    inactive_billing: str = boolean(nullable=True, required=False)

    @pa.check("customer_pkid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)

    # The report writes the pkid as given, so an invisible character would reach the billing
    # file, and the rows that name the customer without it would not match.
    @pa.check("customer_pkid", name="printable")
    def _printable(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_printable(data)

    @pa.check("public_sector", "inactive_billing", name="boolean")
    def _boolean(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_boolean_spelling(data)


class Sites(InputModel):
    site_pkid: str = pkid()
    customer_pkid: str = pkid()
    site_name: str = identifying()

    @pa.check("site_pkid", "customer_pkid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


class Users(InputModel):
    user_pkid: str = pkid()
    customer_pkid: str = pkid()
    site_pkid: str = pa.Field(nullable=True)
    userid: str = link_id(nullable=False)

    @pa.check("user_pkid", "customer_pkid", "userid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


class Phones(InputModel):
    phone_pkid: str = pkid()
    customer_pkid: str = pkid()
    site_pkid: str = pa.Field(nullable=True)
    device_name: str = link_id(nullable=False)
    product: str = pa.Field(nullable=False)
    owner_userid: str = link_id(nullable=True)

    @pa.check("phone_pkid", "customer_pkid", "device_name", "product", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


class AssociatedDevices(InputModel):
    customer_pkid: str = pkid()
    userid: str = link_id(nullable=False)
    device_name: str = link_id(nullable=False)

    @pa.check("customer_pkid", "userid", "device_name", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


class Profiles(InputModel):
    """Extension Mobility device profiles and Single Number Reach remote destination profiles."""

    profile_name: str = link_id(nullable=False)
    customer_pkid: str = pkid()
    userid: str = link_id(nullable=True)

    @pa.check("profile_name", "customer_pkid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


class Accounts(InputModel):
    """Voicemail, Webex, Webex App (Spark) and Pexip accounts."""

    account_id: str = link_id(nullable=False)
    customer_pkid: str = pkid()
    site_pkid: str = pa.Field(nullable=True)
    userid: str = link_id(nullable=True)

    @pa.check("account_id", "customer_pkid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


class ContactCenterAgents(InputModel):
    account_id: str = link_id(nullable=False)
    customer_pkid: str = pkid()
    site_pkid: str = pa.Field(nullable=True)
    platform: str = pa.Field(nullable=False)
    userid: str = link_id(nullable=True)

    @pa.check("account_id", "customer_pkid", "platform", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)

    @pa.check("platform", name="contact_center_platform")
    def _platform(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_contact_center_platform(data)


class MicrosoftAccounts(InputModel):
    account_id: str = link_id(nullable=False)
    customer_pkid: str = pkid()
    site_pkid: str = pa.Field(nullable=True)
    userid: str = link_id(nullable=True)
    teams: str = boolean(nullable=False)
    enterprise_voice: str = boolean(nullable=False)
    o365_licensed: str = boolean(nullable=False)
    cisco_integrated: str = boolean(nullable=False)

    @pa.check("account_id", "customer_pkid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)

    @pa.check("teams", "enterprise_voice", "o365_licensed", "cisco_integrated", name="boolean")
    def _boolean(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_boolean_spelling(data)


class PhoneServerPhones(InputModel):
    device_name: str = link_id(nullable=False)
    customer_pkid: str = pkid()
    site_pkid: str = pa.Field(nullable=True)

    @pa.check("device_name", "customer_pkid", name="not_blank")
    def _not_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return is_not_blank(data)


def count(alias: str) -> Any:
    return pa.Field(alias=alias, nullable=False, ge=0)


class Report(pa.DataFrameModel):
    """The anonymous customer aggregate report, audit version 4.0.0, in its column order."""

    customer_pkid: str = pa.Field(alias="Customer PKID", nullable=False, unique=True)
    one_phone_and_spark: pl.Int64 = count("One Phone & Spark (No VM & No WebEx)")
    one_phone: pl.Int64 = count("One Phone (No VM & No WebEx & No Spark)")
    one_phone_and_vm: pl.Int64 = count("One Phone & VM (No WebEx)")
    one_phone_and_webex: pl.Int64 = count("One Phone & WebEx")
    multiple_phones: pl.Int64 = count("Multiple Phones")
    more_than_10_phones: pl.Int64 = count("Users With More Than 10 Phones")
    ucm_user: pl.Int64 = count("UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)")
    snr: pl.Int64 = count("SNR (No Phone & No EM & No VM & No WebEx & No Spark)")
    vm: pl.Int64 = count("VM (No Phone & No EM & No WebEx)")
    webex: pl.Int64 = count("WebEx (No Phone & No EM)")
    spark: pl.Int64 = count("Spark (No Phone & No EM & No SNR & No VM & No WebEx)")
    em_and_spark: pl.Int64 = count("EM & Spark (No Phone & No VM & No WebEx)")
    em: pl.Int64 = count("EM (No Phone & No SNR & No VM & No WebEx & No Spark)")
    em_and_snr: pl.Int64 = count("EM & SNR (No Phone & No VM & No WebEx & No Spark)")
    em_and_vm: pl.Int64 = count("EM & VM (No Phone & No WebEx)")
    em_and_webex: pl.Int64 = count("EM & WebEx (No Phone)")
    standalone_phones: pl.Int64 = count("Standalone Phones (No UCM User)")
    standalone_webex: pl.Int64 = count("Standalone WebEx (No UCM User)")
    standalone_voicemail: pl.Int64 = count("Standalone Voicemail (No UCM User)")
    contact_center_enterprise: pl.Int64 = count("Contact Center Enterprise")
    contact_center_express: pl.Int64 = count("Contact Center Express")
    standalone_spark: pl.Int64 = count("Standalone Spark (No UCM User)")
    public_sector: bool = pa.Field(alias="Public Sector", nullable=False)
    inactive_billing: bool = pa.Field(alias="Inactive Billing", nullable=False)
    standalone_analog_ports: pl.Int64 = count("Standalone Analog Ports (No UCM User)")
    standard_users_with_spark: pl.Int64 = count("Standard Users with Spark")
    ms_teams_no_voice: pl.Int64 = count("MS Teams (No Voice)")
    ms_teams_and_voice: pl.Int64 = count("MS Teams & Voice")
    ms_o365_no_teams: pl.Int64 = count("MS O365 User (no Teams)")
    cisco_and_ms_integrated: pl.Int64 = count("Cisco and MS Integrated Service")
    multi_vendor: pl.Int64 = count("Multi-vendor Users")
    pexip_only: pl.Int64 = count("PexIP only")
    phone_server_phones: pl.Int64 = count("Phone Server Phones")
    site_count: pl.Int64 = count("Site Count")

    class Config:
        strict = True
        ordered = True


REPORT_COLUMNS: tuple[str, ...] = tuple(Report.to_schema().columns)
# ``Report.<field>`` is the column's name at run time, but its annotation is the dtype. This
# untyped alias lets code name report columns through the model and still pass the type checker.
ReportColumn: Any = Report
