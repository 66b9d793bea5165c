"""Rewrite the frozen ``VIEWS`` of the newest, unreleased view migration from warehouse/views.py.

Usage: .venv/bin/python scripts/freeze_views.py warehouse/migrations/versions/0005_analyst_views.py
Only for a migration no warehouse has run yet; a released one is never edited (add a new one).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from warehouse.views import views


def main(path: Path) -> None:
    source = path.read_text()
    match = re.search(r"^VIEWS = \{\n(.*?)^\}  # fmt: skip\n", source, flags=re.S | re.M)
    if match is None:
        raise SystemExit(f"{path}: no 'VIEWS = {{ ... }}  # fmt: skip' block")
    names = re.findall(r"^    '([a-z_]+)':", match.group(1), flags=re.M)
    current = views()
    body = "".join(f"    {name!r}: {current[name]!r},\n" for name in names)
    path.write_text(source[: match.start(1)] + body + source[match.end(1) :])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
