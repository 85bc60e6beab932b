"""Validation of an inventory drop with the pandera models, and the setting aside of bad rows.

Each table is validated twice. First every file's schema is checked on its LazyFrame, where
pandera checks only column names and types. A missing required column or a column of the wrong
type stops the run, because no row of that file can be trusted. Then the rows of all the
table's files are collected into one DataFrame and validated in full, so that every value check
runs on every row. The checks are non-null, non-blank, booleans, closed vocabularies, unique
keys after normalization and references to customers and sites.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandera.polars as pa
import polars as pl

from vlf_frames import stopping
from vlf_frames.errors import DropError
from vlf_frames.normalize import comparable_id, hashed_tuple, look_alike_key
from vlf_frames.reading import (
    FILE_COLUMN,
    ORIGIN_COLUMNS,
    ROW_COLUMN,
    DataFile,
    DropLayout,
    TableFiles,
    error_summary,
    file_column_names,
    malformed_csv_error,
    record_lines,
    scan_file,
    unreadable_file_error,
)
from vlf_frames.render import plural
from vlf_frames.tables import CUSTOMER_KEY, SITE_KEY, TABLE_SPECS, Key, TableSpec

# Seeds of the 64-bit hashes that the checks of references to customers and sites compare.
REFERENCE_SEEDS = (0x2545F491, 0x4F6CDD1D)

log = logging.getLogger(__name__)

# How many failing values a finding shows.
EXAMPLE_COUNT = 5

CHECK_DESCRIPTIONS = {
    "column_in_dataframe": "required column is missing",
    "not_nullable": "value is missing (null or empty field)",
    "not_blank": "value is empty or only white space",
    "printable": (
        "value contains a control or format character, such as NUL, a line break or a byte "
        "order mark, which the report would carry"
    ),
    "boolean": "value is not a boolean (accepted: true/false, t/f, 1/0, yes/no in any case)",
    "contact_center_platform": "platform is neither UCCE nor UCCX",
    "known_customer": "customer_pkid names no customer of the drop, or one whose row is invalid",
    "known_site": "site_pkid names no site of the same customer, or one whose row is invalid",
}
FIXES = {
    "column_in_dataframe": "add the column to the export (column names are matched exactly)",
    "dtype": "export the column as text (booleans as booleans)",
    "boolean_dtype": (
        "export the column as Boolean, or as text with true/false, t/f, 1/0 or yes/no"
    ),
    "not_nullable": "fill the value in the export",
    "not_blank": "fill the value in the export",
    "printable": "remove the character from the pkid in the export",
    "boolean": "write true or false",
    "contact_center_platform": "set platform to UCCE or UCCX",
    "known_customer": "fix the customer's row in customers, add the customer, or fix customer_pkid",
    "known_site": "fix the site's row in sites, add it under the same customer, or fix site_pkid",
    "unique_key": "remove or merge the duplicate rows",
}


@dataclass(frozen=True)
class Finding:
    """One failing check of one table in one file."""

    table: str
    file: str | None
    column: str
    check: str
    description: str
    failing_rows: int | None  # None for a check of the file's schema
    examples: tuple[str, ...]
    fix: str
    stops_run: bool  # a schema failure cannot be set aside row by row


@dataclass
class ValidatedTable:
    spec: TableSpec
    form: str
    files: tuple[Path, ...]
    rows_read: int
    valid: pl.DataFrame
    rejected: pl.DataFrame  # columns: table, file, row, reasons, values


@dataclass
class ReferenceHints:
    """The pkids that the hints about unknown customers and sites need, gathered table by
    table."""

    # The customer_pkid values of rows that name no valid customer, per table that has them,
    # and the pkids of every row of customers, valid or not.
    unknown_customers: list[pl.Series] = field(default_factory=list)
    customer_pkids: list[pl.Series] = field(default_factory=list)
    # The (customer_pkid, site_pkid) pairs of rows that name no valid site, per table that
    # has them, and the pairs of every row of sites, valid or not.
    unknown_sites: list[pl.DataFrame] = field(default_factory=list)
    site_pairs: list[pl.DataFrame] = field(default_factory=list)

    def extend(self, other: ReferenceHints) -> None:
        """Add the pkids that another part of the drop gathered."""
        self.unknown_customers.extend(other.unknown_customers)
        self.customer_pkids.extend(other.customer_pkids)
        self.unknown_sites.extend(other.unknown_sites)
        self.site_pairs.extend(other.site_pairs)

    def added_to(self, findings: list[Finding]) -> list[Finding]:
        """Return the findings with the hints added to those of unknown customers and sites."""
        hinted = with_customer_hint(findings, self.unknown_customers, self.customer_pkids)
        return with_site_hint(hinted, self.unknown_sites, self.site_pairs)


@dataclass
class DropValidation:
    layout: DropLayout
    tables: dict[str, ValidatedTable] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    hints: ReferenceHints = field(default_factory=ReferenceHints)

    @property
    def stops_run(self) -> bool:
        return any(finding.stops_run for finding in self.findings)

    @property
    def rejected_rows(self) -> dict[str, int]:
        return {name: table.rejected.height for name, table in self.tables.items()}

    def no_customer_left(self) -> str | None:
        """Return what the customers table contains when none of its rows is valid, so that a
        report would have no customer row, else None."""
        customers = self.tables.get("customers")
        # A customers file that does not fit the schema has a finding of its own, and its rows
        # are not checked.
        if customers is None:
            return None
        rows, rejected = customers.rows_read, customers.rejected.height
        if rows > rejected:
            return None
        if rows == 0:
            return "customers has no rows"
        verb = "is" if rejected == 1 else "are"
        return f"customers has {plural(rows, 'row')}, of which {rejected:,} {verb} invalid"

    def rejects(self) -> pl.DataFrame:
        """Return the rejected rows of every table, in table order, then by file and row."""
        frames = [table.rejected for table in self.tables.values() if table.rejected.height]
        if not frames:
            return empty_rejects()
        row_number = pl.col("row").str.extract(r"(\d+)$").cast(pl.Int64)
        table_order = pl.col("table").replace_strict(
            {name: position for position, name in enumerate(self.tables)}, return_dtype=pl.Int64
        )
        return pl.concat(frames).sort(table_order, "file", row_number)


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "table": pl.String,
            "file": pl.String,
            "row": pl.String,
            "reasons": pl.String,
            "values": pl.String,
        }
    )


def validate_drop(
    layout: DropLayout,
    on_table: Callable[[str], None] | None = None,
    *,
    read_table: Callable[[TableFiles], pl.DataFrame] | None = None,
    duplicated_keys: dict[str, dict[str, pl.Series]] | None = None,
    add_hints: bool = True,
) -> DropValidation:
    """Validate every table of the drop, parents first, so that references use valid parents.

    By default each table's files are schema-checked and then read whole. A caller that
    validates the drop in parts passes ``read_table`` to supply the part's rows, after checking
    the schemas itself, and ``duplicated_keys`` as ``table_schema`` takes it, per table. Such a
    caller passes ``add_hints=False`` and adds the ``hints`` of every part to the findings of
    the whole drop.
    """
    result = DropValidation(layout)
    known_customers: pl.Series | None = None
    known_sites: pl.Series | None = None

    for name in TABLE_SPECS:
        table_files = layout.tables.get(name)
        if table_files is None:
            continue
        if on_table is not None:
            on_table(name)
        if read_table is None:
            schema_findings = check_file_schemas(table_files)
            result.findings.extend(schema_findings)
            if schema_findings:
                continue
            frame = collect_table(table_files)
        else:
            frame = read_table(table_files)

        duplicates = None if duplicated_keys is None else duplicated_keys.get(name, {})
        schema = table_schema(table_files.spec, known_customers, known_sites, duplicates)
        files = tuple(data_file.path for data_file in table_files.files)
        validated, findings = validate_frame(
            table_files.spec, table_files.form, files, frame, schema
        )
        checks = {finding.check for finding in findings}
        if known_customers is not None and "known_customer" in checks:
            pkids = frame.get_column(CUSTOMER_KEY).drop_nulls().unique()
            unknown = pkids.filter(~pkids.is_in(known_customers.implode()))
            result.hints.unknown_customers.append(unknown)
        if known_sites is not None and "known_site" in checks:
            pairs = frame.select(CUSTOMER_KEY, SITE_KEY).drop_nulls().unique()
            unknown_pairs = pairs.filter(~site_key().is_in(known_sites.implode()))
            if known_customers is not None:
                # A row of an invalid or unknown customer also fails the customer check, whose
                # hint names the cause, so its site is left out of the site hint.
                unknown_pairs = unknown_pairs.filter(
                    pl.col(CUSTOMER_KEY).is_in(known_customers.implode())
                )
            result.hints.unknown_sites.append(unknown_pairs)
        result.tables[name] = validated
        result.findings.extend(findings)
        log.debug(
            "Validated %s: %d rows read, %d rejected",
            name,
            validated.rows_read,
            validated.rejected.height,
        )
        if name == "customers":
            known_customers = validated.valid.get_column(CUSTOMER_KEY)
            result.hints.customer_pkids.append(frame.get_column(CUSTOMER_KEY).drop_nulls())
        elif name == "sites":
            known_sites = validated.valid.select(site_key()).to_series()
            result.hints.site_pairs.append(frame.select(CUSTOMER_KEY, SITE_KEY).drop_nulls())

    if add_hints:
        result.findings = result.hints.added_to(result.findings)
    return result


# Pairs of an unknown customer_pkid and a pkid of customers that a hint shows.
HINT_PAIRS = 3


def with_customer_hint(
    findings: list[Finding], unknown_customers: list[pl.Series], customer_pkids: list[pl.Series]
) -> list[Finding]:
    """Add to the findings of unknown customers the customers whose own rows are invalid, and
    the pkids of customers that differ from an unknown one only by case or by characters that
    a reader cannot see.

    One invalid customer row fails every row that refers to it, in every table, so the hint
    points to the cause. Pkids are compared exactly, so a customer row whose pkid carries a NUL
    byte or a trailing space names another customer than the rows that refer to it, and the
    two look the same. ``customer_pkids`` are those of every row of customers, valid or not.
    """
    if not unknown_customers or not customer_pkids:
        return findings
    unknown = pl.DataFrame({"pkid": pl.concat(unknown_customers).unique()})
    known = pl.DataFrame({"pkid": pl.concat(customer_pkids).unique()})
    hint = invalid_customers_hint(unknown, known) + look_alike_customers_hint(unknown, known)
    if not hint:
        return findings
    return [
        replace(finding, fix=finding.fix + hint) if finding.check == "known_customer" else finding
        for finding in findings
    ]


def invalid_customers_hint(unknown: pl.DataFrame, known: pl.DataFrame) -> str:
    """Return the hint that names the referenced customers whose rows in customers are
    invalid, or an empty string."""
    invalid = unknown.join(known, on="pkid", how="semi").sort("pkid").get_column("pkid")
    if invalid.is_empty():
        return ""
    named = ", ".join(repr(pkid) for pkid in invalid.head(HINT_PAIRS))
    if invalid.len() == 1:
        return (
            f". The row of customers for {named} is invalid itself: fix it first, as listed "
            "under customers"
        )
    more = f" and {invalid.len() - HINT_PAIRS:,} more" if invalid.len() > HINT_PAIRS else ""
    return (
        f". The rows of customers for {named}{more} are invalid themselves: fix them first, "
        "as listed under customers"
    )


def with_site_hint(
    findings: list[Finding], unknown_sites: list[pl.DataFrame], site_pairs: list[pl.DataFrame]
) -> list[Finding]:
    """Add to the findings of unknown sites the sites whose own rows in sites are invalid.

    One invalid site row fails every row that refers to it, in every table, so the hint points
    to the cause. ``site_pairs`` are the customer and site pkids of every row of sites, valid
    or not.
    """
    if not unknown_sites or not site_pairs:
        return findings
    invalid = (
        pl.concat(unknown_sites)
        .unique()
        .join(pl.concat(site_pairs), on=[CUSTOMER_KEY, SITE_KEY], how="semi")
        .sort(SITE_KEY, CUSTOMER_KEY)
    )
    if invalid.is_empty():
        return findings
    sites = [
        f"site {site_pkid!r} of customer {customer_pkid!r}"
        for customer_pkid, site_pkid in invalid.head(HINT_PAIRS).iter_rows()
    ]
    if invalid.height > HINT_PAIRS:
        sites.append(f"{invalid.height - HINT_PAIRS:,} more")
    named = sites[0] if len(sites) == 1 else ", ".join(sites[:-1]) + " and " + sites[-1]
    if invalid.height == 1:
        hint = (
            f". The row of sites for {named} is invalid itself: fix it first, as listed under "
            "sites"
        )
    else:
        hint = (
            f". The rows of sites for {named} are invalid themselves: fix them first, as listed "
            "under sites"
        )
    return [
        replace(finding, fix=finding.fix + hint) if finding.check == "known_site" else finding
        for finding in findings
    ]


def look_alike_customers_hint(unknown: pl.DataFrame, known: pl.DataFrame) -> str:
    """Return the hint that pairs unknown pkids with customers' pkids that look the same, or
    an empty string."""
    visible = look_alike_key("pkid").alias("visible")
    pairs = (
        unknown.with_columns(visible)
        .join(known.with_columns(visible), on="visible")
        .filter(pl.col("pkid") != pl.col("pkid_right"))
        .sort("pkid")
    )
    if pairs.is_empty():
        return ""
    pair_texts = ", ".join(
        f"{known_pkid!r} where other tables have {unknown_pkid!r}"
        for unknown_pkid, _, known_pkid in pairs.head(HINT_PAIRS).iter_rows()
    )
    more = ""
    if pairs.height > HINT_PAIRS:
        more = f" and {pairs.height - HINT_PAIRS:,} more such pairs"
    return (
        f". customers has {pair_texts}{more}: they differ only by case, white space or "
        "invisible characters, so export the pkid in one form everywhere"
    )


def site_key() -> pl.Expr:
    """Return a 64-bit hash of a row's customer_pkid and site_pkid."""
    customer = pl.col(CUSTOMER_KEY).hash(seed=REFERENCE_SEEDS[0])
    return (customer ^ pl.col(SITE_KEY).hash(seed=REFERENCE_SEEDS[1])).alias("site_key")


