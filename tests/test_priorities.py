"""The priority list's score: each reason on small hand-made frames, and through a hub."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
import yaml

from pipelines.priorities import PRIORITY_COLUMNS, priority_list, score_members
from pipelines.settings import (
    PROJECT_ROOT,
    ConfigError,
    EventCountWeight,
    PriorityWeights,
    ReleaseWeight,
    load_hub_config,
)
from tests.builders import member

D = date(2026, 12, 10)
W = replace(PriorityWeights(), min_score=1)  # the defaults, but every member who scores is listed
CONFIG = PROJECT_ROOT / "config" / "hub.yaml"


def days(n: int) -> date:
    return D + timedelta(days=n)


def members(*rows: dict) -> pd.DataFrame:
    base = {"surname": "Surname", "forenames": "Forename", "managing_division": "CH", "risk_level": None,
            "next_review_due": days(30)}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows])


def arrests(*rows: tuple[str, str, date]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["iom_id", "custody_ref", "local_date"])


def appointments(*rows: tuple[str, str, date, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["iom_id", "record_id", "local_date", "outcome"])
    return frame.assign(agency="PROBATION")


def releases(*rows: tuple[str, date, str | None]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["iom_id", "release_date", "accommodation_on_release"])


NONE_ARRESTED, NO_APPOINTMENTS, NO_RELEASES = arrests(), appointments(), releases()


def score(people: pd.DataFrame, a=NONE_ARRESTED, p=NO_APPOINTMENTS, r=NO_RELEASES, weights=W) -> pd.DataFrame:
    return score_members(people, a, p, r, D, weights)


def reasons_of(out: pd.DataFrame) -> dict[str, str]:
    return dict(zip(out["iom_id"], out["reasons"], strict=True))


# --------------------------------------------------------------------------- each reason alone


def test_risk_level_points_and_low_risk_alone_is_not_listed():
    out = score(members({"iom_id": "LDS-000001", "risk_level": "HIGH"}, {"iom_id": "LDS-000002", "risk_level": "MEDIUM"},
                        {"iom_id": "LDS-000003", "risk_level": "LOW"}, {"iom_id": "LDS-000004"}))  # fmt: skip
    assert list(out.columns) == list(PRIORITY_COLUMNS)
    assert reasons_of(out) == {"LDS-000001": "high risk (+3)", "LDS-000002": "medium risk (+1)"}
    assert list(out["score"]) == [3, 1]


def test_arrests_count_in_the_30_days_to_yesterday_with_the_latest_date():
    people = members({"iom_id": "LDS-000001"})
    out = score(people, arrests(("LDS-000001", "K1", days(-30)), ("LDS-000001", "K2", days(-12)),
                                ("LDS-000001", "K3", days(-31)), ("LDS-000001", "K4", D)))  # fmt: skip
    # K3 is a day too old; K4 is today's, for tomorrow's list.
    assert reasons_of(out) == {"LDS-000001": "2 arrests in the last 30 days (latest 28 Nov) (+4)"}
    one = score(people, arrests(("LDS-000001", "K1", days(-1))))
    assert reasons_of(one) == {"LDS-000001": "1 arrest in the last 30 days (9 Dec) (+2)"}


def test_an_arrest_counts_once_however_many_rows_carry_its_custody_ref():
    out = score(members({"iom_id": "LDS-000001"}), arrests(("LDS-000001", "K1", days(-2)), ("LDS-000001", "K1", days(-2))))
    assert list(out["score"]) == [2]


def test_arrest_points_stop_at_most_points():
    four = arrests(*(("LDS-000001", f"K{i}", days(-i)) for i in range(1, 5)))
    out = score(members({"iom_id": "LDS-000001"}), four)
    assert list(out["score"]) == [6]
    assert out["reasons"][0] == "4 arrests in the last 30 days (latest 9 Dec) (+6, capped)"
    three = score(members({"iom_id": "LDS-000001"}), four.iloc[:3])
    assert three["reasons"][0] == "3 arrests in the last 30 days (latest 9 Dec) (+6)"  # exactly the cap: not capped


def test_failed_appointments_count_and_stop_at_most_points():
    people = members({"iom_id": "LDS-000001"}, {"iom_id": "LDS-000002"})
    out = score(people, p=appointments(
        ("LDS-000001", "P1", days(-3), "FAILED_TO_ATTEND"), ("LDS-000001", "P2", days(-2), "ATTENDED"),
        ("LDS-000001", "P3", days(-1), "ACCEPTABLE_ABSENCE"), ("LDS-000001", "P4", days(-40), "FAILED_TO_ATTEND"),
        *(("LDS-000002", f"Q{i}", days(-i), "FAILED_TO_ATTEND") for i in range(1, 6)),
    ))  # fmt: skip
    assert reasons_of(out) == {
        "LDS-000002": "5 failed appointments in the last 30 days (latest 9 Dec) (+3, capped)",
        "LDS-000001": "1 failed appointment in the last 30 days (7 Dec) (+1)",
    }


def test_release_within_14_days_without_settled_accommodation():
    people = members(*({"iom_id": f"LDS-00000{i}"} for i in range(1, 7)))
    out = score(people, r=releases(
        ("LDS-000001", days(14), "TEMPORARY"),  # the last day of the window
        ("LDS-000002", days(15), "NFA"),  # a day too late
        ("LDS-000003", days(3), "SETTLED"),
        ("LDS-000004", D, None),  # today counts; nothing recorded is not settled
        ("LDS-000005", days(-1), "NFA"),  # already released
        ("LDS-000006", days(2), "SETTLED"), ("LDS-000006", days(9), "NFA"),  # the earliest release decides
    ))  # fmt: skip
    assert reasons_of(out) == {
        "LDS-000001": "release on 24 Dec without settled accommodation (TEMPORARY) (+3)",
        "LDS-000004": "release on 10 Dec without settled accommodation (not recorded) (+3)",
    }


def test_review_overdue_by_days_or_not_recorded():
    out = score(members({"iom_id": "LDS-000001", "next_review_due": days(-12)}, {"iom_id": "LDS-000002", "next_review_due": D},
                        {"iom_id": "LDS-000003", "next_review_due": None}, {"iom_id": "LDS-000004", "next_review_due": days(-1)}))  # fmt: skip
    assert reasons_of(out) == {
        "LDS-000001": "review overdue by 12 days (+2)",
        "LDS-000003": "no review date recorded (+2)",
        "LDS-000004": "review overdue by 1 day (+2)",
    }  # due today is not overdue


def test_a_date_in_another_year_than_the_report_date_shows_its_year():
    new_year = date(2027, 1, 5)
    out = score_members(members({"iom_id": "LDS-000001"}), arrests(("LDS-000001", "K1", date(2026, 12, 28))),
                        NO_APPOINTMENTS, NO_RELEASES, new_year, W)  # fmt: skip
    assert out["reasons"][0] == "1 arrest in the last 30 days (28 Dec 2026) (+2)"


# --------------------------------------------------------------------------- together


def test_scores_add_up_rank_by_score_then_iom_id_and_zero_scores_are_absent():
    people = members(
        {"iom_id": "LDS-000009", "risk_level": "HIGH", "next_review_due": days(-5)},
        {"iom_id": "LDS-000003", "risk_level": "MEDIUM"},
        {"iom_id": "LDS-000002", "risk_level": "HIGH"},
        {"iom_id": "LDS-000001", "risk_level": "HIGH"},
        {"iom_id": "LDS-000005", "risk_level": "LOW"},
    )
    out = score(
        people,
        arrests(("LDS-000009", "K1", days(-2)), ("LDS-000003", "K2", days(-3)), ("LDS-999999", "K3", days(-1))),
        appointments(("LDS-000009", "P1", days(-4), "FAILED_TO_ATTEND")),
        releases(("LDS-000009", days(5), "UNKNOWN")),
    )
    # LDS-999999 is not among the members: their arrest counts for nobody.
    assert list(out["iom_id"]) == ["LDS-000009", "LDS-000001", "LDS-000002", "LDS-000003"]
    assert list(out["rank"]) == [1, 2, 3, 4]
    assert list(out["score"]) == [11, 3, 3, 3]
    assert out["reasons"][0] == (
        "high risk (+3); 1 arrest in the last 30 days (8 Dec) (+2); 1 failed appointment in the last 30 days (6 Dec) (+1); "
        "release on 15 Dec without settled accommodation (UNKNOWN) (+3); review overdue by 5 days (+2)"
    )
    for reasons, total in zip(out["reasons"], out["score"], strict=True):
        assert sum(int(p) for p in re.findall(r"\(\+(\d+)", reasons)) == total


def test_weights_change_the_score_and_a_zero_weight_switches_a_reason_off():
    people = members({"iom_id": "LDS-000001", "risk_level": "HIGH", "next_review_due": days(-1)})
    few = arrests(("LDS-000001", "K1", days(-50)))
    weights = PriorityWeights(risk_level=(("HIGH", 0),), arrests=EventCountWeight(60, 5, 20), review_overdue_points=0,
                              release_without_settled_accommodation=ReleaseWeight(14, 3), min_score=1)  # fmt: skip
    out = score(people, few, weights=weights)
    assert reasons_of(out) == {"LDS-000001": "1 arrest in the last 60 days (21 Oct) (+5)"}
    assert score(people, few, weights=PriorityWeights(risk_level=(), review_overdue_points=0)).empty


def test_only_members_from_the_minimum_score_up_are_listed():
    people = members({"iom_id": "LDS-000001", "risk_level": "HIGH", "next_review_due": days(5)},
                     {"iom_id": "LDS-000002", "risk_level": "MEDIUM", "next_review_due": days(5)},
                     {"iom_id": "LDS-000003", "risk_level": "HIGH", "next_review_due": days(5)})  # fmt: skip
    one = arrests(("LDS-000003", "K1", days(-3)))
    assert list(score(people, one, weights=PriorityWeights())["iom_id"]) == ["LDS-000003"]  # 3 + 2 >= 4
    assert list(score(people, one, weights=replace(PriorityWeights(), min_score=3))["iom_id"]) == ["LDS-000003", "LDS-000001"]


# --------------------------------------------------------------------------- configuration


def _config_with(tmp_path, section: dict | list | str | None, name: str = "hub.yaml"):
    """config/hub.yaml with its `priority:` section replaced (None: without one)."""
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw.pop("priority")
    if section is not None:
        raw["priority"] = section
    path = tmp_path / name  # load_hub_config caches by path: one name per content
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_hub_config(str(path))


def test_the_shipped_config_spells_out_the_defaults_and_a_config_without_the_section_still_loads(tmp_path):
    assert load_hub_config(str(CONFIG)).priority == PriorityWeights()
    assert _config_with(tmp_path, None).priority == PriorityWeights()


def test_a_partial_section_keeps_the_other_defaults(tmp_path):
    config = _config_with(tmp_path, {"arrests": {"days": 60}, "risk_level": {"HIGH": 5}})
    assert config.priority.arrests == EventCountWeight(60, 2, 6)
    assert config.priority.failed_appointments == W.failed_appointments
    assert config.priority.risk_points == {"HIGH": 5}  # a level not listed gives no points


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"review_overdue": {"points": 2, "weeks": 1}}, r"hub.yaml: priority: review_overdue: unknown key weeks \(keys: points\)"),
        ({"overdue": {"points": 2}},
         r"priority: unknown key overdue \(keys: risk_level, arrests, failed_appointments, "
         r"release_without_settled_accommodation, review_overdue, min_score\)"),
        ({"arrests": {"days": 0}}, r"priority: arrests: days must be a whole number, at least 1 \(got 0\)"),
        ({"failed_appointments": {"points_each": -1}},
         r"priority: failed_appointments: points_each must be a whole number, at least 0 \(got -1\)"),
        ({"release_without_settled_accommodation": {"points": True}},
         r"release_without_settled_accommodation: points must be a whole number, at least 0 \(got True\)"),
        ({"risk_level": {"HIGH": 3, "SEVERE": 5}}, r"priority: risk_level: unknown key SEVERE \(keys: HIGH, MEDIUM, LOW\)"),
        ({"arrests": 2}, r"priority: arrests: must be a mapping such as"),
        (["arrests"], r"priority: must be a mapping such as"),
    ],
)  # fmt: skip
def test_bad_priority_settings_say_which_setting_and_why(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        _config_with(tmp_path, section)


# --------------------------------------------------------------------------- through a hub


def arrest(ref: str, nominal: str, when: str) -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": nominal, "surname": "Anyone", "forenames": "Someone",
            "arrest_datetime": when, "offence_description": "Theft"}  # fmt: skip


NEW = member("LDS-000001", "Newman", "Nia", "1990-02-01", niche_nominal_id="NN1", selected_on="2026-11-20",
             next_review_due="2027-01-31")  # fmt: skip
GONE = member("LDS-000002", "Gone", "Gail", "1985-03-04", niche_nominal_id="NN2", status="DESELECTED",
              selected_on="2025-01-01", deselected_on="2026-12-05", risk_level="HIGH")  # fmt: skip
NOMINEE = member("LDS-000003", "Nominee", "Ned", "1999-09-09", niche_nominal_id="NN3", status="NOMINATED", selected_on="",
                 risk_level="HIGH")  # fmt: skip
HIGH = member("LDS-000004", "High", "Hana", "1980-06-06", niche_nominal_id="NN4", risk_level="HIGH",
              next_review_due="2027-01-31", managing_division="NE")  # fmt: skip


def test_only_reportable_records_of_active_members_count_and_config_changes_the_score(hub, tmp_path):
    hub.inbox.cohort(date(2026, 12, 1), [NEW, GONE, NOMINEE, HIGH])
    hub.inbox.arrests("20261209_060000", [
        arrest("K1", "NN1", "15/11/2026 10:00"),  # before NEW was selected: not reportable
        arrest("K2", "NN1", "25/11/2026 10:00"),
        arrest("K3", "NN2", "01/12/2026 10:00"),  # GONE is deselected by D: never listed
        arrest("K4", "NN3", "01/12/2026 10:00"),  # NOMINEE is not in the cohort
        arrest("K5", "NN999", "01/12/2026 10:00"),  # nobody in the cohort
    ])  # fmt: skip
    hub.inbox.arrests("20261211_060000", [arrest("K6", "NN1", "03/12/2026 10:00")])  # a file dated after D
    hub.run(D)
    config = _config_with(tmp_path, {"min_score": 1}, "everyone.yaml")  # list everyone who scores
    out = priority_list(hub.engine, D, config)
    assert list(out["iom_id"]) == ["LDS-000004", "LDS-000001"]
    assert reasons_of(out) == {"LDS-000004": "high risk (+3)", "LDS-000001": "1 arrest in the last 30 days (25 Nov) (+2)"}
    assert (out.loc[0, "surname"], out.loc[0, "managing_division"]) == ("High", "NE")  # from the register

    heavier = _config_with(tmp_path, {"arrests": {"points_each": 4, "most_points": 8}, "min_score": 1}, "heavier.yaml")
    out = priority_list(hub.engine, D, heavier)
    assert list(out["iom_id"]) == ["LDS-000001", "LDS-000004"]
    assert list(out["score"]) == [4, 3]
