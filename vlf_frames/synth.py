"""Synthetic inventory drops of any size, for benchmarks and tests.

A drop is generated in chunks of users, and every value is a pure function of the seed and of
the row's position (a user's global index, a phone's ordinal), computed with a counter-based
random generator in vectorised Polars expressions. Memory therefore depends on the chunk size
and hardly on the drop size (only the customers and sites tables are held whole). The same
options and seed give byte-identical files with the same Polars version.

What the drop looks like:

- Customer sizes follow a Zipf law (exponent 1.1), so there are a few huge customers and
  many small ones. About 2 % of the customers (never the first) are empty. Each non-empty
  customer has several sites, and about 2 % of its users sit at customer level (no site).
- Users have 0 to 3 phones mostly, and a tail of 11 to 40 (0.5 %). Phones are desk phones
  (``SEP`` + MAC address), Jabber clients (``CSF``, ``TCT``, ``BOT`` + user name), analog ports
  (``Analog Phone``, ``Cisco ATA 19x``), Spark Remote Devices and CTI Remote Devices. They
  belong to their user through an association, the owner id, or both. A few are owned by one
  user and associated to another.
- Every user slot may also add items that belong to its customer but to no user. These are
  unowned desk phones (some with an owner id or association naming a user that does not
  exist), CTI ports, templates, standalone Spark Remote Devices and analog ports,
  associations naming unknown phones, duplicate associations, unlinked Extension Mobility
  and SNR profiles, and unlinked rows of every account table.
- References to user ids and device names vary in case and some carry surrounding Unicode
  white space, so that the report's identifier normalization is exercised. Some nullable
  links are empty or only white space, which normalizes to null. Keys stay unique after
  normalization, and every customer and site reference is valid.
"""

from __future__ import annotations

import logging
import shutil
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl

log = logging.getLogger(__name__)

OutputFormat = Literal["parquet", "csv"]

# Tables written as one file, and tables written as a folder of parts, one part per chunk.
SINGLE_FILE_TABLES = ("customers", "sites")
CHUNKED_TABLES = (
    "users",
    "phones",
    "associated_devices",
    "device_profiles",
    "remote_destination_profiles",
    "voicemail_accounts",
    "webex_accounts",
    "spark_accounts",
    "pexip_accounts",
    "contact_center_agents",
    "microsoft_accounts",
    "phone_server_phones",
)
TABLE_NAMES = SINGLE_FILE_TABLES + CHUNKED_TABLES

DEFAULT_CHUNK_SIZE = 250_000
SUBSCRIBERS_PER_CUSTOMER = 250
CUSTOMER_SIZE_EXPONENT = 1.1

# A phone's MAC address and pkid come from ``user index * PHONE_SLOTS + ordinal``. Ordinals
# below MAX_USER_PHONES are a user's own phones, and the ones from 48 up are a slot's extras.
PHONE_SLOTS = 64
MAX_USER_PHONES = 40
(
    ORDINAL_EXTRA_SPARK_REMOTE,
    ORDINAL_CTI_REMOTE,
    ORDINAL_STANDALONE_DESK,
    ORDINAL_CTI_PORT,
    ORDINAL_STANDALONE_SPARK_REMOTE,
    ORDINAL_STANDALONE_ANALOG,
    ORDINAL_TEMPLATE,
    ORDINAL_UNKNOWN_DEVICE,
    ORDINAL_PHONE_SERVER,
) = range(48, 57)

# GUID tags keep the pkids of different tables apart.
TAG_CUSTOMER, TAG_SITE, TAG_USER, TAG_PHONE = 1, 2, 3, 4

FIRST_NAMES = (
    "Emma", "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sophia", "Lily", "Freya",
    "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Henry", "Charlie",
    "Liam", "Lucas", "Ethan", "James", "Mason", "Chloe", "Hannah", "Sarah", "Laura", "Anna",
    "Daniel", "David", "Thomas", "Michael", "Peter", "Paul", "Mark", "John", "Sam", "Ben",
    "Priya", "Aisha", "Wei", "Yuki", "Mateo", "Sofía", "Zoë", "Chloé", "André", "Jürgen",
    "Søren", "Łukasz", "Björn", "Inés", "Noémie", "Raphaël", "Siobhan", "Niamh", "Kofi", "Ama",
)
LAST_NAMES = (
    "Holtom", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James", "Phillips", "Mason",
    "Mitchell", "Rose", "Davis", "Rodriguez", "Cox", "Alexander", "Garcia", "Nguyen", "Kim",
    "Chen", "Singh", "Murphy", "Kelly", "Byrne", "Walsh", "Novak", "Nowak", "Kowalski",
    "Müller", "Schröder", "Núñez", "Ødegaard", "Çelik", "Lefèvre", "Åberg", "Dvořák",
    "Mensah", "Okafor", "Tanaka", "Sato", "Rossi", "Bianchi", "Fischer", "Becker", "Larsen",
)
CITY_NAMES = (
    "London", "Leeds", "Bristol", "Dublin", "Cork", "Paris", "Lyon", "Berlin", "Munich",
    "Madrid", "Lisbon", "Oslo", "Zürich", "Kraków", "Boston", "Austin", "Toronto", "Sydney",
)
COMPANY_WORDS = (
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware",
    "Wingtip", "Margie", "Lucerne", "Humongous", "Coho", "Woodgrove", "Trey", "Alpine",
)
COMPANY_SUFFIXES = ("Ltd", "plc", "GmbH", "SA", "Inc", "Council", "Health Trust", "University")
RESELLER_NAMES = ("Acme Reseller", "Bluebell Networks", "Cobalt Comms", "Delta Voice")
PROVIDER_NAME = "Example Provider"

