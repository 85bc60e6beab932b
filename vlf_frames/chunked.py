"""The report job for large drops: validate and encode while reading, then count per partition.

The drop is read once, file by file, in chunks of about ``CHUNK_ROWS`` rows. Each chunk is
validated with its table's pandera model and the references to customers and sites, then
encoded for the counting rules (``rules.encode_table``): a customer code, link keys, flags and
one hash per unique key. The encoded rows are a fraction of the size of the text, and they are
written to temporary files split by a hash of the customer. The primary keys' hashes are
written split by their own value.

The checks that need more than one chunk run on those hashes afterwards. A key is unique when
its hashes are distinct within each customer partition, or within each hash partition for the
primary keys. The rows of a primary key hash seen more than once are read again and compared
as text. A repeated hash of another key sends the drop to the text partitions described
below. Then each customer partition is counted on its own.

The fast path only decides whether the drop is valid. As soon as a check fails, the drop is
processed again by ``partitioned.build_report_partitioned``, which describes every failing row
and sets rows aside in quarantine mode, so the findings and rejects are the same in both paths.

NOTE: the encoded rows of the largest customer have to fit in memory with its partition.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from vlf_frames import rules
from vlf_frames.errors import ConfigError, DropError, OutputError
from vlf_frames.models import REPORT_COLUMNS
from vlf_frames.normalize import customer_seed
from vlf_frames.partitioned import (
    HASH_SEED,
    build_report_partitioned,
    checked_layout,
    duplicated_text,
    pkid_hash,
    pkid_keys,
    summary_table,
    temporary_root,
)
from vlf_frames.pipeline import (
    OnInvalid,
    ReportResult,
    StageCallback,
    validate_report,
)
from vlf_frames.reading import DataFile, DropLayout, TableFiles, locate_tables
from vlf_frames.render import plural
from vlf_frames.tables import CUSTOMER_KEY, TABLE_SPECS, TableSpec
from vlf_frames.validation import (
    collect_table,
    empty_rejects,
    key_hashes,
    key_name,
    scan_data_file,
    site_key,
    table_schema,
    validate_frame,
)

log = logging.getLogger(__name__)

# Rows validated and encoded at a time. A chunk of phones takes a few hundred megabytes as
# text. Smaller files are put together into one chunk.
CHUNK_ROWS = 1_000_000
# Drops up to this size on disk are processed in one pass, which needs a few hundred megabytes
# for them. Larger drops are read in chunks.
SINGLE_PASS_BYTES = 24 * 1024 * 1024
# Input bytes per partition when the count is chosen automatically. Smaller partitions bring
# the peak down to the largest customer's: at 10 million synthetic subscribers, 12, 24 and 48
# partitions peaked at 1.60, 1.44 and 1.23 GiB and took 40.9, 39.1 and 41.2 s.
BYTES_PER_PARTITION = 32 * 1024 * 1024
PARTITION_COLUMN = "__partition"
KEYS_FOLDER = "keys"
# Parent tables are small and validated whole, with every check.
PARENTS = ("customers", "sites")
# Unique keys whose hash is a link key the rules use already: both hash the customer pkid and
# the trimmed, lower-cased id, and are null where the id is blank.
LINK_KEYS = {
    ("users", "unique_key(customer_pkid, userid)"): rules.USER_KEY,
    ("phones", "unique_key(customer_pkid, device_name)"): rules.DEVICE_KEY,
}


class InvalidRowsError(Exception):
    """A check failed; the drop is processed again to describe the failures."""


@dataclass
class ChunkedRun:
    layout: DropLayout
    partitions: int
    folder: Path
    timings: dict[str, float] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)

    def add_time(self, stage: str, started: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started


def drop_bytes(layout: DropLayout) -> int:
    """Return the size of the drop's files on disk."""
    return sum(
        data_file.path.stat().st_size
        for table in layout.tables.values()
        for data_file in table.files
    )


