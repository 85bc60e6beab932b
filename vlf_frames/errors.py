"""Exceptions of vlf-frames and the process exit codes they map to."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``vlf-frames`` command."""

    OK = 0
    INVALID_INPUT = 1
    USAGE = 2
    IO = 3
    INTERNAL = 4


class VlfError(Exception):
    """Base class of every error that vlf-frames reports to the user without a traceback."""

    exit_code: ExitCode = ExitCode.INTERNAL


class ConfigError(VlfError):
    """A command-line option, environment variable or settings file value is invalid."""

    exit_code = ExitCode.USAGE


class DropError(VlfError):
    """The inventory drop cannot be read: a table is missing, unreadable or stored twice."""

    exit_code = ExitCode.INVALID_INPUT


class InvalidInputError(VlfError):
    """Validation found invalid rows and the run was asked not to set them aside."""

    exit_code = ExitCode.INVALID_INPUT


class OutputError(VlfError):
    """The report or rejects file cannot be written."""

    exit_code = ExitCode.IO
