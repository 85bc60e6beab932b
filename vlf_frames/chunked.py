"""The report job for large drops: validate and encode while reading, then count in parts.

The drop is read once, file by file, in chunks of about ``CHUNK_ROWS`` rows. Each chunk is
validated with its table's pandera model and the references to customers and sites, then
encoded for the counting rules (``rules.encode_table``): a customer code, link keys and flags.
The encoded rows are a fraction of the size of the text. They are written to temporary files,
split into parts by a hash of a key, so that the rows that must meet are in the same part:

- users, profiles and accounts by their user key;
- phones and associations by their device key, and each phone's owner link by its user key;
- sites and Phone Server phones by customer code;
- the hashes of the other keys by their own value.

The checks that need more than one chunk run on those hashes afterwards. A key is unique when
its hashes are distinct within each part. The rows of a primary key hash seen more than once
are read again and compared as text. A repeated hash of another key sends the drop to the text
partitions described below.

A thread of its own splits the encoded rows into parts and appends them to the files, while
the next chunk is read and encoded. Then the drop is counted in three passes over the parts.
Each pass loads ``PART_WORKERS`` parts at a time, however large a customer is:

1. per device part, each association gets the phone_id of the phone it names and how that
   phone enters a phone count (its count role), and these links are written to the user part
   of their user key;
2. per user part, the users are counted with their links, profiles and accounts, and the phones
   that belong to a user are marked in one flag per phone;
3. per device part, the phones that belong to no user are counted.

Every report column is a sum, so the counts of the parts add up to the report.

The fast path only decides whether the drop is valid. As soon as a check fails, the drop is
processed again by ``partitioned.build_report_partitioned``, which describes every failing row
and sets rows aside in quarantine mode, so the findings and rejects are the same in both paths.
"""

from __future__ import annotations

import errno
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from vlf_frames import rules, stopping

if sys.platform != "win32":
    import resource
from vlf_frames.errors import ConfigError, OutputError
from vlf_frames.normalize import customer_seed
from vlf_frames.partitioned import (
    HASH_SEED,
    build_report_partitioned,
    checked_layout,
    duplicated_text,
    pkid_hash,
    pkid_keys,
    removed_files_error,
    summary_table,
    temporary_folder,
    temporary_root,
)
from vlf_frames.pipeline import (
    OnInvalid,
    ReportResult,
    StageCallback,
    validate_report,
)
from vlf_frames.reading import (
    DataFile,
    DropLayout,
    TableFiles,
    unreadable_file_error,
)
from vlf_frames.render import plural
from vlf_frames.tables import CUSTOMER_KEY, TABLE_SPECS, Key, TableSpec
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

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

Result = TypeVar("Result")

# Rows validated and encoded at a time. A chunk of phones takes a few hundred megabytes as
# text. Smaller files are put together into one chunk.
CHUNK_ROWS = 1_000_000
# Drops up to this size on disk are processed in one pass, which needs a few hundred megabytes
# for them. Larger drops are read in chunks.
SINGLE_PASS_BYTES = 24 * 1024 * 1024
# Input bytes per part when the count is chosen automatically.
BYTES_PER_PARTITION = 64 * 1024 * 1024
# A requested part count more than this many times the automatic one gets a warning. On a
# shared 2-core machine, 1,000 parts of a 46 MB drop took 288 s against 2.3 s for one part.
SMALL_PART_FACTOR = 16
PARTITION_COLUMN = "__partition"
# Parts counted at a time, and frames that may wait to be written to part files.
PART_WORKERS = 2
PENDING_WRITES = 2
# Parts whose count frames are added to the totals of a pass at a time. A frame of 80,000
# customers takes about 20 MiB, estimated from its 31 columns of 8 bytes.
COUNT_BATCH = 4
KEYS_FOLDER = "keys"
# A key hash takes 8 or 16 bytes, a fraction of an encoded row, so the hashes are split into a
# quarter as many parts, and fewer files.
KEY_PART_DIVISOR = 4
# Files open at a time while a table is read: its own parts, its owner links and its key
# hashes take at most three per part, and the interpreter and libraries hold some more.
OPEN_FILES_PER_PART = 3
OPEN_FILES_OTHER = 64
OWNER_LINKS = "owner_links"
ASSOCIATION_LINKS = "association_links"
# Parent tables are small and validated whole, with every check.
PARENTS = ("customers", "sites")
# Tables split by device key, and tables split by customer code; the others by user key.
DEVICE_TABLES = ("phones", "associated_devices")
CUSTOMER_TABLES = ("sites", "phone_server_phones")
# Unique keys whose hash is a link key the rules use already: both hash the customer pkid and
# the trimmed, lower-cased id, and are null where the id is blank. Each table is split by it.
LINK_KEYS = {
    ("users", "unique_key(customer_pkid, userid)"): rules.USER_KEY,
    ("phones", "unique_key(customer_pkid, device_name)"): rules.DEVICE_KEY,
}
PHONE_COLUMNS = (rules.PHONE_ID, rules.CODE, "device_class", "is_site_level")


