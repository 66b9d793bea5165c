"""Publish a folder of files (a division's report, a hub-only page) all at once, or not at all.

The files are written into a hidden folder beside their place, flushed to disk, and only
then renamed into place, so a reader (a division, the delivery step) sees the previous
folder or the whole new one, never a half-written file: a full disk or a crash fails the
write before anything visible changes.  A folder whose files would not change is left
exactly as it is (same files, same modification times), so re-running a day rewrites
only the reports whose content changed.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path


class PublishError(Exception):
    """A folder could not be written: one line naming the folder and the cause."""


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """A CSV file's bytes (UTF-8, header row), for publish_folder."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _staging_names(final: Path) -> tuple[str, str]:
    return f".{final.name}.writing-", f".{final.name}.old-"


def _clear_leftovers(final: Path) -> None:
    """Hidden folders left by a run that was killed mid-write (runs on one hub take turns)."""
    prefixes = _staging_names(final)
    for entry in final.parent.iterdir():
        if entry.name.startswith(prefixes):
            shutil.rmtree(entry, ignore_errors=True)


def _unchanged(final: Path, files: Mapping[str, bytes]) -> bool:
    if not final.is_dir():
        return False
    present = {p.name for p in final.iterdir()}
    return present == set(files) and all((final / name).read_bytes() == data for name, data in files.items())


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())  # on disk before the rename makes it visible


def publish_folder(final: Path, files: Mapping[str, bytes]) -> bool:
    """Make ``final`` hold exactly ``files`` (name -> bytes).  True if anything changed.

    Raises PublishError, with the folder and the cause, if the files cannot be written;
    the folder is then as it was before.
    """
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _clear_leftovers(final)
        if _unchanged(final, files):
            return False
        writing, old = _staging_names(final)
        staging = final.parent / f"{writing}{os.getpid()}"
        retired = final.parent / f"{old}{os.getpid()}"
        staging.mkdir()
        try:
            for name, data in files.items():
                _write_synced(staging / name, data)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if final.exists():
            final.rename(retired)
        staging.rename(final)
        shutil.rmtree(retired, ignore_errors=True)
        return True
    except OSError as exc:
        raise PublishError(f"{final}: cannot be written ({exc.strerror or type(exc).__name__}); it is as it was") from None
