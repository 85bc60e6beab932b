"""The ``vlf-frames`` command line, run in a subprocess: files written, settings, exit codes.

Exit codes: 0 success, 1 invalid input (no report written), 2 usage or settings error, 3 the
output cannot be written, 4 internal error.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_runner import (
    FULL_OPTIONS,
    FULL_REPORT_NAME,
    cli_environment,
    finish_cli,
    one_line,
    outcome,
    run_cli,
    start_cli,
)
from drop_builder import (
    REPORT_COLUMNS,
    agent,
    customer,
    merge_tables,
    ms_account,
    phone,
    site,
    user,
    user_with,
    write_drop,
)

from vlf_frames.console import ALLOCATOR_SETTINGS, ALLOCATOR_VARIABLE

HEADER = ",".join(REPORT_COLUMNS)

# A valid drop of two customers.
# C1: Emma has one phone and Webex, Raj has two phones, it.helpdesk sits at customer level, and
# SEP00A3D1C2B4F9 belongs to no user. C2: Li has no phone and no service.
GOOD_TABLES: dict[str, list[dict[str, Any]]] = merge_tables(
    {
        "customers": [customer("C1"), customer("C2", public_sector=True)],
        "sites": [site("S1", customer="C1"), site("S2", customer="C2")],
    },
    user_with("emma.holtom", phones=1, services=("webex",)),
    user_with("raj.patel", phones=2),
    {
        "users": [user("it.helpdesk", site=None), user("li.wei", site="S2", customer="C2")],
        "phones": [phone("SEP00A3D1C2B4F9")],
    },
)
GOOD_ROWS = [
    "C1,0,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,False,False,0,0,0,0,0,0,0,0,0,1",
    "C2,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,True,False,0,0,0,0,0,0,0,0,0,1",
]
FULL_METADATA = [
    "#Platform ID=5e54067d116fa10046313224",
    "#Provider Name=CS-P",
    "#Software Version=21.1",
    "#Platform Version=21.1.0-1630252949",
    "#Deployment Mode=Provider with HCMF",
    "#Date Time=2026-01-31 23:59",
    "#Audit Version=4.0.0",
]


def options_without(*dropped: str) -> list[str]:
    """Return FULL_OPTIONS without the given options and their values."""
    pairs = zip(FULL_OPTIONS[::2], FULL_OPTIONS[1::2], strict=True)
    return [item for option, value in pairs if option not in dropped for item in (option, value)]


OPTIONS_WITHOUT_DATE_TIME = tuple(options_without("--date-time"))


def good_drop(root: Path) -> Path:
    return write_drop(root, **GOOD_TABLES)


def written_files(folder: Path) -> list[str]:
    """Return the names of every file and folder under ``folder``, hidden ones included."""
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@dataclass
class FinishedRun:
    """A finished CLI run and the output folder it was given."""

    result: subprocess.CompletedProcess[str]
    output_dir: Path


def metadata_lines(report: Path) -> list[str]:
    return [
        line for line in report.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]


# Success and the report file


def test_report_full_options(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, *FULL_OPTIONS)

    assert result.returncode == 0, outcome(result)
    assert written_files(output_dir) == [FULL_REPORT_NAME]
    expected = "\n".join([*FULL_METADATA, HEADER, *GOOD_ROWS]) + "\n"
    assert (output_dir / FULL_REPORT_NAME).read_bytes() == expected.encode("utf-8")


def test_rerun_is_byte_identical(tmp_path: Path) -> None:
    drop = good_drop(tmp_path)

    first = run_cli("report", drop, "--output-dir", tmp_path / "first", *FULL_OPTIONS)
    second = run_cli("report", drop, "--output-dir", tmp_path / "second", *FULL_OPTIONS)

    assert first.returncode == 0, outcome(first)
    assert second.returncode == 0, outcome(second)
    assert "replaced" not in first.stderr
    first_bytes = (tmp_path / "first" / FULL_REPORT_NAME).read_bytes()
    assert (tmp_path / "second" / FULL_REPORT_NAME).read_bytes() == first_bytes


def test_rerun_names_replaced_report(tmp_path: Path) -> None:
    """A rerun with the same --date-time replaces the report, and the summary names it."""
    drop = good_drop(tmp_path)
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    (output_dir / FULL_REPORT_NAME).write_text("an earlier report\n", encoding="utf-8")
    (output_dir / FULL_REPORT_NAME).chmod(0o444)

    result = run_cli("report", drop, "--output-dir", output_dir, *FULL_OPTIONS)

    assert result.returncode == 0, outcome(result)
    summary = one_line(result.stderr)
    assert f"Wrote {output_dir / FULL_REPORT_NAME}, which replaced the file of that name" in summary
    assert (output_dir / FULL_REPORT_NAME).read_text(encoding="utf-8").startswith("#Platform ID")


def test_folder_named_like_report_rejected(tmp_path: Path) -> None:
    """A folder at the report's path stops the run with exit code 3 and a next step."""
    output_dir = tmp_path / "out"
    (output_dir / FULL_REPORT_NAME).mkdir(parents=True)

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, *FULL_OPTIONS)

    assert result.returncode == 3, outcome(result)
    assert str(output_dir / FULL_REPORT_NAME) in result.stderr
    assert "Is a directory" in result.stderr
    assert "pass another --output-dir" in result.stderr
    assert "Traceback" not in result.stderr
    assert (output_dir / FULL_REPORT_NAME).is_dir()
    assert written_files(output_dir) == [FULL_REPORT_NAME]


