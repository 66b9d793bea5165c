"""The review loop end to end: a pair waits on the hub-only page, the hub accepts or
rejects it (command or CSV), and every later run and backfill honours the decision."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from pipelines.cli import main
from pipelines.review import Decision, DecisionError, read_decisions_csv, record_decisions
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES
from tests.readback import text_of

pytestmark = BOTH_WAREHOUSES

D = date(2026, 11, 23)
A = member("LDS-000001", "Thistlethwaite", "Siobhán", "1990-02-01", postcode="LS1 1AB")
W = member("LDS-000002", "Quigley", "William", "1985-07-12", managing_division="NE")


def arrest(ref: str, surname: str, forenames: str, dob: str, when: str = "22/11/2026 10:00") -> dict[str, str]:
    return {"custody_ref": ref, "surname": surname, "forenames": forenames, "date_of_birth": dob, "arrest_datetime": when,
            "offence_description": "Theft"}  # fmt: skip


@pytest.fixture
def loop(hub, monkeypatch):
    hub.inbox.cohort(date(2026, 11, 20), [A, W])
    hub.inbox.arrests("20261122_230000", [
        arrest("K1", "Brennan", "Siobhán", "01/02/1990"),  # A's forename and birth date, another surname: review
        arrest("K2", "Quigley", "Bill", "12/07/1985"),  # W by nickname: linked by the model
    ])  # fmt: skip
    monkeypatch.setenv("IOM_WAREHOUSE_URL", hub.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("IOM_REVIEW_DIR", str(hub.review_dir))
    monkeypatch.setenv("IOM_QUALITY_DIR", str(hub.root / "quality"))
    hub.run(D)
    return hub


def refs(hub, day: date = D) -> set[str]:
    return {r["custody_ref"] for div in ("CH", "NE") for r in hub.report(day, div, "arrests")}


def review_csv(hub, day: date = D) -> list[dict[str, str]]:
    with (hub.review_dir / day.isoformat() / "review.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_an_uncertain_pair_waits_on_the_hub_only_page_and_nowhere_else(loop):
    assert refs(loop) == {"K2"}
    pending = review_csv(loop)
    assert [(r["feed"], r["subject"], r["iom_id"], r["decision"]) for r in pending] == [("arrests", "K1", "LDS-000001", "")]
    assert float(pending[0]["match_weight"]) < 5
    page = (loop.review_dir / D.isoformat() / "review.html").read_text(encoding="utf-8")
    assert "Brennan" in page and "Thistlethwaite" in page and "iom-hub review accept arrests 'K1' LDS-000001" in page
    # Divisions never see it: nothing of the review list under the reports folder.
    files = [p for p in loop.reports_dir.rglob("*") if p.is_file()]
    assert files and not any(p.name in ("review.html", "review.csv") for p in files)
    assert not any("Brennan" in text_of(p) for p in files)  # the workbooks' cells too
    assert loop.review_dir.resolve() not in loop.reports_dir.resolve().parents


def test_accept_by_command_links_in_the_next_run_and_in_backfills(loop, capsys):
    assert main(["review", "accept", "arrests", "K1", "lds-000001", "--by", "a.analyst", "--note", "checked with custody"]) == 0
    assert "recorded" in capsys.readouterr().out
    loop.run(date(2026, 11, 24))  # a later run
    loop.run(D)  # and a backfill of the day it arrived
    assert refs(loop) == {"K1", "K2"}
    (link,) = loop.query("select method, iom_id from record_link where subject = 'K1' and register_id = "
                         "(select max(register_id) from record_link)")  # fmt: skip
    assert (link.method, link.iom_id) == ("accepted", "LDS-000001")
    assert review_csv(loop) == []
    (decision,) = loop.query("select feed, subject, iom_id, decision, decided_by, source, note from link_decision")
    assert tuple(decision) == ("arrests", "K1", "LDS-000001", "accept", "a.analyst", "iom-hub review", "checked with custody")
    # The traffic light reads the same stored links: the accepted arrest counts for NE's... A is CH.
    (tl,) = loop.query(
        "select numerator from traffic_light where kpi = 'arrests_per_100' and division = 'CH' and period = '2026-11'"
    )
    assert tl.numerator == 1


def test_a_rejected_pair_never_links_again(loop):
    assert "K2" in refs(loop)
    assert main(["review", "reject", "arrests", "K2", "LDS-000002", "--by", "a.analyst"]) == 0
    loop.run(D)
    loop.run(D)  # and again: the decision holds, the run changes nothing more
    assert refs(loop) == set()
    (link,) = loop.query("select method, iom_id from record_link where subject = 'K2'")
    assert link.iom_id is None


def test_decisions_load_from_the_filled_in_csv(loop, tmp_path, capsys):
    rows = review_csv(loop)
    rows[0]["decision"] = "accept"
    filled = tmp_path / "review.csv"
    with filled.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["review", "load", str(filled), "--by", "b.lead"]) == 0
    assert "recorded 1 decision" in capsys.readouterr().out
    loop.run(D)
    assert refs(loop) == {"K1", "K2"}
    (decision,) = loop.query("select decided_by, source from link_decision")
    assert tuple(decision) == ("b.lead", "csv:review.csv")


def test_bad_decisions_are_refused_plainly_and_record_nothing(loop, tmp_path, capsys):
    assert main(["review", "accept", "arrests", "K404", "LDS-000001", "--by", "x"]) == 2
    err = capsys.readouterr().err
    assert "no arrests record has that subject" in err and "K404" not in err
    assert main(["review", "accept", "arrests", "K1", "not-an-id", "--by", "x"]) == 2
    err = capsys.readouterr().err
    assert "is not an IOM id" in err and "not-an-id" not in err
    bad = tmp_path / "bad.csv"
    bad.write_text("feed,subject,iom_id,decision\narrests,K1,LDS-000001,accept\narrests,K2,LDS-000002,maybe\n", encoding="utf-8")
    with pytest.raises(DecisionError, match="bad.csv line 3: decision 'maybe' must be accept or reject"):
        read_decisions_csv(bad)
    assert main(["review", "load", str(bad), "--by", "x"]) == 2
    with pytest.raises(DecisionError, match="who decided is blank"):
        record_decisions(loop.engine, [Decision("arrests", "K1", "LDS-000001", "accept")], " ", source="test")
    assert loop.query("select count(*) as n from link_decision")[0].n == 0


def _newest_judgement_of_every_subject(engine, report_date: date):
    """The query pending_pairs used before it ranked only the subjects on review: every
    subject's newest judgement, whatever it decided."""
    import pandas as pd
    import sqlalchemy as sa

    from pipelines import review
    from warehouse.schema import record_link
    from warehouse.winners import NEWEST_REGISTER_FIRST, order_by

    reg, links, in_force_at_d = review._links_as_of(engine, report_date)
    rank = sa.func.row_number().over(
        partition_by=[record_link.c.feed, record_link.c.subject], order_by=order_by(NEWEST_REGISTER_FIRST, reg)
    )
    ranked = (
        sa.select(record_link.c.feed, record_link.c.subject, record_link.c.register_id, rank.label("rank"))
        .select_from(links)
        .where(in_force_at_d)
        .subquery()
    )
    q = sa.select(ranked.c.feed, ranked.c.subject, ranked.c.register_id.label("newest_register_id")).where(ranked.c.rank == 1)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).fetchall(), columns=["feed", "subject", "newest_register_id"])