# pyarrow has no 128-bit integers, so a 128-bit key is stored as two 64-bit halves.
HIGH_HALF = ".high"
LOW_HALF = ".low"
HALF = 2**64


class InvalidRowsError(Exception):
    """A check failed; the drop is processed again to describe the failures."""


class PartFiles:
    """The part files of a run: one Arrow IPC file per folder and part, kept open so that
    every chunk appends its rows to it.

    A new file for each chunk and part took about 1 ms to write, however few its rows. The
    number of such files grows with the square of the drop, because both the chunks and the
    parts grow with it. Writing 20 million rows of 4 columns into 96 parts per million rows
    took 2.3 s as new Polars files, against 0.25 s appended to 96 open files with pyarrow
    (Polars 2.1, pyarrow 26).

    Rows are split and appended by one thread of their own, in the order they are given, while
    the job reads and encodes the next chunk. At most ``PENDING_WRITES`` frames wait for it. At
    ten million subscribers, the run took 43.8 to 44.5 s against 44.8 to 45.1 s with the writes
    in line, and its peak rose from 797 MiB to 806 to 892 MiB.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.open: dict[Path, tuple[pa.NativeFile, pa.ipc.RecordBatchFileWriter]] = {}
        # Every part file made, so that one removed during the run is not read as empty.
        self.written: set[Path] = set()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlf-part-writer")
        self.pending: deque[Future[None]] = deque()

    def write(self, folder: Path, frame: pl.DataFrame, part: pl.Expr | None = None) -> None:
        """Append a frame's rows to the file of each part in ``folder``, in the background.

        The part of a row is ``part``, or else the frame's ``PARTITION_COLUMN``. An error of an
        earlier write is raised here or by ``close``.
        """
        while len(self.pending) >= PENDING_WRITES:
            self.pending.popleft().result()
        self.pending.append(self.writer.submit(self.write_now, folder, frame, part))

    def write_now(self, folder: Path, frame: pl.DataFrame, part: pl.Expr | None) -> None:
        if part is not None:
            frame = frame.with_columns(part)
        stored = frame.select(
            column for name, dtype in frame.schema.items() for column in stored_columns(name, dtype)
        )
        for (partition,), piece in stored.partition_by(
            PARTITION_COLUMN, as_dict=True, include_key=False
        ).items():
            try:
                self.append(folder / f"{partition}.arrow", piece.to_arrow())
            except OSError as error:
                if not self.root.is_dir():
                    raise removed_files_error(self.root) from error
                raise part_write_error(folder, error) from error

    def append(self, path: Path, rows: pa.Table) -> None:
        """Append rows to the file at ``path``, which is made on the first call."""
        if path not in self.open:
            # Each folder is made on its own, so that a run folder removed by someone else is
            # not made again, which would let the run count the parts it lost as empty.
            folder = self.root
            for name in path.parent.relative_to(self.root).parts:
                folder = folder / name
                folder.mkdir(exist_ok=True)
            # A drop read in one pass needs no pyarrow, and importing it made each start about
            # 0.06 s longer.
            import pyarrow as pa  # noqa: PLC0415
            import pyarrow.ipc  # noqa: PLC0415

            sink = pa.OSFile(str(path), "wb")
            self.open[path] = (sink, pa.ipc.new_file(sink, rows.schema))
            self.written.add(path)
        self.open[path][1].write_table(rows)

    def read(
        self,
        folder: Path,
        partition: int,
        schema: pl.Schema,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Read one part of an encoded table, or only some of its columns. A part that no row
        went to is empty; one that was written and is gone stops the run."""
        path = folder / f"{partition}.arrow"
        names = list(schema) if columns is None else list(columns)
        if path not in self.written:
            return pl.DataFrame(schema={name: schema[name] for name in names})
        try:
            scan = pl.scan_ipc(path).select(restored_column(name, schema[name]) for name in names)
            return scan.collect()
        except (OSError, pl.exceptions.PolarsError) as error:
            if not path.exists():
                raise removed_files_error(self.root) from error
            raise

    def close(self) -> None:
        """Wait for the writes, and finish the open files, so that they can be read.

        A file that cannot be finished stays open, for ``abandon`` to close.
        """
        while self.pending:
            self.pending.popleft().result()
        while self.open:
            path, (sink, writer) = next(iter(self.open.items()))
            try:
                writer.close()
                sink.close()
            except OSError as error:
                raise part_write_error(path.parent, error) from error
            del self.open[path]

    def abandon(self) -> None:
        """Stop the writes and close the open files without finishing them, after a failure
        or at the end of the run.

        A second SIGTERM or Ctrl-C cannot cut this short: a write still running would make
        files in the temporary folder while it is removed.
        """
        with stopping.shielded():
            for future in self.pending:
                future.cancel()
            self.writer.shutdown(wait=True)
            self.pending.clear()
            files, self.open = self.open, {}
            for sink, _ in files.values():
                sink.close()


