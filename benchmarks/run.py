"""Benchmark ``vlf-frames report`` against a DuckDB implementation and a Parquet scan floor.

Usage: ``python benchmarks/run.py --subscribers N`` (or ``--quick`` for one million).

The script generates a synthetic drop with ``vlf-frames synth``, or reuses the one under
``benchmarks/drops/`` made with the same size, seed and generator source. It then runs each
measured program several times, each run in a fresh process:

- ours: ``vlf-frames report DROP --output-dir TMP --date-time "2026-01-31 23:59"``;
- duckdb: ``benchmarks/duckdb_report.py`` on the same drop, whose output must equal ours cell
  for cell, or the benchmark fails;
- scan floor: one streaming pass with Polars over exactly the columns the report job reads,
  which no implementation can beat.

Wall time is measured around the process, so interpreter start-up and imports count. CPU time
(user plus system) and peak memory come from the resource usage that ``os.wait4`` returns for
that one child, the same accounting as ``getrusage(RUSAGE_CHILDREN)``. Peak memory is the
maximum resident set size (``ru_maxrss``). CPU time varies less than wall time when other
processes compete for the cores.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

BENCHMARKS_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCHMARKS_DIR.parent
DROPS_DIR = BENCHMARKS_DIR / "drops"
RESULTS_DIR = BENCHMARKS_DIR / "results"
SYNTH_SOURCE = REPO_DIR / "vlf_frames" / "synth.py"

QUICK_SUBSCRIBERS = 1_000_000
REPORT_DATE_TIME = "2026-01-31 23:59"
# The report requires its metadata settings. These values only fill the metadata lines.
REPORT_ENV = {
    "VLF_PLATFORM_ID": "benchmark",
    "VLF_PROVIDER_NAME": "benchmark",
    "VLF_SOFTWARE_VERSION": "0",
    "VLF_PLATFORM_VERSION": "0",
    "VLF_DEPLOYMENT_MODE": "benchmark",
    "VLF_HOST_NAME": "benchmark",
}
FLAG_COLUMNS = ("Public Sector", "Inactive Billing")
MAX_DIFF_CELLS = 20

# The columns the report job reads from each table: every column of the inventory contract
# except the identifying names (customer, provider, reseller and site names), which the report
# never uses.
SCAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_pkid", "public_sector", "inactive_billing"),
    "sites": ("site_pkid", "customer_pkid"),
    "users": ("user_pkid", "customer_pkid", "site_pkid", "userid"),
    "phones": (
        "phone_pkid", "customer_pkid", "site_pkid", "device_name", "product", "owner_userid",
    ),
    "associated_devices": ("customer_pkid", "userid", "device_name"),
    "device_profiles": ("profile_name", "customer_pkid", "userid"),
    "remote_destination_profiles": ("profile_name", "customer_pkid", "userid"),
    "voicemail_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "webex_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "spark_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "pexip_accounts": ("account_id", "customer_pkid", "site_pkid", "userid"),
    "contact_center_agents": ("account_id", "customer_pkid", "site_pkid", "platform", "userid"),
    "microsoft_accounts": (
        "account_id", "customer_pkid", "site_pkid", "userid", "teams", "enterprise_voice",
        "o365_licensed", "cisco_integrated",
    ),
    "phone_server_phones": ("device_name", "customer_pkid", "site_pkid"),
}

# Stage timings in the report's output, such as "validation: 1.23 s" or "rules took 0.5 s".
STAGE_TIMING = re.compile(
    r"\b(?P<stage>validation|rules|report_validation|write)\b[^\d\n]{0,30}?"
    r"(?P<seconds>\d+(?:\.\d+)?)\s*s\b",
    re.IGNORECASE,
)


@dataclass
class Run:
    """One finished process: wall time, CPU time, peak memory, exit code and its output."""

    wall_seconds: float
    cpu_seconds: float
    max_rss_bytes: int
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Measurement:
    """All runs of one program."""

    name: str
    runs: list[Run] = field(default_factory=list)
    validation_seconds: list[float] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [run.wall_seconds for run in self.runs]

    @property
    def median_wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def median_cpu(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def max_rss(self) -> int:
        return max(run.max_rss_bytes for run in self.runs)


def run_process(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float, work_dir: Path
) -> Run:
    """Run ``command`` in a fresh process and return its wall time and peak memory.

    ``os.wait4`` returns the resource usage of exactly this child. Output goes to files, so a
    chatty process cannot block on a full pipe. A process still running after ``timeout``
    seconds is killed, and its run has exit code -9.
    """
    stdout_path = work_dir / "stdout.txt"
    stderr_path = work_dir / "stderr.txt"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, env=env, cwd=REPO_DIR
        )
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    # wait4 has reaped the child, so Popen must not wait for it again.
    process.returncode = exit_code
    return Run(
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        # ru_maxrss is in KiB on Linux.
        max_rss_bytes=usage.ru_maxrss * 1024,
        exit_code=exit_code,
        stdout=stdout_path.read_text(errors="replace"),
        stderr=stderr_path.read_text(errors="replace"),
    )


# --- The drop --------------------------------------------------------------------------------


def generator_stamp() -> str:
    """Return a short hash of the generator's source, so an edited generator makes new drops."""
    return hashlib.sha256(SYNTH_SOURCE.read_bytes()).hexdigest()[:10]