def check_file_schemas(table_files: TableFiles) -> list[Finding]:
    """Check each file's columns and types; pandera checks only the schema of a LazyFrame."""
    spec = table_files.spec
    schema = spec.model.to_schema()
    optional = [name for name in spec.read_columns if not schema.columns[name].required]
    findings = []
    for data_file in table_files.files:
        malformed = malformed_csv_error(spec.name, data_file)
        if malformed is not None:
            raise malformed
        frame = scan_file(data_file, spec)
        # The header names are read only where a finding may need them.
        names = file_column_names(data_file) if optional else None
        if names is not None:
            findings.extend(misspelled_optional_columns(spec, str(data_file.path), names, optional))
        if fits_model(frame.collect_schema(), schema):
            continue
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            if names is None:
                names = file_column_names(data_file)
            for row in errors.failure_cases.iter_rows(named=True):
                findings.append(schema_finding(spec, str(data_file.path), frame, row, names))
    return findings


def misspelled_optional_columns(
    spec: TableSpec, file: str, names: list[str], optional: list[str]
) -> list[Finding]:
    """Return a finding for each optional column that the file has only under another
    spelling, such as ``Public_Sector`` or `` public_sector``.

    An absent optional column is read as empty, which changes the counts, so a column that is
    only misspelled must not pass as absent. ``names`` are the file's column names.
    """
    findings = []
    for column in optional:
        written = None if column in names else near_name(column, names)
        if written is None:
            continue
        description = f"optional column is missing, and the file has {written!r}"
        fix = rename_fix(written, column)
        findings.append(
            Finding(spec.name, file, column, "column_name", description, None, (), fix, True)
        )
    return findings


