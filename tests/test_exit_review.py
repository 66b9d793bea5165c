"""The exit criteria: each on small hand-made frames at its boundaries, and through a hub."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
import yaml

from pipelines.exit_review import (
    EXIT_COLUMNS,
    EXIT_CRITERIA,
    EXIT_CRITERION_LABELS,
    assess_members,
    criterion_labels,
    exit_assessment,
    exit_candidates,
    months_before,
)
from pipelines.settings import PROJECT_ROOT, AttendanceCriterion, ConfigError, ExitCriteria, load_hub_config
from tests.builders import member

D = date(2026, 12, 10)
SIX_MONTHS_AGO = date(2026, 6, 10)  # the first day of "the 6 months to 9 Dec"
CRITERIA = ExitCriteria()  # the defaults, which config/hub.yaml spells out
CONFIG = PROJECT_ROOT / "config" / "hub.yaml"


def days(n: int) -> date:
    return D + timedelta(days=n)


def members(*rows: dict) -> pd.DataFrame:
    base = {"surname": "Surname", "forenames": "Forename", "managing_division": "CH", "selected_on": date(2025, 1, 1),
            "support_plan_agreed_on": days(-30)}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows])


ONE = members({"iom_id": "LDS-000001"})


def arrests(*rows: tuple[str, str, date]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["iom_id", "custody_ref", "local_date"])


def appointments(iom_id: str, outcomes: dict[str, int], day: date | None = None) -> pd.DataFrame:
    day = day or days(-5)
    listed = [o for o, n in outcomes.items() for _ in range(n)]
    return pd.DataFrame({"iom_id": iom_id, "outcome": listed, "local_date": day})


def changes(*rows: tuple[str, str, date]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["iom_id", "status", "local_date"])
    return frame.assign(agency="HOUSING", event_datetime=pd.to_datetime(frame["local_date"]))


def releases(*rows: tuple[str, date, str | None]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["iom_id", "release_date", "accommodation_on_release"])


GOOD_ATTENDANCE = appointments("LDS-000001", {"ATTENDED": 3})
HOUSED = changes(("LDS-000001", "HOUSED", days(-20)))


def assess(people=ONE, a=None, p=GOOD_ATTENDANCE, s=HOUSED, r=None, criteria=CRITERIA, on=D) -> pd.DataFrame:
    a = arrests() if a is None else a
    r = releases() if r is None else r
    return assess_members(people, a, p, s, r, on, criteria)


def verdict(out: pd.DataFrame, criterion: str, row: int = 0) -> tuple[bool, str]:
    return bool(out[f"{criterion}_met"][row]), out[f"{criterion}_evidence"][row]


def test_columns_labels_and_meets_all():
    out = assess()
    assert list(out.columns) == list(EXIT_COLUMNS)
    assert EXIT_CRITERIA == ("no_arrest", "attendance", "settled_accommodation", "support_plan")
    assert set(EXIT_CRITERION_LABELS) == set(EXIT_CRITERIA) == set(criterion_labels(CRITERIA))
    assert criterion_labels(CRITERIA)["attendance"] == "Attendance at least 85% over 3 months"
    assert all(out[f"{c}_met"][0] for c in EXIT_CRITERIA) and bool(out["meets_all"][0])
    assert not assess(s=changes())["meets_all"][0]  # one criterion failing is enough


def test_months_are_calendar_months_to_yesterday():
    assert months_before(D, 6) == SIX_MONTHS_AGO
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)


# --------------------------------------------------------------------------- no arrest


def test_no_arrest_window_is_exactly_the_six_months_to_yesterday():
    assert verdict(assess(), "no_arrest") == (True, "no arrest in the 6 months to 9 Dec")
    on_first_day = assess(a=arrests(("LDS-000001", "K1", SIX_MONTHS_AGO)))
    assert verdict(on_first_day, "no_arrest") == (False, "arrested 10 Jun")
    day_before = assess(a=arrests(("LDS-000001", "K1", SIX_MONTHS_AGO - timedelta(days=1))))
    assert verdict(day_before, "no_arrest")[0] is True
    today = assess(a=arrests(("LDS-000001", "K1", D)))  # D's own arrests are for tomorrow
    assert verdict(today, "no_arrest")[0] is True
    several = assess(a=arrests(("LDS-000001", "K1", days(-40)), ("LDS-000001", "K2", days(-3)), ("LDS-000001", "K2", days(-3))))
    assert verdict(several, "no_arrest") == (False, "arrested 2 times in the 6 months to 9 Dec, latest 7 Dec")


def test_a_member_selected_after_the_window_starts_is_not_yet_a_candidate():
    exactly = assess(members({"iom_id": "LDS-000001", "selected_on": SIX_MONTHS_AGO}))
    assert verdict(exactly, "no_arrest")[0] is True
    late = assess(members({"iom_id": "LDS-000001", "selected_on": SIX_MONTHS_AGO + timedelta(days=1)}))
    assert verdict(late, "no_arrest") == (False, "in the cohort only since 11 Jun, not the whole 6 months")
    assert not late["meets_all"][0]


# --------------------------------------------------------------------------- attendance


def test_attendance_at_exactly_the_threshold_is_met_and_just_below_is_not():
    at = assess(p=appointments("LDS-000001", {"ATTENDED": 15, "ACCEPTABLE_ABSENCE": 2, "FAILED_TO_ATTEND": 3}))
    assert verdict(at, "attendance") == (True, "85% (17 of 20 appointments) in the 3 months to 9 Dec")
    below = assess(p=appointments("LDS-000001", {"ATTENDED": 16, "FAILED_TO_ATTEND": 4}))
    assert verdict(below, "attendance") == (False, "80% (16 of 20 appointments) in the 3 months to 9 Dec, below 85%")


def test_a_percentage_is_shown_rounded_down_so_it_never_looks_met_when_it_is_not():
    criteria = ExitCriteria(attendance=AttendanceCriterion(min_percent=66.7))
    out = assess(p=appointments("LDS-000001", {"ATTENDED": 2, "FAILED_TO_ATTEND": 1}), criteria=criteria)
    assert verdict(out, "attendance") == (False, "66.6% (2 of 3 appointments) in the 3 months to 9 Dec, below 66.7%")


def test_too_few_appointments_is_not_met_and_rescheduled_or_cancelled_do_not_count():
    few = assess(p=appointments("LDS-000001", {"ATTENDED": 2, "RESCHEDULED": 3, "CANCELLED": 1}))
    assert verdict(few, "attendance") == (False, "only 2 appointments in the 3 months to 9 Dec, at least 3 needed")
    none = assess(p=appointments("LDS-000001", {}))
    assert verdict(none, "attendance") == (False, "no appointments in the 3 months to 9 Dec, at least 3 needed")


def test_attendance_window_is_the_three_months_to_yesterday():
    first_day = months_before(D, 3)
    inside = pd.concat([appointments("LDS-000001", {"ATTENDED": 2}), appointments("LDS-000001", {"ATTENDED": 1}, first_day)])
    assert verdict(assess(p=inside), "attendance")[0] is True
    outside = pd.concat([appointments("LDS-000001", {"ATTENDED": 2}),
                         appointments("LDS-000001", {"ATTENDED": 1}, first_day - timedelta(days=1)),
                         appointments("LDS-000001", {"ATTENDED": 1}, D)])  # fmt: skip
    assert verdict(assess(p=outside), "attendance")[1].startswith("only 2 appointments")


# --------------------------------------------------------------------------- settled accommodation


def test_the_newest_accommodation_record_wins():
    housed_then_temporary = assess(
        s=changes(("LDS-000001", "HOUSED", days(-30))), r=releases(("LDS-000001", days(-20), "TEMPORARY"))
    )
    assert verdict(housed_then_temporary, "settled_accommodation") == (
        False, "released 20 Nov, accommodation on release TEMPORARY")  # fmt: skip
    temporary_then_housed = assess(
        s=changes(("LDS-000001", "HOUSED", days(-20))), r=releases(("LDS-000001", days(-30), "TEMPORARY"))
    )
    assert verdict(temporary_then_housed, "settled_accommodation") == (True, "housed on 20 Nov (HOUSING)")
    lost = assess(s=changes(("LDS-000001", "HOUSED", days(-30)), ("LDS-000001", "LOST_ACCOMMODATION", days(-2))))
    assert verdict(lost, "settled_accommodation") == (False, "lost accommodation on 8 Dec (HOUSING)")
    settled_release = assess(s=changes(("LDS-000001", "LOST_ACCOMMODATION", days(-30))), r=releases(("LDS-000001", D, "SETTLED")))
    assert verdict(settled_release, "settled_accommodation") == (True, "released 10 Dec to settled accommodation")


def test_on_the_same_day_the_status_change_outranks_the_release():
    same_day = assess(s=changes(("LDS-000001", "HOUSED", days(-5))), r=releases(("LDS-000001", days(-5), None)))
    assert verdict(same_day, "settled_accommodation") == (True, "housed on 5 Dec (HOUSING)")


def test_no_record_is_not_met_and_records_not_yet_due_are_ignored():
    assert verdict(assess(s=changes()), "settled_accommodation") == (False, "no accommodation record")
    later = assess(s=changes(("LDS-000001", "HOUSED", days(-9)), ("LDS-000001", "LOST_ACCOMMODATION", D)),
                   r=releases(("LDS-000001", days(3), "NFA")))  # fmt: skip
    assert verdict(later, "settled_accommodation") == (True, "housed on 1 Dec (HOUSING)")
    other_status = assess(s=changes(("LDS-000001", "EMPLOYMENT_STARTED", days(-3))))
    assert verdict(other_status, "settled_accommodation") == (False, "no accommodation record")


def test_settled_accommodation_can_be_shown_without_being_required():
    out = assess(s=changes(), criteria=ExitCriteria(settled_accommodation=False))
    assert verdict(out, "settled_accommodation") == (True, "not required; no accommodation record")
    assert bool(out["meets_all"][0])


# --------------------------------------------------------------------------- support plan


@pytest.mark.parametrize(
    ("agreed", "met", "evidence"),
    [
        (days(-182), True, "agreed 11 Jun"),
        (days(-183), False, "agreed 10 Jun, more than 182 days before the report date"),
        (D, True, "agreed 10 Dec"),
        (days(1), False, "dated 11 Dec, after the report date"),
        (None, False, "no support plan recorded"),
        (date(2025, 12, 30), False, "agreed 30 Dec 2025, more than 182 days before the report date"),
    ],
)
def test_support_plan_in_date_is_within_182_days_up_to_the_report_date(agreed, met, evidence):
    out = assess(members({"iom_id": "LDS-000001", "support_plan_agreed_on": agreed}))
    assert verdict(out, "support_plan") == (met, evidence)


def test_each_member_is_judged_on_their_own_records():
    people = members({"iom_id": "LDS-000002"}, {"iom_id": "LDS-000001"})
    out = assess(people, a=arrests(("LDS-000002", "K1", days(-3))),
                 p=pd.concat([GOOD_ATTENDANCE, appointments("LDS-000002", {"ATTENDED": 3})]),
                 s=pd.concat([HOUSED, changes(("LDS-000002", "HOUSED", days(-3)))]))  # fmt: skip
    assert list(out["iom_id"]) == ["LDS-000001", "LDS-000002"]
    assert list(out["meets_all"]) == [True, False]
    assert list(out["no_arrest_met"]) == [True, False]


# --------------------------------------------------------------------------- configuration


def _config_with(tmp_path, section: dict | list | str | None, name: str = "hub.yaml"):
    """config/hub.yaml with its `exit_review:` section replaced (None: without one)."""
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    raw.pop("exit_review")
    if section is not None:
        raw["exit_review"] = section
    path = tmp_path / name  # load_hub_config caches by path: one name per content
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_hub_config(str(path))


def test_the_shipped_config_spells_out_the_defaults_and_a_config_without_the_section_still_loads(tmp_path):
    assert load_hub_config(str(CONFIG)).exit_review == ExitCriteria()
    assert _config_with(tmp_path, None).exit_review == ExitCriteria()
    partial = _config_with(tmp_path, {"attendance": {"min_percent": 90.5}}, "partial.yaml").exit_review
    assert partial.attendance == AttendanceCriterion(3, 90.5, 3) and partial.no_arrest_months == 6


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"no_arrest_months": 0}, r"exit_review: no_arrest_months must be a whole number, at least 1 \(got 0\)"),
        ({"no_arrests": 3},
         r"exit_review: unknown key no_arrests \(keys: no_arrest_months, attendance, settled_accommodation, support_plan_within_days\)"),
        ({"attendance": {"min_percent": 120}}, r"exit_review: attendance: min_percent must be a number from 0 to 100 \(got 120\)"),
        ({"attendance": {"min_appointments": 0}}, r"attendance: min_appointments must be a whole number, at least 1"),
        ({"attendance": {"weeks": 4}}, r"attendance: unknown key weeks \(keys: months, min_percent, min_appointments\)"),
        ({"settled_accommodation": 1}, r"settled_accommodation must be true or false \(got 1\)"),
        ({"support_plan_within_days": 0.5}, r"support_plan_within_days must be a whole number"),
        ("six months", r"exit_review: must be a mapping such as"),
    ],
)  # fmt: skip
def test_bad_exit_settings_say_which_setting_and_why(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        _config_with(tmp_path, section)


# --------------------------------------------------------------------------- through a hub


def attended(record_id: str, iom_id: str, day: str, outcome: str = "ATTENDED") -> dict[str, str]:
    return {"record_id": record_id, "record_type": "APPOINTMENT", "iom_id": iom_id, "surname": "x", "forenames": "y",
            "event_datetime": f"{day}T10:00", "outcome": outcome}  # fmt: skip


def status(record_id: str, iom_id: str, day: str, value: str) -> dict[str, str]:
    return {"record_id": record_id, "record_type": "STATUS_CHANGE", "iom_id": iom_id, "surname": "x", "forenames": "y",
            "event_datetime": day, "status": value}  # fmt: skip


def listed(noms: str, day: str, accommodation: str) -> dict[str, str]:
    return {"noms_number": noms, "surname": "x", "forenames": "y", "prison_id": "LEI", "release_date": day,
            "accommodation_on_release": accommodation}  # fmt: skip


PLAN = {"selected_on": "2026-01-05", "support_plan_agreed_on": "2026-11-01"}
READY = member("LDS-000001", "Ready", "Rhys", "1990-02-01", niche_nominal_id="NN1", **PLAN)
RELEASED = member("LDS-000002", "Released", "Rae", "1985-03-04", niche_nominal_id="NN2", noms_number="A1234BC", **PLAN)
ARRESTED = member("LDS-000003", "Arrested", "Ari", "1991-05-06", niche_nominal_id="NN3", **PLAN)
GONE = member("LDS-000004", "Gone", "Gail", "1980-06-06", status="DESELECTED", selected_on="2025-01-01",
              deselected_on="2026-12-01", support_plan_agreed_on="2026-11-01")  # fmt: skip
NOMINEE = member("LDS-000005", "Nominee", "Ned", "1999-09-09", status="NOMINATED", selected_on="")


def test_candidates_from_reportable_records_only(hub, tmp_path):
    box = hub.inbox
    box.cohort(date(2026, 12, 1), [READY, RELEASED, ARRESTED, GONE, NOMINEE])
    box.arrests("20261209_060000", [
        {"custody_ref": "K2", "niche_nominal_id": "NN3", "surname": "x", "forenames": "y",
         "arrest_datetime": "04/09/2026 10:00", "offence_description": "Theft"},
        {"custody_ref": "K3", "niche_nominal_id": "NN999", "surname": "x", "forenames": "y",
         "arrest_datetime": "04/09/2026 10:00", "offence_description": "Theft"},  # nobody in the cohort
    ])  # fmt: skip
    box.attendance("PROBATION", date(2026, 12, 9), [
        *(attended(f"P{who[-1]}{i}", who, f"2026-11-0{i}") for who in ("LDS-000001", "LDS-000002", "LDS-000003",
                                                                        "LDS-000004", "LDS-000005") for i in (1, 2, 3)),
        status("S1", "LDS-000001", "2026-10-01", "HOUSED"),
        status("S2", "LDS-000003", "2026-10-01", "HOUSED"),
        status("S3", "LDS-000002", "2026-09-01", "HOUSED"),
        status("S4", "LDS-000004", "2026-10-01", "HOUSED"),
    ])  # fmt: skip
    # RELEASED's release on 20 Oct is listed TEMPORARY by the schedule in force then; the
    # next schedule lists only what is still to come, and an out-of-date earlier listing
    # (SETTLED) does not speak for the date.
    box.releases(date(2026, 10, 1), [listed("A1234BC", "2026-10-20", "SETTLED")])
    box.releases(date(2026, 10, 15), [listed("A1234BC", "2026-10-20", "TEMPORARY")])
    box.releases(date(2026, 11, 1), [listed("A1234BC", "2027-03-01", "UNKNOWN")])
    hub.run(D)
    config = load_hub_config(str(CONFIG))
    out = exit_assessment(hub.engine, D, config)
    assert list(out["iom_id"]) == ["LDS-000001", "LDS-000002", "LDS-000003"]  # GONE and NOMINEE never appear
    assert list(out["surname"]) == ["Ready", "Released", "Arrested"]  # names from the register
    assert list(out["attendance_met"]) == [True, True, True]
    assert out["no_arrest_evidence"].tolist() == ["no arrest in the 6 months to 9 Dec"] * 2 + ["arrested 4 Sep"]
    assert out["settled_accommodation_evidence"][1] == "released 20 Oct, accommodation on release TEMPORARY"
    assert list(exit_candidates(hub.engine, D, config)["iom_id"]) == ["LDS-000001"]

    stricter = _config_with(tmp_path, {"attendance": {"min_appointments": 4}})
    assert exit_candidates(hub.engine, D, stricter).empty
