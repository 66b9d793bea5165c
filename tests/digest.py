"""Content digests of a hub's warehouse and output folders, to compare two hubs' end states.

What legitimately differs between two hubs fed the same inbox is left out: surrogate ids
(a file is named by feed, name and version instead), what is computed from them, and when
a file was ingested.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from pipelines.reports.publish import content

VOLATILE = {"id", "ingested_at"}
FILE_REFERENCES = {"file_id", "register_id"}  # columns that hold an ingest_file id
# A hash over ingest_file ids (the traffic light's record of what a month was computed
# from): right within one warehouse, different in another that numbered its files in
# another order (feeds loaded at once, on workers).  The month's rows themselves compare.
OF_IDS = {("traffic_light_input", "digest")}


def warehouse_digest(engine: sa.Engine) -> dict[str, str]:
    """table -> sha256 of its rows, canonically ordered."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    digests = {}
    with engine.connect() as conn:
        file_names = {
            r.id: f"{r.feed}/{r.name}/v{r.version}"
            for r in conn.execute(sa.text("SELECT id, feed, name, version FROM ingest_file"))
        }
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE and (table.name, c.name) not in OF_IDS]
            rows = []
            for row in conn.execute(sa.select(*columns)):
                rows.append(
                    tuple(file_names.get(v, v) if c.name in FILE_REFERENCES else v for c, v in zip(columns, row, strict=True))
                )
            text = "\n".join(sorted(repr(r) for r in rows))
            digests[table.name] = f"{len(rows)} rows {hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return digests


def folder_digest(root: Path) -> dict[str, str]:
    """Every file under root, hidden ones included (a leftover half-written folder counts),
    without the part that says which run made it (a report's footer)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(content(p.read_bytes())).hexdigest()[:16]
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def hub_digests(root: Path, warehouse_url: str) -> dict[str, dict[str, str]]:
    """A hub's end state: its warehouse, and its report, review and quality folders under root."""
    engine = sa.create_engine(warehouse_url)
    try:
        return {
            "warehouse": warehouse_digest(engine),
            "reports": folder_digest(root / "reports"),
            "review": folder_digest(root / "review"),
            "quality": folder_digest(root / "quality"),
        }
    finally:
        engine.dispose()
