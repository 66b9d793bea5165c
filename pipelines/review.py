"""The hub's review loop: the pairs waiting for a person, and the decisions taken.

A decision names a record by its feed and subject (``pipelines.link_store.subjects``:
whom the row is about, e.g. a custody reference, or a court, date, case and defendant)
and a member by iom_id.  Decisions are appended to ``link_decision`` (who, when, from
where), never edited: the newest decision on a pair is the one in force, in every later
run and every backfill.  Recording one drops the stored links of that subject's rows so
the next run links them again with the decision applied.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines import audit
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.link_store import forget_subject
from pipelines.linking import ACCEPT, REJECT, REVIEW
from pipelines.store import in_force, in_lists
from warehouse.schema import ROW_TABLES, ingest_file, link_candidate, link_decision, record_link
from warehouse.winners import NEWEST_REGISTER_FIRST, order_by

DECISIONS = (ACCEPT, REJECT)
_IOM_ID = re.compile(r"^[A-Z]{3}-[0-9]{6}$")
DECISION_CSV_COLUMNS = ("feed", "subject", "iom_id", "decision", "note")


class DecisionError(ValueError):
    """A decision that cannot be recorded, said plainly (which row, which field)."""


@dataclass(frozen=True)
class Decision:
    feed: str
    subject: str
    iom_id: str
    decision: str
    note: str | None = None


def _check(d: Decision, where: str) -> Decision:
    feed, subject, iom_id, decision = d.feed.strip(), d.subject.strip(), d.iom_id.strip().upper(), d.decision.strip().lower()
    if feed not in LINKED_FEEDS:
        raise DecisionError(f"{where}: feed {feed!r} is not one that is linked ({', '.join(LINKED_FEEDS)})")
    if not subject:
        raise DecisionError(f"{where}: subject is blank")
    if not _IOM_ID.match(iom_id):
        raise DecisionError(f"{where}: the iom_id is not an IOM id (three letters, a hyphen, six digits)")
    if decision not in DECISIONS:
        raise DecisionError(f"{where}: decision {decision!r} must be accept or reject")
    return Decision(feed, subject, iom_id, decision, (d.note or "").strip() or None)


def record_decisions(engine: sa.Engine, decisions: list[Decision], decided_by: str, source: str) -> int:
    """Append the decisions (all or none) and drop the links they affect.

    A subject no stored link has ever named is refused: it would otherwise be a typo
    that silently decides nothing.
    """
    if not decided_by.strip():
        raise DecisionError("who decided is blank: pass --by NAME")
    checked = [_check(d, f"{source} decision {i}") for i, d in enumerate(decisions, start=1)]
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for i, d in enumerate(checked, start=1):
            known = conn.execute(
                sa.select(sa.func.count()).where(record_link.c.feed == d.feed, record_link.c.subject == d.subject)
            ).scalar()
            decided_before = conn.execute(
                sa.select(sa.func.count()).where(link_decision.c.feed == d.feed, link_decision.c.subject == d.subject)
            ).scalar()
            if not known and not decided_before:
                # The subject is not repeated: for a release it is a prison number.
                raise DecisionError(f"{source} decision {i}: no {d.feed} record has that subject (see the review page)")
            inserted = conn.execute(
                link_decision.insert().values(
                    feed=d.feed, subject=d.subject, iom_id=d.iom_id, decision=d.decision,
                    decided_by=decided_by.strip(), decided_at=now, source=source, note=d.note,
                )
            )  # fmt: skip
            # The audit entry points at the decision by id: the subject is an identifier.
            decision_id = inserted.inserted_primary_key[0]
            detail = f"{d.decision} {d.feed} decision {decision_id} ({source})"
            audit.record(conn, decided_by.strip(), audit.LINK_DECISION, detail, at=now)
            forget_subject(conn, d.feed, d.subject)
    return len(checked)


def read_decisions_csv(path: Path) -> list[Decision]:
    """Rows of an edited review CSV whose decision column says accept or reject; rows
    left blank are still pending and skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("feed", "subject", "iom_id", "decision") if c not in (reader.fieldnames or [])]
            if missing:
                raise DecisionError(f"{path}: missing column(s) {', '.join(missing)}")
            out = []
            for line, row in enumerate(reader, start=2):
                if not (row.get("decision") or "").strip():
                    continue
                d = Decision(row["feed"] or "", row["subject"] or "", row["iom_id"] or "", row["decision"], row.get("note"))
                out.append(_check(d, f"{path.name} line {line}"))
            return out
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DecisionError(f"{path}: cannot be read ({exc.__class__.__name__})") from None