def test_default_date_time_is_now(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    started = datetime.now(UTC).replace(second=0, microsecond=0)

    result = run_cli(
        "report", good_drop(tmp_path), "--output-dir", output_dir, *OPTIONS_WITHOUT_DATE_TIME
    )

    finished = datetime.now(UTC)
    assert result.returncode == 0, outcome(result)
    names = written_files(output_dir)
    assert len(names) == 1, names
    match = re.fullmatch(r"vlf_CS-P_voss01_anonymous_(\d{4}-\d{2}-\d{2}_\d{4})\.csv", names[0])
    assert match is not None, names[0]
    stamp = datetime.strptime(match.group(1), "%Y-%m-%d_%H%M").replace(tzinfo=UTC)
    # The run time in UTC, truncated to the minute: between the minute the run started in
    # and the moment it finished.
    assert started <= stamp <= finished
    date_time_line = f"#Date Time={stamp:%Y-%m-%d %H:%M}"
    assert date_time_line in metadata_lines(output_dir / names[0])


def test_early_year_padded(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"

    result = run_cli(
        "report",
        good_drop(tmp_path),
        "--output-dir",
        output_dir,
        *OPTIONS_WITHOUT_DATE_TIME,
        "--date-time",
        "0026-01-31 23:59",
    )

    report_name = "vlf_CS-P_voss01_anonymous_0026-01-31_2359.csv"
    assert result.returncode == 0, outcome(result)
    assert written_files(output_dir) == [report_name]
    assert "#Date Time=0026-01-31 23:59" in metadata_lines(output_dir / report_name)


def test_unsafe_file_name_characters(tmp_path: Path) -> None:
    # '/', '\' and control characters cannot stand in a file name and become '-'. Everything
    # else, spaces and non-ASCII letters included, is kept as given.
    output_dir = tmp_path / "out"
    options = {
        "--provider-name": "Acme/EMEA",
        "--host-name": "voss\\01\tZürich site",
    }
    arguments = [*FULL_OPTIONS]
    for option, value in options.items():
        arguments[arguments.index(option) + 1] = value

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, *arguments)

    assert result.returncode == 0, outcome(result)
    expected_name = "vlf_Acme-EMEA_voss-01-Zürich site_anonymous_2026-01-31_2359.csv"
    assert written_files(output_dir) == [expected_name]


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, "-q", *FULL_OPTIONS)

    assert result.returncode == 0, outcome(result)
    assert result.stdout == ""
    assert result.stderr == ""
    assert written_files(output_dir) == [FULL_REPORT_NAME]


# Settings: options, VLF_* environment variables and a TOML file


