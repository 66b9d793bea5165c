"""One `iom-hub` run at a time per Dagster home.

Two `iom-hub run` commands started together on a new hub would both create Dagster's
SQLite run storage (leaving it with two Alembic heads, so every later run fails) and both
load the same new files into the warehouse (a unique-constraint failure).  The second one
waits here for the first instead, and says so; an OS file lock is released by the kernel
when its holder exits, even killed, so a crash never leaves the hub locked.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".iom-hub-run.lock"


def install_instance_settings(home: Path, settings: Path) -> None:
    """Copy the instance settings into a new home atomically: a concurrent reader sees
    either no file or the whole file, never half of one."""
    target = home / "dagster.yaml"
    if target.exists():
        return
    fd, tmp = tempfile.mkstemp(prefix=".dagster.yaml.", dir=home)
    os.close(fd)
    shutil.copyfile(settings, tmp)
    os.replace(tmp, target)


@contextmanager
def one_run_at_a_time(home: Path) -> Iterator[None]:
    with (home / LOCK_NAME).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"iom-hub: another iom-hub run is using this hub (DAGSTER_HOME={home}); waiting for it to finish",
                  file=sys.stderr, flush=True)  # fmt: skip
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