def fits_model(file_schema: pl.Schema, schema: pa.DataFrameSchema) -> bool:
    """Return whether a file has every required column of a model, each of the model's type.

    Such a file passes pandera's check of the schema, so that check runs only on the other
    files. It took 2.6 ms per file: 1.3 s for the 494 files of ten million subscribers.
    """
    for name, column in schema.columns.items():
        if name not in file_schema:
            if column.required:
                return False
        elif column.regex or column.dtype is None or file_schema[name] != column.dtype.type:
            return False
    return True


def schema_finding(
    spec: TableSpec,
    file: str,
    frame: pl.LazyFrame,
    failure: dict[str, object],
    file_columns: list[str],
) -> Finding:
    """Describe a missing column, or a column of the wrong type with its first values.

    ``file_columns`` are the names of the file's columns, as the file spells them.
    """
    check = str(failure["check"])
    if check == "column_in_dataframe":
        column = str(failure["failure_case"])
        # A header in other case or with spaces around a name is a common export mistake.
        written = near_name(column, file_columns)
        fix = FIXES[check] if written is None else rename_fix(written, column)
        return Finding(
            spec.name, file, column, check, CHECK_DESCRIPTIONS[check], None, (), fix, True
        )

    # Every row of the file has the wrong type, so the finding counts them all.
    column = str(failure["column"])
    expected = check.removeprefix("dtype(")[:-1]
    fix = FIXES["dtype"]
    # A Parquet boolean column is read as text, so the model expects text for it too.
    if column in spec.boolean_columns:
        expected = f"'Boolean' or {expected}"
        fix = FIXES["boolean_dtype"]
    description = f"wrong type: expected {expected}, found {failure['failure_case']}"
    first_rows = frame.select(column, ROW_COLUMN).head(EXAMPLE_COUNT).collect()
    row_count = frame.select(pl.len()).collect().item()
    examples = tuple(
        format_example(record, (column,), file) for record in first_rows.iter_rows(named=True)
    )
    return Finding(spec.name, file, column, "dtype", description, row_count, examples, fix, True)