def toml_file(path: Path, settings: dict[str, str]) -> Path:
    lines = [f'{key} = "{value}"' for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FILE_SETTINGS = {
    "platform_id": "file-platform",
    "provider_name": "FileProvider",
    "software_version": "20.1",
    "platform_version": "20.1.0-1",
    "deployment_mode": "Enterprise",
    "host_name": "filehost",
    "date_time": "2025-12-31 08:05",
}


def test_settings_from_config_file(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    config = toml_file(tmp_path / "settings.toml", FILE_SETTINGS)

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, "--config", config)

    assert result.returncode == 0, outcome(result)
    name = "vlf_FileProvider_filehost_anonymous_2025-12-31_0805.csv"
    assert written_files(output_dir) == [name]
    assert metadata_lines(output_dir / name) == [
        "#Platform ID=file-platform",
        "#Provider Name=FileProvider",
        "#Software Version=20.1",
        "#Platform Version=20.1.0-1",
        "#Deployment Mode=Enterprise",
        "#Date Time=2025-12-31 08:05",
        "#Audit Version=4.0.0",
    ]


def test_settings_from_environment(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    environment = {
        "VLF_PLATFORM_ID": "env-platform",
        "VLF_PROVIDER_NAME": "EnvProvider",
        "VLF_SOFTWARE_VERSION": "22.0",
        "VLF_PLATFORM_VERSION": "22.0.0-7",
        "VLF_DEPLOYMENT_MODE": "Provider",
        "VLF_HOST_NAME": "envhost",
        "VLF_DATE_TIME": "2026-02-28 00:00",
    }

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, env=environment)

    assert result.returncode == 0, outcome(result)
    name = "vlf_EnvProvider_envhost_anonymous_2026-02-28_0000.csv"
    assert written_files(output_dir) == [name]
    assert metadata_lines(output_dir / name) == [
        "#Platform ID=env-platform",
        "#Provider Name=EnvProvider",
        "#Software Version=22.0",
        "#Platform Version=22.0.0-7",
        "#Deployment Mode=Provider",
        "#Date Time=2026-02-28 00:00",
        "#Audit Version=4.0.0",
    ]


def test_settings_precedence(tmp_path: Path) -> None:
    # Every setting is in the file. The environment overrides three of them and an option
    # overrides two of those three, so each source wins somewhere.
    output_dir = tmp_path / "out"
    config = toml_file(tmp_path / "settings.toml", FILE_SETTINGS)
    environment = {
        "VLF_PROVIDER_NAME": "EnvProvider",
        "VLF_HOST_NAME": "envhost",
        "VLF_DATE_TIME": "2026-02-28 00:00",
    }

    result = run_cli(
        "report",
        good_drop(tmp_path),
        "--output-dir",
        output_dir,
        "--config",
        config,
        "--provider-name",
        "OptionProvider",
        "--date-time",
        "2026-03-01 12:30",
        env=environment,
    )

    assert result.returncode == 0, outcome(result)
    name = "vlf_OptionProvider_envhost_anonymous_2026-03-01_1230.csv"
    assert written_files(output_dir) == [name]
    assert metadata_lines(output_dir / name) == [
        "#Platform ID=file-platform",
        "#Provider Name=OptionProvider",
        "#Software Version=20.1",
        "#Platform Version=20.1.0-1",
        "#Deployment Mode=Enterprise",
        "#Date Time=2026-03-01 12:30",
        "#Audit Version=4.0.0",
    ]


@dataclass(frozen=True)
class UsageCase:
    """Settings that the report command rejects with exit code 2, before reading the drop.

    ``config`` is the text of a settings file passed with --config. ``named`` lists what the
    message must contain, ``not_named`` what it must not.
    """

    options: tuple[str, ...]
    named: tuple[str, ...]
    not_named: tuple[str, ...] = ()
    config: str | None = None
    config_name: str = "settings.toml"
    env: tuple[tuple[str, str], ...] = ()


USAGE_CASES = {
    "missing-host-and-mode": UsageCase(
        tuple(options_without("--host-name", "--deployment-mode")),
        ("host_name", "deployment_mode"),
        not_named=("provider_name", "platform_id"),
    ),
    "blank-provider-name": UsageCase(
        (*options_without("--provider-name"), "--provider-name", "  "),
        ("provider_name",),
    ),
    "date-time-no-such-day": UsageCase(
        (*options_without("--date-time"), "--date-time", "2026-02-30 12:00"),
        ("'2026-02-30 12:00' from option --date-time", "no such date or time exists"),
    ),
    "date-time-iso-separator": UsageCase(
        (*options_without("--date-time"), "--date-time", "2026-01-31T23:59"),
        ("2026-01-31T23:59", "YYYY-MM-DD HH:MM"),
    ),
    "date-time-without-leading-zeros": UsageCase(
        (*options_without("--date-time"), "--date-time", "2026-1-5 3:07"),
        ("2026-1-5 3:07", "YYYY-MM-DD HH:MM"),
    ),
    "date-time-in-config": UsageCase(
        tuple(options_without("--date-time")),
        ("31/01/2026 23:59", "YYYY-MM-DD HH:MM", "settings.toml"),
        config='date_time = "31/01/2026 23:59"\n',
    ),
    "config-not-found": UsageCase(
        ("--config", "no-such-settings.toml", *FULL_OPTIONS), ("no-such-settings.toml",)
    ),
    "config-not-toml": UsageCase(
        tuple(FULL_OPTIONS),
        ("settings.toml", "is not valid TOML", 'quote it, for example provider_name = "CS-P"'),
        config="provider_name = CS-P\n",
    ),
    "config-unknown-key": UsageCase(
        tuple(FULL_OPTIONS),
        ("an unknown key hostname (did you mean host_name?)",),
        config='hostname = "voss01"\n',
    ),
    "config-number-value": UsageCase(
        tuple(FULL_OPTIONS), ("software_version",), config="software_version = 21.1\n"
    ),
    # A byte that is not UTF-8 reaches Python as a lone surrogate, which no file can hold.
    "option-not-utf8": UsageCase(
        (*options_without("--provider-name"), "--provider-name", "CS\udc85P"),
        ("'CS\\udc85P' from option --provider-name is not UTF-8 text",),
    ),
    # Options such as --on-invalid are not read from the environment.
    "environment-unknown-variable": UsageCase(
        tuple(FULL_OPTIONS),
        (
            "Unknown environment variable VLF_ON_INVALID",
            "VLF_PROVIDER_NAME",
            "pass --on-invalid on the command line instead",
        ),
        env=(("VLF_ON_INVALID", "quarantine"),),
    ),
    "environment-misspelt-variable": UsageCase(
        tuple(FULL_OPTIONS),
        ("Unknown environment variable VLF_HOSTNAME (did you mean VLF_HOST_NAME?): only",),
        env=(("VLF_HOSTNAME", "voss01"),),
    ),
    # A variable that matches no option gets no suggestion.
    "environment-variables-without-option": UsageCase(
        tuple(FULL_OPTIONS),
        ("Unknown environment variables VLF_DROP, VLF_FOO: only", "Unset them."),
        not_named=("--foo", "--drop"),
        env=(("VLF_FOO", ""), ("VLF_DROP", "x")),
    ),
}


@pytest.fixture(scope="module")
def usage_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FinishedRun]:
    """Run ``vlf-frames report`` with every rejected setting, all processes at once."""
    drop = good_drop(tmp_path_factory.mktemp("usage"))
    started = {}
    for case_id, case in USAGE_CASES.items():
        root = tmp_path_factory.mktemp(case_id)
        output_dir = root / "out"
        options = list(case.options)
        if case.config is not None:
            config = root / case.config_name
            config.write_text(case.config, encoding="utf-8")
            options = ["--config", str(config), *options]
        arguments = ["report", drop, "--output-dir", output_dir, *options]
        started[case_id] = (start_cli(arguments, env=dict(case.env), cwd=root), output_dir)
    return {
        case_id: FinishedRun(finish_cli(process), output_dir)
        for case_id, (process, output_dir) in started.items()
    }


@pytest.mark.parametrize("case_id", USAGE_CASES)
def test_invalid_settings_exit_2(usage_runs: dict[str, FinishedRun], case_id: str) -> None:
    case = USAGE_CASES[case_id]
    run = usage_runs[case_id]
    message = one_line(run.result.stderr)

    assert run.result.returncode == 2, outcome(run.result)
    assert "Traceback" not in run.result.stderr
    assert written_files(run.output_dir) == []
    for text in case.named:
        assert text in message
    for text in case.not_named:
        assert text not in message


# Invalid input: exit code 1, no report, a message that locates the failure


