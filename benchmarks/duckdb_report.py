"""The anonymous customer aggregate report (audit version 4.0.0) in DuckDB SQL, for benchmarks.

An independent implementation of the counting rules, written for speed, that the benchmark
compares with ``vlf-frames report`` cell for cell. It assumes a valid drop, because it checks
no key, type or reference as the report command does. It reads every table from
``<table>.parquet``, ``<table>.csv`` or a folder ``<table>/`` of Parquet or CSV files, with or
without Hive-style partition folders.

How the query stays fast:

- Identifiers are normalized once per row, with a regular expression for Unicode white space
  (DuckDB's ``trim`` removes only spaces).
- Every join is an equi-join on (customer, normalized id) or on an integer row id, and each
  side has one row per key, so no join multiplies rows. Materialized CTEs separate the join
  stages, so the optimizer cannot join two large tables on the customer alone.
- Phone links (associations and owner ids) become one distinct set of packed integers, and
  all profile and account tables are one union joined to users once, so each large table is
  scanned once.

Run it alone with ``python benchmarks/duckdb_report.py DROP [--output FILE.parquet]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

# The header line of the audit version 4.0.0 example, in its order.
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

# The columns the report reads from each table, with their types. Tables other than the
# REQUIRED_TABLES may be absent, which means empty, and OPTIONAL_COLUMNS may be absent (null).
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {
        "customer_pkid": "VARCHAR", "public_sector": "BOOLEAN", "inactive_billing": "BOOLEAN",
    },
    "sites": {"site_pkid": "VARCHAR", "customer_pkid": "VARCHAR"},
    "users": {"customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "userid": "VARCHAR"},
    "phones": {
        "customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "device_name": "VARCHAR",
        "product": "VARCHAR", "owner_userid": "VARCHAR",
    },
    "associated_devices": {
        "customer_pkid": "VARCHAR", "userid": "VARCHAR", "device_name": "VARCHAR",
    },
    "device_profiles": {"customer_pkid": "VARCHAR", "userid": "VARCHAR"},
    "remote_destination_profiles": {"customer_pkid": "VARCHAR", "userid": "VARCHAR"},
    "voicemail_accounts": {"customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "userid": "VARCHAR"},
    "webex_accounts": {"customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "userid": "VARCHAR"},
    "spark_accounts": {"customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "userid": "VARCHAR"},
    "pexip_accounts": {"customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "userid": "VARCHAR"},
    "contact_center_agents": {
        "customer_pkid": "VARCHAR", "site_pkid": "VARCHAR", "platform": "VARCHAR",
    },
    "microsoft_accounts": {
        "customer_pkid": "VARCHAR", "userid": "VARCHAR", "teams": "BOOLEAN",
        "enterprise_voice": "BOOLEAN", "o365_licensed": "BOOLEAN", "cisco_integrated": "BOOLEAN",
    },
    "phone_server_phones": {"customer_pkid": "VARCHAR"},
}
REQUIRED_TABLES = ("customers", "sites", "users", "phones", "associated_devices")
OPTIONAL_COLUMNS = {("customers", "public_sector"), ("customers", "inactive_billing")}

# Characters with the Unicode White_Space property: \t \n \v \f \r, U+0085, and \p{Z}, which in
# RE2 is U+0020, U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F, U+205F and U+3000.
WHITE_SPACE_CLASS = r"[\t\n\x0B\f\r\x{85}\p{Z}]"

# DuckDB's lower() applies the simple case mapping. The full mapping of the rules (Python
# str.lower, Polars str.to_lowercase) differs, outside Turkish and Lithuanian locales, in two
# ways: U+0130 becomes "i" + U+0307, and a capital sigma at the end of a word becomes the final
# sigma U+03C2 (the Unicode Final_Sigma condition). These classes express that condition:
# a sigma is final when a cased letter precedes it and none follows, skipping case-ignorable
# characters on both sides. They match Python 3.11 (Unicode 14) on every code point, apart from
# characters added in Unicode 15.
CASED_CLASS = (
    r"\p{Lu}\p{Ll}\p{Lt}\x{AA}\x{BA}\x{2160}-\x{217F}\x{24B6}-\x{24E9}"
    r"\x{1F130}-\x{1F149}\x{1F150}-\x{1F169}\x{1F170}-\x{1F189}"
)
CASE_IGNORABLE_CLASS = (
    r"\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}\x{27}\x{2E}\x{3A}\x{B7}\x{387}\x{55F}\x{5F4}"
    r"\x{2018}\x{2019}\x{2024}\x{2027}\x{FE13}\x{FE52}\x{FE55}\x{FF07}\x{FF0E}\x{FF1A}"
)
FINAL_SIGMA = (
    rf"([{CASED_CLASS}][{CASE_IGNORABLE_CLASS}]*)Σ([{CASE_IGNORABLE_CLASS}]*)"
    rf"($|[^{CASE_IGNORABLE_CLASS}{CASED_CLASS}])"
)

MACROS = rf"""
CREATE OR REPLACE TEMP MACRO strip_ws(x) AS
    regexp_replace(x, '^{WHITE_SPACE_CLASS}+|{WHITE_SPACE_CLASS}+$', '', 'g');