@dataclass
class ChunkedRun:
    layout: DropLayout
    partitions: int
    folder: Path
    timings: dict[str, float] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    customers: pl.DataFrame = field(default_factory=pl.DataFrame)
    # The number of phones read so far: the phone_id of the next one.
    phone_count: int = 0
    files: PartFiles = field(init=False)
    timing_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.files = PartFiles(self.folder)

    @property
    def key_parts(self) -> int:
        """Return the number of parts of each folder of key hashes."""
        return max(1, self.partitions // KEY_PART_DIVISOR)

    def add_time(self, stage: str, started: float) -> None:
        """Add the time since ``started`` to a stage. Parts counted in parallel add the time of
        each, so the stages may add up to more than the run."""
        with self.timing_lock:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started


def size_text(size: float) -> str:
    """Return a size in bytes as bytes, KiB or MiB."""
    if size < 1024:
        return f"{size:,.0f} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KiB"
    return f"{size / 1024 / 1024:,.1f} MiB"


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
    return partitions == 0 and data_file_bytes(drop_dir) <= SINGLE_PASS_BYTES


def data_file_bytes(drop_dir: Path) -> int:
    """Return the size of the CSV and Parquet files under a folder.

    The layout is not checked here, because the run checks it next and would log each of its
    warnings twice. For the same reason a folder or file this user may not read counts as
    empty here, and the run then names it.
    """
    try:
        return sum(
            path.stat().st_size
            for path in drop_dir.rglob("*")
            if path.suffix in {".csv", ".parquet"} and path.is_file()
        )
    except OSError:
        return 0


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
    log.info("Processing the drop in %s of encoded rows", plural(count, "part"))
    if count > automatic_partitions(layout) * SMALL_PART_FACTOR:
        log.warning(
            "--partitions %d makes parts of about %s of input; every part has a fixed cost, "
            "so the run will be slow. Pass --partitions 0 to choose %s for this drop.",
            count,
            size_text(drop_bytes(layout) / count),
            plural(automatic_partitions(layout), "part"),
        )
    root = temporary_root(work_dir)
    failure: InvalidRowsError | None = None
    raise_open_file_limit(OPEN_FILES_PER_PART * count + OPEN_FILES_OTHER)
    with temporary_folder(root) as temporary:
        run = ChunkedRun(layout, count, temporary)
        try:
            encode_drop(run, on_stage)
            check_primary_keys(run)
            check_unique_keys(run)
            report, dangling = count_parts(run, on_stage)
        except InvalidRowsError as error:
            failure = error
        finally:
            run.files.abandon()
    # The encoded files are removed first, so that the two paths never need room at once.
    if failure is not None:
        log.info("%s, so the drop is read again in text partitions to describe it.", failure)
        return build_report_partitioned(
            drop_dir,
            on_invalid=on_invalid,
            partitions=partitions,
            on_stage=on_stage,
            work_dir=work_dir,
            checked=validation,
        )

    validation.tables = {
        name: summary_table(table_files, run.rows_read.get(name, 0), empty_rejects())
        for name, table_files in layout.tables.items()
    }
    started = time.perf_counter()
    report = validate_report(report)
    run.add_time("report_validation", started)
    return ReportResult(report, validation, dangling, run.timings)


def raise_open_file_limit(needed: int) -> None:
    """Raise the soft limit of open files towards ``needed``, as far as the hard limit
    allows. The soft limit is often 1,024, with a higher hard limit."""
    if sys.platform == "win32":  # Windows has no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def open_file_limit() -> int | str:
    """Return the soft limit of open files, or "the system's" where it cannot be read."""
    if sys.platform == "win32":
        return "the system's"
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fitting_partitions(limit: int | str) -> int:
    """Return the largest part count whose files fit a limit of open files."""
    if isinstance(limit, str):
        return 1
    return max(1, (limit - OPEN_FILES_OTHER) // OPEN_FILES_PER_PART)


def encode_drop(run: ChunkedRun, on_stage: StageCallback | None) -> None:
    """Validate and encode every table, parents first, writing the encoded partitions."""
    customers = run.layout.tables["customers"]
    sites = run.layout.tables["sites"]
    if on_stage is not None:
        on_stage("customers")
    valid_customers = validate_whole(run, customers, None, None)
    known_customers = valid_customers.get_column(CUSTOMER_KEY)
    seed = customer_seed(known_customers)
    run.customers = rules.encode_table("customers", valid_customers.lazy(), seed).collect()
    # The parents' text is freed before the large tables are read, because it grows with the
    # number of customers and sites and would raise the peak of every larger drop.
    del valid_customers

    if on_stage is not None:
        on_stage("sites")
    valid_sites = validate_whole(run, sites, known_customers, None)
    known_sites = valid_sites.select(site_key()).to_series()
    write_encoded(run, sites.spec, valid_sites, seed)
    run.files.close()
    del valid_sites

    for name in TABLE_SPECS:
        table_files = run.layout.tables.get(name)
        if table_files is None or name in PARENTS:
            continue
        if on_stage is not None:
            on_stage(f"encode {name}")
        schema = table_schema(table_files.spec, known_customers, known_sites, unique_keys=False)
        for frame in timed(run, "reading", chunks(table_files)):
            started = time.perf_counter()
            _, findings = validate_frame(table_files.spec, table_files.form, (), frame, schema)
            run.add_time("validation", started)
            if findings:
                raise InvalidRowsError(f"Table {name} has invalid rows")
            run.rows_read[name] = run.rows_read.get(name, 0) + frame.height
            write_encoded(run, table_files.spec, frame, seed)
        # Each table's files are finished once it is read, so that no more files are open at
        # a time than one table has.
        run.files.close()


def timed(run: ChunkedRun, stage: str, items: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Yield the items, adding the time spent producing them to a stage."""
    while True:
        stopping.check()
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
            raise unreadable_file_error(table_files.spec.name, data_file, error) from error


def write_encoded(run: ChunkedRun, spec: TableSpec, frame: pl.DataFrame, seed: int) -> None:
    """Encode valid rows and write them split into parts, with the hashes of their keys."""
    started = time.perf_counter()
    rows = frame.lazy()
    encoded = rules.encode_table(spec.name, rows, seed)
    if spec.name == "phones":
        encoded = encoded.with_row_index(rules.PHONE_ID, offset=run.phone_count)
    keys = unique_keys(spec)
    encoded_rows, hashes = pl.collect_all([encoded, key_hashes(rows, keys)])
    if spec.name == "phones":
        run.phone_count += encoded_rows.height
        links = rules.owner_links(encoded_rows.lazy()).collect()
        write_parts(run, OWNER_LINKS, links, rules.USER_KEY)
        encoded_rows = encoded_rows.drop(rules.OWNER_KEY)
    write_parts(run, spec.name, encoded_rows, part_key(spec.name))
    for key in keys:
        name = key_name(key)
        folder = f"{KEYS_FOLDER}/{spec.name}.{name}"
        write_parts(run, folder, hashes.select(name), name, parts=run.key_parts)
    for column in () if spec.name in PARENTS else pkid_keys(spec):
        pkid_hashes = frame.select(
            pkid_hash(column).alias(column),
            part_number(pkid_hash(column), run.key_parts),
        )
        run.files.write(run.folder / KEYS_FOLDER / f"{spec.name}.{column}", pkid_hashes)
    run.add_time("encoding", started)


def part_key(name: str) -> str:
    """Return the encoded column whose hash chooses the part of a table's rows."""
    if name in DEVICE_TABLES:
        return rules.DEVICE_KEY
    if name in CUSTOMER_TABLES:
        return rules.CODE
    return rules.USER_KEY


def unique_keys(spec: TableSpec) -> list[Key]:
    """Return the keys within customers whose hashes are checked in their own files."""
    return [
        key
        for key in spec.keys
        if len(key.columns) > 1 and (spec.name, key_name(key)) not in LINK_KEYS
    ]


def write_parts(
    run: ChunkedRun,
    name: str,
    frame: pl.DataFrame,
    key: str,
    *,
    parts: int | None = None,
) -> None:
    """Append a frame's rows to the parts of the folder ``name`` by the hash of the column
    ``key``, into ``parts`` parts if given, else ``run.partitions``."""
    part = part_number(pl.col(key).hash(seed=HASH_SEED), parts or run.partitions)
    run.files.write(run.folder / name, frame, part)


def part_number(hashed: pl.Expr, parts: int) -> pl.Expr:
    """Return the part of a row from a hash of its key."""
    # Rows are split by a 32-bit part number in half the time of a 64-bit one (1 million
    # phones into 24 parts, Polars 2.1).
    return (hashed % parts).cast(pl.UInt32).alias(PARTITION_COLUMN)


def part_write_error(folder: Path, error: OSError) -> OutputError:
    """Return the error for a part file that cannot be made or written."""
    if error.errno in (errno.EMFILE, errno.ENFILE):
        return OutputError(
            f"Cannot open more temporary partition files: the limit of {open_file_limit()} "
            f"open files is reached. Each part of a table keeps up to {OPEN_FILES_PER_PART} "
            "files open while the table is read: pass --partitions "
            f"{fitting_partitions(open_file_limit())} or fewer, or raise the limit with "
            "`ulimit -n`."
        )
    return OutputError(
        f"Cannot write the temporary partition files to {str(folder)!r}: {error}. "
        "They need about twice the size of the drop's Parquet files: point TMPDIR at "
        "a folder with room, or pass --partitions 1 to process the drop in memory."
    )


def stored_columns(name: str, dtype: pl.DataType) -> list[pl.Expr]:
    """Return the columns that store a column in a part file."""
    if dtype == pl.UInt128:
        return [
            (pl.col(name) // HALF).cast(pl.UInt64).alias(name + HIGH_HALF),
            (pl.col(name) % HALF).cast(pl.UInt64).alias(name + LOW_HALF),
        ]
    return [pl.col(name)]


def restored_column(name: str, dtype: pl.DataType) -> pl.Expr:
    """Return a column read from the columns that store it in a part file."""
    if dtype == pl.UInt128:
        high = pl.col(name + HIGH_HALF).cast(pl.UInt128)
        return (high * HALF + pl.col(name + LOW_HALF).cast(pl.UInt128)).alias(name)
    return pl.col(name)


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
                [
                    repeated_values(run.files.read(folder, partition, schema).get_column(column))
                    for partition in range(run.key_parts)
                ]
            )
            if not duplicated_text(table_files, column, repeated).is_empty():
                raise InvalidRowsError(f"Table {name} has a duplicate {column}")
    run.add_time("validation", started)


def repeated_values(values: pl.Series) -> pl.Series:
    """Return the values that occur more than once in a series, each once."""
    # Most parts have no repeated value, and counting the distinct values took a quarter of
    # the time of finding the repeated ones (3 million 64-bit hashes, Polars 2.1).
    if values.n_unique() == values.len():
        return values.clear()
    return values.filter(values.is_duplicated()).unique()


def check_unique_keys(run: ChunkedRun) -> None:
    """Raise ``InvalidRowsError`` when two rows of a part share the hash of a unique key.

    This checks the keys written to their own files; ``count_parts`` checks the link keys
    that split users and phones.
    """
    started = time.perf_counter()
    for name, table_files in run.layout.tables.items():
        for key in () if name in PARENTS else unique_keys(table_files.spec):
            column = key_name(key)
            schema = pl.Schema({column: pl.UInt128()})
            for partition in range(run.key_parts):
                folder = run.folder / KEYS_FOLDER / f"{name}.{column}"
                require_distinct(run.files.read(folder, partition, schema), name, column)
    run.add_time("validation", started)


def require_distinct(frame: pl.DataFrame, table: str, column: str) -> None:
    """Raise ``InvalidRowsError`` when a hash occurs twice in a column; nulls are left out."""
    present = frame.get_column(column).drop_nulls()
    if present.n_unique() < present.len():
        raise InvalidRowsError(f"Table {table} may have a duplicate {column}")


def count_parts(
    run: ChunkedRun, on_stage: StageCallback | None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Count the encoded parts in three passes.

    Return the report and the dangling reference counts of all parts.
    """
    schemas = encoded_schemas()
    link_associations(run, schemas, on_stage)
    owned = rules.owned_phones(run.phone_count)
    user_totals, dangling = count_users(run, schemas, owned, on_stage)
    phone_totals = PassTotals()

    def standalone_phones(partition: int) -> pl.DataFrame:
        started = time.perf_counter()
        phones = run.files.read(run.folder / "phones", partition, schemas["phones"], PHONE_COLUMNS)
        counts = rules.standalone_phone_columns(phones, owned).collect()
        run.add_time("rules", started)
        return counts

    def add(partition: int, counts: pl.DataFrame) -> None:
        started = time.perf_counter()
        phone_totals.add(counts)
        run.add_time("rules", started)

    in_parallel(standalone_phones, run.partitions, add, announced(on_stage, "count phones", run))
    started = time.perf_counter()
    totals = rules.summed_counts([user_totals.summed(), phone_totals.summed()])
    report = rules.customer_report(run.customers.lazy(), totals).collect()
    run.add_time("rules", started)
    return report, dangling


def in_parallel(
    function: Callable[[int], Result],
    partitions: int,
    take: Callable[[int, Result], None],
    announce: Callable[[int], None] | None = None,
) -> None:
    """Compute ``function(partition)`` for each partition, ``PART_WORKERS`` at a time, and give
    each partition and its result to ``take`` in partition order.

    ``announce`` is called with each partition as its computation starts. At most
    ``PART_WORKERS`` results wait to be taken. Polars releases the interpreter lock while it
    computes, and a part's steps keep the two cores of a small machine busy only part of the
    time. Counting the user parts two at a time took the run at ten million subscribers from
    46.7 to 47.5 s down to 44.8 to 45.1 s, with the same peak memory (788 to 798 MiB against
    797 MiB).
    """
    pool = ThreadPoolExecutor(max_workers=PART_WORKERS, thread_name_prefix="vlf-part")
    pending: deque[tuple[int, Future[Result]]] = deque()
    try:
        for partition in range(partitions):
            stopping.check()
            if announce is not None:
                announce(partition)
            pending.append((partition, pool.submit(function, partition)))
            if len(pending) >= PART_WORKERS:
                done, future = pending.popleft()
                take(done, future.result())
        while pending:
            done, future = pending.popleft()
            take(done, future.result())
    finally:
        # The parts being computed read the temporary files, which are removed next.
        with stopping.shielded():
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True)


def link_associations(
    run: ChunkedRun, schemas: dict[str, pl.Schema], on_stage: StageCallback | None
) -> None:
    """Write the association links of each device part to the user parts of their keys."""

    def links(partition: int) -> pl.DataFrame:
        started = time.perf_counter()
        phones = run.files.read(
            run.folder / "phones",
            partition,
            schemas["phones"],
            [rules.DEVICE_KEY, rules.PHONE_ID, "device_class"],
        )
        run.add_time("rules", started)
        started = time.perf_counter()
        require_distinct(phones, "phones", rules.DEVICE_KEY)
        run.add_time("validation", started)
        started = time.perf_counter()
        associations = run.files.read(
            run.folder / "associated_devices", partition, schemas["associated_devices"]
        )
        linked = rules.association_links(phones.lazy(), associations.lazy()).collect()
        run.add_time("rules", started)
        return linked

    def write(partition: int, linked: pl.DataFrame) -> None:
        write_parts(run, ASSOCIATION_LINKS, linked, rules.USER_KEY)

    in_parallel(links, run.partitions, write, announced(on_stage, "link", run))
    run.files.close()


def count_users(
    run: ChunkedRun,
    schemas: dict[str, pl.Schema],
    owned: pl.Series,
    on_stage: StageCallback | None,
) -> tuple[PassTotals, dict[str, int]]:
    """Count each user part, and set the flags in ``owned`` of the phones users own.

    Return the counts per customer of all parts and the dangling reference counts.
    """

    def counted(partition: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
        started = time.perf_counter()
        tables = {
            name: run.files.read(run.folder / name, partition, schemas[name]).lazy()
            for name in (*rules.ACCOUNT_TABLES, *CUSTOMER_TABLES, OWNER_LINKS, ASSOCIATION_LINKS)
        }
        users = run.files.read(run.folder / "users", partition, schemas["users"])
        run.add_time("rules", started)
        started = time.perf_counter()
        require_distinct(users, "users", rules.USER_KEY)
        run.add_time("validation", started)
        started = time.perf_counter()
        part = rules.UserPart(
            users=users.lazy(),
            owner_links=tables[OWNER_LINKS],
            association_links=tables[ASSOCIATION_LINKS],
            accounts={name: tables[name] for name in rules.ACCOUNT_TABLES},
            sites=tables["sites"],
            phone_server_phones=tables["phone_server_phones"],
        )
        result = rules.user_counts(part)
        run.add_time("rules", started)
        return result

    totals = PassTotals()
    danglings = []

    def add(partition: int, result: tuple[pl.DataFrame, pl.DataFrame, pl.Series]) -> None:
        counts, dangling, owned_ids = result
        started = time.perf_counter()
        owned.scatter(owned_ids, values=True)
        totals.add(counts)
        danglings.append(dangling)
        run.add_time("rules", started)

    in_parallel(counted, run.partitions, add, announced(on_stage, "count users", run))
    return totals, pl.concat(danglings).sum().row(0, named=True)


def announced(
    on_stage: StageCallback | None, stage: str, run: ChunkedRun
) -> Callable[[int], None] | None:
    """Return the callback that reports to ``on_stage`` each part of a pass as it starts, or
    None without ``on_stage``."""
    if on_stage is None:
        return None
    callback = on_stage
    return lambda partition: callback(f"{stage} {partition + 1} of {run.partitions}")


class PassTotals:
    """The counts per customer code of the parts of one counting pass, added up a few parts at
    a time.

    A part's counts have a row for nearly every customer, because each table is split by the
    hash of a key, not by customer. So adding them costs the number of parts times the number
    of customers, and both grow with the drop. Joining each part's counts to the totals, as
    ``rules.summed_counts`` does, took 2.5 s of a run at ten million subscribers (24 parts in
    each of two passes, 40,000 customers), and 0.64 s added ``COUNT_BATCH`` parts at a time.
    The parts of one pass have the same columns, so they are stacked with the totals and
    grouped by code.
    """

    def __init__(self) -> None:
        self.totals: pl.DataFrame | None = None
        self.pending: list[pl.DataFrame] = []

    def add(self, counts: pl.DataFrame) -> None:
        """Add the counts of one part."""
        self.pending.append(counts.select(rules.CODE, pl.exclude(rules.CODE).cast(pl.Int64)))
        if len(self.pending) >= COUNT_BATCH:
            self.add_pending()

    def add_pending(self) -> None:
        """Stack the waiting counts with the totals, and sum them per customer code."""
        previous = [] if self.totals is None else [self.totals]
        stacked = pl.concat([*previous, *self.pending])
        self.totals = stacked.group_by(rules.CODE).agg(pl.all().sum())
        self.pending = []

    def summed(self) -> pl.LazyFrame:
        """Return the sums of every part added so far."""
        if self.pending:
            self.add_pending()
        if self.totals is None:
            return pl.LazyFrame(schema={rules.CODE: pl.UInt64})
        return self.totals.lazy()


def encoded_schemas() -> dict[str, pl.Schema]:
    """Return the columns of each folder of encoded rows."""
    schemas = {
        name: rules.encode_table(
            name, pl.LazyFrame(schema=dict.fromkeys(spec.read_columns, pl.String)), seed=0
        ).collect_schema()
        for name, spec in TABLE_SPECS.items()
    }
    phones = schemas["phones"]
    # The phones' owner keys are written as owner links.
    phone_columns = {name: dtype for name, dtype in phones.items() if name != rules.OWNER_KEY}
    schemas["phones"] = pl.Schema({rules.PHONE_ID: pl.UInt32(), **phone_columns})
    links = pl.Schema(
        {
            rules.USER_KEY: phones[rules.DEVICE_KEY],
            rules.PHONE_ID: pl.UInt32(),
            rules.COUNT_ROLE: pl.UInt8(),
        }
    )
    schemas[OWNER_LINKS] = schemas[ASSOCIATION_LINKS] = links
    return schemas
