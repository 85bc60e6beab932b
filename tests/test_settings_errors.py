"""Reading settings files, and the errors for invalid settings and options.

A rejected value must stop the command with exit code 2 and a message that names the file,
variable or option, the value and the fix, never with an internal error. The CLI runs in a
subprocess.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_runner import (
    FULL_REPORT_NAME,
    finish_cli,
    one_line,
    outcome,
    run_as_other_user,
    run_cli,
    start_cli,
)

from vlf_frames.commands.report import partition_count
from vlf_frames.errors import ConfigError
from vlf_frames.settings import read_settings_file, resolve_settings

SAMPLE_DROP = Path(__file__).resolve().parent.parent / "data" / "sample"

# Every setting, as the lines of a TOML settings file. Their report is FULL_REPORT_NAME.
SETTINGS_TOML = """\
platform_id = "5e54067d116fa10046313224"
provider_name = "CS-P"
software_version = "21.1"
platform_version = "21.1.0-1630252949"
deployment_mode = "Provider with HCMF"
host_name = "voss01"
date_time = "2026-01-31 23:59"
"""


def settings_without(key: str) -> str:
    """Return SETTINGS_TOML without the line of ``key``."""
    return "".join(
        line for line in SETTINGS_TOML.splitlines(keepends=True) if not line.startswith(key)
    )


@dataclass(frozen=True)
class SettingsCase:
    """A report run with the settings file ``config`` (bytes) and the environment ``env``.

    ``named`` lists what the message must contain, ``not_named`` what it must not.
    """

    named: tuple[str, ...]
    config: bytes
    not_named: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    options: tuple[str, ...] = ()


REJECTED_CASES = {
    "config-latin-1": SettingsCase(
        (
            "settings.toml' is not UTF-8 text",
            "the byte 0xFC at line 3, column 15 is invalid",
            "Save the file as UTF-8",
        ),
        # The ü of Zürich in Latin-1, on the third line, after two lines of ASCII.
        config=b'platform_id = "5e54067d116fa10046313224"\nprovider_name = "CS-P"\n'
        + 'host_name = "Zürich"\n'.encode("latin-1"),
    ),
    "config-date-time-unquoted": SettingsCase(
        (
            "date_time must be a string, found the date-time 2026-01-31 23:59:00",
            'for example date_time = "2026-01-31 23:59"',
        ),
        not_named=("software_version", "datetime.datetime"),
        config=(settings_without("date_time") + "date_time = 2026-01-31 23:59:00\n").encode(),
    ),
    "config-host-name-integer": SettingsCase(
        (
            "host_name must be a string, found the integer 1",
            'for example host_name = "voss01"',
        ),
        not_named=("software_version",),
        config=(settings_without("host_name") + "host_name = 1\n").encode(),
    ),
    "environment-provider-name-blank": SettingsCase(
        (
            "provider_name is blank: environment variable VLF_PROVIDER_NAME is '   '",
            "Set VLF_PROVIDER_NAME to a value or unset it",
        ),
        not_named=("Missing",),
        config=SETTINGS_TOML.encode(),
        env=(("VLF_PROVIDER_NAME", "   "),),
    ),
    "option-host-name-blank": SettingsCase(
        (
            "host_name is blank: option --host-name is ' '",
            "leave the option out to use VLF_HOST_NAME or the settings file",
        ),
        not_named=("Missing",),
        config=SETTINGS_TOML.encode(),
        options=("--host-name", " "),
    ),
    "config-provider-name-blank": SettingsCase(
        ("provider_name is blank in settings file", "settings.toml': found '\\t'"),
        not_named=("Missing",),
        config=(settings_without("provider_name") + 'provider_name = "\\t"\n').encode(),
    ),
}


@pytest.fixture(scope="module")
def rejected_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[str, int, str]]:
    """Run ``vlf-frames report`` with every rejected settings case, all processes at once.

    Returns the stderr, exit code and failure description of each case.
    """
    started = {}
    for case_id, case in REJECTED_CASES.items():
        root = tmp_path_factory.mktemp(case_id)
        config = root / "settings.toml"
        config.write_bytes(case.config)
        arguments = [
            "report",
            SAMPLE_DROP,
            "--output-dir",
            root / "out",
            "--config",
            config,
            *case.options,
        ]
        started[case_id] = start_cli(arguments, env=dict(case.env), cwd=root)
    runs = {}
    for case_id, process in started.items():
        result = finish_cli(process)
        runs[case_id] = (result.stderr, result.returncode, outcome(result))
    return runs


@pytest.mark.parametrize("case_id", REJECTED_CASES)
def test_rejected_settings_exit_2(
    rejected_runs: dict[str, tuple[str, int, str]], case_id: str
) -> None:
    case = REJECTED_CASES[case_id]
    stderr, returncode, description = rejected_runs[case_id]
    # one_line would turn a value of several spaces into one, so only line breaks are joined.
    message = stderr.replace("\n", " ")

    assert returncode == 2, description
    assert "Traceback" not in stderr
    assert "Internal error" not in message
    for text in case.named:
        assert text in message, description
    for text in case.not_named:
        assert text not in message, description


def test_config_folder_named(tmp_path: Path) -> None:
    result = run_cli("report", SAMPLE_DROP, "--output-dir", tmp_path / "out", "--config", tmp_path)

    assert result.returncode == 2, outcome(result)
    assert "Traceback" not in result.stderr
    message = one_line(result.stderr)
    assert f"Settings file {str(tmp_path)!r} is a folder" in message
    assert "Pass the path of a TOML file with --config" in message


def test_unreadable_config_exit_2(shared_root: Path) -> None:
    config = shared_root / "settings.toml"
    config.write_text(SETTINGS_TOML, encoding="utf-8")
    config.chmod(0)
    drop = shared_root / "drop"
    shutil.copytree(SAMPLE_DROP, drop)
    output_dir = shared_root / "out"

    result = run_as_other_user(
        "report", drop, "--output-dir", output_dir, "--config", config, home=shared_root
    )

    assert result.returncode == 2, outcome(result)
    assert "Traceback" not in result.stderr
    message = one_line(result.stderr)
    assert f"Settings file {str(config)!r} cannot be read: permission denied" in message
    assert "read access" in message


def test_permission_denied_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(SETTINGS_TOML, encoding="utf-8")

    def deny(path: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(Path, "read_bytes", deny)

    with pytest.raises(ConfigError) as raised:
        read_settings_file(config)
    assert "cannot be read: permission denied" in str(raised.value)
    assert str(config) in str(raised.value)


def test_folder_permission_error_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows raises PermissionError, not IsADirectoryError, when a folder is opened.
    def deny(path: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(Path, "read_bytes", deny)

    with pytest.raises(ConfigError) as raised:
        read_settings_file(tmp_path)
    assert f"Settings file {str(tmp_path)!r} is a folder" in str(raised.value)


@pytest.mark.skipif(sys.platform == "win32", reason="the message is Linux's and macOS's")
def test_other_os_error_named(tmp_path: Path) -> None:
    # A path through a regular file fails with ENOTDIR.
    config = tmp_path / "settings.toml"
    config.write_text(SETTINGS_TOML, encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        read_settings_file(config / "settings.toml")
    assert "cannot be read: Not a directory" in str(raised.value)
    assert "--config" in str(raised.value)


def test_byte_order_mark_skipped(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_bytes(b"\xef\xbb\xbf" + SETTINGS_TOML.encode())
    output_dir = tmp_path / "out"

    result = run_cli("report", SAMPLE_DROP, "--output-dir", output_dir, "--config", config, "-q")

    assert result.returncode == 0, outcome(result)
    assert sorted(path.name for path in output_dir.iterdir()) == [FULL_REPORT_NAME]
    first_line = (output_dir / FULL_REPORT_NAME).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "#Platform ID=5e54067d116fa10046313224"


def test_byte_order_mark_alone_read(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_bytes(b"\xef\xbb\xbf")

    assert read_settings_file(config) == {}


def test_not_utf8_after_byte_order_mark(tmp_path: Path) -> None:
    # The column counts characters of the line, without the byte-order mark.
    config = tmp_path / "settings.toml"
    config.write_bytes(b'\xef\xbb\xbfhost_name = "\xc3\xa9\xff"\n')

    with pytest.raises(ConfigError) as raised:
        read_settings_file(config)
    assert "the byte 0xFF at line 1, column 15 is invalid" in str(raised.value)


@pytest.mark.parametrize(
    ("toml_value", "found"),
    [
        ("true", "found the boolean true."),
        ("21", "found the integer 21."),
        ("21.10", "found the float 21.1."),
        ("2026-01-31", "found the date 2026-01-31."),
        ("23:59:00", "found the time 23:59:00."),
        ("2026-01-31T23:59:00Z", "found the date-time 2026-01-31 23:59:00+00:00."),
        ('["21.1"]', "found an array."),
        ('{ major = "21" }', "found a table."),
    ],
)
def test_value_not_string_named(tmp_path: Path, toml_value: str, found: str) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(f"software_version = {toml_value}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        read_settings_file(config)
    message = str(raised.value)
    assert f"software_version must be a string, {found}" in message
    assert message.endswith('Quote it, for example software_version = "21.1".')


def test_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    # An empty VLF_ variable leaves the settings file's value in place.
    config = tmp_path / "settings.toml"
    config.write_text(SETTINGS_TOML, encoding="utf-8")
    output_dir = tmp_path / "out"

    result = run_cli(
        "report",
        SAMPLE_DROP,
        "--output-dir",
        output_dir,
        "--config",
        config,
        "-q",
        env={"VLF_PROVIDER_NAME": ""},
    )

    assert result.returncode == 0, outcome(result)
    assert sorted(path.name for path in output_dir.iterdir()) == [FULL_REPORT_NAME]


@pytest.mark.parametrize(
    ("now", "from_file", "warned"),
    [
        (datetime(2026, 4, 1, tzinfo=UTC), True, True),
        (datetime(2025, 12, 1, tzinfo=UTC), True, True),
        (datetime(2026, 2, 20, tzinfo=UTC), True, False),
        (datetime(2026, 4, 1, tzinfo=UTC), False, False),
    ],
)
def test_stale_file_date_time_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, now: datetime, from_file: bool, warned: bool
) -> None:
    """A date_time left in the settings file would date every later report the same."""
    config = tmp_path / "settings.toml"
    config.write_text(SETTINGS_TOML if from_file else settings_without("date_time"), "utf-8")
    options = {} if from_file else {"date_time": "2026-01-31 23:59"}

    with caplog.at_level(logging.WARNING):
        settings = resolve_settings(options, config_file=config, environ={}, now=now)

    assert settings.date_time == datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    warnings = [record.getMessage() for record in caplog.records]
    if warned:
        days = abs(now - settings.date_time).days
        side = "before" if settings.date_time < now else "after"
        assert warnings == [
            f"date_time 2026-01-31 23:59 from settings file '{config}' is {days} days {side} "
            "this run, and every run with this file writes a report of that time. Remove "
            "date_time from the file to use the current time, or pass --date-time."
        ]
    else:
        assert warnings == []


def test_blank_and_missing_both_named() -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_settings({}, environ={"VLF_PROVIDER_NAME": " ", "VLF_HOST_NAME": "voss01"})
    message = str(raised.value)
    assert message.startswith("provider_name is blank: environment variable VLF_PROVIDER_NAME")
    assert "Missing settings: platform_id, software_version, platform_version, " in message
    assert "provider_name," not in message
    assert "host_name" not in message


@pytest.mark.parametrize("command", ["report", "validate"])
def test_quiet_help_keeps_warnings(command: str) -> None:
    result = run_cli(command, "--help")

    assert result.returncode == 0, outcome(result)
    help_text = one_line(result.stdout)
    assert "-q, --quiet print warnings and errors only" in help_text
    assert "print errors only" not in help_text


@pytest.mark.parametrize("command", ["report", "validate"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "1025",
            "1025 is more than the maximum of 1024. Pass 1024 or fewer, or 0 to choose one part "
            "per 64 MiB of the drop's files.",
        ),
        ("100000", "100000 is more than the maximum of 1024."),
        ("-1", "-1 is negative: pass a whole number from 0 to 1024."),
        ("many", "invalid value 'many': pass a whole number from 0 to 1024."),
    ],
)
def test_invalid_partitions_exit_2(tmp_path: Path, command: str, value: str, expected: str) -> None:
    arguments: list[str | Path] = [command, SAMPLE_DROP, f"--partitions={value}"]
    if command == "report":
        arguments += ["--output-dir", tmp_path / "out", "--config", tmp_path / "missing.toml"]

    result = run_cli(*arguments)

    assert result.returncode == 2, outcome(result)
    assert "Traceback" not in result.stderr
    assert f"argument --partitions: {expected}" in one_line(result.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["0", "1", "1024", " 7 "])
def test_partitions_in_range_parsed(text: str) -> None:
    assert partition_count(text) == int(text)


def test_repeated_key_gets_no_quoting_hint(tmp_path: Path) -> None:
    """Quoting fixes an unquoted value, not a key given twice."""
    config = tmp_path / "settings.toml"
    config.write_text(SETTINGS_TOML + 'provider_name = "CS-P"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        read_settings_file(config)

    assert "Cannot overwrite a value" in str(raised.value)
    assert "quote it" not in str(raised.value)