def decision_history(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(sa.select(link_decision).order_by(link_decision.c.id))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


# --------------------------------------------------------------------------- pending pairs


def pending_pairs(engine: sa.Engine, report_date: date) -> pd.DataFrame:
    """Every pair on review against a register dated on or before D, newest register per
    subject: feed, subject, file_id, row_no, register_id, reason, iom_id, match_weight,
    evidence, via.  One row per (subject, candidate member)."""
    reg, links, in_force_at_d = _links_as_of(engine, report_date)
    q = (
        sa.select(
            record_link.c.feed,
            record_link.c.subject,
            record_link.c.file_id,
            record_link.c.row_no,
            record_link.c.register_id,
            record_link.c.reason,
            link_candidate.c.iom_id,
            link_candidate.c.match_weight,
            link_candidate.c.evidence,
            link_candidate.c.via,
            reg.c.file_date.label("register_date"),
        )  # fmt: skip
        .select_from(links)
        .join(
            link_candidate,
            sa.and_(
                link_candidate.c.register_id == record_link.c.register_id,
                link_candidate.c.feed == record_link.c.feed,
                link_candidate.c.file_id == record_link.c.file_id,
                link_candidate.c.row_no == record_link.c.row_no,
            ),
        )
        .where(record_link.c.method == REVIEW, in_force_at_d)
    )
    with engine.connect() as conn:
        result = conn.execute(q)
        pairs = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if pairs.empty:
        return pairs
    # A subject is pending while the newest register that judged it put it on review;
    # one example row per subject, from that register.
    newest_any = _newest_judgement(engine, report_date)
    newest = pairs.sort_values(["register_date", "register_id", "file_id", "row_no"]).groupby(["feed", "subject"]).tail(1)
    newest = newest.merge(newest_any, on=["feed", "subject"])
    newest = newest[newest["register_id"] == newest["newest_register_id"]]
    keep = newest[["feed", "subject", "register_id", "file_id", "row_no"]]
    pairs = pairs.merge(keep, on=list(keep.columns))
    return pairs.sort_values(["feed", "subject", "match_weight"], ascending=[True, True, False], na_position="last").reset_index(
        drop=True
    )


def _links_as_of(engine: sa.Engine, report_date: date) -> tuple[sa.Alias, sa.Join, sa.ColumnElement[bool]]:
    """(register alias, record_link joined to its register and record files, condition):
    the links a review list for D may use, judged by a register in force at D, of records
    from files in force at D, so a list for a past date is rebuilt exactly."""
    reg, rec = ingest_file.alias("reg"), ingest_file.alias("rec")
    links = record_link.join(reg, reg.c.id == record_link.c.register_id).join(rec, rec.c.id == record_link.c.file_id)
    records = sa.or_(*(sa.and_(record_link.c.feed == f, in_force(engine, f, report_date).clause(rec)) for f in LINKED_FEEDS))
    return reg, links, sa.and_(in_force(engine, "cohort", report_date).clause(reg), records)


def _newest_judgement(engine: sa.Engine, report_date: date) -> pd.DataFrame:
    """(feed, subject, newest_register_id): the newest register in force up to D (dated on
    or before it, or the ODBC read standing in for it) that judged each subject, whatever
    it decided; for the subjects any register put on review (the only ones that can be
    pending)."""
    reg, links, in_force_at_d = _links_as_of(engine, report_date)
    # Only subjects some register put on review can be pending: ranking just their links
    # (by ix_record_link_subject) costs the review list, not every link ever stored.
    on_review = sa.select(record_link.c.feed, record_link.c.subject).where(record_link.c.method == REVIEW).distinct()
    pending = on_review.subquery("on_review")
    ranked = (
        sa.select(
            record_link.c.feed,
            record_link.c.subject,
            record_link.c.register_id,
            sa.func.row_number()
            .over(
                partition_by=[record_link.c.feed, record_link.c.subject],
                order_by=order_by(NEWEST_REGISTER_FIRST, reg),  # reg.id is record_link.register_id
            )
            .label("rank"),
        )  # fmt: skip
        .select_from(
            pending.join(links, sa.and_(record_link.c.feed == pending.c.feed, record_link.c.subject == pending.c.subject))
        )
        .where(in_force_at_d)
        .subquery()
    )
    q = sa.select(ranked.c.feed, ranked.c.subject, ranked.c.register_id.label("newest_register_id")).where(ranked.c.rank == 1)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).fetchall(), columns=["feed", "subject", "newest_register_id"])