def near_name(column: str, names: list[str]) -> str | None:
    """Return the first of ``names`` that equals ``column`` apart from case, surrounding white
    space and a byte order mark, or None."""
    for name in names:
        if name.replace("\ufeff", "").strip().casefold() == column.casefold():
            return name
    return None


def rename_fix(written: str, column: str) -> str:
    """Return the fix for a column that the file spells ``written``."""
    return (
        f"rename the column {written!r} to {column!r} in the export (column names are matched "
        "exactly)"
    )


def table_schema(
    spec: TableSpec,
    known_customers: pl.Series | None,
    known_sites: pl.Series | None,
    duplicated_keys: dict[str, pl.Series] | None = None,
    *,
    unique_keys: bool = True,
) -> pa.DataFrameSchema:
    """Return the table's model schema with its key and reference checks added.

    ``duplicated_keys`` maps the name of a one-column key to the values found more than once
    in the whole table, for a caller that validates the table in parts. With
    ``unique_keys=False`` the caller checks the keys itself.
    """
    schema = spec.model.to_schema()
    checks = list(schema.checks)
    for key in spec.keys if unique_keys else ():
        if duplicated_keys is not None and key_name(key) in duplicated_keys:
            checks.append(not_duplicated_check(key, duplicated_keys[key_name(key)]))
        else:
            checks.append(unique_key_check(key))
    if spec.references_customer and known_customers is not None:
        checks.append(known_customer_check(known_customers))
    if spec.references_site and known_sites is not None:
        checks.append(known_site_check(known_sites))
    return pa.DataFrameSchema(
        columns=schema.columns,
        checks=checks,
        name=spec.name,
        strict=False,
    )


