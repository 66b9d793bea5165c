"""Pseudonymised analyst views and the member pseudonyms they show (issue 9).

Analysts see the register, the linked events, the CJS location spells and the traffic
light without names, dates of birth, identifiers, postcodes or free text: every column
the feed manifest flags ``Column.personal`` is left out or coarsened, so a new feed or
column is covered by its flag alone.  In their place:

- ``pseudonym``: a stable keyed hash (HMAC-SHA256, secret ``IOM_PSEUDONYM_KEY``) of the
  member's iom_id, kept in ``member_pseudonym`` because SQLite has no HMAC;
  ``refresh_pseudonyms`` fills it for every iom_id on any register.
- ``age_band``: the age band on the event's date (the register: on ``valid_from``)
  instead of the date of birth.
- ``<postcode column>_district``: the outward code (``LS1`` of ``LS1 4AB``).

Event views hold only rows linked to a member: people outside the cohort are not the
analysts' business.  Plain SQL that SQLite and PostgreSQL both run (ISO date text,
SUBSTR); migration 0007 freezes the text ``pseudonymised_views`` writes.
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from pipelines.feeds import FEEDS, LINKED_FEEDS, Feed, Personal
from warehouse.history import attribute_columns
from warehouse.schema import cjs_location, member_pseudonym, traffic_light

# What retention writes into a required column it erases (pipelines/retention.py); an
# erased date of birth gives no age band.
ERASED_TEXT = "ERASED"
ERASED_DATE = "1900-01-01"

PREFIX = "pseudo_"
PSEUDONYM_LENGTH = 20  # hex digits: 80 bits, no collision in any register of realistic size
# (upper bound exclusive, label); the last band is open.
AGE_BANDS = ((18, "under 18"), (25, "18-24"), (35, "25-34"), (45, "35-44"))
OLDEST_BAND = "45+"
# Columns the linked views add to a feed's row columns (warehouse/views.py linked_view_sql),
# none personal; linked_iom_id is replaced by the pseudonym.
LINKED_EXTRAS = ("event_date", "event_month", "link_method", "linked_with_register_of", "managing_division", "reportable")


# --------------------------------------------------------------------------- SQL pieces


def _iso(expr: str) -> str:
    return f"CAST({expr} AS TEXT)"


def _year(expr: str) -> str:
    return f"CAST(SUBSTR({_iso(expr)}, 1, 4) AS INTEGER)"


def age_sql(dob: str, on: str) -> str:
    """Whole years from ``dob`` to ``on``, from their ISO text (no date functions: portable)."""
    birthday_later = f"CASE WHEN SUBSTR({_iso(on)}, 6, 5) < SUBSTR({_iso(dob)}, 6, 5) THEN 1 ELSE 0 END"
    return f"({_year(on)} - {_year(dob)} - {birthday_later})"


def age_band_sql(dob: str, on: str) -> str:
    age = age_sql(dob, on)
    bands = " ".join(f"WHEN {age} < {upper} THEN '{label}'" for upper, label in AGE_BANDS)
    unknown = f"{dob} IS NULL OR {on} IS NULL OR {_iso(dob)} = '{ERASED_DATE}'"
    return f"CASE WHEN {unknown} THEN NULL {bands} ELSE '{OLDEST_BAND}' END"


def district_sql(postcode: str) -> str:
    """The outward code of a canonical postcode ("LS1 4AB" -> "LS1"): the inward code is
    always a space and three characters.  Anything shorter (an erased one) gives NULL."""
    return f"CASE WHEN LENGTH({postcode}) > 4 THEN SUBSTR({postcode}, 1, LENGTH({postcode}) - 4) END"


def _personal(feed: Feed, kind: Personal) -> list[str]:
    return [c.name for c in feed.columns if c.personal is kind]


def _coarsened(feed: Feed, alias: str, on: str) -> list[str]:
    """The age band and postcode districts standing in for the feed's dates of birth and postcodes."""
    out = [f"{age_band_sql(f'{alias}.{c}', on)} AS age_band" for c in _personal(feed, Personal.DATE_OF_BIRTH)[:1]]
    out += [f"{district_sql(f'{alias}.{c}')} AS {c}_district" for c in _personal(feed, Personal.POSTCODE)]
    return out


def _kept(feed: Feed, alias: str, names: list[str]) -> list[str]:
    personal = {c.name for c in feed.columns if c.personal is not None}
    return [f"{alias}.{n}" for n in names if n not in personal]


# --------------------------------------------------------------------------- the views


def pseudo_name(view: str) -> str:
    return f"{PREFIX}{view}"


