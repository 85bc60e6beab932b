"""The tables of an inventory drop: their pandera models, keys and references."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa

from vlf_frames import models


@dataclass(frozen=True)
class Key:
    """A unique key of a table.

    ``normalized`` lists the columns compared after trimming white space and lower-casing; the
    other columns (primary keys) are compared exactly as given.
    """

    columns: tuple[str, ...]
    normalized: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[pa.DataFrameModel]
    required: bool
    keys: tuple[Key, ...]
    references_customer: bool = True
    references_site: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.model.to_schema().columns)

    @property
    def boolean_columns(self) -> frozenset[str]:
        schema = self.model.to_schema()
        return frozenset(
            name
            for name, column in schema.columns.items()
            if (column.metadata or {}).get("logical_type") == "bool"
        )

    @property
    def read_columns(self) -> tuple[str, ...]:
        """Columns the job reads: every column except the identifying names."""
        schema = self.model.to_schema()
        return tuple(
            name
            for name, column in schema.columns.items()
            if not (column.metadata or {}).get("identifying")
        )


CUSTOMER_KEY = "customer_pkid"
SITE_KEY = "site_pkid"


def _account_table(name: str) -> TableSpec:
    return TableSpec(
        name=name,
        model=models.Accounts,
        required=False,
        keys=(Key(("customer_pkid", "account_id"), normalized=("account_id",)),),
        references_site=True,
    )


def _profile_table(name: str) -> TableSpec:
    return TableSpec(
        name=name,
        model=models.Profiles,
        required=False,
        keys=(Key(("customer_pkid", "profile_name"), normalized=("profile_name",)),),
    )


TABLE_SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "customers",
            models.Customers,
            required=True,
            keys=(Key(("customer_pkid",)),),
            references_customer=False,
        ),
        TableSpec("sites", models.Sites, required=True, keys=(Key(("site_pkid",)),)),
        TableSpec(
            "users",
            models.Users,
            required=True,
            keys=(
                Key(("user_pkid",)),
                Key(("customer_pkid", "userid"), normalized=("userid",)),
            ),
            references_site=True,
        ),
        TableSpec(
            "phones",
            models.Phones,
            required=True,
            keys=(
                Key(("phone_pkid",)),
                Key(("customer_pkid", "device_name"), normalized=("device_name",)),
            ),
            references_site=True,
        ),
        # Repeated (customer, userid, device_name) rows are harmless, so the table has no key.
        TableSpec("associated_devices", models.AssociatedDevices, required=True, keys=()),
        _profile_table("device_profiles"),
        _profile_table("remote_destination_profiles"),
        _account_table("voicemail_accounts"),
        _account_table("webex_accounts"),
        _account_table("spark_accounts"),
        _account_table("pexip_accounts"),
        TableSpec(
            "contact_center_agents",
            models.ContactCenterAgents,
            required=False,
            keys=(
                Key(
                    ("customer_pkid", "platform", "account_id"),
                    normalized=("platform", "account_id"),
                ),
            ),
            references_site=True,
        ),
        TableSpec(
            "microsoft_accounts",
            models.MicrosoftAccounts,
            required=False,
            keys=(Key(("customer_pkid", "account_id"), normalized=("account_id",)),),
            references_site=True,
        ),
        TableSpec(
            "phone_server_phones",
            models.PhoneServerPhones,
            required=False,
            keys=(Key(("customer_pkid", "device_name"), normalized=("device_name",)),),
            references_site=True,
        ),
    )
}
