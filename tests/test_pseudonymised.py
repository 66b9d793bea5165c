"""The pseudonymised analyst views: no personal data, a stable keyed pseudonym, age bands
and postcode districts, derived from the feed manifest's personal flags."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

import warehouse.pseudonymised as module
from pipelines.feeds import FEEDS, LINKED_FEEDS, Column, Feed, FeedKind, Personal
from pipelines.settings import ConfigError, pseudonym_key
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES
from warehouse.pseudonymised import linked_sql, pseudonym, pseudonymised_views, refresh_pseudonyms

KEY = b"k" * 40
D = date(2026, 11, 23)
A = member("LDS-000001", "Thistlethwaite", "Siobhán", "1990-11-22", postcode="LS1 4AB", niche_nominal_id="N77",
           deselection_reason="moved to Wakefield")  # fmt: skip
B = member("LDS-000002", "Quigley", "William", "2009-05-01", niche_nominal_id="N88", managing_division="NE")
PERSONAL_VALUES = ("Thistlethwaite", "Siobhán", "Quigley", "William", "1990-11-22", "2009-05-01", "LS1 4AB", "N77", "N88",
                   "K1", "K2", "K9", "LDS-000001", "LDS-000002", "Wakefield", "Nobody")  # fmt: skip


def arrest(ref: str, niche: str, when: str, surname: str = "x") -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": niche, "surname": surname, "forenames": "y", "arrest_datetime": when,
            "offence_description": "Theft", "date_of_birth": "22/11/1990" if niche == "N77" else ""}  # fmt: skip


@pytest.fixture
def analysed(hub):
    hub.inbox.cohort(date(2026, 11, 20), [A, B])
    hub.inbox.arrests("20261122_230000", [
        arrest("K1", "N77", "22/11/2026 10:00"),
        arrest("K2", "N88", "21/11/2026 10:00"),
        arrest("K9", "N999", "21/11/2026 11:00", surname="Nobody"),  # not a member: not shown at all
    ])  # fmt: skip
    hub.run(D)
    refresh_pseudonyms(hub.engine, KEY)
    return hub


def rows(hub, view: str) -> list[dict]:
    return [dict(r._mapping) for r in hub.query(f"SELECT * FROM {view}")]


@BOTH_WAREHOUSES
def test_no_view_shows_a_personal_column_or_value(analysed):
    personal = {c.name for f in FEEDS.values() for c in f.columns if c.personal} | {"iom_id", "linked_iom_id"}
    seen = 0
    for view in pseudonymised_views():
        found = rows(analysed, view)
        seen += len(found)
        for row in found:
            assert not personal & set(row), view
            text = " ".join(str(v) for v in row.values())
            assert not [v for v in PERSONAL_VALUES if v in text], view
    assert seen > 0


@BOTH_WAREHOUSES
def test_members_carry_their_keyed_pseudonym_in_every_view(analysed):
    register = {r["pseudonym"]: r for r in rows(analysed, "pseudo_member")}
    assert set(register) == {pseudonym(KEY, "LDS-000001"), pseudonym(KEY, "LDS-000002")}
    assert all(re.fullmatch(r"[0-9a-f]{20}", p) for p in register)
    arrests = {r["pseudonym"]: r for r in rows(analysed, "pseudo_arrest")}
    assert set(arrests) == set(register)  # the non-member's arrest is not there
    assert pseudonym(b"another key" * 4, "LDS-000001") != pseudonym(KEY, "LDS-000001")


@BOTH_WAREHOUSES
def test_age_band_on_the_event_date_and_postcode_district(analysed):
    a, b = pseudonym(KEY, "LDS-000001"), pseudonym(KEY, "LDS-000002")
    arrests = {r["pseudonym"]: r for r in rows(analysed, "pseudo_arrest")}
    assert arrests[a]["age_band"] == "35-44"  # the arrest is on the 36th birthday
    assert arrests[b]["age_band"] is None  # the arrest row carries no date of birth
    register = {r["pseudonym"]: r for r in rows(analysed, "pseudo_member")}
    assert register[a]["postcode_district"] == "LS1" and register[b]["postcode_district"] is None
    assert register[a]["age_band"] == "35-44" and register[b]["age_band"] == "under 18"
    assert register[a]["managing_division"] == "CH" and register[b]["strand"] == "REHAB_RESETTLE"


@BOTH_WAREHOUSES
def test_age_band_boundaries_in_portable_sql(hub):
    from warehouse.pseudonymised import age_band_sql

    cases = [("2008-11-23", "2026-11-22", "under 18"), ("2008-11-23", "2026-11-23", "18-24"),
             ("2002-01-01", "2026-12-31", "18-24"), ("1981-06-30", "2026-06-29", "35-44"),
             ("1981-06-30", "2026-06-30", "45+"), ("1900-01-01", "2026-06-30", None)]  # fmt: skip
    for dob, on, band in cases:
        sql = f"SELECT {age_band_sql(':dob', ':on')}"  # ISO text, as either back end gives a date
        assert hub.query(sql, dob=dob, on=on)[0][0] == band, (dob, on)


def test_a_new_feeds_personal_columns_are_left_out_by_their_flags(monkeypatch):
    import re as _re

    feed = Feed(
        name="housing", kind=FeedKind.EVENTS, file_pattern=_re.compile(r"^h_(?P<date>\d{8})\.csv$"),
        columns=(Column("ref", required=True, personal=Personal.IDENTIFIER), Column("tenant", personal=Personal.NAME),
                 Column("born", personal=Personal.DATE_OF_BIRTH), Column("home", personal=Personal.POSTCODE),
                 Column("tenure")),
        key=("ref",), subject_key=("ref",), event_date_column="tenure", table="housing_row",
        current_view="housing_event", linked=True,
    )  # fmt: skip
    monkeypatch.setitem(FEEDS, "housing", feed)
    sql = linked_sql("housing")
    assert "e.tenure" in sql and "AS age_band" in sql and "AS home_district" in sql and "FROM linked_housing_event" in sql
    assert not _re.search(r"e\.(ref|tenant|born|home)\b(?! IS| AS|\) >| \)|,\s*1)", sql.replace("LENGTH(e.home)", ""))


def test_every_linked_feed_has_its_view():
    names = pseudonymised_views()
    assert {f"pseudo_{FEEDS[f].current_view}" for f in LINKED_FEEDS} < set(names)
    assert {"pseudo_member_history", "pseudo_member", "pseudo_cjs_location", "pseudo_traffic_light"} < set(names)


@BOTH_WAREHOUSES
def test_refresh_is_an_upsert_that_follows_the_key_and_the_registers(analysed):
    other = b"o" * 40
    assert refresh_pseudonyms(analysed.engine, other) == 2
    got = dict(analysed.query("SELECT iom_id, pseudonym FROM member_pseudonym"))
    assert got == {"LDS-000001": pseudonym(other, "LDS-000001"), "LDS-000002": pseudonym(other, "LDS-000002")}
    with analysed.engine.begin() as conn:  # an id no register holds any more
        conn.execute(sa.text("INSERT INTO member_pseudonym (iom_id, pseudonym) VALUES ('LDS-999999', 'zz')"))
    refresh_pseudonyms(analysed.engine, other)
    assert len(analysed.query("SELECT * FROM member_pseudonym")) == 2


def test_the_key_comes_from_the_environment_with_a_plain_error(monkeypatch):
    monkeypatch.setenv("IOM_PSEUDONYM_KEY", "")
    with pytest.raises(ConfigError, match=r"^IOM_PSEUDONYM_KEY: not set"):
        pseudonym_key()
    monkeypatch.setenv("IOM_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigError, match=r"^IOM_PSEUDONYM_KEY: too short"):
        pseudonym_key()
    monkeypatch.setenv("IOM_PSEUDONYM_KEY", "s" * 32)
    assert pseudonym_key() == b"s" * 32


@BOTH_WAREHOUSES
def test_a_refresh_makes_only_the_new_members_pseudonyms_and_ends_as_a_full_one(analysed, monkeypatch):
    """A day's refresh reads only the ids without a pseudonym; the table it leaves is the one
    a refresh from nothing makes (a new member, one no register holds any more)."""
    C = member("LDS-000003", "Marsh", "Penelope", "1979-11-30")
    with analysed.engine.begin() as conn:  # an id no register holds any more: dropped
        conn.execute(sa.text("INSERT INTO member_pseudonym (iom_id, pseudonym) VALUES ('LDS-999999', 'zz')"))
    analysed.inbox.cohort(date(2026, 11, 23), [A, B, C])
    analysed.run(D)
    hashed: list[str] = []
    real = module.pseudonym
    monkeypatch.setattr(module, "pseudonym", lambda key, iom_id: hashed.append(iom_id) or real(key, iom_id))
    assert refresh_pseudonyms(analysed.engine, KEY) == 3
    assert hashed == ["LDS-000001", "LDS-000003"]  # the key check's one stored row, then the new member only
    incremental = sorted(tuple(r) for r in analysed.query("SELECT iom_id, pseudonym FROM member_pseudonym"))
    with analysed.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM member_pseudonym"))
    assert refresh_pseudonyms(analysed.engine, KEY) == 3
    full = sorted(tuple(r) for r in analysed.query("SELECT iom_id, pseudonym FROM member_pseudonym"))
    assert incremental == full == [(i, real(KEY, i)) for i in ("LDS-000001", "LDS-000002", "LDS-000003")]