def key_name(key: Key) -> str:
    return "unique_key(" + ", ".join(key.columns) + ")"


def key_hashes(frame: pl.LazyFrame, keys: list[Key]) -> pl.LazyFrame:
    """Return one column per key, named after it: a 128-bit hash of the key's columns.

    Normalized columns are hashed trimmed and lower-cased. The hash is null where the key is
    incomplete: a column is null, or a normalized column is blank.
    """
    staged = {name: f"__comparable_{name}" for key in keys for name in key.normalized}
    # The normalized columns are bound in their own step, so each is computed once.
    comparable = frame.with_columns(
        comparable_id(name).alias(alias) for name, alias in staged.items()
    )
    hashes = []
    for key in keys:
        parts = [staged.get(name, name) for name in key.columns]
        complete = pl.all_horizontal(
            pl.col(part).str.len_bytes() > 0
            if part in staged.values()
            else pl.col(part).is_not_null()
            for part in parts
        )
        hashed = hashed_tuple([pl.col(part) for part in parts])
        hashes.append(pl.when(complete).then(hashed).alias(key_name(key)))
    return comparable.select(hashes)


def is_complete(parts: list[str], staged: dict[str, str]) -> pl.Expr:
    """Return whether no part of a key is null, and no normalized part is blank."""
    normalized = set(staged.values())
    return pl.all_horizontal(
        pl.col(part).str.len_bytes() > 0 if part in normalized else pl.col(part).is_not_null()
        for part in parts
    )