def details_query(feed_name: str) -> sa.Select:
    """The personal details a reviewer compares, of every row of the feed, with its file's name."""
    table = ROW_TABLES[feed_name]
    wanted = [c for c in ("surname", "forenames", "date_of_birth", "postcode", "pnc_id", "cro_number", "niche_nominal_id")
              if c in table.c]  # fmt: skip
    event = FEEDS[feed_name].event_date_column
    cols = [table.c.file_id, table.c.row_no, table.c.location, *(table.c[c] for c in wanted)]
    if event:
        cols.append(table.c[event].label("event"))
    return sa.select(*cols, ingest_file.c.name.label("file_name")).join(ingest_file, ingest_file.c.id == table.c.file_id)


def record_details(engine: sa.Engine, pairs: pd.DataFrame) -> pd.DataFrame:
    """The personal details of each pending pair's record (feed, file_id, row_no, ...)."""
    frames = []
    with engine.connect() as conn:
        for feed_name, group in pairs.groupby("feed"):
            wanted_rows = group[["file_id", "row_no"]].drop_duplicates()
            rows = _rows_by_key(conn, details_query(feed_name), ROW_TABLES[feed_name], wanted_rows).assign(feed=feed_name)
            frames.append(rows.merge(wanted_rows, on=["file_id", "row_no"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _rows_by_key(conn: sa.Connection, query: sa.Select, table: sa.Table, keys: pd.DataFrame) -> pd.DataFrame:
    """``query``'s rows of ``table`` at the (file_id, row_no) of ``keys``, by its primary key
    (not whole files: pending records are spread over every file), in file order."""
    pairs = sorted({(int(f), int(r)) for f, r in zip(keys["file_id"], keys["row_no"], strict=True)})
    frames = []
    for chunk in in_lists(pairs) or [[]]:  # no keys: one query, for the columns
        q = query.where(sa.tuple_(table.c.file_id, table.c.row_no).in_(chunk)).order_by(table.c.file_id, table.c.row_no)
        result = conn.execute(q)
        frames.append(pd.DataFrame(result.fetchall(), columns=list(result.keys())))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def member_details(engine: sa.Engine, pairs: pd.DataFrame) -> pd.DataFrame:
    """Each candidate member's details in the register that judged the pair."""
    table = ROW_TABLES["cohort"]
    cols = [table.c[c] for c in ("file_id", "iom_id", "surname", "forenames", "date_of_birth", "postcode", "pnc_id",
                                 "cro_number", "niche_nominal_id", "managing_division", "status")]  # fmt: skip
    with engine.connect() as conn:
        q = sa.select(*cols).where(
            table.c.file_id.in_(sorted({int(i) for i in pairs["register_id"]})), table.c.iom_id.in_(sorted(set(pairs["iom_id"])))
        )
        result = conn.execute(q)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys())).rename(columns={"file_id": "register_id"})