DESK_PRODUCTS = (
    "Cisco 8845", "Cisco 8865", "Cisco 7841", "Cisco 7821", "Cisco 8851", "Cisco 8861",
    "Cisco 7945", "Cisco 9861", "Cisco Webex Desk Pro", "Cisco IP Communicator",
    "Third-party SIP Device (Advanced)",
)
ANALOG_PRODUCTS = (
    "Analog Phone", "Cisco ATA 186", "Cisco ATA 187", "Cisco ATA 190", "Cisco ATA 191",
    "Cisco ATA 192",
)
SPARK_REMOTE_PRODUCTS = ("Cisco Spark Remote Device", "Cisco Webex Remote Device")
TEMPLATE_PRODUCTS = ("Universal Device Template", "Cisco 8845 Template")

# Characters with the Unicode White_Space property, placed around some ids.
PADDINGS = (" ", "  ", "\t", "\u00a0", "\u2003", "\u3000", "\u0085", " \u2028")

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_MAC_MULTIPLIER = 0x5DEECE66D  # odd, so x -> (x * multiplier + offset) mod 2**48 is a bijection
_MAC_OFFSET = 0x00AB12CD34EF


@cache
def _hex_digits(*, upper: bool) -> pl.Series:
    """Return the four hex digits of every 16-bit value, so that one lookup formats a group.

    It is built on first use: building it takes about 0.1 s, which every command would pay at
    start-up if it were built on import.
    """
    spec = "04X" if upper else "04x"
    return pl.Series([format(value, spec) for value in range(1 << 16)])


@dataclass(frozen=True)
class SynthOptions:
    """Size and shape of a synthetic drop."""

    subscribers: int
    customers: int
    seed: int = 1
    output_format: OutputFormat = "parquet"
    chunk_size: int = DEFAULT_CHUNK_SIZE


def default_customer_count(subscribers: int) -> int:
    """Return the customer count used when none is given: one per 250 subscribers."""
    return max(1, round(subscribers / SUBSCRIBERS_PER_CUSTOMER))