def unique_key_check(key: Key) -> pa.Check:
    """Check that no two complete keys are equal, comparing normalized columns normalized.

    The key's columns are first hashed into one 128-bit number per row: when the numbers of
    the complete keys are all distinct, so are the keys, and every row passes. Counting the
    distinct numbers took 0.07 s against 0.52 s for finding the duplicated text keys (phone
    pkids of 2.1 million phones, Polars 2.1). Only when some numbers repeat are the text keys
    compared, so a duplicate is always a real one.
    """
    name = key_name(key)
    staged = {column: f"__comparable_{column}" for column in key.normalized}
    parts = [pl.col(staged.get(column, column)) for column in key.columns]
    complete = pl.all_horizontal(
        pl.col(column).str.len_bytes() > 0
        if column in staged.values()
        else pl.col(column).is_not_null()
        for column in (staged.get(column, column) for column in key.columns)
    )

    def is_unique(data: pa.PolarsData) -> pl.LazyFrame:
        hashed = pl.col(name)
        distinct, present = (
            key_hashes(data.lazyframe, [key])
            .select(hashed.drop_nulls().n_unique().alias("distinct"), hashed.count())
            .collect()
            .row(0)
        )
        if distinct == present:
            return data.lazyframe.select(pl.repeat(value=True, n=pl.len()).alias(name))
        comparable = data.lazyframe.with_columns(
            comparable_id(column).alias(alias) for column, alias in staged.items()
        )
        duplicated = pl.struct(parts).is_duplicated() & complete
        return comparable.select(~duplicated.fill_null(value=False))

    return pa.Check(is_unique, name=name)


def not_duplicated_check(key: Key, duplicated: pl.Series) -> pa.Check:
    """Check a one-column key against the values that occur more than once in the table."""
    (column,) = key.columns
    known_duplicates = pl.lit(duplicated).implode()

    def is_unique(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col(column).is_in(known_duplicates).fill_null(value=False))

    return pa.Check(is_unique, name=key_name(key))


def known_customer_check(known_customers: pl.Series) -> pa.Check:
    """Check that each customer_pkid names a valid customer.

    The check compares 64-bit hashes of the pkids. It builds the set of known customers for
    every chunk, and for a million phones against 80,000 customers it took 11 ms with hashes
    against 32 to 49 ms with texts (Polars 2.1). An unknown pkid passes only if its hash equals
    that of a valid customer: for one unknown pkid and a million customers, the probability
    is below 10⁻¹³.
    """
    known = pl.lit(known_customers.hash(seed=REFERENCE_SEEDS[0])).implode()

    def is_known(data: pa.PolarsData) -> pl.LazyFrame:
        unset = pl.col(CUSTOMER_KEY).is_null()
        return data.lazyframe.select(
            unset | pl.col(CUSTOMER_KEY).hash(seed=REFERENCE_SEEDS[0]).is_in(known)
        )

    return pa.Check(is_known, name="known_customer")


def known_site_check(known_sites: pl.Series) -> pa.Check:
    """Check that each site_pkid names a valid site of the same customer.

    ``known_sites`` contains the ``site_key`` of every valid site. Checking a million phones
    against 288,000 sites took 26 ms with 64-bit hashes and 50 ms with 128-bit hashes, and
    joined texts took about three times as long as 128-bit hashes (Polars 2.1), because each
    check builds its set anew. An unknown pair passes only if its hash equals that of a valid
    site: for one unknown pair and a million sites, the probability is below 10⁻¹³.
    """
    known = pl.lit(known_sites).implode()

    def is_known(data: pa.PolarsData) -> pl.LazyFrame:
        unset = pl.col(SITE_KEY).is_null() | pl.col(CUSTOMER_KEY).is_null()
        return data.lazyframe.select(unset | site_key().is_in(known))

    return pa.Check(is_known, name="known_site")


def check_columns(check: str, column: str | None, spec: TableSpec) -> tuple[str, ...]:
    """Return the columns a failing check concerns, to show their values."""
    if check.startswith("unique_key("):
        columns = tuple(part.strip() for part in check.removeprefix("unique_key(")[:-1].split(","))
        # A primary key is unique across customers, so its rows show their customer too.
        if columns != (CUSTOMER_KEY,) and CUSTOMER_KEY not in columns:
            return (*columns, CUSTOMER_KEY)
        return columns
    if check == "known_site":
        return (CUSTOMER_KEY, SITE_KEY)
    if column and column in spec.columns:
        return (column,)
    return (CUSTOMER_KEY,)


