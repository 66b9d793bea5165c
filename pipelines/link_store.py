"""Links stored once: who each record is, judged against one register snapshot.

A record's link depends only on the record, the register it is judged by, the model and
thresholds, and the hub's decisions, so it is computed the first time any stage asks
and read from ``record_link`` after that: the daily reports (register in force at D)
and the traffic light (register at each period's end) read the same stored links, and
the uncertain ones of both reach the review list.  A change of model or thresholds
makes every stored link stale (``linker_version``); a review decision drops the links of
the rows it names, so the next run links them again with the decision in force.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from pipelines.identities import derived_identities
from pipelines.linkage.model import MODEL_PATH
from pipelines.linking import link_records
from pipelines.membership import attach_members
from pipelines.settings import LinkThresholds
from warehouse.schema import erased_row, link_candidate, link_decision, record_link

# Bump when the rules in pipelines/linking.py change what they decide.
RULES_VERSION = "2"
LINK_COLUMNS = ["file_id", "row_no", "iom_id", "method", "match_weight"]


def linker_version(thresholds: LinkThresholds) -> str:
    digest = hashlib.sha256(MODEL_PATH.read_bytes())
    digest.update(f"{RULES_VERSION}|{thresholds.link_at!r}|{thresholds.review_at!r}".encode())
    return digest.hexdigest()[:16]


def subjects(feed_name: str, rows: pd.DataFrame) -> pd.Series:
    """Whom each row is about, as text: the feed's subject key values joined by ' / '."""
    parts = [rows[c].map(lambda v: "" if v is None or pd.isna(v) else str(v)) for c in FEEDS[feed_name].subject_key]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " / " + part
    return joined


def latest_decisions(conn: sa.Connection, feed_name: str) -> pd.DataFrame:
    """(subject, iom_id, decision) with the newest decision per pair."""
    q = sa.select(link_decision.c.subject, link_decision.c.iom_id, link_decision.c.decision).where(
        link_decision.c.feed == feed_name
    )
    decisions = pd.DataFrame(conn.execute(q.order_by(link_decision.c.id)).fetchall(), columns=["subject", "iom_id", "decision"])
    return decisions.drop_duplicates(["subject", "iom_id"], keep="last")


def _erased() -> sa.ColumnElement[bool]:
    """The link's row was erased by retention (pipelines/retention.py): its details are gone,
    so its stored links are final; relinking would judge erased names."""
    return sa.exists().where(
        erased_row.c.feed == record_link.c.feed,
        erased_row.c.file_id == record_link.c.file_id,
        erased_row.c.row_no == record_link.c.row_no,
    )


def _usable(version: str) -> sa.ColumnElement[bool]:
    # A link made with another model or thresholds is not one, except an erased row's.
    return sa.or_(record_link.c.linker_version == version, _erased())


def _stored(conn: sa.Connection, register_id: int, feed_name: str, file_ids: list[int], version: str) -> pd.DataFrame:
    q = sa.select(*[record_link.c[c] for c in LINK_COLUMNS]).where(
        record_link.c.register_id == register_id,
        record_link.c.feed == feed_name,
        record_link.c.file_id.in_(file_ids),
        _usable(version),
    )
    return pd.DataFrame(conn.execute(q).fetchall(), columns=LINK_COLUMNS)


def has_no_link(register_id: int, feed_name: str, rows: sa.Table, version: str) -> sa.ColumnElement[bool]:
    """A condition on a feed's row table: the row has no link against the register that
    ``links_for`` would read back (the same test as ``_stored``), so it would be computed.
    An anti-join on record_link's primary key: it costs the rows asked about, not the links."""
    return ~sa.exists().where(
        record_link.c.register_id == register_id,
        record_link.c.feed == feed_name,
        record_link.c.file_id == rows.c.file_id,
        record_link.c.row_no == rows.c.row_no,
        _usable(version),
    )


def purge_stale(engine: sa.Engine, thresholds: LinkThresholds) -> int:
    """Drop links computed with another model or thresholds; they are recomputed on demand.
    An erased row's links stay: there is nothing left to recompute them from."""
    with engine.begin() as conn:
        stale = sa.and_(record_link.c.linker_version != linker_version(thresholds), ~_erased())
        return conn.execute(record_link.delete().where(stale)).rowcount