def ensure_drop(subscribers: int, customers: int | None, seed: int, console: Console) -> Path:
    """Return the cached drop for these options, generating it first when it is missing."""
    customers_part = f"-c{customers}" if customers is not None else ""
    name = f"s{subscribers}{customers_part}-seed{seed}-gen{generator_stamp()}"
    drop = DROPS_DIR / name
    if drop.is_dir():
        console.print(f"Reusing drop {drop}")
        return drop

    DROPS_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "vlf_frames.cli", "synth", str(drop),
        "--subscribers", str(subscribers), "--seed", str(seed),
    ]
    if customers is not None:
        command += ["--customers", str(customers)]
    console.print(f"Generating drop {drop}")
    started = time.perf_counter()
    # The synth command writes to <drop>.partial and renames it when complete, so an
    # interrupted run never leaves a drop that would be reused.
    subprocess.run(command, check=True, cwd=REPO_DIR)
    console.print(f"Generated in {time.perf_counter() - started:.1f} s")
    return drop


# --- The measured programs -------------------------------------------------------------------


def ours_command(drop: Path, output_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "vlf_frames", "report", str(drop),
        "--output-dir", str(output_dir), "--date-time", REPORT_DATE_TIME, "-v",
    ]


def duckdb_command(drop: Path, output: Path, memory_limit: str | None) -> list[str]:
    script = BENCHMARKS_DIR / "duckdb_report.py"
    command = [sys.executable, str(script), str(drop), "--output", str(output)]
    if memory_limit is not None:
        command += ["--memory-limit", memory_limit]
    return command