def scan_table(table_files: TableFiles) -> pl.LazyFrame:
    """Scan all files of a table as one frame of the columns the job reads and their origin."""
    spec = table_files.spec
    frames = [scan_file(data_file, spec) for data_file in table_files.files]
    combined = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]
    return with_read_columns(combined, spec)


def scan_data_file(data_file: DataFile, spec: TableSpec) -> pl.LazyFrame:
    """Scan one file of a table as the columns the job reads and their origin."""
    return with_read_columns(scan_file(data_file, spec), spec)


def with_read_columns(frame: pl.LazyFrame, spec: TableSpec) -> pl.LazyFrame:
    """Select the columns the job reads, an absent optional column as nulls, and the origin."""
    present = frame.collect_schema()
    missing_optional = [name for name in spec.read_columns if name not in present]
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(name) for name in missing_optional
    )
    return frame.select(*spec.read_columns, *ORIGIN_COLUMNS)


def collect_table(table_files: TableFiles) -> pl.DataFrame:
    try:
        return scan_table(table_files).collect()
    except pl.exceptions.PolarsError as error:
        raise unreadable_table_error(table_files, error) from error


def unreadable_table_error(table_files: TableFiles, error: Exception) -> DropError:
    """Return the error for a table that cannot be read, naming the first of its files that
    fails when read alone."""
    for data_file in table_files.files:
        try:
            scan_data_file(data_file, table_files.spec).collect()
        except pl.exceptions.PolarsError as file_error:
            return unreadable_file_error(table_files.spec.name, data_file, file_error)
    files = ", ".join(repr(str(data_file.path)) for data_file in table_files.files[:3])
    return DropError(
        f"Table {table_files.spec.name}: cannot read {files}: {error_summary(error)}."
    )


@contextmanager
def model_checks() -> Iterator[None]:
    """Run pandera's checks of a frame in memory inside this block.

    pandera turns an exception raised inside a check into a failure case, so a second signal
    is only recorded here, and the stop comes after. pandera runs one query per check and
    column. On a frame in memory, Polars' in-memory engine starts each query sooner than the
    streaming engine that Polars picks by default. With it, the report on the sample drop took
    0.36 to 0.42 s against 0.54 to 0.67 s, and checking a million phones took as long (Polars
    2.1, pandera 0.35). The setting applies to the whole process while the block runs. It
    changes which engine runs a query, not the query's result.
    """
    with stopping.shielded(), pl.Config(engine_affinity="in-memory"):
        yield


def validate_frame(
    spec: TableSpec,
    form: str,
    files: tuple[Path, ...],
    frame: pl.DataFrame,
    schema: pa.DataFrameSchema,
) -> tuple[ValidatedTable, list[Finding]]:
    """Run every check of the schema on every row; split the rows into valid and rejected."""
    try:
        with model_checks():
            schema.validate(frame, lazy=True)
        failures = None
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    stopping.check()

    if failures is None or failures.height == 0:
        return ValidatedTable(spec, form, files, frame.height, frame, empty_rejects()), []

    failures = without_implied_failures(
        failures.filter(pl.col("index").is_not_null())
        .select(pl.col("index").cast(pl.UInt32), "check", "column")
        .unique()
    )
    findings = describe_failures(spec, frame, failures)
    rejected_index = failures.get_column("index").unique()
    is_rejected = pl.int_range(pl.len(), dtype=pl.UInt32).is_in(rejected_index.implode())
    valid = frame.filter(~is_rejected)
    rejected = rejected_rows(spec, frame, failures)
    return ValidatedTable(spec, form, files, frame.height, valid, rejected), findings


def without_implied_failures(failures: pl.DataFrame) -> pl.DataFrame:
    """Leave out the site failure of a row that also fails the customer check.

    A site is looked up under the row's customer, so a row of an unknown or invalid customer
    fails the site check too, however right its site_pkid is. The customer finding names the
    cause, and the row is rejected by it alone.
    """
    customer_failures = failures.filter(pl.col("check") == "known_customer").get_column("index")
    implied = (pl.col("check") == "known_site") & pl.col("index").is_in(
        customer_failures.implode()
    )
    return failures.filter(~implied)


