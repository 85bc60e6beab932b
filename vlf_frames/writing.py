"""Writing of the report and rejects files; every write of output files lives here."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import polars as pl

from vlf_frames import stopping
from vlf_frames.errors import ConfigError, OutputError


def report_csv_text(report: pl.DataFrame, metadata_lines: list[str]) -> str:
    """Return the report file's text: metadata lines, header and rows, ``\\n`` line ends.

    Booleans are written ``True``/``False``; quoting follows RFC 4180 and is used only where a
    value needs it.
    """
    booleans = [name for name, dtype in report.schema.items() if dtype == pl.Boolean]
    printable = report.with_columns(
        pl.when(pl.col(name)).then(pl.lit("True")).otherwise(pl.lit("False")).alias(name)
        for name in booleans
    )
    buffer = io.StringIO()
    for line in metadata_lines:
        buffer.write(line + "\n")
    rows = printable.write_csv(line_terminator="\n", quote_style="necessary").split("\n")
    buffer.write("\n".join(metadata_safe_row(row) for row in rows))
    return buffer.getvalue()


def metadata_safe_row(row: str) -> str:
    """Quote the pkid of a report row that starts with "#", so that the row does not read as a
    metadata line. Other rows are returned unchanged.

    write_csv left such a pkid unquoted, so it contains no comma and ends at the first one.
    """
    if not row.startswith("#"):
        return row
    pkid, rest = row.split(",", 1)
    return f'"{pkid}",{rest}'


def prepare_output_dir(folder: Path) -> list[Path]:
    """Create the output folder if it is missing and check that a file can be made in it, so
    that a long run does not end at a folder it cannot write to.

    Return the folders it created, the deepest first.
    """
    created: list[Path] = []
    try:
        created = missing_folders(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        remove_empty_folders(created)
        raise OutputError(
            f"Cannot write to the output folder {str(folder)!r}: {error.strerror}. Pass an "
            "--output-dir that is a folder you can write to, or that can be created."
        ) from error
    return created


def require_folder_path(folder: Path, name: str, advice: str) -> None:
    """Raise ``ConfigError`` when ``folder``, or a folder above it, exists and is a file, so
    that no folder can be made there. ``name`` names the option, and ``advice`` ends the
    message."""
    blocker = file_in_path(folder)
    if blocker is None:
        return
    if blocker == folder:
        problem = "exists and is not a folder"
    else:
        problem = f"cannot be made, because {str(blocker)!r} is a file, not a folder"
    raise ConfigError(f"{name} {str(folder)!r} {problem}. {advice}")


def file_in_path(folder: Path) -> Path | None:
    """Return the deepest of ``folder`` and the folders above it that exists, when it is not
    a folder; else None. A path that cannot be examined gives None, and the write that
    follows reports its error."""
    for path in (folder, *folder.parents):
        try:
            if path.exists():
                return None if path.is_dir() else path
        except OSError:
            return None
    return None


def missing_folders(folder: Path) -> list[Path]:
    """Return the folders that making ``folder`` would create, the deepest first."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove the given folders, the deepest first, up to the first one that is not empty or
    is gone. A second signal cannot cut this short."""
    with stopping.shielded():
        for folder in folders:
            try:
                folder.rmdir()
            except OSError:
                return


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write UTF-8 text (no BOM) to ``path`` through a temporary file in the same folder.

    The rename is atomic on POSIX file systems, so the file is either absent, the old file or
    the complete new one, even when the run fails or is interrupted. The file gets the usual
    permissions under the process umask, or owner-only ones when ``private`` is set.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise OutputError(
            f"Cannot write to folder {str(path.parent)!r}: {error.strerror}. Pass a folder you "
            "can write to, or one that can be created."
        ) from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates the file readable by its owner only.
        os.chmod(temporary, 0o600 if private else 0o666 & ~current_umask())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(
            f"Cannot write {str(path)!r}: {error.strerror}. Move away a folder of that name, "
            "check that its folder has room and write permission, or pass another --output-dir."
        ) from error
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    """Write the rejected rows, readable by the owner only: they hold names and user ids."""
    text = rejects.write_csv(line_terminator="\n", quote_style="necessary")
    write_atomically(path, text, private=True)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