def links_for(
    engine: sa.Engine,
    feed_name: str,
    rows: pd.DataFrame,
    register: pd.DataFrame,
    thresholds: LinkThresholds,
    reference: date,
) -> pd.DataFrame:
    """(file_id, row_no, iom_id, method, match_weight) for each of ``rows`` against
    ``register`` (one cohort snapshot, with its file_id), computing and storing what is missing."""
    if rows.empty or register.empty:
        return pd.DataFrame(columns=LINK_COLUMNS)
    register_id = int(register["file_id"].iloc[0])
    file_ids = sorted({int(i) for i in rows["file_id"]})
    version = linker_version(thresholds)
    with engine.connect() as conn:
        stored = _stored(conn, register_id, feed_name, file_ids, version)
    wanted = rows[["file_id", "row_no"]].drop_duplicates()
    missing = wanted.merge(stored[["file_id", "row_no"]], how="left", indicator=True).query("_merge == 'left_only'")
    if not missing.empty:
        todo = rows.merge(missing[["file_id", "row_no"]], on=["file_id", "row_no"]).drop_duplicates(["file_id", "row_no"])
        try:
            _compute_and_store(engine, feed_name, todo.reset_index(drop=True), register, register_id, thresholds, reference)
        except sa.exc.IntegrityError:
            pass  # a concurrent run stored the same links first: theirs are read below
        with engine.connect() as conn:
            stored = _stored(conn, register_id, feed_name, file_ids, version)
    links = wanted.merge(stored, on=["file_id", "row_no"], how="inner")
    if len(links) != len(wanted):  # never a record silently without a link
        raise RuntimeError(f"{len(wanted) - len(links)} {feed_name} records have no stored link after linking")
    return links


def _compute_and_store(
    engine: sa.Engine,
    feed_name: str,
    rows: pd.DataFrame,
    register: pd.DataFrame,
    register_id: int,
    thresholds: LinkThresholds,
    reference: date,
) -> None:
    records, _ = derived_identities(FEEDS[feed_name], rows, reference)
    records = records.assign(_subject=subjects(feed_name, records))
    with engine.connect() as conn:
        decided = latest_decisions(conn, feed_name)
    decisions = (
        pd.DataFrame({"rec": records.index, "subject": records["_subject"]}).merge(decided, on="subject").drop(columns="subject")
    )
    result = link_records(records, register, thresholds, decisions)
    base = {"register_id": register_id, "feed": feed_name}
    link_rows = pd.DataFrame(
        {
            **base,
            "file_id": records["file_id"].astype(int),
            "row_no": records["row_no"].astype(int),
            "subject": records["_subject"],
            "iom_id": result.links["iom_id"],
            "method": result.links["method"],
            "reason": result.links["reason"],
            "match_weight": result.links["match_weight"],
            "linker_version": linker_version(thresholds),
        }
    )
    cands = result.candidates
    candidate_rows = pd.DataFrame(
        {
            **base,
            "file_id": records["file_id"].reindex(cands["rec"]).astype(int).to_numpy(),
            "row_no": records["row_no"].reindex(cands["rec"]).astype(int).to_numpy(),
            "iom_id": cands["iom_id"].to_numpy(),
            "match_weight": cands["match_weight"].to_numpy(),
            "evidence": cands["evidence"].to_numpy(),
            "via": cands["via"].to_numpy(),
        }
    ).drop_duplicates(["file_id", "row_no", "iom_id"])
    keys = link_rows[["file_id", "row_no"]]
    with engine.begin() as conn:
        # A run that linked the same rows meanwhile wrote the same answer: replace it.
        for file_id, group in keys.groupby("file_id"):
            conn.execute(
                record_link.delete().where(
                    record_link.c.register_id == register_id,
                    record_link.c.feed == feed_name,
                    record_link.c.file_id == int(file_id),
                    record_link.c.row_no.in_([int(r) for r in group["row_no"]]),
                )
            )
        conn.execute(record_link.insert(), _records(link_rows))
        if not candidate_rows.empty:
            conn.execute(link_candidate.insert(), _records(candidate_rows))


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def forget_subject(conn: sa.Connection, feed_name: str, subject: str) -> int:
    """Drop the stored links of every row about ``subject``, so they are linked again."""
    return conn.execute(record_link.delete().where(record_link.c.feed == feed_name, record_link.c.subject == subject)).rowcount


def linked_members(
    engine: sa.Engine,
    feed_name: str,
    rows: pd.DataFrame,
    register: pd.DataFrame,
    thresholds: LinkThresholds,
    reference: date,
) -> pd.DataFrame:
    """The rows linked to a member of ``register`` whose active interval holds the row's
    date, with the member's names and division: what a report or the traffic light may count."""
    if rows.empty:
        return attach_members(rows.assign(iom_id=None), register, FEEDS[feed_name].reportable_on)
    links = links_for(engine, feed_name, rows, register, thresholds, reference).dropna(subset=["iom_id"])
    # The linked member replaces whatever iom_id the feed itself carried.
    linked = rows.drop(columns=[c for c in ("iom_id",) if c in rows]).merge(
        links[["file_id", "row_no", "iom_id"]], on=["file_id", "row_no"]
    )
    return attach_members(linked, register, FEEDS[feed_name].reportable_on)