def _details_from_whole_files(engine, pairs):
    """record_details as it read before: every row of each pending record's file, then the records."""
    import pandas as pd

    from pipelines import review
    from warehouse.schema import ROW_TABLES

    frames = []
    with engine.connect() as conn:
        for feed_name, group in pairs.groupby("feed"):
            table = ROW_TABLES[feed_name]
            q = review.details_query(feed_name).where(table.c.file_id.in_(sorted({int(i) for i in group["file_id"]})))
            result = conn.execute(q)
            rows = pd.DataFrame(result.fetchall(), columns=list(result.keys())).assign(feed=feed_name)
            frames.append(rows.merge(group[["file_id", "row_no"]].drop_duplicates(), on=["file_id", "row_no"]))
    return pd.concat(frames, ignore_index=True)


def test_the_review_list_reads_only_the_subjects_on_review_and_their_records(loop, monkeypatch):
    """Ranking only the subjects some register put on review, and reading pending records by
    key rather than whole files, gives the list the full reading gives: a subject on review
    under an older register and linked under the newer one is not pending; one still is."""
    import pandas as pd

    from pipelines import review

    day = date(2026, 11, 24)
    renamed = {**A, "surname": "Brennan"}  # the register now agrees with K1: linked, no longer pending
    loop.inbox.cohort(day, [renamed, W])
    loop.inbox.arrests("20261123_230000", [arrest("K3", "Okafor", "William", "12/07/1985", "23/11/2026 09:00"),
                                           arrest("K4", "Quigley", "William", "12/07/1985", "23/11/2026 11:00")])  # fmt: skip
    loop.run(day)
    for report_date in (D, day):
        pairs = review.pending_pairs(loop.engine, report_date)
        with monkeypatch.context() as patched:
            patched.setattr(review, "_newest_judgement", _newest_judgement_of_every_subject)
            full = review.pending_pairs(loop.engine, report_date)
        pd.testing.assert_frame_equal(pairs, full)
        details = review.record_details(loop.engine, pairs)
        keys = ["feed", "file_id", "row_no"]
        pd.testing.assert_frame_equal(
            details.sort_values(keys).reset_index(drop=True),
            _details_from_whole_files(loop.engine, pairs).sort_values(keys).reset_index(drop=True),
        )
    assert set(review.pending_pairs(loop.engine, D)["subject"]) == {"K1", "K3"}
    on_day = set(review.pending_pairs(loop.engine, day)["subject"])
    assert on_day == {"K3"}  # K1 judged again by the newer register and linked; K3 still waits