-- Full Unicode lower-case mapping. Only ids that contain U+0130 or a capital sigma take the
-- slow branch.
CREATE OR REPLACE TEMP MACRO lower_full(x) AS CASE
    WHEN contains(x, 'Σ') OR contains(x, 'İ')
        THEN lower(regexp_replace(replace(x, 'İ', 'i' || chr(775)), '{FINAL_SIGMA}',
                                  '\1ς\2\3', 'g'))
    ELSE lower(x)
END;
-- A link id: white space trimmed, lower-cased, and null when nothing is left.
CREATE OR REPLACE TEMP MACRO norm(x) AS nullif(lower_full(strip_ws(x)), '');
-- CSV booleans: true/false, t/f, 1/0, yes/no in any case.
CREATE OR REPLACE TEMP MACRO csv_bool(x) AS CASE
    WHEN lower(strip_ws(x)) IN ('true', 't', '1', 'yes') THEN true
    WHEN lower(strip_ws(x)) IN ('false', 'f', '0', 'no') THEN false
    END;
"""

REPORT_SQL = """
WITH
-- Large joins and groups use small integer ids (customer cid, user_id, phone_id) in place of
-- 36-character pkids. Every CTE marked MATERIALIZED is computed once, and it also keeps the
-- optimizer from joining two large tables on the customer id alone.
customer_ids AS MATERIALIZED (
    SELECT customer_pkid,
           row_number() OVER () AS cid,
           coalesce(public_sector, false) AS public_sector,
           coalesce(inactive_billing, false) AS inactive_billing
    FROM customers
),
user_rows AS MATERIALIZED (
    SELECT row_number() OVER () AS user_id, c.cid, norm(u.userid) AS uid,
           u.site_pkid IS NOT NULL AS is_subscriber
    FROM users AS u JOIN customer_ids AS c ON c.customer_pkid = u.customer_pkid
),
phone_rows AS MATERIALIZED (
    SELECT row_number() OVER () AS phone_id, c.cid,
           norm(p.device_name) AS dev,
           p.site_pkid IS NOT NULL AS at_site,
           norm(p.owner_userid) AS owner,
           CASE
               WHEN product_key = 'cti port' THEN 3
               WHEN product_key LIKE '% template' THEN 4
               WHEN product_key IN ('cisco spark remote device', 'cisco webex remote device')
                   THEN 2
               WHEN product_key IN ('analog phone', 'cisco ata 186', 'cisco ata 187',
                                    'cisco ata 190', 'cisco ata 191', 'cisco ata 192') THEN 1
               ELSE 0
           END::UTINYINT AS device_class  -- 0 phone, 1 analog, 2 Spark RD, 3 CTI port, 4 template
    FROM (SELECT *, lower(strip_ws(product)) AS product_key FROM phones) AS p
    JOIN customer_ids AS c ON c.customer_pkid = p.customer_pkid
),
-- Associations that name a phone of the customer.
association_phones AS MATERIALIZED (
    SELECT a.cid, a.uid, p.phone_id, p.device_class
    FROM (
        SELECT c.cid, norm(a.userid) AS uid, norm(a.device_name) AS dev
        FROM associated_devices AS a JOIN customer_ids AS c ON c.customer_pkid = a.customer_pkid
    ) AS a
    JOIN phone_rows AS p ON p.cid = a.cid AND p.dev = a.dev
),
-- Each (user, phone) pair once, whether linked by association, owner id or both. The pair and
-- the phone's class are packed into one integer (user_id in bits 35 to 63, phone_id in bits 3
-- to 34, the class in bits 0 to 2), which grouped about twice as fast as three columns at one
-- million subscribers. NOTE: this holds up to 2**29 users and 2**32 phones per drop.
user_phones AS MATERIALIZED (
    SELECT DISTINCT
        (u.user_id::UBIGINT << 35) | (l.phone_id::UBIGINT << 3) | l.device_class AS link_key
    FROM (
        SELECT cid, uid, phone_id, device_class FROM association_phones
        UNION ALL
        SELECT cid, owner, phone_id, device_class FROM phone_rows WHERE owner IS NOT NULL
    ) AS l
    JOIN user_rows AS u ON u.cid = l.cid AND u.uid = l.uid
),
phone_counts AS (
    SELECT (link_key >> 35)::BIGINT AS user_id,
           count(*) FILTER (WHERE link_key & 7 <= 1) AS real_phones,
           bool_or(link_key & 7 = 2) AS has_spark_remote
    FROM user_phones
    GROUP BY (link_key >> 35)::BIGINT
),
-- Profile and account rows with their link id: source 1 EM, 2 SNR, 3 voicemail, 4 Webex,
-- 5 Spark, 6 Pexip, 7 Microsoft (ms_kind: Teams or licensed Office 365).
account_rows AS MATERIALIZED (
    SELECT a.source, a.at_site, a.ms_kind, a.ms_integrated, a.teams, a.enterprise_voice,
           a.o365_licensed, c.cid, norm(a.userid) AS uid
    FROM (
        SELECT customer_pkid, userid, 1 AS source, false AS at_site, false AS ms_kind,
               false AS ms_integrated, false AS teams, false AS enterprise_voice,
               false AS o365_licensed
        FROM device_profiles
        UNION ALL
        SELECT customer_pkid, userid, 2, false, false, false, false, false, false
        FROM remote_destination_profiles
        UNION ALL
        SELECT customer_pkid, userid, 3, site_pkid IS NOT NULL, false, false, false, false, false
        FROM voicemail_accounts
        UNION ALL
        SELECT customer_pkid, userid, 4, site_pkid IS NOT NULL, false, false, false, false, false
        FROM webex_accounts
        UNION ALL
        SELECT customer_pkid, userid, 5, site_pkid IS NOT NULL, false, false, false, false, false
        FROM spark_accounts
        UNION ALL
        SELECT customer_pkid, userid, 6, site_pkid IS NOT NULL, false, false, false, false, false
        FROM pexip_accounts
        UNION ALL
        SELECT customer_pkid, userid, 7, false, teams OR o365_licensed,
               (teams OR o365_licensed) AND cisco_integrated, teams, enterprise_voice,
               o365_licensed
        FROM microsoft_accounts
    ) AS a
    JOIN customer_ids AS c ON c.customer_pkid = a.customer_pkid
),
-- user_id is null where the account's user id matches no user of the customer.
account_users AS MATERIALIZED (
    SELECT a.*, u.user_id
    FROM account_rows AS a
    LEFT JOIN user_rows AS u ON u.cid = a.cid AND u.uid = a.uid
),
services AS (
    SELECT user_id,
           bool_or(source = 1) AS em,
           bool_or(source = 2) AS snr,
           bool_or(source = 3) AS vm,
           bool_or(source = 4) AS webex,
           bool_or(source = 5) AS spark,
           bool_or(source = 6) AS pexip,
           bool_or(source = 7 AND ms_kind) AS microsoft,
           bool_or(source = 7 AND ms_integrated) AS microsoft_integrated
    FROM account_users
    WHERE user_id IS NOT NULL
    GROUP BY user_id
),
user_flags AS MATERIALIZED (
    SELECT u.user_id, u.cid, u.is_subscriber AS sub,
           CASE
               WHEN coalesce(pc.real_phones, 0) > 0 THEN pc.real_phones
               WHEN coalesce(pc.has_spark_remote, false) THEN 1
               ELSE 0
           END AS n,
           coalesce(s.em, false) AS em,
           coalesce(s.snr, false) AS snr,
           coalesce(s.vm, false) AS vm,
           coalesce(s.webex, false) AS webex,
           coalesce(s.spark, false) AS spark,
           coalesce(s.pexip, false) AS pexip,
           coalesce(s.microsoft, false) AS microsoft,
           coalesce(s.microsoft_integrated, false) AS microsoft_integrated,
           n >= 1 OR em OR snr OR vm OR webex OR spark AS cisco
    FROM user_rows AS u
    LEFT JOIN phone_counts AS pc ON pc.user_id = u.user_id
    LEFT JOIN services AS s ON s.user_id = u.user_id
),
user_columns AS (
    SELECT cid,
        count(*) FILTER (WHERE sub AND n = 1 AND NOT webex AND NOT vm AND spark)
            AS one_phone_spark,
        count(*) FILTER (WHERE sub AND n = 1 AND NOT webex AND NOT vm AND NOT spark)
            AS one_phone,
        count(*) FILTER (WHERE sub AND n = 1 AND NOT webex AND vm) AS one_phone_vm,
        count(*) FILTER (WHERE sub AND n = 1 AND webex) AS one_phone_webex,
        coalesce(sum((n + 9) // 10) FILTER (WHERE sub AND n >= 2), 0) AS multiple_phones,
        count(*) FILTER (WHERE sub AND n > 10) AS more_than_10,
        count(*) FILTER (WHERE sub AND n = 0 AND NOT em AND NOT webex AND NOT vm AND NOT spark
                         AND NOT snr AND NOT microsoft AND NOT pexip) AS ucm_user,
        count(*) FILTER (WHERE sub AND n = 0 AND NOT em AND NOT webex AND NOT vm AND NOT spark
                         AND snr) AS snr_only,
        count(*) FILTER (WHERE sub AND n = 0 AND NOT em AND NOT webex AND vm) AS vm_only,
        count(*) FILTER (WHERE sub AND n = 0 AND NOT em AND webex) AS webex_only,
        count(*) FILTER (WHERE sub AND n = 0 AND NOT em AND NOT webex AND NOT vm AND spark)
            AS spark_only,
        count(*) FILTER (WHERE sub AND n = 0 AND em AND NOT webex AND NOT vm AND spark)
            AS em_spark,
        count(*) FILTER (WHERE sub AND n = 0 AND em AND NOT webex AND NOT vm AND NOT spark
                         AND NOT snr) AS em_only,
        count(*) FILTER (WHERE sub AND n = 0 AND em AND NOT webex AND NOT vm AND NOT spark
                         AND snr) AS em_snr,
        count(*) FILTER (WHERE sub AND n = 0 AND em AND NOT webex AND vm) AS em_vm,
        count(*) FILTER (WHERE sub AND n = 0 AND em AND webex) AS em_webex,
        count(*) FILTER (WHERE sub AND n >= 2 AND spark AND (vm OR webex))
            AS standard_with_spark,
        count(*) FILTER (WHERE sub AND cisco AND microsoft AND microsoft_integrated)
            AS cisco_ms_integrated,
        count(*) FILTER (WHERE sub AND cisco AND microsoft AND NOT microsoft_integrated)
            AS multi_vendor,
        count(*) FILTER (WHERE pexip AND NOT cisco AND NOT microsoft) AS pexip_users
    FROM user_flags
    GROUP BY cid
),
-- Phones that belong to no user, at any level.
standalone_phones AS (
    SELECT p.cid,
           count(*) FILTER (WHERE device_class = 0) AS standalone_phones,
           count(*) FILTER (WHERE device_class = 1) AS standalone_analog
    FROM phone_rows AS p
    ANTI JOIN (SELECT ((link_key >> 3) & 4294967295)::BIGINT AS phone_id FROM user_phones) AS b
        ON b.phone_id = p.phone_id
    WHERE p.at_site AND p.device_class <= 1
    GROUP BY p.cid
),
-- A Microsoft account is counted unless its user has a Cisco service.
account_columns AS (
    SELECT a.cid,
           count(*) FILTER (WHERE a.source = 4 AND a.at_site AND a.user_id IS NULL)
               AS standalone_webex,
           count(*) FILTER (WHERE a.source = 3 AND a.at_site AND a.user_id IS NULL)
               AS standalone_vm,
           count(*) FILTER (WHERE a.source = 5 AND a.user_id IS NULL) AS standalone_spark,
           count(*) FILTER (WHERE a.source = 7 AND ms_kind AND NOT coalesce(f.cisco, false)
                            AND teams AND enterprise_voice) AS ms_teams_voice,
           count(*) FILTER (WHERE a.source = 7 AND ms_kind AND NOT coalesce(f.cisco, false)
                            AND teams AND NOT enterprise_voice) AS ms_teams,
           count(*) FILTER (WHERE a.source = 7 AND ms_kind AND NOT coalesce(f.cisco, false)
                            AND o365_licensed AND NOT teams) AS ms_o365
    FROM account_users AS a
    LEFT JOIN user_flags AS f ON f.user_id = a.user_id
    GROUP BY a.cid
),
-- Pexip accounts with no user count once per distinct user id, and once per null user id.
pexip_unmatched AS (
    SELECT cid, count(DISTINCT uid) + count(*) FILTER (WHERE uid IS NULL) AS pexip_unmatched
    FROM account_users
    WHERE source = 6 AND user_id IS NULL
    GROUP BY cid
),
contact_center AS (
    SELECT customer_pkid,
           count(*) FILTER (WHERE platform = 'ucce') AS ucce,
           count(*) FILTER (WHERE platform = 'uccx') AS uccx
    FROM (
        SELECT customer_pkid, lower(strip_ws(platform)) AS platform
        FROM contact_center_agents
        WHERE site_pkid IS NOT NULL
    )
    GROUP BY customer_pkid
),
phone_server AS (
    SELECT customer_pkid, count(*) AS phone_server_phones
    FROM phone_server_phones GROUP BY customer_pkid
),
site_counts AS (
    SELECT customer_pkid, count(*) AS site_count FROM sites GROUP BY customer_pkid
)
SELECT
    c.customer_pkid AS "Customer PKID",
    coalesce(uc.one_phone_spark, 0) AS "One Phone & Spark (No VM & No WebEx)",
    coalesce(uc.one_phone, 0) AS "One Phone (No VM & No WebEx & No Spark)",
    coalesce(uc.one_phone_vm, 0) AS "One Phone & VM (No WebEx)",
    coalesce(uc.one_phone_webex, 0) AS "One Phone & WebEx",
    coalesce(uc.multiple_phones, 0) AS "Multiple Phones",
    coalesce(uc.more_than_10, 0) AS "Users With More Than 10 Phones",
    coalesce(uc.ucm_user, 0)
        AS "UCM User (No Phone & No EM & No VM & No WebEx & No SNR & No Spark)",
    coalesce(uc.snr_only, 0) AS "SNR (No Phone & No EM & No VM & No WebEx & No Spark)",
    coalesce(uc.vm_only, 0) AS "VM (No Phone & No EM & No WebEx)",
    coalesce(uc.webex_only, 0) AS "WebEx (No Phone & No EM)",
    coalesce(uc.spark_only, 0) AS "Spark (No Phone & No EM & No SNR & No VM & No WebEx)",
    coalesce(uc.em_spark, 0) AS "EM & Spark (No Phone & No VM & No WebEx)",
    coalesce(uc.em_only, 0) AS "EM (No Phone & No SNR & No VM & No WebEx & No Spark)",
    coalesce(uc.em_snr, 0) AS "EM & SNR (No Phone & No VM & No WebEx & No Spark)",
    coalesce(uc.em_vm, 0) AS "EM & VM (No Phone & No WebEx)",
    coalesce(uc.em_webex, 0) AS "EM & WebEx (No Phone)",
    coalesce(sp.standalone_phones, 0) AS "Standalone Phones (No UCM User)",
    coalesce(ac.standalone_webex, 0) AS "Standalone WebEx (No UCM User)",
    coalesce(ac.standalone_vm, 0) AS "Standalone Voicemail (No UCM User)",
    coalesce(cc.ucce, 0) AS "Contact Center Enterprise",
    coalesce(cc.uccx, 0) AS "Contact Center Express",
    coalesce(ac.standalone_spark, 0) AS "Standalone Spark (No UCM User)",
    c.public_sector AS "Public Sector",
    c.inactive_billing AS "Inactive Billing",
    coalesce(sp.standalone_analog, 0) AS "Standalone Analog Ports (No UCM User)",
    coalesce(uc.standard_with_spark, 0) AS "Standard Users with Spark",
    coalesce(ac.ms_teams, 0) AS "MS Teams (No Voice)",
    coalesce(ac.ms_teams_voice, 0) AS "MS Teams & Voice",
    coalesce(ac.ms_o365, 0) AS "MS O365 User (no Teams)",
    coalesce(uc.cisco_ms_integrated, 0) AS "Cisco and MS Integrated Service",
    coalesce(uc.multi_vendor, 0) AS "Multi-vendor Users",
    coalesce(uc.pexip_users, 0) + coalesce(pu.pexip_unmatched, 0) AS "PexIP only",
    coalesce(ps.phone_server_phones, 0) AS "Phone Server Phones",
    coalesce(sc.site_count, 0) AS "Site Count"
FROM customer_ids AS c
LEFT JOIN user_columns AS uc ON uc.cid = c.cid
LEFT JOIN standalone_phones AS sp ON sp.cid = c.cid
LEFT JOIN account_columns AS ac ON ac.cid = c.cid
LEFT JOIN pexip_unmatched AS pu ON pu.cid = c.cid
LEFT JOIN contact_center AS cc ON cc.customer_pkid = c.customer_pkid
LEFT JOIN phone_server AS ps ON ps.customer_pkid = c.customer_pkid
LEFT JOIN site_counts AS sc ON sc.customer_pkid = c.customer_pkid
ORDER BY c.customer_pkid
"""


def _table_files(drop_dir: Path, table: str) -> tuple[str, str, bool] | None:
    """Return (glob, format, hive partitioned) for a table, or None when it is absent."""
    for suffix in ("parquet", "csv"):
        single = drop_dir / f"{table}.{suffix}"
        if single.is_file():
            return str(single), suffix, False
    folder = drop_dir / table
    if not folder.is_dir():
        return None
    for suffix in ("parquet", "csv"):
        files = sorted(folder.rglob(f"*.{suffix}"))
        if files:
            hive = any("=" in part for f in files for part in f.relative_to(folder).parts[:-1])
            return str(folder / "**" / f"*.{suffix}"), suffix, hive
    raise FileNotFoundError(f"table folder {folder} contains no .parquet or .csv file")


def _source_sql(pattern: str, file_format: str, hive: bool) -> str:
    quoted = pattern.replace("'", "''")
    hive_option = "true" if hive else "false"
    if file_format == "parquet":
        return f"read_parquet('{quoted}', hive_partitioning = {hive_option}, union_by_name = true)"
    return (
        f"read_csv('{quoted}', header = true, all_varchar = true, "
        f"hive_partitioning = {hive_option}, union_by_name = true)"
    )


def register_tables(con: duckdb.DuckDBPyConnection, drop_dir: Path) -> None:
    """Create one view per table with exactly the columns the report reads, typed."""
    for table, columns in TABLE_COLUMNS.items():
        located = _table_files(drop_dir, table)
        if located is None:
            if table in REQUIRED_TABLES:
                raise FileNotFoundError(f"required table {table} not found in {drop_dir}")
            typed_nulls = ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns.items())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {typed_nulls} LIMIT 0")
            continue

        source = _source_sql(*located)
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        file_format = located[1]
        selected = []
        for name, kind in columns.items():
            if name not in present:
                if (table, name) not in OPTIONAL_COLUMNS:
                    raise ValueError(f"table {table} has no column {name}")
                selected.append(f"NULL::{kind} AS {name}")
            elif kind == "BOOLEAN" and file_format == "csv":
                selected.append(f"csv_bool({name}) AS {name}")
            else:
                selected.append(f"CAST({name} AS {kind}) AS {name}")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {', '.join(selected)} FROM {source}"
        )


def duckdb_report(
    drop_dir: Path | str, *, threads: int | None = None, memory_limit: str | None = None
) -> pl.DataFrame:
    """Compute the report of a valid drop: one row per customer, sorted by Customer PKID.

    Columns and types match ``vlf-frames report``: ``Customer PKID`` a string, the two flags
    booleans, every other column Int64.
    """
    with tempfile.TemporaryDirectory(prefix="duckdb-report-") as spill_dir:
        config = {"temp_directory": spill_dir}
        if threads is not None:
            config["threads"] = str(threads)
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        with duckdb.connect(config=config) as con:
            con.execute(MACROS)
            register_tables(con, Path(drop_dir))
            arrow_table = con.sql(REPORT_SQL).to_arrow_table()
    report = pl.DataFrame(arrow_table)
    return report.select(
        pl.col(name).cast(pl.String) if name == "Customer PKID"
        else pl.col(name).cast(pl.Boolean) if name in FLAG_COLUMNS
        else pl.col(name).cast(pl.Int64)
        for name in REPORT_COLUMNS
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compute the anonymous report of a valid drop with DuckDB.",
    )
    parser.add_argument("drop", type=Path, help="folder of the inventory drop")
    parser.add_argument("--output", type=Path, help="write the report to this Parquet file")
    parser.add_argument("--threads", type=int, help="DuckDB worker threads (default: all cores)")
    parser.add_argument(
        "--memory-limit", help="DuckDB memory limit such as 8GB (default: 80%% of the RAM)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    report = duckdb_report(args.drop, threads=args.threads, memory_limit=args.memory_limit)
    elapsed = time.perf_counter() - started
    if args.output is not None:
        report.write_parquet(args.output)
    print(
        f"duckdb report: {report.height} customers in {elapsed:.2f} s "
        f"(duckdb {duckdb.__version__})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