def drop_without_userid_column(root: Path) -> Path:
    drop = good_drop(root)
    users = drop / "users.csv"
    rows = list(csv.DictReader(io.StringIO(users.read_text(encoding="utf-8"))))
    with users.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(
            file, fieldnames=["user_pkid", "customer_pkid", "site_pkid"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    return drop


def drop_with_integer_customer_pkid(root: Path) -> Path:
    drop = write_drop(root, sites=[site("S1", customer="904417")])
    (drop / "customers.csv").unlink()
    pkids = pa.array([904417, 904418], pa.int64())
    pq.write_table(pa.table({"customer_pkid": pkids}), drop / "customers.parquet")
    return drop


def drop_with_two_forms(root: Path) -> Path:
    drop = good_drop(root)
    pq.write_table(pa.table({"customer_pkid": ["C1", "C2"]}), drop / "customers.parquet")
    return drop


def drop_without_phones(root: Path) -> Path:
    drop = good_drop(root)
    (drop / "phones.csv").unlink()
    return drop


def drop_with_truncated_parquet(root: Path) -> Path:
    drop = good_drop(root)
    users = {
        "user_pkid": ["user-1"],
        "customer_pkid": ["C1"],
        "site_pkid": ["S1"],
        "userid": ["emma.holtom"],
    }
    path = drop / "users.parquet"
    pq.write_table(pa.table(users), path)
    (drop / "users.csv").unlink()
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return drop


def tables_drop(**tables: list[dict[str, Any]]) -> Callable[[Path], Path]:
    return lambda root: write_drop(root, **tables)


@dataclass(frozen=True)
class InvalidCase:
    """An invalid drop and what the error message must name. None marks what does not apply."""

    make_drop: Callable[[Path], Path]
    table: str
    files: tuple[str, ...]
    column: str | None = None
    check: str | None = None
    failing_rows: int | None = None
    first_value: str | None = None  # as the message shows it: quoted text, or null
    exit_code: int = 1
    options: tuple[str, ...] = ()


INVALID_CASES = {
    # A missing column has no failing value to show.
    "missing-required-column": InvalidCase(
        drop_without_userid_column, "users", ("users.csv",), "userid", "column_in_dataframe"
    ),
    "duplicate-user": InvalidCase(
        tables_drop(users=[user("emma.holtom"), user(" EMMA.Holtom ")]),
        "users",
        ("users.csv",),
        "userid",
        "unique_key",
        2,
        "'emma.holtom'",
    ),
    "bad-boolean": InvalidCase(
        tables_drop(microsoft_accounts=[ms_account(None, teams="maybe")]),
        "microsoft_accounts",
        ("microsoft_accounts.csv",),
        "teams",
        "boolean",
        1,
        "'maybe'",
    ),
    "unknown-site": InvalidCase(
        tables_drop(phones=[phone("SEP00A3D1C2B4E5", site="S9")]),
        "phones",
        ("phones.csv",),
        "site_pkid",
        "known_site",
        1,
        "'S9'",
    ),
    "unknown-customer": InvalidCase(
        tables_drop(users=[user("emma.holtom", site=None, customer="C9")]),
        "users",
        ("users.csv",),
        "customer_pkid",
        "known_customer",
        1,
        "'C9'",
    ),
    "null-required-field": InvalidCase(
        tables_drop(phones=[phone("SEP00A3D1C2B4E5", product=None)]),
        "phones",
        ("phones.csv",),
        "product",
        "not_nullable",
        1,
        "null",
    ),
    "blank-required-field": InvalidCase(
        tables_drop(users=[user("emma.holtom"), user("   ")]),
        "users",
        ("users.csv",),
        "userid",
        "not_blank",
        1,
        "'   '",
    ),
    "unknown-contact-center-platform": InvalidCase(
        tables_drop(contact_center_agents=[agent("UCCE"), agent("UCCH")]),
        "contact_center_agents",
        ("contact_center_agents.csv",),
        "platform",
        "contact_center_platform",
        1,
        "'UCCH'",
    ),
    # Every row of the file has a value of the wrong type, the first one 904417.
    "parquet-integer-customer-pkid": InvalidCase(
        drop_with_integer_customer_pkid,
        "customers",
        ("customers.parquet",),
        "customer_pkid",
        "dtype",
        2,
        "904417",
    ),
    # A missing column cannot be set aside row by row, so quarantine still writes nothing.
    "quarantine-missing-required-column": InvalidCase(
        drop_without_userid_column,
        "users",
        ("users.csv",),
        "userid",
        "column_in_dataframe",
        options=("--on-invalid", "quarantine"),
    ),
    "two-forms-of-table": InvalidCase(
        drop_with_two_forms, "customers", ("customers.csv", "customers.parquet")
    ),
    "missing-required-table": InvalidCase(drop_without_phones, "phones", ("phones",)),
    "truncated-parquet-file": InvalidCase(drop_with_truncated_parquet, "users", ("users.parquet",)),
    # A drop folder that does not exist is a usage error, not invalid input.
    "drop-folder-missing": InvalidCase(
        lambda root: root / "no-such-drop", "no-such-drop", (), exit_code=2
    ),
}


@pytest.fixture(scope="module")
def invalid_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FinishedRun]:
    """Run ``vlf-frames report`` on every invalid drop, all processes at once."""
    started = {}
    for case_id, case in INVALID_CASES.items():
        root = tmp_path_factory.mktemp(case_id)
        output_dir = root / "out"
        drop = case.make_drop(root)
        arguments = ["report", drop, "--output-dir", output_dir, *FULL_OPTIONS, *case.options]
        started[case_id] = (start_cli(arguments), output_dir)
    return {
        case_id: FinishedRun(finish_cli(process), output_dir)
        for case_id, (process, output_dir) in started.items()
    }


@pytest.mark.parametrize("case_id", INVALID_CASES)
def test_invalid_input_writes_no_report(invalid_runs: dict[str, FinishedRun], case_id: str) -> None:
    case = INVALID_CASES[case_id]
    run = invalid_runs[case_id]
    result = run.result
    message = one_line(result.stderr)

    assert result.returncode == case.exit_code, outcome(result)
    assert written_files(run.output_dir) == []
    assert "Traceback" not in result.stderr
    assert re.search(rf"\b{case.table}\b", message), message
    for file_name in case.files:
        assert file_name in message
    if case.column is not None:
        assert re.search(rf"\b{case.column}\b", message), message
    if case.check is not None:
        assert case.check in message
    if case.failing_rows is not None:
        assert re.search(rf"\b{case.failing_rows} rows?\b", message), message
    if case.first_value is not None:
        # Searched in the output as printed, because a value may consist of white space.
        assert case.first_value in result.stderr


# Quarantine: invalid rows set aside, the report written from the rest

QUARANTINE_TABLES = merge_tables(
    GOOD_TABLES,
    {
        "users": [
            user(" SAM.COLE "),
            user("sam.cole"),
            user("omar.haddad", site="S9"),
        ],
        "phones": [phone("SEP00A3D1C2B4E7", product=None)],
        "contact_center_agents": [agent("UCCE"), agent("UCCH")],
        "microsoft_accounts": [ms_account(None, teams=True), ms_account(None, teams="maybe")],
    },
)
# The valid rows of QUARANTINE_TABLES: GOOD_TABLES plus a UCCE agent and a Teams account.
QUARANTINE_ROWS = [
    "C1,0,0,0,1,1,0,0,0,0,0,0,0,0,0,0,0,1,0,0,1,0,0,False,False,0,0,1,0,0,0,0,0,0,1",
    "C2,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,True,False,0,0,0,0,0,0,0,0,0,1",
]
# Each rejected row: table, file, row, the column its reason names, a word of the reason.
QUARANTINE_REJECTS = [
    ("users", "users.csv", "line 6", "userid", "duplicate"),
    ("users", "users.csv", "line 7", "userid", "duplicate"),
    ("users", "users.csv", "line 8", "site_pkid", "site"),
    ("phones", "phones.csv", "line 6", "product", "missing"),
    ("contact_center_agents", "contact_center_agents.csv", "line 3", "platform", "UCCX"),
    ("microsoft_accounts", "microsoft_accounts.csv", "line 3", "teams", "boolean"),
]
QUARANTINE_REJECTS_NAME = "vlf_CS-P_voss01_rejects_2026-01-31_2359.csv"


def test_quarantine_writes_report_and_rejects(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, **QUARANTINE_TABLES)
    output_dir = tmp_path / "out"

    result = run_cli(
        "report", drop, "--output-dir", output_dir, "--on-invalid", "quarantine", *FULL_OPTIONS
    )

    assert result.returncode == 0, outcome(result)
    assert written_files(output_dir) == [FULL_REPORT_NAME, QUARANTINE_REJECTS_NAME]
    expected = "\n".join([*FULL_METADATA, HEADER, *QUARANTINE_ROWS]) + "\n"
    assert (output_dir / FULL_REPORT_NAME).read_text(encoding="utf-8") == expected

    rejects_text = (output_dir / QUARANTINE_REJECTS_NAME).read_text(encoding="utf-8")
    rejects = list(csv.DictReader(io.StringIO(rejects_text)))
    assert list(rejects[0]) == ["table", "file", "row", "reasons", "values"]
    found = [(row["table"], Path(row["file"]).name, row["row"]) for row in rejects]
    assert found == [(table, file, row) for table, file, row, _, _ in QUARANTINE_REJECTS]
    for rejected, (_, _, _, column, word) in zip(rejects, QUARANTINE_REJECTS, strict=True):
        assert column in rejected["reasons"], rejected
        assert word in rejected["reasons"], rejected
    assert "omar.haddad" in rejects[2]["values"]

    summary = one_line(result.stderr)
    assert re.search(r"\b6 (invalid|rejected) rows\b", summary), summary


@pytest.mark.parametrize("partitions", ["1", "2"])
def test_customer_left_out_named(tmp_path: Path, partitions: str) -> None:
    """A customer whose own row is set aside is named, with the rows that went with it."""
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2"), customer("C2")],
        sites=[site("S1"), site("S2", customer="C2")],
        users=[user("anna"), user("bert", site="S2", customer="C2")],
        phones=[phone("SEP1", owner="bert", site="S2", customer="C2")],
    )
    output_dir = tmp_path / "out"
    arguments = ["--output-dir", output_dir, "--on-invalid", "quarantine", *FULL_OPTIONS]

    result = run_cli("report", drop, *arguments, "--partitions", partitions)

    assert result.returncode == 0, outcome(result)
    summary = one_line(result.stderr)
    assert (
        "1 customer is left out of the report, because its row in customers is invalid: C2. "
        "3 rows of other tables that name it were set aside as well." in summary
    )
    report = (output_dir / FULL_REPORT_NAME).read_text(encoding="utf-8")
    rows = [line for line in report.splitlines() if not line.startswith("#")][1:]
    assert [row.split(",")[0] for row in rows] == ["C1"]