def scan_command(drop: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--scan-only", str(drop)]


def parse_validation_seconds(output: str) -> float | None:
    """Return the validation time the report printed, or None when it printed none."""
    for match in STAGE_TIMING.finditer(output):
        if match.group("stage").lower() == "validation":
            return float(match.group("seconds"))
    return None


def scan_floor(drop: Path) -> dict[str, int]:
    """Read every needed column of every table once, streaming, and return rows per table.

    Each string column is reduced to its total byte length and each boolean to its sum, which
    forces every value to be decoded while keeping memory small.
    """
    rows = {}
    for table, columns in SCAN_COLUMNS.items():
        frame = _scan_table(drop, table)
        if frame is None:
            continue
        schema = frame.collect_schema()
        reductions = [
            pl.col(name).str.len_bytes().sum() if schema[name] == pl.String
            else pl.col(name).cast(pl.Int64).sum()
            for name in columns
            if name in schema
        ]
        result = frame.select(pl.len().alias("__rows"), *reductions).collect(engine="streaming")
        rows[table] = int(result["__rows"][0])
    return rows


def _scan_table(drop: Path, table: str) -> pl.LazyFrame | None:
    if (drop / f"{table}.parquet").is_file():
        return pl.scan_parquet(drop / f"{table}.parquet")
    if (drop / f"{table}.csv").is_file():
        return pl.scan_csv(drop / f"{table}.csv", infer_schema=False)
    folder = drop / table
    if not folder.is_dir():
        return None
    if any(folder.rglob("*.parquet")):
        return pl.scan_parquet(folder, hive_partitioning=True)
    return pl.scan_csv(folder / "**" / "*.csv", infer_schema=False)


# --- Comparing the two reports ---------------------------------------------------------------


def read_our_report(output_dir: Path) -> pl.DataFrame:
    """Read the report CSV that ``vlf-frames report`` wrote, with the DuckDB report's types."""
    reports = sorted(output_dir.glob("vlf_*_anonymous_*.csv"))
    if len(reports) != 1:
        raise RuntimeError(f"expected one report CSV in {output_dir}, found {len(reports)}")
    lines = [
        line for line in reports[0].read_text(encoding="utf-8").splitlines(keepends=True)
        if not line.startswith("#")
    ]
    frame = pl.read_csv("".join(lines).encode(), infer_schema=False)
    return frame.select(
        pl.col(name) if name == "Customer PKID"
        else pl.col(name).replace_strict({"True": True, "False": False}, return_dtype=pl.Boolean)
        if name in FLAG_COLUMNS
        else pl.col(name).cast(pl.Int64)
        for name in frame.columns
    )


def compare_reports(ours: pl.DataFrame, reference: pl.DataFrame) -> list[str]:
    """Return one line per differing header or cell (at most MAX_DIFF_CELLS), or none."""
    if ours.columns != reference.columns:
        return [_describe_header_difference(ours.columns, reference.columns)]
    if ours.height != reference.height:
        return [f"row count differs: ours {ours.height} != duckdb {reference.height}"]
    key = "Customer PKID"
    if not ours[key].equals(reference[key]):
        return ["Customer PKID values or order differ"]

    differences = []
    for name in ours.columns[1:]:
        differs = ours[name].ne_missing(reference[name])
        for index in differs.arg_true().to_list():
            differences.append(
                f"{ours[key][index]} | {name}: ours {ours[name][index]}, "
                f"duckdb {reference[name][index]}"
            )
            if len(differences) >= MAX_DIFF_CELLS:
                return differences
    return differences


def _describe_header_difference(ours: list[str], reference: list[str]) -> str:
    missing = [name for name in reference if name not in ours]
    extra = [name for name in ours if name not in reference]
    if missing or extra:
        return f"header differs: ours lacks {missing}, ours adds {extra}"
    position = next(i for i, (a, b) in enumerate(zip(ours, reference, strict=True)) if a != b)
    return (
        f"column order differs at position {position + 1}: "
        f"ours {ours[position]!r}, duckdb {reference[position]!r}"
    )


def count_differences(ours: pl.DataFrame, reference: pl.DataFrame) -> int:
    if ours.columns != reference.columns or ours.height != reference.height:
        return -1
    return sum(int(ours[name].ne_missing(reference[name]).sum()) for name in ours.columns)


# --- Reporting -------------------------------------------------------------------------------


def format_seconds(values: list[float]) -> tuple[str, str]:
    median = statistics.median(values)
    spread = f"{min(values):.2f}-{max(values):.2f}"
    if len(values) > 1 and median > 0:
        spread += f" (±{(max(values) - min(values)) / 2 / median:.0%})"
    return f"{median:.2f}", spread


def results_table(measurements: list[Measurement], subscribers: int) -> Table:
    table = Table(title=f"{subscribers:,} subscribers", title_justify="left")
    table.add_column("program")
    table.add_column("median wall s", justify="right")
    table.add_column("min-max s (spread)", justify="right")
    table.add_column("median CPU s", justify="right")
    table.add_column("peak RSS MiB", justify="right")
    table.add_column("µs / subscriber", justify="right")
    table.add_column("validation share", justify="right")
    for measurement in measurements:
        median, spread = format_seconds(measurement.walls)
        if measurement.name != "ours":
            share = "-"
        elif measurement.validation_seconds:
            validation = statistics.median(measurement.validation_seconds)
            share = f"{validation / measurement.median_wall:.0%}"
        else:
            # The report logged no validation time, for example when it failed early.
            share = "n/a"
        table.add_row(
            measurement.name,
            median,
            spread,
            f"{measurement.median_cpu:.2f}",
            f"{measurement.max_rss / 2**20:,.0f}",
            f"{measurement.median_wall / subscribers * 1e6:.2f}",
            share,
        )
    return table


def ratio(
    numerator: Measurement | None, denominator: Measurement | None, *, cpu: bool = False
) -> str:
    """Return the ratio of median wall times (or median CPU times), or n/a."""
    if numerator is None or denominator is None:
        return "n/a"
    if cpu:
        return f"{numerator.median_cpu / denominator.median_cpu:.2f}"
    return f"{numerator.median_wall / denominator.median_wall:.2f}"


def peak(measurement: Measurement | None) -> str:
    if measurement is None:
        return "n/a"
    return f"{measurement.max_rss / 2**30:.2f}GiB"


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time vlf-frames report, a DuckDB implementation and a Parquet scan floor.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--subscribers", type=int, help="drop size in subscribers")
    size.add_argument(
        "--quick", action="store_true", help=f"use {QUICK_SUBSCRIBERS:,} subscribers"
    )
    parser.add_argument(
        "--customers", type=int, help="customer count (default: the synth command's default)"
    )
    parser.add_argument("--seed", type=int, default=1, help="synth seed (default: 1)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="measured runs of each program (default: 3)"
    )
    parser.add_argument("--skip-ours", action="store_true", help="do not run vlf-frames report")
    parser.add_argument("--skip-duckdb", action="store_true", help="do not run the DuckDB report")
    parser.add_argument("--skip-scan", action="store_true", help="do not run the scan floor")
    parser.add_argument(
        "--duckdb-memory-limit", metavar="SIZE",
        help="DuckDB memory limit such as 8GB, past which it spills to disk "
        "(default: DuckDB's own, 80%% of the RAM)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800,
        help="seconds after which a run is killed and the benchmark fails (default: 1800)",
    )
    parser.add_argument("--scan-only", type=Path, metavar="DROP", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scan_only is None and args.subscribers is None and not args.quick:
        parser.error("give --subscribers N or --quick")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    return args


@dataclass
class Comparison:
    """Result of comparing our report with the DuckDB report."""

    compared: bool = False
    first_differences: list[str] = field(default_factory=list)
    difference_count: int = 0


def command_for(name: str, drop: Path, run_dir: Path, args: argparse.Namespace) -> list[str]:
    if name == "ours":
        return ours_command(drop, run_dir / "report")
    if name == "duckdb":
        return duckdb_command(drop, run_dir / "duckdb.parquet", args.duckdb_memory_limit)
    return scan_command(drop)


def measure(
    programs: list[Measurement], drop: Path, args: argparse.Namespace, console: Console
) -> Comparison:
    """Run every program ``args.repeat`` times, interleaved, and compare the two reports.

    Raises ``RuntimeError`` when a run fails.
    """
    env = {**os.environ, **REPORT_ENV}
    comparison = Comparison()
    names = {measurement.name for measurement in programs}
    with tempfile.TemporaryDirectory(prefix="vlf-bench-") as temp:
        work = Path(temp)
        # One unmeasured scan first, so that every measured run finds the drop in the page cache.
        run_process(scan_command(drop), timeout=args.timeout, work_dir=work)

        for repeat in range(args.repeat):
            for measurement in programs:
                run_dir = work / f"{measurement.name.replace(' ', '_')}-{repeat}"
                run_dir.mkdir()
                command = command_for(measurement.name, drop, run_dir, args)
                run = run_process(command, env=env, timeout=args.timeout, work_dir=run_dir)
                if run.exit_code != 0:
                    raise RuntimeError(
                        f"{measurement.name} failed with exit code {run.exit_code}:\n"
                        f"{run.stderr[-4000:]}"
                    )
                measurement.runs.append(run)
                if measurement.name == "ours":
                    seconds = parse_validation_seconds(run.stderr + run.stdout)
                    if seconds is not None:
                        measurement.validation_seconds.append(seconds)
                console.print(
                    f"  run {repeat + 1}/{args.repeat} {measurement.name}: "
                    f"{run.wall_seconds:.2f} s wall, {run.cpu_seconds:.2f} s CPU, "
                    f"{run.max_rss_bytes / 2**20:,.0f} MiB"
                )

            # The outputs are deterministic, so the first repeat's outputs are compared.
            if repeat == 0 and {"ours", "duckdb"} <= names:
                ours = read_our_report(work / "ours-0" / "report")
                reference = pl.read_parquet(work / "duckdb-0" / "duckdb.parquet")
                comparison = Comparison(
                    compared=True,
                    first_differences=compare_reports(ours, reference),
                    difference_count=count_differences(ours, reference),
                )
    return comparison


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scan_only is not None:
        rows = scan_floor(args.scan_only)
        print(f"scanned {sum(rows.values()):,} rows in {len(rows)} tables", file=sys.stderr)
        return 0

    # A wide console, so that the table stays readable when the output goes to a file.
    console = Console(width=None if sys.stdout.isatty() else 120)
    subscribers = QUICK_SUBSCRIBERS if args.quick else args.subscribers
    drop = ensure_drop(subscribers, args.customers, args.seed, console)

    names = [
        name
        for name, skipped in (
            ("scan floor", args.skip_scan), ("duckdb", args.skip_duckdb), ("ours", args.skip_ours)
        )
        if not skipped
    ]
    programs = [Measurement(name) for name in names]
    try:
        comparison = measure(programs, drop, args, console)
    except RuntimeError as error:
        console.print(f"[red]Benchmark failed:[/] {error}", highlight=False)
        return 1

    by_name = {measurement.name: measurement for measurement in programs}
    ours = by_name.get("ours")
    duckdb = by_name.get("duckdb")
    scan = by_name.get("scan floor")
    console.print(f"machine: {machine_description()}", highlight=False)
    console.print(results_table(programs, subscribers))
    console.print(
        f"wall time  ours / duckdb: {ratio(ours, duckdb)}   ours / scan floor: "
        f"{ratio(ours, scan)}   duckdb / scan floor: {ratio(duckdb, scan)}"
    )
    console.print(
        f"CPU time   ours / duckdb: {ratio(ours, duckdb, cpu=True)}   ours / scan floor: "
        f"{ratio(ours, scan, cpu=True)}   duckdb / scan floor: {ratio(duckdb, scan, cpu=True)}"
    )
    if comparison.first_differences:
        console.print(
            f"[red]Reports differ in {comparison.difference_count} cells; first differences:[/]"
        )
        for line in comparison.first_differences:
            console.print(f"  {line}", markup=False, highlight=False)

    if not comparison.compared:
        match = "not compared"
    else:
        match = "no" if comparison.first_differences else "yes"
    _save_results(drop, subscribers, programs, match)
    print(
        f"summary: subscribers={subscribers} drop={drop.name} "
        f"ours/duckdb={ratio(ours, duckdb)} ours/scan={ratio(ours, scan)} "
        f"cpu_ours/duckdb={ratio(ours, duckdb, cpu=True)} "
        f"cpu_ours/scan={ratio(ours, scan, cpu=True)} "
        f"peak_rss_ours={peak(ours)} peak_rss_duckdb={peak(duckdb)} reports_match={match} "
        f"load_average={os.getloadavg()[1]:.1f}"
    )
    return 1 if comparison.first_differences else 0


def machine_description() -> str:
    """Return the processor, cores, memory and library versions, so that figures taken on
    different machines are not compared as if they were one."""
    processor = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        processor = models[0].strip() if models else processor
    parts = [processor, f"{os.cpu_count()} cores"]
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        parts.append(f"{memory / 2**30:.1f} GiB")
    versions = [f"Python {platform.python_version()}", f"Polars {pl.__version__}"]
    for name in ("pyarrow", "duckdb"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    return ", ".join(parts) + "; " + ", ".join(versions)


def _save_results(drop: Path, subscribers: int, programs: list[Measurement], match: str) -> None:
    """Write the raw figures to benchmarks/results/ (not tracked by git) for later tables."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True, text=True, check=False, cwd=REPO_DIR,
    ).stdout.strip()
    record = {
        "commit": commit,
        "load_average": os.getloadavg(),
        "drop": drop.name,
        "subscribers": subscribers,
        "reports_match": match,
        "cpu_count": os.cpu_count(),
        "machine": machine_description(),
        "programs": {
            measurement.name: {
                "runs": [
                    {
                        "wall_seconds": run.wall_seconds,
                        "cpu_seconds": run.cpu_seconds,
                        "max_rss_bytes": run.max_rss_bytes,
                    }
                    for run in measurement.runs
                ],
                "validation_seconds": measurement.validation_seconds,
            }
            for measurement in programs
        },
    }
    path = RESULTS_DIR / f"{stamp}-s{subscribers}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