def runs_in_one_pass(drop_dir: Path, partitions: int) -> bool:
    """Return whether ``--partitions`` requests one pass: 1, or 0 for a drop of at most
    ``SINGLE_PASS_BYTES``."""
    if partitions < 0:
        raise ConfigError(f"--partitions must be 0 or more, found {partitions}.")
    if partitions == 1:
        return True
    return partitions == 0 and drop_bytes(locate_tables(drop_dir)) <= SINGLE_PASS_BYTES


def automatic_partitions(layout: DropLayout) -> int:
    """Choose a partition count from the size of the drop's files on disk."""
    return max(1, -(-drop_bytes(layout) // BYTES_PER_PARTITION))


def build_report_chunked(
    drop_dir: Path,
    *,
    on_invalid: OnInvalid = "fail",
    partitions: int | None = None,
    on_stage: StageCallback | None = None,
    work_dir: Path | None = None,
) -> ReportResult:
    """Validate a drop and compute its report, reading every file once.

    The result is the same as ``pipeline.build_report``. When the drop has invalid rows, it
    is the result of ``partitioned.build_report_partitioned``.
    """
    validation = checked_layout(drop_dir)
    layout = validation.layout
    count = partitions or automatic_partitions(layout)
    log.info("Processing the drop in %s of encoded rows", plural(count, "customer partition"))
    root = temporary_root(work_dir)
    failure: InvalidRowsError | None = None
    with tempfile.TemporaryDirectory(prefix="vlf-frames-", dir=root) as temporary:
        run = ChunkedRun(layout, count, Path(temporary))
        try:
            encode_drop(run, on_stage)
            check_primary_keys(run)
            report, dangling = count_partitions(run, on_stage)
        except InvalidRowsError as error:
            failure = error
    # The encoded files are removed first, so that the two paths never need room at once.
    if failure is not None:
        log.info("%s, so the drop is read again in text partitions to describe it.", failure)
        return build_report_partitioned(
            drop_dir,
            on_invalid=on_invalid,
            partitions=partitions,
            on_stage=on_stage,
            work_dir=work_dir,
        )

    validation.tables = {
        name: summary_table(table_files, run.rows_read.get(name, 0), empty_rejects())
        for name, table_files in layout.tables.items()
    }
    started = time.perf_counter()
    report = validate_report(report)
    run.add_time("report_validation", started)
    return ReportResult(report, validation, dangling, run.timings)


def encode_drop(run: ChunkedRun, on_stage: StageCallback | None) -> None:
    """Validate and encode every table, parents first, writing the encoded partitions."""
    customers = run.layout.tables["customers"]
    sites = run.layout.tables["sites"]
    if on_stage is not None:
        on_stage("customers")
    valid_customers = validate_whole(run, customers, None, None)
    known_customers = valid_customers.get_column(CUSTOMER_KEY)
    seed = customer_seed(known_customers)
    write_encoded(run, customers.spec, valid_customers, seed, chunk=0)

    if on_stage is not None:
        on_stage("sites")
    valid_sites = validate_whole(run, sites, known_customers, None)
    known_sites = valid_sites.select(site_key()).to_series()
    write_encoded(run, sites.spec, valid_sites, seed, chunk=0)

    for name in TABLE_SPECS:
        table_files = run.layout.tables.get(name)
        if table_files is None or name in PARENTS:
            continue
        if on_stage is not None:
            on_stage(f"encode {name}")
        schema = table_schema(table_files.spec, known_customers, known_sites, unique_keys=False)
        for number, frame in enumerate(timed(run, "reading", chunks(table_files))):
            started = time.perf_counter()
            _, findings = validate_frame(table_files.spec, table_files.form, (), frame, schema)
            run.add_time("validation", started)
            if findings:
                raise InvalidRowsError(f"Table {name} has invalid rows")
            run.rows_read[name] = run.rows_read.get(name, 0) + frame.height
            write_encoded(run, table_files.spec, frame, seed, chunk=number)


def timed(run: ChunkedRun, stage: str, items: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Yield the items, adding the time spent producing them to a stage."""
    while True:
        started = time.perf_counter()
        item = next(items, None)
        run.add_time(stage, started)
        if item is None:
            return
        yield item


def validate_whole(
    run: ChunkedRun,
    table_files: TableFiles,
    known_customers: pl.Series | None,
    known_sites: pl.Series | None,
) -> pl.DataFrame:
    """Validate a parent table at once, with every check, because it is small."""
    started = time.perf_counter()
    frame = collect_table(table_files)
    run.add_time("reading", started)
    started = time.perf_counter()
    schema = table_schema(table_files.spec, known_customers, known_sites)
    validated, findings = validate_frame(table_files.spec, table_files.form, (), frame, schema)
    run.add_time("validation", started)
    if findings:
        raise InvalidRowsError(f"Table {table_files.spec.name} has invalid rows")
    run.rows_read[table_files.spec.name] = frame.height
    return validated.valid


def chunks(table_files: TableFiles) -> Iterator[pl.DataFrame]:
    """Yield the rows of every file of a table in chunks of about ``CHUNK_ROWS`` rows.

    Small files are put together, because every check and write has a fixed cost per call:
    validating one million synthetic subscribers took 1.36 s in their 62 files and 0.91 s in
    chunks of a million rows.
    """
    pending: list[pl.DataFrame] = []
    pending_rows = 0
    for batch in batches(table_files):
        pending.append(batch)
        pending_rows += batch.height
        if pending_rows >= CHUNK_ROWS:
            yield pl.concat(pending, rechunk=False)
            pending, pending_rows = [], 0
    if pending:
        yield pl.concat(pending, rechunk=False)


def batches(table_files: TableFiles) -> Iterator[pl.DataFrame]:
    """Yield the rows of every file of a table, at most ``CHUNK_ROWS`` at a time."""
    data_file: DataFile
    for data_file in table_files.files:
        frame = scan_data_file(data_file, table_files.spec)
        try:
            yield from frame.collect_batches(chunk_size=CHUNK_ROWS)
        except pl.exceptions.PolarsError as error:
            raise DropError(
                f"Table {table_files.spec.name}: cannot read {str(data_file.path)!r}: {error}"
            ) from error


def write_encoded(
    run: ChunkedRun, spec: TableSpec, frame: pl.DataFrame, seed: int, *, chunk: int
) -> None:
    """Encode valid rows and write them, split by customer, and their primary key hashes."""
    started = time.perf_counter()
    rows = frame.lazy()
    by_customer = pl.col(CUSTOMER_KEY).hash(seed=HASH_SEED) % run.partitions
    encoded = pl.concat(
        [encoded_rows(spec, rows, seed), rows.select(by_customer.alias(PARTITION_COLUMN))],
        how="horizontal",
    ).collect()
    write_pieces(run.folder / spec.name, encoded, chunk)
    for column in () if spec.name in PARENTS else pkid_keys(spec):
        hashes = frame.select(
            pkid_hash(column).alias(column),
            (pkid_hash(column) % run.partitions).alias(PARTITION_COLUMN),
        )
        write_pieces(run.folder / KEYS_FOLDER / f"{spec.name}.{column}", hashes, chunk)
    run.add_time("encoding", started)


def encoded_rows(spec: TableSpec, rows: pl.LazyFrame, seed: int) -> pl.LazyFrame:
    """Encode a table's rows for the rules, with the hashes of the keys within customers."""
    encoded = rules.encode_table(spec.name, rows, seed)
    unique_keys = [
        key
        for key in spec.keys
        if len(key.columns) > 1 and (spec.name, key_name(key)) not in LINK_KEYS
    ]
    if spec.name in PARENTS or not unique_keys:
        return encoded
    return pl.concat([encoded, key_hashes(rows, unique_keys)], how="horizontal")


def write_pieces(folder: Path, frame: pl.DataFrame, chunk: int) -> None:
    """Write a frame's rows to one file per partition, named after the chunk."""
    for (partition,), piece in frame.partition_by(
        PARTITION_COLUMN, as_dict=True, include_key=False
    ).items():
        target = folder / f"{partition}"
        try:
            target.mkdir(parents=True, exist_ok=True)
            piece.write_ipc(target / f"{chunk}.arrow")
        except OSError as error:
            raise OutputError(
                f"Cannot write the temporary partition files to {str(folder)!r}: {error}. "
                "They need about twice the size of the drop's Parquet files: point TMPDIR at "
                "a folder with room, or pass --partitions 1 to process the drop in memory."
            ) from error


def read_pieces(folder: Path, partition: int, schema: pl.Schema) -> pl.DataFrame:
    """Read one partition of an encoded table. A partition that no row went to is empty."""
    target = folder / f"{partition}"
    files = sorted(target.glob("*.arrow"), key=lambda path: int(path.stem))
    if not files:
        return pl.DataFrame(schema=schema)
    return pl.concat([pl.read_ipc(path) for path in files])


def check_primary_keys(run: ChunkedRun) -> None:
    """Raise ``InvalidRowsError`` when a primary key occurs twice in its table."""
    started = time.perf_counter()
    for name, table_files in run.layout.tables.items():
        if name in PARENTS:
            continue
        for column in pkid_keys(table_files.spec):
            folder = run.folder / KEYS_FOLDER / f"{name}.{column}"
            schema = pl.Schema({column: pl.UInt64()})
            repeated = pl.concat(
                read_pieces(folder, partition, schema)
                .filter(pl.col(column).is_duplicated())
                .get_column(column)
                .unique()
                for partition in range(run.partitions)
            )
            if not duplicated_text(table_files, column, repeated).is_empty():
                raise InvalidRowsError(f"Table {name} has a duplicate {column}")
    run.add_time("validation", started)


def count_partitions(
    run: ChunkedRun, on_stage: StageCallback | None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Check the keys within customers and count each partition.

    Return the report and the dangling reference counts of all partitions.
    """
    reports, danglings = [], []
    empty = empty_encoded()
    for partition in range(run.partitions):
        if on_stage is not None:
            on_stage(f"partition {partition + 1} of {run.partitions}")
        started = time.perf_counter()
        tables = {
            name: read_pieces(run.folder / name, partition, empty[name].collect_schema())
            for name in rules.inventory_tables()
        }
        run.add_time("rules", started)
        started = time.perf_counter()
        check_unique_keys(run, tables)
        run.add_time("validation", started)

        started = time.perf_counter()
        inventory = rules.Inventory(
            **{
                name: frame.lazy().select(empty[name].collect_schema().names())
                for name, frame in tables.items()
            }
        )
        report, dangling = pl.collect_all(list(rules.report_frames(inventory)))
        run.add_time("rules", started)
        reports.append(report)
        danglings.append(dangling)
    report = pl.concat(reports).sort(REPORT_COLUMNS[0])
    return report, pl.concat(danglings).sum().row(0, named=True)


def check_unique_keys(run: ChunkedRun, tables: dict[str, pl.DataFrame]) -> None:
    """Raise ``InvalidRowsError`` when two rows of a partition may share a unique key."""
    for name, frame in tables.items():
        table_files = run.layout.tables.get(name)
        if table_files is None or name in PARENTS:
            continue
        for key in table_files.spec.keys:
            if len(key.columns) == 1:
                continue
            column = pl.col(LINK_KEYS.get((name, key_name(key)), key_name(key)))
            distinct, present = frame.select(
                column.drop_nulls().n_unique().alias("distinct"), column.count().alias("present")
            ).row(0)
            if distinct < present:
                raise InvalidRowsError(f"Table {name} may have a duplicate {key_name(key)}")


def empty_encoded() -> dict[str, pl.LazyFrame]:
    """Return each table's encoded frame with no rows, for its schema."""
    return {
        name: encoded_rows(
            spec, pl.LazyFrame(schema=dict.fromkeys(spec.read_columns, pl.String)), seed=0
        )
        for name, spec in TABLE_SPECS.items()
    }