# --- Counter-based random numbers ------------------------------------------------------------


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def _mix(z: pl.Expr) -> pl.Expr:
    """Apply the SplitMix64 finalizer, a bijection of UInt64 (Polars wraps on overflow)."""
    z = z.xor(z // _u64(1 << 30)) * _u64(_MIX1)
    z = z.xor(z // _u64(1 << 27)) * _u64(_MIX2)
    return z.xor(z // _u64(1 << 31))


def _mix_int(value: int) -> int:
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
    return z ^ (z >> 31)


class _Random:
    """Random values as functions of (seed, stream name, row counter): no state, any order."""

    def __init__(self, seed: int) -> None:
        self._seed_key = _mix_int(seed ^ 0x5EED5EED5EED5EED)

    def bits(self, stream: str, counter: pl.Expr) -> pl.Expr:
        key = _mix_int(self._seed_key ^ zlib.crc32(stream.encode()))
        return _mix(counter * _u64(_GOLDEN) + _u64(key))

    def uniform(self, stream: str, counter: pl.Expr) -> pl.Expr:
        """Return a float in [0, 1)."""
        return (self.bits(stream, counter) // _u64(1 << 11)).cast(pl.Float64) * 2.0**-53

    def chance(self, stream: str, counter: pl.Expr, probability: float) -> pl.Expr:
        return self.uniform(stream, counter) < probability

    def below(self, stream: str, counter: pl.Expr, bound: int | pl.Expr) -> pl.Expr:
        """Return an integer in [0, bound). ``bound`` must be at least 1."""
        divisor = _u64(bound) if isinstance(bound, int) else bound.cast(pl.UInt64)
        return self.bits(stream, counter) % divisor

    def choice(self, stream: str, counter: pl.Expr, values: Sequence[str]) -> pl.Expr:
        return pl.lit(pl.Series(values)).gather(self.below(stream, counter, len(values)))

    def key(self, salt: int) -> int:
        return _mix_int(self._seed_key ^ salt)


def _hex(value: pl.Expr, group_count: int, *, upper: bool = False) -> pl.Expr:
    """Format the low ``group_count`` 16-bit groups of a UInt64 as hex, most significant first."""
    table = _hex_digits(upper=upper)
    parts = [
        pl.lit(table).gather((value // _u64(1 << (16 * position))) % _u64(1 << 16))
        for position in reversed(range(group_count))
    ]
    return pl.concat_str(parts)


def _with_guid(
    frame: pl.DataFrame, name: str, rng: _Random, tag: int, counter: pl.Expr
) -> pl.DataFrame:
    """Add a GUID-like pkid column, unique per (tag, counter) for counters below 2**52.

    The two 64-bit halves are stored as columns first: ``_mix`` refers to its input twice per
    step, so nesting it inside one expression would evaluate the input many times over.
    """
    frame = frame.with_columns(
        _guid_high=_mix((counter + _u64(tag << 52)).xor(_u64(rng.key(0x6D1D))))
    )
    frame = frame.with_columns(_guid_low=_mix(pl.col("_guid_high").xor(_u64(rng.key(0x10E)))))
    high = pl.col("_guid_high")
    low = pl.col("_guid_low")
    guid = pl.concat_str(
        [
            _hex(high // _u64(1 << 32), 2),
            _hex(high // _u64(1 << 16), 1),
            _hex(high, 1),
            _hex(low // _u64(1 << 48), 1),
            _hex(low, 3),
        ],
        separator="-",
    )
    return frame.with_columns(guid.alias(name)).drop("_guid_high", "_guid_low")


def _mac(phone_counter: pl.Expr) -> pl.Expr:
    """Return 12 upper-case hex digits, distinct for distinct counters below 2**48."""
    return _hex(phone_counter * _u64(_MAC_MULTIPLIER) + _u64(_MAC_OFFSET), 3, upper=True)


def _phone_counter(user_index: pl.Expr, ordinal: int | pl.Expr) -> pl.Expr:
    ordinal_expr = _u64(ordinal) if isinstance(ordinal, int) else ordinal.cast(pl.UInt64)
    return user_index * _u64(PHONE_SLOTS) + ordinal_expr


# --- Identifier variants ---------------------------------------------------------------------


def _vary(
    rng: _Random,
    stream: str,
    counter: pl.Expr,
    value: pl.Expr,
    *,
    lower: float,
    upper: float,
    padded: float,
) -> pl.Expr:
    """Return ``value`` lower-cased, upper-cased, padded with white space, or unchanged."""
    draw = rng.uniform(stream, counter)
    pad = rng.choice(stream + ".pad", counter, PADDINGS)
    sides = rng.below(stream + ".side", counter, 3)
    prefix = pl.when(sides != 1).then(pad).otherwise(pl.lit(""))
    suffix = pl.when(sides != 0).then(pad).otherwise(pl.lit(""))
    return (
        pl.when(draw < lower)
        .then(value.str.to_lowercase())
        .when(draw < lower + upper)
        .then(value.str.to_uppercase())
        .when(draw < lower + upper + padded)
        .then(pl.concat_str([prefix, value, suffix]))
        .otherwise(value)
    )


def _vary_reference(rng: _Random, stream: str, counter: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Vary a user id or device name where another table refers to it."""
    return _vary(rng, stream, counter, value, lower=0.12, upper=0.06, padded=0.05)


def _ascii_fold(name: str) -> str:
    special = {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss"}
    decomposed = unicodedata.normalize("NFKD", "".join(special.get(c, c) for c in name))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_LAST_NAMES_ASCII = tuple(_ascii_fold(name) for name in LAST_NAMES)
_FIRST_NAMES_ASCII = tuple(_ascii_fold(name) for name in FIRST_NAMES)


def _name_index(rng: _Random, stream: str, user_index: pl.Expr, size: int) -> pl.Expr:
    return rng.below(stream, user_index, size)


def _userid(rng: _Random, user_index: pl.Expr, local_index: pl.Expr) -> pl.Expr:
    """Return a user id such as ``Emma.Holtom42``, made unique by the local index."""
    first = pl.lit(pl.Series(FIRST_NAMES)).gather(
        _name_index(rng, "user.first", user_index, len(FIRST_NAMES))
    )
    last = pl.lit(pl.Series(LAST_NAMES)).gather(
        _name_index(rng, "user.last", user_index, len(LAST_NAMES))
    )
    return pl.concat_str([first, pl.lit("."), last, local_index.cast(pl.String)])


def _user_handle(rng: _Random, user_index: pl.Expr, local_index: pl.Expr) -> pl.Expr:
    """Return an ASCII upper-case handle such as ``EHOLTOM42`` for device and profile names."""
    first = pl.lit(pl.Series(_FIRST_NAMES_ASCII)).gather(
        _name_index(rng, "user.first", user_index, len(FIRST_NAMES))
    )
    last = pl.lit(pl.Series(_LAST_NAMES_ASCII)).gather(
        _name_index(rng, "user.last", user_index, len(LAST_NAMES))
    )
    return pl.concat_str(
        [first.str.slice(0, 1), last, local_index.cast(pl.String)]
    ).str.to_uppercase()


# --- Customers and sites ---------------------------------------------------------------------


def plan_customers(options: SynthOptions) -> pl.DataFrame:
    """Build the customers with their user and site ranges (one row per customer)."""
    rng = _Random(options.seed)
    count = options.customers
    index = pl.int_range(0, count, dtype=pl.UInt64)
    plan = pl.select(index=index).with_columns(
        is_empty=(pl.col("index") > 0) & rng.chance("customer.empty", pl.col("index"), 0.02)
    )
    plan = plan.with_columns(
        weight=pl.when(pl.col("is_empty"))
        .then(0.0)
        .otherwise((pl.col("index") + 1).cast(pl.Float64).pow(-CUSTOMER_SIZE_EXPONENT))
    )
    plan = plan.with_columns(site_level_users=_allocate(plan["weight"], options.subscribers))

    site_level = pl.col("site_level_users")
    plan = plan.with_columns(
        customer_level_users=(site_level // 50)
        + (
            (site_level > 0) & rng.chance("customer.extra_user", pl.col("index"), 0.5)
        ).cast(pl.UInt64),
        site_count=pl.when(pl.col("is_empty"))
        .then(rng.chance("customer.empty_site", pl.col("index"), 0.5).cast(pl.UInt64))
        .otherwise(
            _u64(1)
            + (site_level.cast(pl.Float64).pow(0.55) / 3).floor().cast(pl.UInt64)
        ),
    )
    plan = plan.with_columns(
        user_count=pl.col("site_level_users") + pl.col("customer_level_users"),
    ).with_columns(
        user_start=pl.col("user_count").cum_sum() - pl.col("user_count"),
        site_start=pl.col("site_count").cum_sum() - pl.col("site_count"),
    )

    idx = pl.col("index")
    company = pl.concat_str(
        [
            rng.choice("customer.word", idx, COMPANY_WORDS),
            pl.lit(" "),
            rng.choice("customer.suffix", idx, COMPANY_SUFFIXES),
            pl.lit(" "),
            idx.cast(pl.String),
        ]
    )
    plan = _with_guid(plan, "customer_pkid", rng, TAG_CUSTOMER, idx)
    return plan.with_columns(
        customer_name=company,
        domain=pl.concat_str(
            [rng.choice("customer.word", idx, COMPANY_WORDS).str.to_lowercase(),
             idx.cast(pl.String), pl.lit(".example.com")]
        ),
        reseller_name=pl.when(rng.chance("customer.direct", idx, 0.3))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(rng.choice("customer.reseller", idx, RESELLER_NAMES)),
        public_sector=_nullable_flag(rng, "customer.public_sector", idx, 0.08),
        inactive_billing=_nullable_flag(rng, "customer.inactive_billing", idx, 0.03),
    )


def _allocate(weights: pl.Series, total: int) -> pl.Series:
    """Split ``total`` in proportion to ``weights`` by the largest-remainder method."""
    weight_sum = float(weights.sum())
    quota = weights * (total / weight_sum)
    floor = quota.floor()
    missing = total - int(floor.sum())
    ranked = pl.DataFrame({"remainder": quota - floor}).with_row_index("position")
    top = ranked.sort(["remainder", "position"], descending=[True, False]).head(missing)
    bonus = pl.Series(values=[0] * len(weights), dtype=pl.UInt64)
    bonus = bonus.scatter(top["position"], 1)
    return (floor.cast(pl.UInt64) + bonus).alias("site_level_users")


def _nullable_flag(rng: _Random, stream: str, counter: pl.Expr, probability: float) -> pl.Expr:
    return (
        pl.when(rng.chance(stream + ".null", counter, 0.05))
        .then(pl.lit(None, dtype=pl.Boolean))
        .otherwise(rng.chance(stream, counter, probability))
    )


def customers_table(plan: pl.DataFrame) -> pl.DataFrame:
    return plan.select(
        "customer_pkid",
        "customer_name",
        provider_name=pl.lit(PROVIDER_NAME),
        reseller_name="reseller_name",
        public_sector="public_sector",
        inactive_billing="inactive_billing",
    )


def sites_table(plan: pl.DataFrame, seed: int) -> pl.DataFrame:
    rng = _Random(seed)
    total = int(plan["site_count"].sum())
    site_index = pl.Series("site_index", range(total), dtype=pl.UInt64)
    owner = plan["site_start"].search_sorted(site_index, side="right") - 1
    frame = pl.DataFrame(
        {
            "site_index": site_index,
            "customer_pkid": plan["customer_pkid"].gather(owner),
            "local": site_index - plan["site_start"].gather(owner),
        }
    )
    frame = _with_guid(frame, "site_pkid", rng, TAG_SITE, pl.col("site_index"))
    return frame.select(
        "site_pkid",
        customer_pkid="customer_pkid",
        site_name=pl.concat_str(
            [
                rng.choice("site.city", pl.col("site_index"), CITY_NAMES),
                pl.lit(" "),
                (pl.col("local") + 1).cast(pl.String),
            ]
        ),
    )


# --- Users -----------------------------------------------------------------------------------


def _user_base(plan: pl.DataFrame, rng: _Random, start: int, stop: int) -> pl.DataFrame:
    """Build one row per user in [start, stop) with the columns the other tables derive from.

    Every user's customer has at least one site, because only empty customers have none.
    """
    user_index = pl.Series("u", range(start, stop), dtype=pl.UInt64)
    customer = plan["user_start"].search_sorted(user_index, side="right") - 1
    frame = pl.DataFrame(
        {
            "u": user_index,
            "customer_pkid": plan["customer_pkid"].gather(customer),
            "domain": plan["domain"].gather(customer),
            "j": user_index - plan["user_start"].gather(customer),
            "site_level_users": plan["site_level_users"].gather(customer),
            "site_count": plan["site_count"].gather(customer),
            "site_start": plan["site_start"].gather(customer),
        }
    )
    u = pl.col("u")
    # Users crowd into the first sites of a customer, as at a head office.
    home_site = pl.col("site_start") + (
        pl.col("site_count").cast(pl.Float64) * rng.uniform("user.site", u).pow(2)
    ).floor().cast(pl.UInt64)
    return frame.with_columns(
        is_subscriber=pl.col("j") < pl.col("site_level_users"),
        own_site=pl.when(pl.col("j") < pl.col("site_level_users")).then(home_site),
        userid=_userid(rng, u, pl.col("j")),
        handle=_user_handle(rng, u, pl.col("j")),
    ).drop("site_level_users")


def _row_site(
    rng: _Random, site_pkids: pl.Series, stream: str, counter: pl.Expr, *, own: float, other: float
) -> pl.Expr:
    """Pick a row's site pkid: the user's own site, another site of the customer, or null.

    ``own`` and ``other`` are the shares of the first two, and the rest sit at customer level.
    Rows of customer-level users have no own site, so their ``own`` share is null too.
    """
    draw = rng.uniform(stream, counter)
    random_site = pl.col("site_start") + rng.below(
        stream + ".random", counter, pl.col("site_count")
    )
    index = (
        pl.when(draw < own)
        .then(pl.col("own_site"))
        .when(draw < own + other)
        .then(random_site)
        .otherwise(None)
    )
    return pl.lit(site_pkids).gather(index)


def users_table(base: pl.DataFrame, rng: _Random, site_pkids: pl.Series) -> pl.DataFrame:
    u = pl.col("u")
    return _with_guid(base, "user_pkid", rng, TAG_USER, u).select(
        "user_pkid",
        customer_pkid="customer_pkid",
        site_pkid=pl.lit(site_pkids).gather(pl.col("own_site")),
        userid=_vary(rng, "users.userid", u, pl.col("userid"), lower=0.02, upper=0.01, padded=0.02),
    )


def _absent_id(rng: _Random, stream: str, counter: pl.Expr) -> pl.Expr:
    """Return null mostly, else an empty or white-space-only id, which links to nothing."""
    draw = rng.uniform(stream, counter)
    return (
        pl.when(draw < 0.8)
        .then(pl.lit(None, dtype=pl.String))
        .when(draw < 0.85)
        .then(pl.lit(""))
        .otherwise(rng.choice(stream + ".blank", counter, PADDINGS))
    )


def _former_employee(local_index: pl.Expr) -> pl.Expr:
    """Return a user id that names no user (no first name in the lists is ``Former``)."""
    return pl.concat_str([pl.lit("Former.Employee"), local_index.cast(pl.String)])


# --- Phones and associations -----------------------------------------------------------------


def _phone_count(rng: _Random, u: pl.Expr) -> pl.Expr:
    """Draw a user's own phone count: 0 to 3 mostly, 4 to 10 often, 11 to 40 rarely."""
    draw = rng.uniform("phones.count", u)
    return (
        pl.when(draw < 0.14).then(_u64(0))
        .when(draw < 0.58).then(_u64(1))
        .when(draw < 0.80).then(_u64(2))
        .when(draw < 0.90).then(_u64(3))
        .when(draw < 0.995).then(_u64(4) + rng.below("phones.count.mid", u, 7))
        .otherwise(_u64(11) + rng.below("phones.count.tail", u, MAX_USER_PHONES - 10))
    )


def _owned_phone_rows(base: pl.DataFrame, rng: _Random) -> pl.DataFrame:
    """Build one row per phone that its user owns or is associated with."""
    u = pl.col("u")
    users = base.with_columns(phone_count=_phone_count(rng, u))
    users = users.with_columns(
        spark_remote_only=pl.col("phone_count").is_between(1, 2)
        & rng.chance("phones.spark_remote_only", u, 0.04),
    )
    listed = (
        users.filter(pl.col("phone_count") > 0)
        .with_columns(o=pl.int_ranges(0, pl.col("phone_count"), dtype=pl.UInt64))
        .explode("o")
    )
    extra_spark_remote = users.filter(
        (pl.col("phone_count") > 0)
        & ~pl.col("spark_remote_only")
        & rng.chance("phones.extra_spark_remote", u, 0.03)
    ).with_columns(o=_u64(ORDINAL_EXTRA_SPARK_REMOTE))
    cti_remote = users.filter(rng.chance("phones.cti_remote", u, 0.02)).with_columns(
        o=_u64(ORDINAL_CTI_REMOTE)
    )
    rows = pl.concat([listed, extra_spark_remote, cti_remote])

    o = pl.col("o")
    rows = rows.with_columns(x=_phone_counter(u, o))
    x = pl.col("x")
    rows = rows.with_columns(link=rng.uniform("phones.link", x))
    mobile = pl.when(rng.chance("phones.ios", x, 0.5)).then(pl.lit("tct")).otherwise(pl.lit("bot"))
    kind = (
        pl.when(o == ORDINAL_EXTRA_SPARK_REMOTE).then(pl.lit("spark_remote"))
        .when(o == ORDINAL_CTI_REMOTE).then(pl.lit("cti_remote"))
        .when(pl.col("spark_remote_only")).then(pl.lit("spark_remote"))
        .when((o == 0) & rng.chance("phones.analog", x, 0.04)).then(pl.lit("analog"))
        .when((o == 1) & rng.chance("phones.csf", x, 0.7)).then(pl.lit("csf"))
        .when((o == 2) & rng.chance("phones.mobile", x, 0.6)).then(mobile)
        .otherwise(pl.lit("desk"))
    )
    link = pl.col("link")
    has_association = link < 0.85
    has_owner = (link < 0.55) | (link >= 0.85)
    # A few phones associated to their user are owned by the previous user of the customer,
    # so they belong to two users.
    owned_by_neighbour = (
        (link < 0.55) & (pl.col("j") > 0) & rng.chance("phones.neighbour_owner", x, 0.03)
    )
    neighbour_userid = _userid(
        rng, u.clip(lower_bound=1) - _u64(1), pl.col("j").clip(lower_bound=1) - _u64(1)
    )
    rows = rows.with_columns(
        kind=kind,
        has_owner=has_owner,
        owner=pl.when(owned_by_neighbour).then(neighbour_userid).otherwise(pl.col("userid")),
        association_userid=pl.when(has_association).then(pl.col("userid")),
    )
    return rows.with_columns(
        # An owned phone sits at its user's site, another site or customer level.
        site_share_own=pl.lit(0.85),
        site_share_random=pl.lit(0.08),
        owner_userid=pl.when(pl.col("has_owner")).then(
            _vary_reference(rng, "phones.owner", x, pl.col("owner"))
        ),
    )


def _extra_phone_rows(base: pl.DataFrame, rng: _Random) -> pl.DataFrame:
    """Build the phones that no user owns outright: spare desk phones, ports and templates."""
    u = pl.col("u")
    specs = (
        # (kind, ordinal, probability per user slot, owner, association)
        ("desk", ORDINAL_STANDALONE_DESK, 0.04, "former", "former"),
        ("cti_port", ORDINAL_CTI_PORT, 0.015, "user", "user"),
        ("spark_remote", ORDINAL_STANDALONE_SPARK_REMOTE, 0.005, None, None),
        ("analog", ORDINAL_STANDALONE_ANALOG, 0.015, None, None),
        ("template", ORDINAL_TEMPLATE, 0.003, "user", "user"),
    )
    frames = []
    for kind, ordinal, probability, owner_source, association_source in specs:
        stream = f"extra_phone.{kind}"
        rows = base.filter(rng.chance(stream, u, probability)).with_columns(
            o=_u64(ordinal), x=_phone_counter(u, ordinal), kind=pl.lit(kind)
        )
        x = pl.col("x")
        frames.append(
            rows.with_columns(
                site_share_own=pl.lit(0.0),
                site_share_random=pl.lit(0.9),
                owner_userid=_extra_link(
                    rng, stream + ".owner", x, owner_source, 0.25, blank_allowed=True
                ),
                association_userid=_extra_link(
                    rng, stream + ".assoc", x, association_source, 0.3, blank_allowed=False
                ),
            )
        )
    return pl.concat(frames)


def _extra_link(
    rng: _Random,
    stream: str,
    x: pl.Expr,
    source: str | None,
    probability: float,
    *,
    blank_allowed: bool,
) -> pl.Expr:
    """Return the user id an extra phone is linked to (with the given probability), or null.

    With ``blank_allowed``, some unlinked rows get an empty or white-space-only id in place of
    null. Owner ids are nullable, but association rows need a user id.
    """
    if source is None:
        return pl.lit(None, dtype=pl.String)
    userid = _former_employee(pl.col("j")) if source == "former" else pl.col("userid")
    absent = (
        _absent_id(rng, stream + ".absent", x) if blank_allowed else pl.lit(None, dtype=pl.String)
    )
    return pl.when(rng.chance(stream, x, probability)).then(userid).otherwise(absent)


def _with_device_name_and_product(rows: pl.DataFrame, rng: _Random) -> pl.DataFrame:
    x = pl.col("x")
    rows = rows.with_columns(
        mac=_mac(x),
        analog_product=rng.choice("phones.analog_product", x, ANALOG_PRODUCTS),
    )
    kind = pl.col("kind")
    mac = pl.col("mac")
    analog_product = pl.col("analog_product")
    product = (
        pl.when(kind == "desk").then(rng.choice("phones.desk_product", x, DESK_PRODUCTS))
        .when(kind == "analog").then(analog_product)
        .when(kind == "csf").then(pl.lit("Cisco Unified Client Services Framework"))
        .when(kind == "tct").then(pl.lit("Cisco Dual Mode for iPhone"))
        .when(kind == "bot").then(pl.lit("Cisco Dual Mode for Android"))
        .when(kind == "spark_remote")
        .then(rng.choice("phones.spark_remote_product", x, SPARK_REMOTE_PRODUCTS))
        .when(kind == "cti_remote").then(pl.lit("CTI Remote Device"))
        .when(kind == "cti_port").then(pl.lit("CTI Port"))
        .otherwise(rng.choice("phones.template_product", x, TEMPLATE_PRODUCTS))
    )
    handle = pl.col("handle")
    device_name = (
        pl.when(kind == "desk").then(pl.concat_str([pl.lit("SEP"), mac]))
        .when((kind == "analog") & (analog_product == "Analog Phone"))
        .then(pl.concat_str([pl.lit("AN"), mac]))
        .when(kind == "analog").then(pl.concat_str([pl.lit("ATA"), mac]))
        .when(kind == "csf").then(pl.concat_str([pl.lit("CSF"), handle]))
        .when(kind == "tct").then(pl.concat_str([pl.lit("TCT"), handle]))
        .when(kind == "bot").then(pl.concat_str([pl.lit("BOT"), handle]))
        .when(kind == "spark_remote").then(pl.concat_str([pl.lit("SRD"), mac]))
        .when(kind == "cti_remote").then(pl.concat_str([pl.lit("CTIRD"), handle]))
        .when(kind == "cti_port").then(pl.concat_str([pl.lit("CTIP"), mac]))
        .otherwise(pl.concat_str([pl.lit("UDT"), mac]))
    )
    return rows.with_columns(product=product, device_name=device_name).drop(
        "mac", "analog_product"
    )


def phone_tables(
    base: pl.DataFrame, rng: _Random, site_pkids: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build the ``phones`` and ``associated_devices`` rows of one chunk of users."""
    columns = [
        "customer_pkid", "u", "j", "o", "x", "userid", "handle", "own_site", "site_start",
        "site_count", "kind", "site_share_own", "site_share_random", "owner_userid",
        "association_userid",
    ]
    rows = pl.concat(
        [
            _owned_phone_rows(base, rng).select(columns),
            _extra_phone_rows(base, rng).select(columns),
        ]
    ).pipe(_with_device_name_and_product, rng)

    x = pl.col("x")
    own_share = pl.col("site_share_own")
    random_share = pl.col("site_share_random")
    draw = rng.uniform("phones.site", x)
    random_site = pl.col("site_start") + rng.below("phones.site.random", x, pl.col("site_count"))
    site_index = (
        pl.when(draw < own_share)
        .then(pl.col("own_site"))
        .when(draw < own_share + random_share)
        .then(random_site)
        .otherwise(None)
    )
    phones = _with_guid(rows, "phone_pkid", rng, TAG_PHONE, x).select(
        "phone_pkid",
        customer_pkid="customer_pkid",
        site_pkid=pl.lit(site_pkids).gather(site_index),
        device_name=_vary(
            rng, "phones.device_name", x, pl.col("device_name"), lower=0.02, upper=0.0, padded=0.01
        ),
        product=_vary(
            rng, "phones.product", x, pl.col("product"), lower=0.02, upper=0.01, padded=0.01
        ),
        owner_userid="owner_userid",
    )
    associations = _association_rows(base, rows, rng)
    return phones, associations


def _association_rows(base: pl.DataFrame, rows: pl.DataFrame, rng: _Random) -> pl.DataFrame:
    x = pl.col("x")
    linked = rows.filter(pl.col("association_userid").is_not_null())
    main = linked.select(
        "customer_pkid",
        userid=_vary_reference(rng, "assoc.userid", x, pl.col("association_userid")),
        device_name=_vary_reference(rng, "assoc.device", x, pl.col("device_name")),
    )
    duplicates = linked.filter(rng.chance("assoc.duplicate", x, 0.02)).select(
        "customer_pkid",
        userid=_vary_reference(rng, "assoc.duplicate.userid", x, pl.col("association_userid")),
        device_name=_vary_reference(rng, "assoc.duplicate.device", x, pl.col("device_name")),
    )

    u = pl.col("u")
    # The previous user's first phone, when it is a desk phone, is then shared by two users.
    neighbour_phone = pl.concat_str(
        [pl.lit("SEP"), _mac(_phone_counter(u.clip(lower_bound=1) - _u64(1), 0))]
    )
    neighbour = base.filter(
        (pl.col("j") > 0) & rng.chance("assoc.neighbour", u, 0.02)
    ).select(
        "customer_pkid",
        userid=_vary_reference(rng, "assoc.neighbour.userid", u, pl.col("userid")),
        device_name=neighbour_phone,
    )
    unknown = base.filter(rng.chance("assoc.unknown", u, 0.015)).select(
        "customer_pkid",
        userid=_vary_reference(rng, "assoc.unknown.userid", u, pl.col("userid")),
        device_name=pl.concat_str(
            [pl.lit("SEP"), _mac(_phone_counter(u, ORDINAL_UNKNOWN_DEVICE))]
        ),
    )
    return pl.concat([main, duplicates, neighbour, unknown])


# --- Profiles and accounts -------------------------------------------------------------------


@dataclass(frozen=True)
class _AccountSpec:
    """Fill rule of one account or profile table: shares of linked and unlinked rows, ids."""

    table: str
    key_column: str
    linked_share: float
    linked_key: Callable[[], pl.Expr]
    unlinked_share: float
    unlinked_key: Callable[[], pl.Expr]
    unlinked_userid: Callable[[], pl.Expr]
    has_site: bool = True


def _lower_userid() -> pl.Expr:
    return pl.col("userid").str.to_lowercase()


def _numbered(prefix: str, suffix: pl.Expr | None = None) -> pl.Expr:
    parts = [pl.lit(prefix), pl.col("j").cast(pl.String)]
    if suffix is not None:
        parts.append(suffix)
    return pl.concat_str(parts)


def _null_or_former(rng: _Random, stream: str, null_share: float) -> Callable[[], pl.Expr]:
    def build() -> pl.Expr:
        return (
            pl.when(rng.chance(stream, pl.col("u"), null_share))
            .then(_absent_id(rng, stream + ".absent", pl.col("u")))
            .otherwise(
                _vary_reference(rng, stream + ".vary", pl.col("u"), _former_employee(pl.col("j")))
            )
        )

    return build


def _account_specs(rng: _Random) -> tuple[_AccountSpec, ...]:
    at_domain = pl.concat_str([pl.lit("@"), pl.col("domain")])
    # Pexip accounts of people outside the customer reuse a few guest ids, in varied case, so
    # that several rows share one normalized user id.
    external_guest = pl.concat_str(
        [pl.lit("External.Guest"), (pl.col("j") % _u64(37)).cast(pl.String)]
    )
    pexip_guest = (
        pl.when(rng.chance("pexip_accounts.guest_null", pl.col("u"), 0.2))
        .then(_absent_id(rng, "pexip_accounts.guest_absent", pl.col("u")))
        .otherwise(_vary_reference(rng, "pexip_accounts.guest", pl.col("u"), external_guest))
    )
    return (
        _AccountSpec(
            "device_profiles", "profile_name", 0.10,
            lambda: pl.concat_str([pl.lit("EM_"), pl.col("handle")]),
            0.005, lambda: _numbered("EM-SPARE-"),
            _null_or_former(rng, "device_profiles.unlinked", 0.7), has_site=False,
        ),
        _AccountSpec(
            "remote_destination_profiles", "profile_name", 0.12,
            lambda: pl.concat_str([pl.lit("RDP_"), pl.col("handle")]),
            0.005, lambda: _numbered("RDP-SPARE-"),
            _null_or_former(rng, "remote_destination_profiles.unlinked", 0.7), has_site=False,
        ),
        _AccountSpec(
            "voicemail_accounts", "account_id", 0.50, lambda: pl.col("userid"),
            0.025, lambda: _numbered("vm-shared-"),
            _null_or_former(rng, "voicemail_accounts.unlinked", 0.6),
        ),
        _AccountSpec(
            "webex_accounts", "account_id", 0.30,
            lambda: pl.concat_str([_lower_userid(), at_domain]),
            0.015, lambda: _numbered("room-", at_domain),
            _null_or_former(rng, "webex_accounts.unlinked", 0.6),
        ),
        _AccountSpec(
            "spark_accounts", "account_id", 0.40,
            lambda: pl.concat_str([pl.col("userid"), at_domain]),
            0.02, lambda: _numbered("guest-", pl.lit("@partner.example.net")),
            _null_or_former(rng, "spark_accounts.unlinked", 0.5),
        ),
        _AccountSpec(
            "pexip_accounts", "account_id", 0.06,
            lambda: pl.concat_str([pl.lit("vmr-"), _lower_userid()]),
            0.012, lambda: _numbered("vmr-ext-"), lambda: pexip_guest,
        ),
        _AccountSpec(
            "microsoft_accounts", "account_id", 0.25,
            lambda: pl.concat_str([_lower_userid(), at_domain]),
            0.03, lambda: _numbered("ext-", at_domain),
            _null_or_former(rng, "microsoft_accounts.unlinked", 0.8),
        ),
    )


def _account_table(
    base: pl.DataFrame, rng: _Random, site_pkids: pl.Series, spec: _AccountSpec
) -> pl.DataFrame:
    u = pl.col("u")
    linked = base.filter(rng.chance(spec.table + ".linked", u, spec.linked_share)).with_columns(
        key=spec.linked_key(),
        link=_vary_reference(rng, spec.table + ".userid", u, pl.col("userid")),
        site_pkid=_row_site(rng, site_pkids, spec.table + ".site", u, own=0.85, other=0.05),
    )
    unlinked = base.filter(
        rng.chance(spec.table + ".unlinked", u, spec.unlinked_share)
    ).with_columns(
        key=spec.unlinked_key(),
        link=spec.unlinked_userid(),
        site_pkid=_row_site(rng, site_pkids, spec.table + ".unlinked.site", u, own=0.0, other=0.85),
    )
    rows = pl.concat([linked, unlinked])
    if spec.has_site:
        columns = [
            pl.col("key").alias(spec.key_column), pl.col("customer_pkid"), pl.col("site_pkid"),
            pl.col("link").alias("userid"),
        ]
    else:
        columns = [
            pl.col("key").alias(spec.key_column), pl.col("customer_pkid"),
            pl.col("link").alias("userid"),
        ]
    if spec.table == "microsoft_accounts":
        columns.extend(_microsoft_flags(rng))
    return rows.select(columns)


def _microsoft_flags(rng: _Random) -> list[pl.Expr]:
    u = pl.col("u")
    teams = rng.chance("microsoft_accounts.teams", u, 0.7)
    return [
        teams.alias("teams"),
        (teams & rng.chance("microsoft_accounts.enterprise_voice", u, 0.45)).alias(
            "enterprise_voice"
        ),
        rng.chance("microsoft_accounts.o365", u, 0.85).alias("o365_licensed"),
        rng.chance("microsoft_accounts.cisco_integrated", u, 0.2).alias("cisco_integrated"),
    ]


def contact_center_table(base: pl.DataFrame, rng: _Random, site_pkids: pl.Series) -> pl.DataFrame:
    """Build agents: linked ones, some on both platforms, and a few with no user."""
    u = pl.col("u")
    platform = rng.choice("contact_center.platform", u, ("UCCE", "UCCX"))
    other_platform = (
        pl.when(pl.col("platform") == "UCCE").then(pl.lit("UCCX")).otherwise(pl.lit("UCCE"))
    )

    agents = base.filter(rng.chance("contact_center.linked", u, 0.03)).with_columns(
        account_id=_numbered("agent-"),
        platform=platform,
        link=_vary_reference(rng, "contact_center.userid", u, pl.col("userid")),
        site_pkid=_row_site(rng, site_pkids, "contact_center.site", u, own=0.9, other=0.0),
    )
    second = agents.filter(rng.chance("contact_center.both", u, 0.05)).with_columns(
        platform=other_platform
    )
    unlinked = base.filter(rng.chance("contact_center.unlinked", u, 0.003)).with_columns(
        account_id=_numbered("agent-x-"),
        platform=platform,
        link=pl.lit(None, dtype=pl.String),
        site_pkid=_row_site(rng, site_pkids, "contact_center.unlinked.site", u, own=0.0, other=0.9),
    )
    rows = pl.concat([agents, second, unlinked])

    # The platform is matched case-insensitively, so its spelling varies too.
    draw = rng.uniform("contact_center.platform_case", u)
    spelled = (
        pl.when(draw < 0.08).then(pl.col("platform").str.to_lowercase())
        .when(draw < 0.12).then(pl.col("platform").str.to_titlecase())
        .otherwise(pl.col("platform"))
    )
    return rows.select(
        "account_id", "customer_pkid", "site_pkid", platform=spelled, userid="link"
    )


def phone_server_table(base: pl.DataFrame, rng: _Random, site_pkids: pl.Series) -> pl.DataFrame:
    u = pl.col("u")
    return base.filter(rng.chance("phone_server.phone", u, 0.01)).select(
        device_name=pl.concat_str([pl.lit("PSP"), _mac(_phone_counter(u, ORDINAL_PHONE_SERVER))]),
        customer_pkid="customer_pkid",
        site_pkid=_row_site(rng, site_pkids, "phone_server.site", u, own=0.0, other=0.8),
    )


# --- Chunks and files ------------------------------------------------------------------------


def generate_chunk(
    plan: pl.DataFrame, site_pkids: pl.Series, seed: int, start: int, stop: int
) -> dict[str, pl.DataFrame]:
    """Build every chunked table for the users with global index in [start, stop)."""
    rng = _Random(seed)
    base = _user_base(plan, rng, start, stop)
    phones, associations = phone_tables(base, rng, site_pkids)
    tables = {
        "users": users_table(base, rng, site_pkids),
        "phones": phones,
        "associated_devices": associations,
    }
    for spec in _account_specs(rng):
        tables[spec.table] = _account_table(base, rng, site_pkids, spec)
    tables["contact_center_agents"] = contact_center_table(base, rng, site_pkids)
    tables["phone_server_phones"] = phone_server_table(base, rng, site_pkids)
    return {name: tables[name] for name in CHUNKED_TABLES}


def _write_table(frame: pl.DataFrame, path: Path, output_format: OutputFormat) -> None:
    if output_format == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=True)
    else:
        frame.write_csv(path)


_PARTIAL_MARKER = ".vlf-synth-partial"


def write_drop(
    out: Path,
    options: SynthOptions,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic drop into the new folder ``out`` and return the row count per table.

    Files are written to ``<out>.partial`` first and the folder is renamed when complete, so
    an existing ``out`` is always a whole drop. ``on_progress(done, total)`` is called with
    user counts after each chunk. Raises ``FileExistsError`` when ``out`` exists and is not an
    empty folder, or when ``<out>.partial`` exists without this module's marker file.
    """
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a folder")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} already exists and is not an empty folder")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        if not (partial / _PARTIAL_MARKER).is_file():
            raise FileExistsError(f"{partial} exists and was not left by an interrupted synth run")
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    (partial / _PARTIAL_MARKER).touch()

    extension = options.output_format
    plan = plan_customers(options)
    sites = sites_table(plan, options.seed)
    row_counts = {"customers": plan.height, "sites": sites.height}
    _write_table(customers_table(plan), partial / f"customers.{extension}", options.output_format)
    _write_table(sites, partial / f"sites.{extension}", options.output_format)
    site_pkids = sites["site_pkid"]
    del sites

    total_users = int(plan["user_count"].sum())
    for name in CHUNKED_TABLES:
        (partial / name).mkdir()
        row_counts[name] = 0
    if on_progress is not None:
        on_progress(0, total_users)
    for chunk_index, start in enumerate(range(0, total_users, options.chunk_size)):
        stop = min(start + options.chunk_size, total_users)
        tables = generate_chunk(plan, site_pkids, options.seed, start, stop)
        for name, frame in tables.items():
            part = partial / name / f"part-{chunk_index:05d}.{extension}"
            _write_table(frame, part, options.output_format)
            row_counts[name] += frame.height
        del tables
        log.debug("wrote chunk %d: users %d to %d", chunk_index, start, stop)
        if on_progress is not None:
            on_progress(stop, total_users)

    (partial / _PARTIAL_MARKER).unlink()
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return row_counts


def check_options(options: SynthOptions) -> None:
    """Raise ``ValueError`` naming the first option out of range."""
    if options.subscribers < 1:
        raise ValueError(f"subscribers must be at least 1, got {options.subscribers}")
    if options.customers < 1:
        raise ValueError(f"customers must be at least 1, got {options.customers}")
    # More customers than subscribers would leave most customers with sites and no users,
    # unlike the estates that the drop imitates.
    if options.customers > options.subscribers:
        raise ValueError(
            f"customers must be at most the {options.subscribers:,} subscribers, got "
            f"{options.customers:,}"
        )
    if options.chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {options.chunk_size}")
    # Phone counters (user index * PHONE_SLOTS + ordinal) must stay below 2**48 for MACs.
    max_users = (1 << 48) // PHONE_SLOTS // 2
    if options.subscribers > max_users:
        raise ValueError(f"subscribers must be at most {max_users}, got {options.subscribers}")
    if options.output_format not in ("parquet", "csv"):
        raise ValueError(f"format must be parquet or csv, got {options.output_format!r}")
