"""A generated inbox loaded into a scratch warehouse: what training, the linkage
measurement and the linkage benchmark work on.  Tools only, never the daily run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from pipelines.identities import derived_identities
from pipelines.ingest import ingest_feed
from pipelines.settings import DEFAULTS, load_hub_config
from pipelines.sources.local import LocalInbox
from warehouse.db import make_engine, upgrade
from warehouse.schema import ROW_TABLES, ingest_file


@dataclass
class Workbench:
    engine: sa.Engine
    truth_path: Path
    end_date: date


def generate_and_load(out_dir: Path, *, end_date: date, days: int, seed: int, scale: float, share: float) -> Workbench:
    """Generate a synthetic inbox under ``out_dir`` and load it all, as of ``end_date``."""
    from pipelines.synth import generate  # the generator is for tools and tests only

    summary = generate(out_dir, end_date=end_date, days=days, seed=seed, scale=scale, identifierless_share=share)
    url = f"sqlite:///{out_dir / 'warehouse.sqlite'}"
    (out_dir / "warehouse.sqlite").unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    divisions = frozenset(load_hub_config(DEFAULTS["IOM_CONFIG"]).divisions)
    inbox = LocalInbox(summary.inbox)
    for feed in FEEDS.values():
        ingest_feed(engine, inbox, feed, end_date, settle_seconds=0, divisions=divisions)
    return Workbench(engine, summary.truth, end_date)


def all_records(engine: sa.Engine, feed_name: str, reference: date) -> pd.DataFrame:
    """Every loaded row of the feed's current files, with the file's name and derived identities."""
    table = ROW_TABLES[feed_name]
    q = (
        sa.select(table, ingest_file.c.name.label("file_name"))
        .join(ingest_file, ingest_file.c.id == table.c.file_id)
        .where(ingest_file.c.is_current, ingest_file.c.status == "LOADED")
        .order_by(table.c.file_id, table.c.row_no)
    )
    with engine.connect() as conn:
        result = conn.execute(q)
        rows = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    rows, _ = derived_identities(FEEDS[feed_name], rows, reference)
    return rows