def test_customer_pkid_with_nul_left_out(tmp_path: Path) -> None:
    """A customer row whose pkid contains a NUL byte is set aside, shown escaped, and the report
    carries no NUL byte."""
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2\x00")],
        users=[user("anna"), user("bert", site=None, customer="C2")],
    )
    output_dir = tmp_path / "out"
    arguments = ["--output-dir", output_dir, "--on-invalid", "quarantine", *FULL_OPTIONS]

    result = run_cli("report", drop, *arguments)

    assert result.returncode == 0, outcome(result)
    summary = one_line(result.stderr)
    assert "invalid: 'C2\\x00'" in summary
    look_alike = "1 row that names it in another case or without hidden characters was set aside"
    assert look_alike in summary
    assert "customers has 'C2\\x00' where other tables have 'C2'" in summary
    report = (output_dir / FULL_REPORT_NAME).read_bytes()
    assert b"\x00" not in report
    rows = [line for line in report.decode().splitlines() if not line.startswith("#")][1:]
    assert [row.split(",")[0] for row in rows] == ["C1"]


def test_drop_path_not_utf8_exit_2(tmp_path: Path) -> None:
    drop = good_drop(tmp_path / os.fsdecode(b"drop\x85"))

    result = run_cli("report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS)

    assert result.returncode == 2, outcome(result)
    assert "Traceback" not in result.stderr
    assert "is not UTF-8, and Polars reads only UTF-8 paths" in one_line(result.stderr)


def test_validate_unknown_variable_exit_2(tmp_path: Path) -> None:
    result = run_cli("validate", write_drop(tmp_path), env={"VLF_PARTITIONS": "4"})

    assert result.returncode == 2, outcome(result)
    message = one_line(result.stderr)
    assert "Unknown environment variable VLF_PARTITIONS" in message
    assert "pass --partitions on the command line instead" in message


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_empty_required_table_warned(tmp_path: Path, quiet: list[str]) -> None:
    """A users table with only its header makes every phone standalone, which is allowed."""
    drop = write_drop(tmp_path, phones=[phone("SEP1", owner="anna")])

    result = run_cli("report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS, *quiet)

    assert result.returncode == 0, outcome(result)
    summary = one_line(result.stderr)
    assert "No rows in users: check that the export is complete" in summary


@pytest.mark.parametrize("table", ["customers", "sites"])
def test_empty_parent_warned_on_stop(tmp_path: Path, table: str) -> None:
    """Every row that refers to an empty customers or sites table fails, and a warning names
    the empty table among the findings."""
    rows = {"users": [user("anna")], "phones": [phone("SEP1", owner="anna")], table: []}
    drop = write_drop(tmp_path, **rows)
    output_dir = tmp_path / "out"

    result = run_cli("report", drop, "--output-dir", output_dir, *FULL_OPTIONS)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert f"No rows in {table}: check that the export is complete" in message
    assert "The inventory drop is invalid" in message
    assert written_files(output_dir) == []


@pytest.mark.parametrize("on_invalid", ["fail", "quarantine"])
def test_no_customer_left_writes_no_report(tmp_path: Path, on_invalid: str) -> None:
    """A billing report without customer rows is never what a run wants."""
    drop = write_drop(tmp_path, customers=[customer("C1", public_sector="sometimes")])
    output_dir = tmp_path / "out"
    arguments = ["--output-dir", output_dir, "--on-invalid", on_invalid, *FULL_OPTIONS]

    result = run_cli("report", drop, *arguments)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    if on_invalid == "fail":
        assert written_files(output_dir) == []
    else:
        # Quarantine writes the rejects file in every run, and here it shows why.
        assert written_files(output_dir) == [QUARANTINE_REJECTS_NAME]
        assert "No customer is left to report: customers has 1 row, of which 1 is" in message
        assert f"The invalid rows are in {output_dir / QUARANTINE_REJECTS_NAME}." in message


def test_empty_customers_writes_no_report(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, customers=[], sites=[])
    output_dir = tmp_path / "out"

    result = run_cli("report", drop, "--output-dir", output_dir, "-q", *FULL_OPTIONS)

    assert result.returncode == 1, outcome(result)
    assert written_files(output_dir) == []
    message = one_line(result.stderr)
    assert "No customer is left to report: customers has no rows" in message


def test_log_lines_whole_off_terminal(tmp_path: Path) -> None:
    """With stderr in a file or pipe, each log record is one line: time, level and message,
    with no padding, so that grep finds whole records."""
    drop = write_drop(tmp_path, users=[])

    result = run_cli("validate", drop)

    assert result.returncode == 0, outcome(result)
    [warning] = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING No rows in users, phones: check that the "
        r"export is complete, .*\S",
        warning,
    ), warning


def test_validate_rejects_empty_customers(tmp_path: Path) -> None:
    """validate fails a drop that report would stop at for want of customers."""
    drop = write_drop(tmp_path, customers=[], sites=[])

    result = run_cli("validate", drop)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert "No customer is left to report: customers has no rows" in message
    assert "The drop is valid" not in message
    assert "The drop is valid" not in result.stdout


def test_validate_customers_schema_alone(tmp_path: Path) -> None:
    """A customers file without customer_pkid gets its schema finding, and no claim that the
    table has no rows."""
    drop = write_drop(tmp_path, users=[user("anna")])
    customers = (drop / "customers.csv").read_text(encoding="utf-8")
    (drop / "customers.csv").write_text(
        customers.replace("customer_pkid", "customer_id", 1), encoding="utf-8"
    )

    result = run_cli("validate", drop)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert "column customer_pkid, check column_in_dataframe" in message
    assert "No customer is left" not in message
    assert "has no rows" not in message


@pytest.mark.parametrize("partitions", ["1", "2"])
def test_summary_lists_table_not_read(tmp_path: Path, partitions: str) -> None:
    """A table whose file does not fit the schema stays in the summary, marked as not read."""
    drop = drop_without_userid_column(tmp_path)

    result = run_cli("validate", drop, "--partitions", partitions)

    assert result.returncode == 1, outcome(result)
    assert re.search(r"│ users +│ users\.csv +│ +not read │ +- │", result.stderr), result.stderr
    # In one pass the other tables are checked, and in chunks no row is read at all.
    customers_read = re.search(r"│ customers +│ customers\.csv +│ +2 │ +0 │", result.stderr)
    assert (customers_read is not None) == (partitions == "1"), result.stderr


def test_failed_report_prints_summary(tmp_path: Path) -> None:
    """A report that stops at invalid rows shows the rows read and rejected per table before
    its error, as validate does."""
    drop = write_drop(tmp_path, users=[user("anna"), user("  ")])

    result = run_cli("report", drop, "--output-dir", tmp_path / "out", *FULL_OPTIONS)

    assert result.returncode == 1, outcome(result)
    assert re.search(r"│ users +│ users\.csv +│ +2 │ +1 │", result.stderr), result.stderr
    summary = result.stderr.index("Inventory drop")
    assert result.stderr.index("Table users in ") < summary
    assert summary < result.stderr.index("error: ")


def test_findings_start_at_first_line(tmp_path: Path) -> None:
    """stderr starts with the first finding, and the headline names one table in the singular."""
    drop = write_drop(tmp_path, users=[user("anna"), user("  ")])

    checked = run_cli("validate", drop)
    reported = run_cli("report", drop, "--output-dir", tmp_path / "out", "-q", *FULL_OPTIONS)

    for result in (checked, reported):
        assert result.returncode == 1, outcome(result)
        assert result.stderr.startswith("Table users in "), result.stderr
    assert "failed checks: 1, in table users. " in one_line(reported.stderr)


def test_validate_names_customers_left_out(tmp_path: Path) -> None:
    """validate writes no report, so it names what quarantine would leave out."""
    drop = write_drop(
        tmp_path,
        customers=[customer("C1"), customer("C2"), customer("C2")],
        sites=[site("S1"), site("S2", customer="C2")],
        users=[user("anna"), user("bert", site="S2", customer="C2")],
    )

    result = run_cli("validate", drop)

    assert result.returncode == 1, outcome(result)
    summary = one_line(result.stderr)
    assert (
        "1 customer would be left out of the report with --on-invalid quarantine, because its "
        "row in customers is invalid: C2. 2 rows of other tables that name it would be set "
        "aside as well." in summary
    )


@pytest.mark.parametrize("partitions", ["1", "2"])
def test_line_after_quoted_line_break(tmp_path: Path, partitions: str) -> None:
    """A quoted value with a line break makes its row take two lines of the CSV file. Site
    names are not read, so they may hold line breaks."""
    sites = [
        site("S3", customer="C1", site_name="North Campus\nBuilding 2"),
        site("S4", customer="C1"),
        site("S5", customer=None),
    ]
    drop = write_drop(tmp_path, **merge_tables(GOOD_TABLES, {"sites": sites}))
    lines = (drop / "sites.csv").read_text(encoding="utf-8").splitlines()
    bad_line = next(number for number, line in enumerate(lines, 1) if line.startswith("S5,"))
    output_dir = tmp_path / "out"
    arguments = ["--output-dir", output_dir, *FULL_OPTIONS, "--partitions", partitions]

    failed = run_cli("report", drop, *arguments)
    quarantined = run_cli("report", drop, *arguments, "--on-invalid", "quarantine")

    assert failed.returncode == 1, outcome(failed)
    assert f"null (line {bad_line})" in one_line(failed.stderr)
    assert quarantined.returncode == 0, outcome(quarantined)
    rejects_text = (output_dir / QUARANTINE_REJECTS_NAME).read_text(encoding="utf-8")
    rejects = list(csv.DictReader(io.StringIO(rejects_text)))
    assert [row["row"] for row in rejects] == [f"line {bad_line}"]


# validate: findings only, never a file


def test_validate_good_drop(tmp_path: Path) -> None:
    drop = good_drop(tmp_path)
    before = written_files(tmp_path)

    result = run_cli("validate", drop, cwd=tmp_path)

    assert result.returncode == 0, outcome(result)
    assert written_files(tmp_path) == before


def test_validate_bad_drop(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, users=[user("emma.holtom"), user(" EMMA.Holtom ")])
    before = written_files(tmp_path)

    result = run_cli("validate", drop, cwd=tmp_path)

    assert result.returncode == 1, outcome(result)
    message = one_line(result.stderr)
    assert "users.csv" in message
    assert "unique_key" in message
    assert "'emma.holtom'" in message
    assert written_files(tmp_path) == before


# Output that cannot be written


def test_output_dir_is_file(tmp_path: Path) -> None:
    output_file = tmp_path / "out"
    output_file.write_text("not a folder\n", encoding="utf-8")

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_file, *FULL_OPTIONS)

    assert result.returncode == 2, outcome(result)
    assert str(output_file) in one_line(result.stderr)
    assert "Pass a folder, or a path that does not exist yet" in one_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert output_file.read_text(encoding="utf-8") == "not a folder\n"


