"""What the reports and the traffic-light table must say, computed from the generator's
ground truth (truth.json) alone, in plain Python: no pipeline code, no warehouse.

It applies the contract's rules to what the generator *knows* (who each record really
is, whether its identity is certain, which rows were meant to be quarantined), so an
error in the pipeline's parsing, linking or queries shows up as a difference.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

Row = dict[str, Any]

KPIS = {
    "review_in_date": (True, 90, 75),
    "plan_in_place": (True, 95, 85),
    "appointment_compliance": (True, 85, 70),
    "arrests_per_100": (False, 10, 20),
    "settled_on_release": (True, 90, 75),
}
EVENT_FEEDS = ("arrests", "court_results", "attendance")
SNAPSHOT_FEEDS = ("cohort", "prison_releases")
FEED_ORDER = ("cohort", "arrests", "court_results", "prison_releases", "attendance")
CONFIG = Path(__file__).resolve().parents[1] / "config" / "hub.yaml"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# The provider (agency, court code) a file name carries (CONTRACT 3.3, 3.5).
PROVIDER_IN_NAME = {
    "attendance": re.compile(r"^attendance_(.+)_\d{8}\.csv$"),
    "court_results": re.compile(r"^court_results_(.+)_\d{8}\.xml$"),
}
KEYS = {
    "arrests": ("custody_ref",),
    "court_results": ("court_code", "hearing_date", "urn", "defendant_index", "offence_seq"),
    "attendance": ("agency", "record_id"),
}


def read_csv(path: Path) -> list[dict[str, str]]:
    """A report CSV as written."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def project(rows: list[dict[str, str]], like: list[dict[str, str]]) -> list[tuple]:
    """Report rows reduced to the oracle's columns, in the report's order."""
    if not like:
        return [tuple(sorted(r.items())) for r in rows]
    columns = sorted(like[0])
    return [tuple((c, r[c]) for c in columns) for r in rows]


