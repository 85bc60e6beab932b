"""Run the ``vlf-frames`` command line in a subprocess, for the tests where the CLI is the point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

CLI_COMMAND = (sys.executable, "-m", "vlf_frames.cli")

# The platform settings of a full report call, as command-line options.
# fmt: off
FULL_OPTIONS = (
    "--date-time", "2026-01-31 23:59",
    "--provider-name", "CS-P",
    "--host-name", "voss01",
    "--platform-id", "5e54067d116fa10046313224",
    "--software-version", "21.1",
    "--platform-version", "21.1.0-1630252949",
    "--deployment-mode", "Provider with HCMF",
)
# fmt: on
FULL_REPORT_NAME = "vlf_CS-P_voss01_anonymous_2026-01-31_2359.csv"


def cli_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a CLI run: no ``VLF_*`` settings of the caller, plain wide output.

    rich wraps lines at the terminal width, which ``COLUMNS`` sets when output is not a terminal.
    ``FORCE_COLOR`` or ``TTY_COMPATIBLE`` would make it write escape codes into the output.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("VLF_") and name not in ("FORCE_COLOR", "TTY_COMPATIBLE")
    }
    environment["COLUMNS"] = "250"
    # The command runs from the repository's sources, which have no compiled files where
    # PYTHONDONTWRITEBYTECODE is set. Each run then compiled them again, which took about
    # 0.08 s of CPU time of every start.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.update(extra or {})
    return environment


def start_cli(
    arguments: Sequence[str | Path],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[str]:
    """Start ``vlf-frames ARGUMENTS`` without waiting, with stdout and stderr captured."""
    return subprocess.Popen(
        [*CLI_COMMAND, *map(str, arguments)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=cli_environment(env),
        cwd=cwd,
    )


def finish_cli(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def stop_after_line(
    arguments: Sequence[str | Path], marker: str, signum: int
) -> subprocess.CompletedProcess[str]:
    """Start ``vlf-frames ARGUMENTS``, send ``signum`` once a line of its stderr contains
    ``marker``, and return the finished run with all of its stderr."""
    process = start_cli(arguments)
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if marker in line:
            break
    process.send_signal(signum)
    result = finish_cli(process)
    result.stderr = "".join(lines) + result.stderr
    return result


def run_cli(
    *arguments: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``vlf-frames ARGUMENTS`` to completion and return its exit code and output."""
    return finish_cli(start_cli(arguments, env, cwd))


def outcome(result: subprocess.CompletedProcess[str]) -> str:
    """Return a run's exit code, stdout and stderr, as the message of a failed assert."""
    return f"exit code {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def one_line(text: str) -> str:
    """Join text that rich wrapped over several lines, so a phrase can be searched for."""
    return " ".join(text.split())


# A user and group id that owns none of the test's files.
OTHER_USER_ID = "65534"


def run_as_other_user(*arguments: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run ``vlf-frames ARGUMENTS`` as a user that owns none of the files. Under root, whom
    permissions do not stop, that is user 65534; otherwise it is the current user."""
    command = list(CLI_COMMAND)
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise RuntimeError("setpriv (util-linux) is needed to run as another user under root")
        user = OTHER_USER_ID
        command = [setpriv, f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(
        [*command, *map(str, arguments)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=cli_environment({"HOME": str(home)}),
        check=False,
    )