def describe_check(spec: TableSpec, check: str) -> tuple[str, str]:
    if check.startswith("unique_key("):
        key = next(key for key in spec.keys if key_name(key) == check)
        description = f"duplicate key ({', '.join(key.columns)})"
        if key.normalized:
            compared = f"{', '.join(key.normalized)} compared trimmed and lower-cased"
            return f"{description}; {compared}", FIXES["unique_key"]
        scope = "; compared exactly, across all customers" if len(key.columns) == 1 else ""
        return f"{description}{scope}", FIXES["unique_key"]
    return CHECK_DESCRIPTIONS.get(check, check), FIXES.get(check, "fix the value in the export")


def failing_rows(frame: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Join failure cases to the rows they name, with the row's origin."""
    indexed = frame.with_row_index("index")
    return failures.join(indexed, on="index", how="left", validate="m:1")


def describe_failures(
    spec: TableSpec, frame: pl.DataFrame, failures: pl.DataFrame
) -> list[Finding]:
    # Two checks that fail on the same row are listed in the order of their names, so that a
    # rerun prints the findings in the same order.
    rows = failing_rows(frame, failures).sort("index", "check", "column", nulls_last=True)
    findings = []
    for (file, check_name, column), group in rows.group_by(
        [FILE_COLUMN, "check", "column"], maintain_order=True
    ):
        check = str(check_name)
        shown_columns = check_columns(check, str(column), spec)
        description, fix = describe_check(spec, check)
        examples = tuple(
            format_example(record, shown_columns, str(file))
            for record in group.head(EXAMPLE_COUNT).iter_rows(named=True)
        )
        findings.append(
            Finding(
                spec.name,
                str(file),
                ", ".join(shown_columns),
                check,
                description,
                group.height,
                examples,
                fix,
                False,
            )
        )
    return findings


def row_label(file: str, row: int) -> str:
    """Return where a row sits: a CSV line number (the header is line 1) or a Parquet row."""
    return str(row_labels(pl.Series([file]), pl.Series([row], dtype=pl.UInt32))[0])


def row_labels(files: pl.Series, rows: pl.Series) -> pl.Series:
    """Return ``row_label`` of each pair of a file and a row number."""
    labels = pl.Series("row", [None] * len(rows), dtype=pl.String)
    for file in files.unique().to_list():
        positions = (files == file).arg_true()
        in_file = rows.gather(positions)
        if not file.lower().endswith(".csv"):
            texts = "row " + (in_file + 1).cast(pl.String)
        elif (lines := record_lines(file)) is None:
            texts = "line " + (in_file + 2).cast(pl.String)
        else:
            texts = "line " + lines.gather(in_file).cast(pl.String)
        labels = labels.scatter(positions, texts)
    return labels


def format_example(record: dict[str, object], columns: tuple[str, ...], file: str) -> str:
    values = ", ".join(
        repr(record[name]) if record[name] is not None else "null" for name in columns
    )
    return f"{values} ({row_label(file, int(str(record[ROW_COLUMN])))})"


def rejected_rows(spec: TableSpec, frame: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    reason_texts = {
        (
            check,
            column,
        ): f"{', '.join(check_columns(check, column, spec))}: {describe_check(spec, check)[0]}"
        for check, column in failures.select("check", "column").unique().iter_rows()
    }
    reason_frame = pl.DataFrame(
        [(check, column, text) for (check, column), text in reason_texts.items()],
        schema={"check": pl.String, "column": pl.String, "reason": pl.String},
        orient="row",
    )
    reasons = (
        failures.join(
            reason_frame, on=["check", "column"], how="left", validate="m:1", nulls_equal=True
        )
        .group_by("index")
        .agg(pl.col("reason").sort().str.join("; ").alias("reasons"))
    )
    rows = frame.with_row_index("index").join(reasons, on="index", how="inner", validate="1:1")
    rows = rows.sort("index").with_columns(pl.col(FILE_COLUMN).cast(pl.String))
    labels = row_labels(rows.get_column(FILE_COLUMN), rows.get_column(ROW_COLUMN))
    return rows.select(
        pl.lit(spec.name).alias("table"),
        pl.col(FILE_COLUMN).alias("file"),
        labels,
        "reasons",
        pl.struct(spec.read_columns).struct.json_encode().alias("values"),
    )
