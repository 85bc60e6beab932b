"""Run settings: the platform metadata of the report, from a TOML file, the environment and
command-line options, in increasing order of precedence."""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from vlf_frames import AUDIT_VERSION
from vlf_frames.errors import ConfigError

log = logging.getLogger(__name__)

# A date_time in a settings file further than this from the time of the run is likely left
# over from an earlier month.
STALE_FILE_DAYS = 31

ENV_PREFIX = "VLF_"
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
# Metadata settings, in the order of the report's metadata lines, with their line keys.
METADATA_KEYS = {
    "platform_id": "Platform ID",
    "provider_name": "Provider Name",
    "software_version": "Software Version",
    "platform_version": "Platform Version",
    "deployment_mode": "Deployment Mode",
}
SETTING_NAMES = (*METADATA_KEYS, "host_name", "date_time")
# Example values of each setting, for messages. They are the settings of the sample drop.
SETTING_EXAMPLES = {
    "platform_id": "5e54067d116fa10046313224",
    "provider_name": "CS-P",
    "software_version": "21.1",
    "platform_version": "21.1.0-1630252949",
    "deployment_mode": "Provider with HCMF",
    "host_name": "voss01",
    "date_time": "2026-01-31 23:59",
}
# The TOML types that tomllib returns as these Python types, other than string and boolean.
TOML_SCALAR_TYPES = (
    (int, "integer"),
    (float, "float"),
    (datetime, "date-time"),
    (date, "date"),
    (time, "time"),
)
UTF8_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
# Characters that cannot stand in a file name: path separators, NUL, control characters and
# the Unicode line and paragraph separators, which some readers take as line breaks.
UNSAFE_FILE_NAME_CHARACTERS = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class RunSettings:
    platform_id: str
    provider_name: str
    software_version: str
    platform_version: str
    deployment_mode: str
    host_name: str
    date_time: datetime  # UTC, whole minutes

    def metadata_lines(self) -> list[str]:
        """Return the report's ``#Key=Value`` lines in their fixed order."""
        lines = [
            f"#{line_key}={CONTROL_CHARACTERS.sub('-', getattr(self, name))}"
            for name, line_key in METADATA_KEYS.items()
        ]
        lines.append(f"#Date Time={self.date_text()} {self.date_time:%H:%M}")
        lines.append(f"#Audit Version={AUDIT_VERSION}")
        return lines

    def date_text(self) -> str:
        """Return the date as YYYY-MM-DD with a four-digit year.

        On Linux, ``strftime("%Y")`` writes the year 0026 as 26.
        """
        return f"{self.date_time.year:04d}-{self.date_time:%m-%d}"

    def file_stem(self, kind: str) -> str:
        """Return ``vlf_<provider>_<host>_<kind>_<YYYY-MM-DD_HHMM>``, unsafe characters as '-'."""
        stamp = f"{self.date_text()}_{self.date_time:%H%M}"
        name = f"vlf_{self.provider_name}_{self.host_name}_{kind}_{stamp}"
        return UNSAFE_FILE_NAME_CHARACTERS.sub("-", name)

    @property
    def report_file_name(self) -> str:
        return self.file_stem("anonymous") + ".csv"

    @property
    def rejects_file_name(self) -> str:
        return self.file_stem("rejects") + ".csv"


def parse_date_time(text: str, source: str) -> datetime:
    invalid = ConfigError(
        f"Invalid date_time {text!r} from {source}: expected YYYY-MM-DD HH:MM in UTC, "
        "for example 2026-01-31 23:59."
    )
    # strptime accepts missing leading zeros, which the metadata line must not carry.
    if not DATE_TIME_PATTERN.fullmatch(text.strip()):
        raise invalid
    try:
        parsed = datetime.strptime(text.strip(), DATE_TIME_FORMAT)
    except ValueError:
        raise ConfigError(
            f"Invalid date_time {text!r} from {source}: it has the form YYYY-MM-DD HH:MM, but "
            "no such date or time exists. Give a real date and time in UTC, for example "
            "2026-01-31 23:59."
        ) from None
    return parsed.replace(tzinfo=UTC)


