"""Links stored once: concurrent runs, a change of thresholds, nothing silently missing."""

from __future__ import annotations

import threading
from datetime import date

from pipelines.daily import link_for_report
from pipelines.link_store import purge_stale
from pipelines.settings import PROJECT_ROOT, LinkThresholds, load_hub_config
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

pytestmark = BOTH_WAREHOUSES

D = date(2026, 11, 23)
CONFIGURED = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml")).linking
A = member("LDS-000001", "Thistlethwaite", "William", "1985-07-12", niche_nominal_id="NN1")


def arrests(n: int) -> list[dict[str, str]]:
    rows = [{"custody_ref": f"K{i}", "surname": "Thistlethwaite", "forenames": "Bill", "date_of_birth": "12/07/1985",
             "arrest_datetime": "22/11/2026 10:00", "offence_description": "Theft"} for i in range(n)]  # fmt: skip
    rows.append({**rows[0], "custody_ref": "KID", "niche_nominal_id": "NN1", "forenames": "W"})
    return rows


def loaded(hub, n: int = 30):
    hub.inbox.cohort(date(2026, 11, 20), [A])
    hub.inbox.arrests("20261122_230000", arrests(n))
    hub.run(D)
    with hub.engine.begin() as conn:  # the run stored links; each test starts from none
        conn.exec_driver_sql("delete from record_link")
    return hub


def stored(hub) -> list[tuple]:
    rows = hub.query("select file_id, row_no, iom_id, method, linker_version from record_link where feed = 'arrests'")
    return sorted(tuple(r) for r in rows)


def test_two_runs_linking_the_same_day_at_once_store_each_link_once(hub):
    loaded(hub)
    errors: list[BaseException] = []
    counts: list[dict] = []

    def run() -> None:
        try:
            counts.append(dict(link_for_report(hub.engine, "arrests", D, CONFIGURED)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert counts[0] == counts[1] == {"records": 31, "details": 30, "identifier": 1}
    links = stored(hub)
    assert len(links) == 31 == len({(f, r) for f, r, *_ in links})


def test_new_thresholds_make_the_stored_links_stale_and_they_are_computed_again(hub):
    loaded(hub)
    link_for_report(hub.engine, "arrests", D, CONFIGURED)
    assert {m for *_, m, _ in stored(hub)} == {"details", "identifier"}
    stricter = LinkThresholds(link_at=60.0, review_at=-4.0)  # nothing links on details at 60 bits
    counts = link_for_report(hub.engine, "arrests", D, stricter)
    assert (counts["identifier"], counts["review"]) == (1, 30)
    links = stored(hub)
    assert {m for *_, m, _ in links} == {"review", "identifier"} and len(links) == 31  # replaced, not added
    assert len({v for *_, v in links}) == 1
    assert purge_stale(hub.engine, stricter) == 0
    assert purge_stale(hub.engine, CONFIGURED) == 31  # back to the configured ones: all stale