def test_output_dir_empty_rejected(tmp_path: Path) -> None:
    """An empty --output-dir would write to the current folder without saying so."""
    result = run_cli("report", good_drop(tmp_path), "--output-dir", "", *FULL_OPTIONS, cwd=tmp_path)

    assert result.returncode == 2, outcome(result)
    assert "argument --output-dir: is empty; pass a folder" in one_line(result.stderr)
    assert not list(tmp_path.glob("vlf_*.csv"))


def test_output_dir_under_file(tmp_path: Path) -> None:
    # Tests may run as root, which writes through permission bits, so a read-only folder
    # would not make the write fail. A folder path under a regular file fails for any user.
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    output_dir = blocker / "out"

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, *FULL_OPTIONS)

    assert result.returncode == 2, outcome(result)
    message = one_line(result.stderr)
    assert (
        f"--output-dir '{output_dir}' cannot be made, because '{blocker}' is a file, not a "
        "folder. Pass a folder, or a path that does not exist yet."
    ) in message
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("vlf_*.csv"))


def test_output_dir_checked_before_drop(tmp_path: Path) -> None:
    """A long run cannot end at a folder it cannot write to: the folder is checked first."""
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    drop = write_drop(tmp_path, users=[user("anna"), user("  ")])

    result = run_cli("report", drop, "--output-dir", blocker / "out", *FULL_OPTIONS)

    assert result.returncode == 2, outcome(result)
    assert "is a file, not a folder" in one_line(result.stderr)
    assert "userid" not in result.stderr