def register_sql() -> str:
    feed = FEEDS["cohort"]
    cols = [
        "p.pseudonym", "h.valid_from", "h.valid_to", "h.snapshots",
        *_kept(feed, "h", attribute_columns()), *_coarsened(feed, "h", "h.valid_from"),
    ]  # fmt: skip
    return f"SELECT {', '.join(cols)} FROM member_history h LEFT JOIN member_pseudonym p ON p.iom_id = h.iom_id"


def linked_sql(feed_name: str) -> str:
    """A linked feed's current rows that are linked to a member, pseudonymised."""
    feed = FEEDS[feed_name]
    row_columns = [c.name for c in feed.columns] + (["local_date"] if feed.event_date_column else [])
    cols = [
        "p.pseudonym", "e.file_id", "e.row_no", *_kept(feed, "e", row_columns),
        *(f"e.{c}" for c in LINKED_EXTRAS), *_coarsened(feed, "e", "e.event_date"),
    ]  # fmt: skip
    return (
        f"SELECT {', '.join(cols)} FROM linked_{feed.current_view} e "
        "LEFT JOIN member_pseudonym p ON p.iom_id = e.linked_iom_id WHERE e.linked_iom_id IS NOT NULL"
    )


def cjs_location_sql() -> str:
    cols = ["p.pseudonym", *(f"c.{c.name}" for c in cjs_location.columns if c.name != "iom_id")]
    return f"SELECT {', '.join(cols)} FROM cjs_location c LEFT JOIN member_pseudonym p ON p.iom_id = c.iom_id"


def traffic_light_sql() -> str:
    # Counts by division and month only; a view so the analyst role reads pseudo_* alone.
    return f"SELECT {', '.join(c.name for c in traffic_light.columns)} FROM traffic_light"


def pseudonymised_views() -> dict[str, str]:
    """Every pseudonymised view's SQL, in creation order (after the views they read)."""
    views = {pseudo_name("member_history"): register_sql()}
    views[pseudo_name("member")] = f"SELECT * FROM {pseudo_name('member_history')} WHERE valid_to IS NULL"
    for name in LINKED_FEEDS:
        views[pseudo_name(FEEDS[name].current_view)] = linked_sql(name)
    views[pseudo_name("cjs_location")] = cjs_location_sql()
    views[pseudo_name("traffic_light")] = traffic_light_sql()
    return views


# --------------------------------------------------------------------------- the pseudonyms


def pseudonym(key: bytes, iom_id: str) -> str:
    """The member's stable pseudonym: without the key it cannot be turned back or guessed."""
    return hmac.new(key, iom_id.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def _upsert(conn: sa.Connection) -> sa.Insert:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(member_pseudonym)
    return stmt.on_conflict_do_update(
        index_elements=[member_pseudonym.c.iom_id],
        set_={"pseudonym": stmt.excluded.pseudonym},
        where=member_pseudonym.c.pseudonym != stmt.excluded.pseudonym,  # a changed key rewrites them all
    )


def _key_unchanged(conn: sa.Connection, key: bytes) -> bool:
    """Whether the stored pseudonyms were made with ``key``: one stored row tells, since
    every refresh leaves all of them made with one key, and another key changes every
    pseudonym (but with odds of 2**-80)."""
    stored = conn.execute(
        sa.select(member_pseudonym.c.iom_id, member_pseudonym.c.pseudonym).order_by(member_pseudonym.c.iom_id).limit(1)
    ).first()
    return stored is None or pseudonym(key, stored.iom_id) == stored.pseudonym


def refresh_pseudonyms(engine: sa.Engine, key: bytes) -> int:
    """Give every iom_id on any register its pseudonym (one bulk upsert), and drop those of
    ids no register holds any more (a corrected file).  Returns how many members have one.

    Only the ids without a pseudonym yet are read (an anti-join), so a day's refresh costs
    the day's new members, not every snapshot's; a changed key rewrites them all."""
    register = sa.table("cohort_member", sa.column("iom_id"))
    with engine.begin() as conn:
        ids_query = sa.select(register.c.iom_id).distinct()
        if _key_unchanged(conn, key):
            ids_query = ids_query.where(~sa.exists().where(member_pseudonym.c.iom_id == register.c.iom_id))
        ids = conn.execute(ids_query).scalars().all()
        if ids:
            conn.execute(_upsert(conn), [{"iom_id": i, "pseudonym": pseudonym(key, i)} for i in ids])
        # NOT EXISTS, not NOT IN: PostgreSQL runs NOT IN over a subquery too big to hash
        # as a scan of the register per pseudonym (minutes at x20); this is an anti-join.
        gone = ~sa.exists().where(register.c.iom_id == member_pseudonym.c.iom_id)
        conn.execute(member_pseudonym.delete().where(gone))
        return conn.execute(sa.select(sa.func.count()).select_from(member_pseudonym)).scalar_one()
