"""What one month of the traffic light is computed from, as a digest: a run recomputes
only the months whose digest differs from the one stored with their rows.

A month's figures (CONTRACT section 8) are a function of

- its end E (the month in progress ends at D-1, so it is always recomputed);
- the register at E: the newest cohort snapshot dated on or before E;
- the event files the run for D reads whose rows can change the month's winners
  (``pipelines/file_spans.py``: their rows, or other rows of their keys, fall in it);
- the release files the month's releases are listed by: the newest dated on or before
  its first day and every later one dated on or before E;
- how records are linked (model, thresholds and the hub's review decisions), what
  retention has erased, the KPI list with its thresholds, the divisions, and the rules
  themselves (``RULES_VERSION``).

Anything else the run for D reads cannot change a finished month, so the month's stored
rows are the ones a full recomputation would write.  tests/test_traffic_light_inputs.py
checks that against a full recomputation, with late and corrected files.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from pipelines.file_spans import refresh_spans
from pipelines.link_store import linker_version
from pipelines.settings import HubConfig
from pipelines.store import in_force, ledger, snapshot_files
from warehouse.schema import erasure_log, file_event_span, link_decision, traffic_light, traffic_light_input

if TYPE_CHECKING:
    from pipelines.traffic_light import Period

# Bump when a KPI's measure or the counting rules change: every stored month is then stale.
RULES_VERSION = "1"


def month_digests(
    engine: sa.Engine, months: list[Period], report_date: date, config: HubConfig, event_feeds: tuple[str, ...]
) -> dict[str, str]:
    """Each month's digest for the run for ``report_date``."""
    common = _common(engine, config)
    events = {name: _event_files(engine, name, report_date) for name in event_feeds}
    registers = snapshot_files(engine, "cohort", report_date, stand_in=False)
    register_dates = pd.to_datetime(registers["file_date"]).dt.date if not registers.empty else pd.Series(dtype=object)
    out = {}
    for m in months:
        at_end = registers["id"][register_dates <= m.end]
        inputs = {
            "common": common,
            "end": m.end.isoformat(),
            "register": int(at_end.iloc[-1]) if not at_end.empty else None,
            "events": {
                name: sorted(int(i) for i in spans["file_id"][(spans["first_date"] <= m.end) & (spans["last_date"] >= m.start)])
                for name, spans in events.items()
            },
            "releases": _release_files(engine, m.start, m.end),
        }
        out[m.label] = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return out


def _common(engine: sa.Engine, config: HubConfig) -> dict[str, object]:
    """What every month depends on alike."""
    with engine.connect() as conn:
        decisions = conn.execute(sa.select(sa.func.max(link_decision.c.id))).scalar()
        erasures = conn.execute(sa.select(sa.func.max(erasure_log.c.id))).scalar()
    return {
        "rules": RULES_VERSION,
        "kpis": [[k.kpi, k.higher_is_better, str(k.green), str(k.amber)] for k in config.kpis],
        "divisions": sorted(config.divisions),
        "linker": linker_version(config.linking),
        "decisions": decisions,
        "erasures": erasures,
    }


def _event_files(engine: sa.Engine, feed_name: str, report_date: date) -> pd.DataFrame:
    """(file_id, first_date, last_date) of the feed's loaded files the run for D reads."""
    refresh_spans(engine, feed_name)
    files = ledger(engine, feed_name)
    read = files[in_force(engine, feed_name, report_date).mask(files) & (files["status"] == "LOADED")]
    s = file_event_span
    with engine.connect() as conn:
        spans = pd.DataFrame(
            conn.execute(sa.select(s.c.file_id, s.c.first_date, s.c.last_date).where(s.c.feed == feed_name)).all(),
            columns=["file_id", "first_date", "last_date"],
        )
    # A file with no dated rows has an empty span (NULL dates): it meets no month.
    spans = spans[spans["file_id"].isin(read["id"]) & spans["first_date"].notna()]
    return spans.assign(
        first_date=pd.to_datetime(spans["first_date"]).dt.date, last_date=pd.to_datetime(spans["last_date"]).dt.date
    )


def _release_files(engine: sa.Engine, start: date, end: date) -> list[int]:
    """The files ``member_events.releases_as_listed`` may take the month's releases from."""
    files = snapshot_files(engine, "prison_releases", end)
    if files.empty:
        return []
    dated = pd.to_datetime(files["file_date"]).dt.date
    first = files[dated <= start].tail(1)
    return sorted(int(i) for i in pd.concat([first["id"], files["id"][dated > start]]))


def stale_months(engine: sa.Engine, digests: dict[str, str]) -> list[str]:
    """The months whose stored digest differs from ``digests`` or that have no rows."""
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(traffic_light_input.c.period, traffic_light_input.c.digest)).all())
        present = set(conn.execute(sa.select(traffic_light.c.period).distinct()).scalars())
    return [label for label, digest in digests.items() if stored.get(label) != digest or label not in present]


def store_digests(conn: sa.Connection, digests: dict[str, str], report_date: date) -> None:
    """Record what the periods just written were computed from (inside their transaction)."""
    if not digests:
        return
    t = traffic_light_input
    conn.execute(t.delete().where(t.c.period.in_(list(digests))))
    conn.execute(t.insert(), [{"period": p, "digest": d, "report_date": report_date} for p, d in digests.items()])