def test_run_without_output_removes_folders(tmp_path: Path) -> None:
    """A run that writes nothing removes the output folders it created, and keeps one it found."""
    drop = write_drop(tmp_path, users=[user("anna"), user("  ")])
    created = tmp_path / "new" / "out"
    found = tmp_path / "found"
    found.mkdir()

    for output_dir in (created, found):
        result = run_cli("report", drop, "--output-dir", output_dir, *FULL_OPTIONS)
        assert result.returncode == 1, outcome(result)

    assert not (tmp_path / "new").exists()
    assert found.is_dir()


def test_failed_write_leaves_no_partial_report(tmp_path: Path) -> None:
    # A folder where the report file should go: the final rename fails after the report text
    # was written to a temporary file, which must not be left behind.
    output_dir = tmp_path / "out"
    (output_dir / FULL_REPORT_NAME).mkdir(parents=True)

    result = run_cli("report", good_drop(tmp_path), "--output-dir", output_dir, *FULL_OPTIONS)

    assert result.returncode == 3, outcome(result)
    assert FULL_REPORT_NAME in one_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert written_files(output_dir) == [FULL_REPORT_NAME]
    assert (output_dir / FULL_REPORT_NAME).is_dir()


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_interrupt_while_starting(tmp_path: Path, delay: float) -> None:
    """A Ctrl-C while the console command imports Polars and pandera prints no traceback."""
    console = "from vlf_frames.console import run; run()"
    drop_dir = good_drop(tmp_path)
    # On a loaded machine the signal may come while Python itself starts, before any code of
    # the package runs, or after the run has ended, so that it reaches no process. Such a try is
    # repeated with the delay doubled or halved.
    for attempt in range(8):
        output_dir = tmp_path / f"out{attempt}"
        arguments = ["report", drop_dir, "--output-dir", output_dir, *FULL_OPTIONS]
        process = subprocess.Popen(
            [sys.executable, "-c", console, *map(str, arguments)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_environment(),
        )
        time.sleep(delay)
        finished_first = process.poll() is not None
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate()
        in_python_start = "Traceback" in stderr and "vlf_frames" not in stderr
        if finished_first:
            delay /= 2
        elif in_python_start:
            delay *= 2
        else:
            break

    assert not finished_first
    assert not in_python_start
    assert "Traceback" not in stderr
    # Before Python has set its own handler, the signal ends the process without output.
    assert process.returncode in (128 + signal.SIGINT, -signal.SIGINT), stderr


# Runs the console command, and sends the process a signal while Python imports pandera, which
# the commands import after Polars: SIGINT, or SIGTERM when the first argument is "term". With
# "again", a second SIGINT comes while the command writes its message on the way out.
INTERRUPT_DURING_IMPORT = """
import os, signal, sys
from importlib.abc import MetaPathFinder

SIGNAL = signal.SIGTERM if sys.argv[1] == "term" else signal.SIGINT

class InterruptOnImport(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pandera":
            os.kill(os.getpid(), SIGNAL)
        return None

class InterruptOnWrite:
    def __init__(self, stream):
        self.stream = stream
    def write(self, text):
        os.kill(os.getpid(), signal.SIGINT)
        return self.stream.write(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)

sys.meta_path.insert(0, InterruptOnImport())
if sys.argv.pop(1) == "again":
    sys.stderr = InterruptOnWrite(sys.stderr)
from vlf_frames.console import run
run()
"""


@pytest.mark.parametrize(
    ("signals", "signum", "message"),
    [
        ("once", signal.SIGINT, "Interrupted"),
        ("again", signal.SIGINT, "Interrupted"),
        ("term", signal.SIGTERM, "Terminated by SIGTERM"),
    ],
)
def test_stop_during_import_ends_run(
    tmp_path: Path, signals: str, signum: int, message: str
) -> None:
    """A Ctrl-C or SIGTERM while the commands are imported stops the run before it reads the
    drop, and a second Ctrl-C cannot change how it ends."""
    output_dir = tmp_path / "out"
    arguments = ["report", good_drop(tmp_path), "--output-dir", output_dir, *FULL_OPTIONS]

    result = subprocess.run(
        [sys.executable, "-c", INTERRUPT_DURING_IMPORT, signals, *map(str, arguments)],
        capture_output=True,
        text=True,
        env=cli_environment(),
        check=False,
    )

    assert result.returncode == 128 + signum, outcome(result)
    assert result.stderr == f"error: {message}; nothing was written.\n"
    assert not output_dir.exists()


# Ends a run with ``--help``, then sends itself a SIGINT, as a Ctrl-C while the process exits.
HELP_THEN_INTERRUPT = """
import os, signal, sys
from vlf_frames import cli
sys.argv = ["vlf-frames", "--help"]
try:
    cli.run()
except SystemExit as end:
    os.kill(os.getpid(), signal.SIGINT)
    print("exit code", end.code, file=sys.stderr)
"""


def test_interrupt_after_help_keeps_exit_code() -> None:
    """A Ctrl-C after the help has been printed leaves the exit code of ``--help`` alone."""
    result = subprocess.run(
        [sys.executable, "-c", HELP_THEN_INTERRUPT],
        capture_output=True,
        text=True,
        env=cli_environment(),
        check=False,
    )

    assert result.stdout.startswith("usage: vlf-frames"), result.stdout
    assert result.stderr == "exit code 0\n"
    assert result.returncode == 0


# Prints the allocator settings that the console command has left in the environment of the
# process, after Polars has been imported.
ALLOCATOR_PROBE = """
import os, sys
from vlf_frames import console
sys.argv = ["vlf-frames", "--version"]
try:
    console.run()
except SystemExit:
    pass
assert "polars" in sys.modules
print(os.environ.get(console.ALLOCATOR_VARIABLE))
"""


def test_allocator_settings_applied_before_polars() -> None:
    """The console command sets Polars' allocator to keep freed pages before Polars loads."""
    environment = cli_environment()
    environment.pop(ALLOCATOR_VARIABLE, None)
    result = subprocess.run(
        [sys.executable, "-c", ALLOCATOR_PROBE],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Polars puts its own settings first, and the last setting of an option takes effect.
    effective = result.stdout.splitlines()[-1].split(",")
    assert effective[-2:] == ALLOCATOR_SETTINGS.split(",")


def test_allocator_settings_of_user_kept(tmp_path: Path) -> None:
    """A user's own allocator settings reach Polars' jemalloc unchanged, and the run works."""
    drop_dir = good_drop(tmp_path)
    output_dir = tmp_path / "out"
    arguments = ["report", drop_dir, "--output-dir", output_dir, *FULL_OPTIONS]
    result = subprocess.run(
        [sys.executable, "-m", "vlf_frames", *map(str, arguments)],
        capture_output=True,
        text=True,
        env=cli_environment({ALLOCATOR_VARIABLE: "stats_print:true"}),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert written_files(output_dir) == [FULL_REPORT_NAME]
    if "opt.dirty_decay_ms" not in result.stderr:
        pytest.skip("this build of Polars does not use jemalloc")
    # jemalloc prints its statistics at exit because of the user's setting, and its decay
    # times are Polars' own, not the console command's.
    assert "opt.stats_print: true" in result.stderr
    assert "opt.dirty_decay_ms: 5000 " not in result.stderr