def read_settings_file(path: Path) -> dict[str, str]:
    """Read the settings of a TOML file and check that each key is known and each value a string.

    A leading UTF-8 byte-order mark, which some Windows editors write, is skipped. Raises
    ``ConfigError``, naming the file, when it cannot be read, is not UTF-8 or is not valid TOML.
    """
    text = decode_settings_file(path, read_settings_bytes(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib of Python 3.11 reports an unquoted text value with these words. Other errors,
        # such as a repeated key, need another fix.
        unquoted = str(error).startswith(("Invalid value", "Expected newline"))
        hint = (
            ' Every value is text, so quote it, for example provider_name = "CS-P" and '
            'date_time = "2026-01-31 23:59".'
            if unquoted
            else ""
        )
        raise ConfigError(
            f"Settings file {str(path)!r} is not valid TOML: {error}.{hint}"
        ) from None
    unknown = sorted(set(data) - set(SETTING_NAMES))
    if unknown:
        keys = "an unknown key" if len(unknown) == 1 else "unknown keys"
        named = ", ".join(name + suggestion(name, SETTING_NAMES) for name in unknown)
        raise ConfigError(
            f"Settings file {str(path)!r} has {keys} {named}; "
            f"the known keys are {', '.join(SETTING_NAMES)}."
        )
    values = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"Settings file {str(path)!r}: {name} must be a string, found "
                f"{toml_value_text(value)}. {quoting_hint(name)}"
            )
        values[name] = value
    return values


def read_settings_bytes(path: Path) -> bytes:
    """Read the bytes of a settings file. Raises ``ConfigError`` with the cause and the fix
    when the file cannot be read."""
    name = repr(str(path))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Settings file {name} not found.") from None
    except IsADirectoryError:
        raise ConfigError(folder_message(name)) from None
    except PermissionError:
        # Windows raises PermissionError, not IsADirectoryError, for a folder. The test of
        # a path in a folder this user may not enter raises PermissionError as well.
        if is_folder(path):
            raise ConfigError(folder_message(name)) from None
        raise ConfigError(
            f"Settings file {name} cannot be read: permission denied. Give the user that runs "
            "vlf-frames read access to it, or pass a readable copy with --config."
        ) from None
    except OSError as error:
        raise ConfigError(
            f"Settings file {name} cannot be read: {error.strerror or error}. Check the path "
            "passed with --config."
        ) from None


def is_folder(path: Path) -> bool:
    """Return whether a path is a folder, and False where this user may not tell."""
    try:
        return path.is_dir()
    except OSError:
        return False


def folder_message(name: str) -> str:
    return f"Settings file {name} is a folder. Pass the path of a TOML file with --config."


def decode_settings_file(path: Path, data: bytes) -> str:
    """Decode the bytes of a settings file as UTF-8, without a leading byte-order mark.

    Some Windows editors write the mark, which tomllib rejects as an invalid statement on
    line 1. It carries no content, so dropping it loses nothing.
    """
    data = data.removeprefix(UTF8_BYTE_ORDER_MARK)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = text_position(data, error.start)
        raise ConfigError(
            f"Settings file {str(path)!r} is not UTF-8 text: the byte 0x{data[error.start]:02X} "
            f"at line {line}, column {column} is invalid. Save the file as UTF-8."
        ) from None


def text_position(data: bytes, offset: int) -> tuple[int, int]:
    """Return the line and column, both counted from 1, of the byte at ``offset``.

    The column counts characters, so the bytes before ``offset`` must be valid UTF-8.
    """
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8")) + 1
    return line, column


def toml_value_text(value: object) -> str:
    """Return the TOML type of a value that is not a string, with the value where it is short,
    such as "the date-time 2026-01-31 23:59:00"."""
    # bool is a subclass of int, and TOML_SCALAR_TYPES lists datetime before its base date.
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    for value_type, type_name in TOML_SCALAR_TYPES:
        if isinstance(value, value_type):
            return f"the {type_name} {value}"
    if isinstance(value, list):
        return "an array"
    return "a table"


def quoting_hint(name: str) -> str:
    """Return the fix for a value that is not a string: quote it, with an example for the key."""
    if name == "date_time":
        return (
            "Quote it in the form YYYY-MM-DD HH:MM, in UTC, for example "
            f'date_time = "{SETTING_EXAMPLES[name]}".'
        )
    return f'Quote it, for example {name} = "{SETTING_EXAMPLES[name]}".'


def is_utf8(text: str) -> bool:
    """Return whether text can be written as UTF-8. Python keeps the bytes of an argument or
    an environment variable that are not UTF-8 as lone surrogates, which cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def suggestion(name: str, known: Collection[str]) -> str:
    """Return " (did you mean X?)" for the known name closest to a misspelt one, or ""."""
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    return f" (did you mean {matches[0]}?)" if matches else ""


def check_environment_names(environ: Mapping[str, str], command_options: Collection[str]) -> None:
    """Raise ``ConfigError`` for a ``VLF_*`` environment variable that names no setting.

    Options such as --on-invalid are read from the command line only, so a variable such as
    VLF_ON_INVALID would otherwise be ignored silently. ``command_options`` are the names of
    the command's other options, such as ``on_invalid``, which the message then suggests.
    """
    known = {ENV_PREFIX + name.upper() for name in SETTING_NAMES}
    unknown = sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)
    if not unknown:
        return
    variables, them = ("variable", "it") if len(unknown) == 1 else ("variables", "them")
    named = ", ".join(name + suggestion(name, known) for name in unknown)
    message = (
        f"Unknown environment {variables} {named}: only "
        f"{', '.join(sorted(known))} are read. Unset {them}"
    )
    options = [
        "--" + option.replace("_", "-")
        for option in (name.removeprefix(ENV_PREFIX).lower() for name in unknown)
        if option in command_options
    ]
    if options:
        message += f", and pass {', '.join(options)} on the command line instead"
    raise ConfigError(message + ".")


def report_time(
    sources: Mapping[str, tuple[str, str]], file_source: str | None, now: datetime | None
) -> datetime:
    """Return the report time: the date_time setting, or else the current minute in UTC.

    A date_time from the settings file more than ``STALE_FILE_DAYS`` away from now gets a
    warning, because the file serves every monthly run.
    """
    current = (now or datetime.now(UTC)).astimezone(UTC)
    if "date_time" not in sources:
        return current.replace(second=0, microsecond=0)
    value, source = sources["date_time"]
    date_time = parse_date_time(value, source)
    days = abs(current - date_time).days
    if source == file_source and days > STALE_FILE_DAYS:
        log.warning(
            "date_time %s from %s is %d days %s this run, and every run with this file writes "
            "a report of that time. Remove date_time from the file to use the current time, "
            "or pass --date-time.",
            value,
            source,
            days,
            "before" if date_time < current else "after",
        )
    return date_time


def option_source(name: str) -> str:
    return f"option --{name.replace('_', '-')}"


def variable_source(name: str) -> str:
    return f"environment variable {ENV_PREFIX}{name.upper()}"


def blank_setting_message(name: str, value: str, source: str) -> str:
    """Return the error for a setting whose value is empty or white space only, naming where
    the value came from and how to change it there."""
    if source == option_source(name):
        return (
            f"{name} is blank: {source} is {value!r}. Pass a value, or leave the option out to "
            f"use {ENV_PREFIX}{name.upper()} or the settings file."
        )
    if source == variable_source(name):
        variable = ENV_PREFIX + name.upper()
        return (
            f"{name} is blank: {source} is {value!r}, and environment variables override the "
            f"settings file. Set {variable} to a value or unset it."
        )
    return f"{name} is blank in {source}: found {value!r}. Set it to a value."


def resolve_settings(
    options: Mapping[str, str | None],
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    command_options: Collection[str] = (),
) -> RunSettings:
    """Merge the settings file, ``VLF_*`` environment variables and options; options win.

    Without a date_time anywhere, the current time in UTC, truncated to the minute, is used.
    """
    environ = os.environ if environ is None else environ
    sources: dict[str, tuple[str, str]] = {}
    file_source = None
    if config_file is not None:
        file_source = f"settings file {str(config_file)!r}"
        for name, value in read_settings_file(config_file).items():
            sources[name] = (value, file_source)
    check_environment_names(environ, command_options)
    # An empty variable counts as unset. One of spaces only overrides the file and is then
    # rejected as blank, as a blank option is.
    for name in SETTING_NAMES:
        variable = ENV_PREFIX + name.upper()
        if environ.get(variable):
            sources[name] = (environ[variable], variable_source(name))
    for name in SETTING_NAMES:
        option = options.get(name)
        if option is not None:
            sources[name] = (option, option_source(name))

    for value, source in sources.values():
        if not is_utf8(value):
            raise ConfigError(
                f"The value {value!r} from {source} is not UTF-8 text. Pass it in UTF-8."
            )
    required = (*METADATA_KEYS, "host_name")
    problems = [
        blank_setting_message(name, *sources[name])
        for name in required
        if name in sources and not sources[name][0].strip()
    ]
    missing = [name for name in required if name not in sources]
    if missing:
        hints = "; ".join(
            f"--{name.replace('_', '-')} or {ENV_PREFIX}{name.upper()}" for name in missing
        )
        problems.append(
            f"Missing settings: {', '.join(missing)}. Set them with {hints}, or in a settings "
            "file passed with --config."
        )
    if problems:
        raise ConfigError(" ".join(problems))

    date_time = report_time(sources, file_source, now)
    return RunSettings(
        platform_id=sources["platform_id"][0],
        provider_name=sources["provider_name"][0],
        software_version=sources["software_version"][0],
        platform_version=sources["platform_version"][0],
        deployment_mode=sources["deployment_mode"][0],
        host_name=sources["host_name"][0],
        date_time=date_time,
    )
