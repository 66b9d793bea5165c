"""generate(): the whole synthetic inbox, its truth and its redeliveries."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from pipelines.synth import arrests, attendance, careers, cohort, courts, releases
from pipelines.synth.clock import DueTimes
from pipelines.synth.delivery import Inbox
from pipelines.synth.idforms import PNC_FORMS
from pipelines.synth.model import Delivery
from pipelines.synth.plan import MessPlan, make_plan
from pipelines.synth.population import World, build_world
from pipelines.synth.truth import TruthWriter
from pipelines.synth.variations import DECOY_KINDS, KINDS


@dataclass(frozen=True, slots=True)
class SynthSummary:
    out_dir: Path
    inbox: Path
    truth: Path
    end_date: date
    first_date: date
    files: int
    rows_per_feed: Mapping[str, int] = field(hash=False)


def generate(
    out_dir: Path,
    *,
    end_date: date,
    days: int = 60,
    seed: int = 7,
    scale: float = 1.0,
    identifierless_share: float = 0.1,
) -> SynthSummary:
    """Write a synthetic inbox for report date `end_date` (D) covering `days` days to D.

    `identifierless_share` is the fraction of members' court result defendants and
    attendance rows (half of it for arrests) written without any identifier and with one
    variation of their personal details (pipelines.synth.variations); members' other
    rows carry an identifier wherever the feed holds one.

    Same arguments give byte-identical files and modification times.  `out_dir/inbox`,
    `out_dir/redeliveries` and `out_dir/truth.json` belong to the generator and are
    replaced; nothing else in `out_dir` is touched.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    if not 0 <= identifierless_share <= 1:
        raise ValueError("identifierless_share must be between 0 and 1")
    out_dir = Path(out_dir)
    first = end_date - timedelta(days=days - 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    for owned in ("inbox", "redeliveries"):
        shutil.rmtree(out_dir / owned, ignore_errors=True)
    (out_dir / "truth.json").unlink(missing_ok=True)
    PNC_FORMS.clear()

    world = build_world(seed, first, end_date, scale, identifierless_share)
    plan = make_plan(world)
    lives = careers.plan_careers(world, plan)
    truth = TruthWriter(out_dir)
    due = DueTimes()
    inbox = Inbox(out_dir, truth, due)
    try:
        feed = arrests.build(world, plan, lives)
        for delivery in _chain(
            cohort.snapshots(world, plan, truth),
            feed.deliveries,
            courts.generate(world, plan, courts.by_court_day(feed.appearances), lives.hearings),
            releases.generate(world, plan),
            attendance.generate(world, plan),
        ):
            inbox.deliver(delivery)
    except BaseException:
        truth.abandon()
        raise
    _check_lateness(truth.files, plan, strict=due.is_default)
    header = {
        "seed": seed,
        "first_date": first.isoformat(),
        "end_date": end_date.isoformat(),
        "scale": scale,
        "identifierless_share": identifierless_share,
    }
    locations = _cjs_locations(world, plan)
    mess = {**_mess_summary(world, plan, truth, feed.outcome_updates), "cjs_careers": _career_counts(locations)}
    truth_path = truth.finish(header, world.persons, mess, locations)
    os.utime(truth_path, (inbox.latest_arrival, inbox.latest_arrival))
    return SynthSummary(
        out_dir=out_dir,
        inbox=inbox.root,
        truth=truth_path,
        end_date=end_date,
        first_date=first,
        files=inbox.file_count,
        rows_per_feed=dict(sorted(inbox.rows_per_feed.items())),
    )


def _cjs_locations(world: World, plan: MessPlan) -> dict[str, list[list[str]]]:
    """Each member's criminal-justice location from the first day 00:00 up to and including
    D 00:00 (events after that are not in the feeds yet)."""
    first, horizon = datetime.combine(world.first, time(0)), datetime.combine(world.last, time(0))
    out = {}
    for member in careers.members_on_register(world, plan):
        timeline = member.person.timeline
        assert timeline is not None
        out[member.iom_id] = timeline.locations(first, horizon)
    return out


def _career_counts(locations: Mapping[str, list[list[str]]]) -> dict[str, int]:
    """How many of each kind of change the truth holds, and how many members had any."""
    counts: dict[str, int] = {}
    for entries in locations.values():
        for _, location, cause in entries[1:]:
            key = f"{cause}:{location}"
            counts[key] = counts.get(key, 0) + 1
    counts["members_with_changes"] = sum(len(entries) > 1 for entries in locations.values())
    counts["members_starting_in_prison"] = sum(entries[0][1] == "IN_PRISON" for entries in locations.values())
    return dict(sorted(counts.items()))


def _chain(*feeds: Iterable[Delivery]) -> Iterable[Delivery]:
    for deliveries in feeds:
        yield from deliveries


def _check_lateness(files: list[dict[str, object]], plan: MessPlan, *, strict: bool) -> None:
    """Under the shipped due times exactly the planned file is late; anything else is a
    generator bug.  Under other due times (IOM_CONFIG) the truth simply records what is
    late by them, which is what the pipeline will see too."""
    late = sorted(str(entry["name"]) for entry in files if entry["late"])
    expected = f"attendance_DIP_{plan.d1:%Y%m%d}.csv"
    if expected not in late or (strict and late != [expected]):
        raise AssertionError(f"late files {late}, expected {expected}")


def _mess_summary(world: World, plan: MessPlan, truth: TruthWriter, outcome_updates: int) -> dict[str, object]:
    window = range(world.first.toordinal(), world.last.toordinal() + 1)
    selections = [
        {"iom_id": m.iom_id, "selected_on": m.selected_on.isoformat(), "on_register_from": m.selection_seen.isoformat()}
        for m in world.members
        if m.selected_on and m.selection_seen and m.selection_seen.toordinal() in window
    ]
    deselections = [
        {"iom_id": m.iom_id, "deselected_on": m.deselected_on.isoformat(), "on_register_from": m.deselection_seen.isoformat()}
        for m in world.members
        if m.deselected_on and m.deselection_seen and m.deselection_seen.toordinal() in window
    ]
    moves = [
        {"iom_id": m.iom_id, "from": m.placements[0].division, "to": p.division, "on_register_from": p.seen.isoformat()}
        for m in world.members
        for p in m.placements[1:]
    ]
    moved_releases = sum(len({v.release_date for v in c.versions}) > 1 for c in world.custodies)
    return {
        "missing_cohort_snapshot": plan.skipped_snapshot.isoformat(),
        "selections_in_period": selections,
        "deselections_in_period": deselections,
        "division_moves": moves,
        "arrest_outcome_updates": outcome_updates,
        "pnc_written_forms": dict(sorted(PNC_FORMS.items())),
        "release_dates_moved": moved_releases,
        "members_in_custody": sum(1 for c in world.custodies if c.person.iom_id and c.listed_from == date.min),
        "people_with_names_outside_cp1252": sum(not p.cp1252 for p in world.persons),
        "variations": {kind: truth.variations[kind] for kind in KINDS},
        "decoys": {kind: sum(d.decoy == kind for d in world.decoys) for kind in DECOY_KINDS},
        "decoy_records": {
            kind: sum(truth.records_per_person[d.person_id] for d in world.decoys if d.decoy == kind) for kind in DECOY_KINDS
        },
        "members_with_new_surname": sum(m.person.new_surname is not None for m in world.members),
        "note": "names outside Windows-1252 never appear in the arrests feed; every other name is "
        "written exactly as in persons, except in records with a variation (the uncertain_identities "
        "cases among them)",
    }