def d(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


@dataclass
class Truth:
    raw: dict
    # (register date, file, location) -> iom_id: what the pipeline's model linked among
    # records whose identity is not certain (see linked_member).
    model_links: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def divisions(self) -> list[str]:
        return list(self.raw["divisions"])

    def without(self, names: set[str]) -> Truth:
        """The truth of the inbox with these files taken out (as if never delivered)."""
        raw = {
            **self.raw,
            "files": [f for f in self.raw["files"] if f["name"] not in names],
            "records": [r for r in self.raw["records"] if r["file"] not in names],
        }
        return Truth(raw, self.model_links)

    def files(self, feed: str) -> list[Row]:
        return [f for f in self.raw["files"] if f["feed"] == feed]

    def file_date(self, feed: str, name: str) -> date | None:
        for f in self.files(feed):
            if f["name"] == name:
                return d(f["file_date"]) if f.get("file_date") else None
        raise KeyError(name)

    def register(self, at: date) -> tuple[date | None, dict[str, Row]]:
        dates = sorted(date.fromisoformat(k) for k in self.raw["registers"] if date.fromisoformat(k) <= at)
        if not dates:
            return None, {}
        newest = dates[-1]
        return newest, {m["iom_id"]: m for m in self.raw["registers"][newest.isoformat()]}

    def person_iom(self, person_id: str) -> str | None:
        if not hasattr(self, "_persons"):
            self._persons = {p["person_id"]: p.get("iom_id") for p in self.raw["persons"]}
        return self._persons.get(person_id)

    def records(self, feed: str, as_of: date) -> list[Row]:
        """Loaded rows (not quarantined) of files dated on or before ``as_of``."""
        out = []
        for r in self.raw["records"]:
            if r["feed"] != feed or r.get("quarantine"):
                continue
            fdate = self.file_date(feed, r["file"])
            if fdate is not None and fdate <= as_of:
                out.append({**r, "_file_date": fdate})
        return out


def _sort_position(r: Row) -> tuple:
    loc = r.get("line")
    if loc is None:  # XML element path: compare positions numerically
        loc = tuple(int(p.split("[")[1].rstrip("]")) for p in r["path"].split("/")[2:])
    else:
        loc = (loc,)
    # "Later": file date, then the time in the name, then the name; then the later row.
    return (r["_file_date"], r["file"], loc)


def winners(truth: Truth, feed: str, as_of: date) -> list[Row]:
    best: dict[tuple, Row] = {}
    for r in truth.records(feed, as_of):
        key = tuple(str(r["fields"][k]) for k in KEYS[feed])
        if key not in best or _sort_position(r) > _sort_position(best[key]):
            best[key] = r
    return list(best.values())


def reportable(member: Row | None, on: date) -> bool:
    if member is None or member["status"] not in ("ACTIVE", "DESELECTED"):
        return False
    if d(member["selected_on"]) is None or d(member["selected_on"]) > on:
        return False
    return member["status"] == "ACTIVE" or on <= d(member["deselected_on"])


def location(record: Row) -> str:
    return str(record.get("line") or record.get("path"))


def linked_member(truth: Truth, record: Row, register: dict[str, Row], register_date: date | None) -> Row | None:
    """The member a correct linker links the record to against this register.

    Certain identities always link.  An uncertain one (a variation of a member's details,
    no identifier) links only where the pipeline's model linked it, and then only to the
    right person: which uncertain records the model takes is its measured recall (tested
    elsewhere); that it takes them correctly is checked here, since a wrong link shows
    up as a report row or count the oracle does not expect.
    """
    iom_id = truth.person_iom(record["person_id"])
    if not iom_id:
        return None
    if record["identity"] != "certain":
        key = (register_date.isoformat() if register_date else "", record["file"], location(record))
        if truth.model_links.get(key) != iom_id:
            return None
    return register.get(iom_id)


def event_date(feed: str, fields: Row) -> date:
    column = {"arrests": "arrest_datetime", "court_results": "hearing_date", "attendance": "event_datetime"}[feed]
    return d(fields[column])


def expected_reports(truth: Truth, D: date) -> dict[str, dict[str, list[Row]]]:
    yesterday = D - timedelta(days=1)
    register_date, register = truth.register(D)
    out: dict[str, dict[str, list[Row]]] = {div: {} for div in truth.divisions}

    def reported(feed: str) -> list[tuple[Row, Row]]:
        rows = []
        for r in winners(truth, feed, D):
            if event_date(feed, r["fields"]) != yesterday:
                continue
            m = linked_member(truth, r, register, register_date)
            if reportable(m, yesterday):
                rows.append((r, m))
        return rows

    arrests = [
        {"iom_id": m["iom_id"], "surname": m["surname"], "forenames": m["forenames"],
         "managing_division": m["managing_division"], "custody_ref": r["fields"]["custody_ref"],
         "outcome": r["fields"].get("outcome") or ""}
        for r, m in reported("arrests")
    ]  # fmt: skip
    court = [
        ({"iom_id": m["iom_id"], "court_code": r["fields"]["court_code"], "urn": r["fields"]["urn"],
          "offence_seq": str(r["fields"]["offence_seq"]), "result_codes": ";".join(r["fields"]["result_codes"]),
          "remand_status": r["fields"].get("remand_status") or "",
          "next_hearing_date": r["fields"].get("next_hearing_date") or ""}, m["managing_division"])
        for r, m in reported("court_results")
    ]  # fmt: skip
    attendance = [(r, m) for r, m in reported("attendance")]

    # Releases: the newest release file dated on or before D (the .xlsx where both exist).
    release_files = [f for f in truth.files("prison_releases") if not f.get("rejected_whole") and d(f["file_date"]) <= D]
    releases: list[tuple[Row, str]] = []
    if release_files:
        newest = max(release_files, key=lambda f: (f["file_date"], f["name"].endswith(".xlsx")))
        for r in truth.raw["records"]:
            if r["feed"] != "prison_releases" or r["file"] != newest["name"] or r.get("quarantine"):
                continue
            when = d(r["fields"]["release_date"])
            if not (D <= when <= D + timedelta(days=30)):
                continue
            m = linked_member(truth, r, register, register_date)
            if reportable(m, when):
                releases.append(({"iom_id": m["iom_id"], "noms_number": r["fields"]["noms_number"],
                                  "release_date": when.isoformat()}, m["managing_division"]))  # fmt: skip

    for div in truth.divisions:
        out[div]["arrests"] = arrests
        out[div]["court_results"] = [row for row, mdiv in court if mdiv == div]
        out[div]["attendance"] = [
            {"iom_id": m["iom_id"], "agency": r["fields"]["agency"], "record_id": r["fields"]["record_id"],
             "outcome": r["fields"].get("outcome") or ""}
            for r, m in attendance
            if m["managing_division"] == div and r["fields"]["record_type"] == "APPOINTMENT"
        ]  # fmt: skip
        out[div]["status_changes"] = [
            {"iom_id": m["iom_id"], "agency": r["fields"]["agency"], "record_id": r["fields"]["record_id"],
             "status": r["fields"].get("status") or ""}
            for r, m in attendance
            if m["managing_division"] == div and r["fields"]["record_type"] == "STATUS_CHANGE"
        ]  # fmt: skip
        out[div]["releases"] = [row for row, mdiv in releases if mdiv == div]
        out[div]["reviews"] = [
            {"iom_id": m["iom_id"], "next_review_due": m["next_review_due"],
             "days_until_due": str((d(m["next_review_due"]) - D).days)}
            for m in register.values()
            if m["managing_division"] == div and m["status"] == "ACTIVE" and d(m["selected_on"]) <= D
            and m.get("next_review_due") and d(m["next_review_due"]) <= D + timedelta(days=14)
        ]  # fmt: skip
    return out


@dataclass(frozen=True)
class Provider:
    code: str
    days: frozenset[int]  # weekdays its files are dated, 0 = Monday
    days_after: int  # its feed's due day


def configured_providers(config: Path = CONFIG) -> dict[str, list[Provider]]:
    """The providers section of the hub's configuration, read here with yaml alone."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    out: dict[str, list[Provider]] = {}
    for feed, entries in (raw.get("providers") or {}).items():
        days_after = raw["feeds"].get(feed, {}).get("due", {}).get("days_after", 0)
        out[feed] = []
        for code, spec in entries.items():
            days = range(7) if spec["days"] == "daily" else [WEEKDAYS.index(day) for day in spec["days"]]
            out[feed].append(Provider(str(code), frozenset(days), days_after))
    return out


def provider_of(feed: str, name: str) -> str:
    m = PROVIDER_IN_NAME[feed].match(name) if feed in PROVIDER_IN_NAME else None
    return m.group(1).upper() if m else ""


def _judged(files: list[Row], D: date, kind: str, undated_counted: bool, stale_after_days: int = 7) -> tuple[str, dict]:
    """(status before PARTIAL, the row's figures) for a group of files by CONTRACT section 7."""
    window = {D - timedelta(days=1), D}
    dated = [f for f in files if f.get("file_date") and d(f["file_date"]) <= D]
    counted = [f for f in dated if d(f["file_date"]) in window]
    # Files with an unusable name are counted by the run that first finds them: for a
    # single run over the whole inbox, that is this one.
    if undated_counted:
        counted += [f for f in files if not f.get("file_date")]
    loaded = quarantined = 0
    for f in counted:
        if f.get("rejected_whole"):
            quarantined += f["rows"] or 1
        else:
            quarantined += f["quarantined_rows"]
            loaded += f["rows"] - f["quarantined_rows"]
    newest = max(dated, key=lambda f: (f["file_date"], f["name"].endswith(".xlsx"), f["name"]))["name"] if dated else ""
    in_window = any(d(f["file_date"]) in window for f in dated)
    if kind == "events" and not in_window:
        status = "MISSING"
    elif kind == "snapshot" and not dated:
        status = "MISSING"
    elif kind == "snapshot" and (D - max(d(f["file_date"]) for f in dated)).days > stale_after_days:
        status = "STALE"
    elif quarantined:
        status = "REJECTS"
    elif any(f.get("late") for f in counted):
        status = "LATE"
    else:
        status = "OK"
    return status, {"newest_file": newest, "rows_loaded": str(loaded), "rows_quarantined": str(quarantined)}


def _due(p: Provider, D: date) -> bool:
    """A provider owes the report for D a file for D-1 or D that it delivers for and that is due by D."""
    return any(day.weekday() in p.days and day + timedelta(days=p.days_after) <= D for day in (D - timedelta(days=1), D))


def expected_providers(truth: Truth, D: date, *, undated_counted: bool = True, config: Path = CONFIG) -> list[Row]:
    rows = []
    providers = configured_providers(config)
    for feed in FEED_ORDER:
        for p in providers.get(feed, []):
            files = [f for f in truth.files(feed) if provider_of(feed, f["name"]) == p.code]
            status, figures = _judged(files, D, "events", undated_counted)
            if status == "MISSING" and not _due(p, D):
                status = "OK"  # not due, and nothing came
            rows.append({"feed": feed, "provider": p.code, "status": status, **figures})
    return rows


def expected_feeds(
    truth: Truth, D: date, stale_after_days: int = 7, *, undated_counted: bool = True, config: Path = CONFIG
) -> list[Row]:
    by_provider = expected_providers(truth, D, undated_counted=undated_counted, config=config)
    rows = []
    for feed in FEED_ORDER:
        kind = "events" if feed in EVENT_FEEDS else "snapshot"
        status, figures = _judged(truth.files(feed), D, kind, undated_counted, stale_after_days)
        if status not in ("MISSING", "STALE") and any(p["feed"] == feed and p["status"] == "MISSING" for p in by_provider):
            status = "PARTIAL"  # some providers delivered, not all that were due
        rows.append({"feed": feed, "status": status, **figures})
    return rows


def _months(first: date, D: date) -> list[tuple[date, date]]:
    last = D - timedelta(days=1)
    out = []
    start = first.replace(day=1)
    while start <= last:
        nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        out.append((start, min(nxt - timedelta(days=1), last)))
        start = nxt
    return out


def _value(num: int, den: int, higher: bool, green: int, amber: int) -> tuple[str | None, str]:
    if den == 0:
        return None, "NO_DATA"
    exact = Fraction(100 * num, den)
    value = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if higher:
        rag = "GREEN" if exact >= green else "AMBER" if exact >= amber else "RED"
    else:
        rag = "GREEN" if exact <= green else "AMBER" if exact <= amber else "RED"
    return str(value), rag


def expected_traffic_light(truth: Truth, D: date) -> dict[tuple[str, str, str], tuple]:
    """(period, division, kpi) -> (period_end, numerator, denominator, value, rag)."""
    dated = [d(f["file_date"]) for f in truth.raw["files"] if f.get("file_date") and d(f["file_date"]) <= D]
    out: dict[tuple[str, str, str], tuple] = {}
    if not dated:
        return out
    divisions = [*truth.divisions, "ALL"]
    appointments = [r for r in winners(truth, "attendance", D) if r["fields"]["record_type"] == "APPOINTMENT"]
    arrests = winners(truth, "arrests", D)
    release_files = sorted(
        (f for f in truth.files("prison_releases") if not f.get("rejected_whole") and d(f["file_date"]) <= D),
        key=lambda f: (f["file_date"], f["name"].endswith(".xlsx")),
    )
    for start, end in _months(min(dated), D):
        period = f"{start:%Y-%m}"
        snap, register = truth.register(end)
        if snap is None:
            for div in divisions:
                for kpi in KPIS:
                    out[(period, div, kpi)] = (end.isoformat(), None, None, None, "NO_DATA")
            continue
        active = [m for m in register.values() if m["status"] == "ACTIVE" and d(m["selected_on"]) <= end]

        def counted(records: list[Row], feed: str, start=start, end=end, register=register, snap=snap) -> list[tuple[Row, Row]]:
            got = []
            for r in records:
                when = event_date(feed, r["fields"])
                if start <= when <= end:
                    m = linked_member(truth, r, register, snap)
                    if reportable(m, when):
                        got.append((r, m))
            return got

        appts = counted(appointments, "attendance")
        arrs = counted(arrests, "arrests")
        rels: list[tuple[Row, Row]] = []
        day = start
        while day <= end:
            in_force = [f for f in release_files if d(f["file_date"]) <= day]
            if in_force:
                name = in_force[-1]["name"]
                for r in truth.raw["records"]:
                    if (r["feed"] == "prison_releases" and r["file"] == name and not r.get("quarantine")
                            and d(r["fields"]["release_date"]) == day):  # fmt: skip
                        m = linked_member(truth, r, register, snap)
                        if reportable(m, day):
                            rels.append((r, m))
            day += timedelta(days=1)

        plan_from = end - timedelta(days=182)
        items = {
            "review_in_date": (
                [m for m in active if m.get("next_review_due") and d(m["next_review_due"]) >= end], active),
            "plan_in_place": (
                [m for m in active if m.get("support_plan_agreed_on") and plan_from <= d(m["support_plan_agreed_on"]) <= end],
                active),
            "appointment_compliance": (
                [m for r, m in appts if r["fields"]["outcome"] in ("ATTENDED", "ACCEPTABLE_ABSENCE")],
                [m for r, m in appts if r["fields"]["outcome"] in ("ATTENDED", "ACCEPTABLE_ABSENCE", "FAILED_TO_ATTEND")]),
            "arrests_per_100": (list({r["fields"]["custody_ref"]: m for r, m in arrs}.values()), active),
            "settled_on_release": (
                [m for r, m in rels if r["fields"].get("accommodation_on_release") == "SETTLED"], [m for r, m in rels]),
        }  # fmt: skip
        for kpi, (num_items, den_items) in items.items():
            higher, green, amber = KPIS[kpi]
            for div in divisions:
                num = sum(1 for m in num_items if div == "ALL" or m["managing_division"] == div)
                den = sum(1 for m in den_items if div == "ALL" or m["managing_division"] == div)
                out[(period, div, kpi)] = (end.isoformat(), num, den, *_value(num, den, higher, green, amber))
    return out
