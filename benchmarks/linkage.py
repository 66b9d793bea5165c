"""Linkage speed benchmark.  The issue's target: linking 100,000 identifier-less feed
records against a 50,000-person register in under 60 seconds on this 2-core machine.

    .venv/bin/python -m benchmarks.linkage [--records 100000] [--register 50000] [--seed 1]
    .venv/bin/python -m benchmarks.linkage --quick      # 2,000 records against 1,000 members
    .venv/bin/python -m benchmarks.linkage --profile    # also cProfile the timed call

A benchmark reports, it does not fail: a missed target still exits 0, with a clear
"TARGET MET" or "TARGET MISSED" line.  Only counts are printed, never a name.

Everything is generated from the seed.  The register: N people drawn from the synthetic
name pools (``pipelines.synth.names``), dates of birth spread over 50 years, Leeds
postcodes, unique iom_ids, all ACTIVE.  Two members may share name and date of birth (the
pools are small); their iom_ids never collide.  The records, without any identifier:
half are members' details with exactly one realistic variation each (the synthetic
generator's, ``pipelines.synth.variations``: any of its kinds that applies but a changed
surname, which these members lack), half are strangers drawn the same way.  A stranger
is re-drawn while some member is within reach of the model: a name each of whose parts
the model would call similar (same, one letter off, Jaro-Winkler >= 0.9, a nickname, one
half of a double surname, or the two swapped) with a date of birth the same, transposed
or one digit off.  So a stranger is nobody the model could reasonably take for a member,
and linking one is a mistake.

What is timed is the whole ``link_records(records, register, thresholds)`` call (feature
building, Splink scoring, the rules), after a warm-up call on a tiny input so that one-off
costs are not counted: imports, reading the model file, the nickname table, building the
Splink linker.  The warm-up links against another (tiny) register, so nothing the scorer
keeps for a register is reused: loading ours (its DuckDB table and term frequencies) is
inside the timed call, as a new register is in a daily run.  A second phase, measured
separately, breaks that time down and counts every pair the blocking rules let through.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import resource
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from itertools import chain, product

import duckdb
import pandas as pd
from nicknames import NickNamer
from splink import DuckDBAPI
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from pipelines.linkage.features import person_features
from pipelines.linkage.scoring import score_pairs, trained_settings
from pipelines.linking import DETAIL_COLUMNS, LINKED_METHODS, NOT_LINKED, REVIEW, STRONG_IDS, Links, link_records
from pipelines.settings import PROJECT_ROOT, LinkThresholds, load_hub_config
from pipelines.synth.model import Person
from pipelines.synth.names import FEMALE_FORENAMES, MALE_FORENAMES, SURNAMES, draw_name
from pipelines.synth.variations import KINDS, applicable, varied_details

TARGET_SECONDS = 60.0
FULL_SIZES = (100_000, 50_000)  # records, register
QUICK_SIZES = (2_000, 1_000)
WARM_UP_SIZES = (20, 10)

ID_COLUMNS = tuple(kind.value for kind in STRONG_IDS)
VARIATIONS = tuple(kind for kind in KINDS if kind != "new_surname")  # members have no changed surname
STRANGER = "stranger"

FIRST_DOB = date(1956, 1, 1)
DOB_SPAN_DAYS = 50 * 365
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a postcode's inward code uses


# --- the data --------------------------------------------------------------------------


@dataclass
class BenchData:
    """The register and the records, with the truth: ``truth`` is the iom_id each record
    really is (None for a stranger), ``kind`` its variation (or "stranger")."""

    register: pd.DataFrame
    records: pd.DataFrame
    truth: pd.Series
    kind: pd.Series
    stranger_redraws: int


def _draw_person(rng: random.Random, person_id: str) -> Person:
    gender = rng.choice("MF")
    surname, forenames = draw_name(rng, gender)
    dob = FIRST_DOB + timedelta(days=rng.randrange(DOB_SPAN_DAYS))
    inward = f"{rng.randint(0, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    postcode = f"LS{rng.randint(1, 29)} {inward}"
    return Person(person_id, surname, forenames, dob, gender, postcode, division="", young=False)


def vary(rng: random.Random, person: Person) -> tuple[str, tuple[str, str, date | None]]:
    """Exactly one variation of the member's (surname, forenames, dob), drawn evenly among
    the generator's kinds that apply; re-drawn while it leaves the details unchanged."""
    kinds = applicable(person.surname, person.forenames, person.dob)
    while True:
        kind = rng.choice(kinds)
        details = varied_details(rng, kind, person)
        if details is not None and details != (person.surname, person.forenames, person.dob):
            return kind, details


# Who a stranger must not resemble: the model's own notion of similar names, on the
# model's normalisation (case, accents and apostrophes folded, letters a-z only).


def _tokens(name: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", name.casefold())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return re.findall(r"[a-z]+", re.sub(r"['’`‘]", "", folded))


def _keys(name: str) -> set[str]:
    """The name as one token and each of its parts (of two letters or more)."""
    parts = _tokens(name)
    return {"".join(parts), *(p for p in parts if len(p) > 1)} - {""}


@cache
def _similar_tokens() -> dict[str, frozenset[str]]:
    """Token -> the pool tokens the model would call similar to it: the same, one letter
    off (Damerau-Levenshtein <= 1), Jaro-Winkler >= 0.9, or of one nickname family."""
    names = [name for name, _ in (*SURNAMES, *MALE_FORENAMES, *FEMALE_FORENAMES)]
    universe = sorted(set().union(*(_keys(name) for name in names)))
    con = duckdb.connect()
    try:
        con.register("tok", pd.DataFrame({"t": universe}))
        pairs = con.execute(
            "select a.t, b.t from tok a, tok b where a.t = b.t"
            " or damerau_levenshtein(a.t, b.t) <= 1 or jaro_winkler_similarity(a.t, b.t) >= 0.9"
        ).fetchall()
    finally:
        con.close()
    similar: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        similar[a].add(b)
    nicknamer = NickNamer()
    families = {t: {t, *nicknamer.canonicals_of(t)} for t in universe}
    for a, b in product(universe, universe):
        if families[a] & families[b]:
            similar[a].add(b)
    return {t: frozenset(s) for t, s in similar.items()}


def _near_dates(iso: str) -> set[str]:
    """The date, day and month transposed, and every string one digit or one adjacent
    transposition away (those that are not dates match no member)."""
    year, month, day = iso.split("-")
    near = {iso, f"{year}-{day}-{month}"}
    for i, char in enumerate(iso):
        if char == "-":
            continue
        near.update(iso[:i] + digit + iso[i + 1 :] for digit in "0123456789")
        if i + 1 < len(iso):
            near.add(iso[:i] + iso[i + 1] + iso[i] + iso[i + 2 :])
    return near


class _MemberReach:
    def __init__(self, members: list[Person]) -> None:
        self._similar = _similar_tokens()
        self._dobs: dict[tuple[str, str], set[str]] = defaultdict(set)
        for person in members:
            dob = person.dob.isoformat()
            for s in _keys(person.surname):
                for f in _keys(person.forenames):
                    self._dobs[(s, f)].add(dob)

    def _near(self, name: str) -> set[str]:
        return set().union(*(self._similar.get(t, {t}) for t in _keys(name)))

    def resembles(self, person: Person) -> bool:
        near_s, near_f = self._near(person.surname), self._near(person.forenames)
        near_dob = None
        for key in chain(product(near_s, near_f), product(near_f, near_s)):  # as written, and swapped
            dobs = self._dobs.get(key)
            if dobs:
                near_dob = near_dob or _near_dates(person.dob.isoformat())
                if not near_dob.isdisjoint(dobs):
                    return True
        return False


def build(n_records: int, n_register: int, seed: int) -> BenchData:
    """The register and the records, deterministically from the seed."""
    if n_register < 1 or n_records < 0:
        raise ValueError("the register needs at least one member, and records cannot be negative")
    rng = random.Random(seed)
    iom_ids = [f"LDS-{i + 1:06d}" for i in range(n_register)]
    members = [_draw_person(rng, iom_id) for iom_id in iom_ids]
    register = pd.DataFrame(
        {
            "iom_id": iom_ids,
            "surname": [p.surname for p in members],
            "forenames": [p.forenames for p in members],
            "date_of_birth": [p.dob for p in members],
            "postcode": [p.postcode for p in members],
            **{col: None for col in ID_COLUMNS if col != "iom_id"},
            "status": "ACTIVE",
        }
    )

    n_varied = n_records // 2
    chosen: list[int] = []
    while len(chosen) < n_varied:  # each member once before any twice
        chosen.extend(rng.sample(range(n_register), min(n_register, n_varied - len(chosen))))
    rows: list[tuple[str, str | None, str, str, date | None, str]] = []  # kind, truth, details, postcode
    for i in chosen:
        kind, details = vary(rng, members[i])
        rows.append((kind, iom_ids[i], *details, members[i].postcode))

    reach = _MemberReach(members)
    redraws = 0
    for n in range(n_records - n_varied):
        stranger = _draw_person(rng, f"stranger-{n + 1}")
        while reach.resembles(stranger):
            redraws += 1
            stranger = _draw_person(rng, f"stranger-{n + 1}")
        rows.append((STRANGER, None, stranger.surname, stranger.forenames, stranger.dob, stranger.postcode))
    rng.shuffle(rows)

    records = pd.DataFrame(
        {
            "surname": [row[2] for row in rows],
            "forenames": [row[3] for row in rows],
            "date_of_birth": [row[4].isoformat() if row[4] else None for row in rows],
            "postcode": [row[5] for row in rows],
            **{col: None for col in ID_COLUMNS},
        },
        index=pd.RangeIndex(len(rows), name="rec"),
    )
    truth = pd.Series([row[1] for row in rows], index=records.index, dtype=object, name="iom_id")
    kind = pd.Series([row[0] for row in rows], index=records.index, name="kind")
    return BenchData(register, records, truth, kind, redraws)


# --- measuring -------------------------------------------------------------------------


@dataclass
class BenchResult:
    n_records: int
    n_register: int
    seed: int
    data: BenchData
    links: Links
    seconds: float  # the timed link_records call
    warm_up_seconds: float
    build_seconds: float
    outcomes: dict[str, int]
    by_kind: dict[str, tuple[int, int]]  # kind -> (records, linked to their own member)
    peak_rss_mib_link: float
    peak_rss_mib: float
    phases: dict[str, float] = field(default_factory=dict)
    pair_counts: dict[str, int] = field(default_factory=dict)
    profile: str = ""

    @property
    def methods(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.links.links["method"].value_counts().items()}

    @property
    def target_met(self) -> bool:
        return self.seconds < TARGET_SECONDS


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def evaluate(data: BenchData, links: Links) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Outcomes against the truth, as counts."""
    out = links.links.reindex(data.records.index)
    linked = out["method"].isin(LINKED_METHODS)
    own = linked & (out["iom_id"] == data.truth)
    member = data.truth.notna()
    review = out["method"] == REVIEW
    none = out["method"] == NOT_LINKED
    outcomes = {
        "member_records": int(member.sum()),
        "member_own": int((member & own).sum()),
        "member_other": int((member & linked & ~own).sum()),
        "member_review": int((member & review).sum()),
        "member_none": int((member & none).sum()),
        "stranger_records": int((~member).sum()),
        "stranger_linked": int((~member & linked).sum()),
        "stranger_review": int((~member & review).sum()),
        "stranger_none": int((~member & none).sum()),
    }
    by_kind = {
        kind: (int((data.kind == kind).sum()), int(((data.kind == kind) & own).sum()))
        for kind in (*VARIATIONS, STRANGER)
        if (data.kind == kind).any()
    }
    return outcomes, by_kind


def count_blocked_pairs(left: pd.DataFrame, right: pd.DataFrame) -> list[tuple[str, int]]:
    """Pairs each of the model's blocking rules adds to those before it: together, the
    pairs Splink scores.  Counted exactly, without scoring them."""
    con = duckdb.connect()
    try:
        db = DuckDBAPI(connection=con)
        counted = count_comparisons_from_blocking_rules(
            [db.register(left), db.register(right)],
            blocking_rules=trained_settings()["blocking_rules_to_generate_predictions"],
            link_type="link_only",
            record_sample_proportion=1.0,
        )
        return [(str(rule["blocking_rule"]), int(rule["marginal_comparison_count"])) for rule in counted]
    finally:
        con.close()


def breakdown(data: BenchData, thresholds: LinkThresholds, other: BenchData) -> tuple[dict[str, float], dict[str, int]]:
    """The timed call's main parts again, one by one, through the same public functions
    (``person_features``, ``score_pairs``), and the number of pairs the blocking rules
    let through."""
    phases: dict[str, float] = {}
    start = time.perf_counter()
    left = person_features(data.register, data.register["iom_id"])
    phases["features: register"] = time.perf_counter() - start
    details = data.records.reindex(columns=list(DETAIL_COLUMNS))
    start = time.perf_counter()
    right = person_features(details, pd.Series(range(len(details)), index=details.index).astype(str))
    phases["features: records"] = time.perf_counter() - start
    # The scorer keeps the register it last saw: show it another one (``other``'s) first,
    # so that scoring one record against ours pays for loading ours (hash, DuckDB table,
    # term frequencies), as the timed call did.
    score_pairs(person_features(other.register, other.register["iom_id"]), right.iloc[:1], thresholds.review_at)
    start = time.perf_counter()
    score_pairs(left, right.iloc[:1], thresholds.review_at)
    phases["scoring: loading the register (scoring one record against it: includes one predict's fixed cost)"] = (
        time.perf_counter() - start
    )
    start = time.perf_counter()
    kept = score_pairs(left, right, thresholds.review_at)
    phases[f"scoring: Splink predict_between + evidence, pairs >= review_at ({thresholds.review_at:g})"] = (
        time.perf_counter() - start
    )
    start = time.perf_counter()
    blocked = count_blocked_pairs(left, right)
    phases["counting every blocked pair (Splink blocking analysis, not part of link_records)"] = time.perf_counter() - start
    counts = {f"pairs blocked by {rule} (not by an earlier rule)": n for rule, n in blocked}
    counts |= {
        "pairs scored (every pair the blocking rules let through)": sum(n for _, n in blocked),
        f"pairs kept (match weight >= review_at {thresholds.review_at:g})": len(kept),
        f"pairs at or above link_at {thresholds.link_at:g}": int((kept["match_weight"] >= thresholds.link_at).sum()),
    }
    return phases, counts


# Functions whose cumulative time the profile summary shows: (label, path ending, function).
# The pipeline's modules change; a function no longer there shows as "not called".
_PROFILED = (
    ("linking.py link_records (whole call)", "pipelines/linking.py", "link_records"),
    ("linking.py _detail_scores (features + scoring)", "pipelines/linking.py", "_detail_scores"),
    ("features.py person_features", "pipelines/linkage/features.py", "person_features"),
    ("scoring.py score_pairs", "pipelines/linkage/scoring.py", "score_pairs"),
    ("  scoring.py Scorer.__init__ (once a process: in the warm-up)", "pipelines/linkage/scoring.py", "__init__"),
    ("  scoring.py Scorer._use_register (loading the register)", "pipelines/linkage/scoring.py", "_use_register"),
    ("  splink predict_between", "splink/internals/linker_components/inference.py", "predict_between"),
    ("  splink as_pandas_dataframe", "splink/internals/duckdb/dataframe.py", "as_pandas_dataframe"),
    ("  scoring.py _evidence (JSON per pair)", "pipelines/linkage/scoring.py", "_evidence"),
    ("linking.py _identifier_hits", "pipelines/linking.py", "_identifier_hits"),
    ("linking.py _identifier_disagreements", "pipelines/linking.py", "_identifier_disagreements"),
    ("linking.py set_outcome (rules' bookkeeping)", "pipelines/linking.py", "set_outcome"),
)


def _profile_summary(profiler: cProfile.Profile) -> str:
    stats = pstats.Stats(profiler)
    lines = ["profile of the timed call (cumulative seconds, under cProfile):"]
    for label, ending, function in _PROFILED:
        found = [ct for (path, _, name), (_, _, _, ct, _) in stats.stats.items() if name == function and path.endswith(ending)]
        lines.append(f"  {label:<62} {f'{sum(found):.2f}' if found else 'not called':>10}")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    lines.append("top 15 functions by own time:")
    lines.extend("  " + line for line in text.getvalue().splitlines() if line.strip())
    return "\n".join(lines)


def run(n_records: int, n_register: int, seed: int, *, phases: bool = True, profile: bool = False) -> BenchResult:
    thresholds = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml")).linking
    start = time.perf_counter()
    data = build(n_records, n_register, seed)
    build_seconds = time.perf_counter() - start

    tiny = build(*WARM_UP_SIZES, seed=seed + 1)
    start = time.perf_counter()
    link_records(tiny.records, tiny.register, thresholds)
    warm_up_seconds = time.perf_counter() - start

    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    links = link_records(data.records, data.register, thresholds)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    rss_link = _peak_rss_mib()

    outcomes, by_kind = evaluate(data, links)
    result = BenchResult(
        n_records, n_register, seed, data, links, seconds, warm_up_seconds, build_seconds, outcomes, by_kind, rss_link, rss_link
    )
    if profiler:
        result.profile = _profile_summary(profiler)
    if phases:
        result.phases, result.pair_counts = breakdown(data, thresholds, tiny)
        result.peak_rss_mib = _peak_rss_mib()
    return result


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(r: BenchResult) -> None:
    o = r.outcomes
    print(f"linkage benchmark: {r.n_records:,} identifier-less records against a {r.n_register:,}-member register, seed {r.seed}")
    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end; target: link_records under {TARGET_SECONDS:.0f} s"
    )
    print(
        f"data: {o['member_records']:,} members' details with one variation each, {o['stranger_records']:,} strangers"
        f" ({r.data.stranger_redraws:,} re-drawn for resembling a member); built in {r.build_seconds:.1f} s (not timed)"
    )
    print(
        f"warm-up: link_records on {WARM_UP_SIZES[0]} records / {WARM_UP_SIZES[1]} members took {r.warm_up_seconds:.1f} s"
        " (imports, model file, nickname table, Splink linker: not counted)"
    )
    print(f"link_records wall time: {r.seconds:.2f} s (features + loading the register + Splink scoring + rules)")
    print("outcomes by method: " + ", ".join(f"{m} {n:,}" for m, n in r.methods.items()))
    print(f"review candidates (result.candidates): {len(r.links.candidates):,}")
    print(
        f"members' records: own member {o['member_own']:,} ({_pct(o['member_own'], o['member_records'])}),"
        f" another member {o['member_other']:,}, review {o['member_review']:,}, not linked {o['member_none']:,}"
    )
    print(f"strangers: linked {o['stranger_linked']:,}, review {o['stranger_review']:,}, not linked {o['stranger_none']:,}")
    print("linked to their own member, by variation: " + ", ".join(f"{k} {own:,}/{n:,}" for k, (n, own) in r.by_kind.items()))
    if r.phases:
        print("breakdown (measured again after the timed call, one part at a time):")
        timed = {name: seconds for name, seconds in r.phases.items() if name.startswith(("features", "scoring"))}
        for name, seconds in timed.items():
            print(f"  {seconds:7.2f} s  {name}")
        rest = r.seconds - sum(timed.values())
        print(f"  {rest:7.2f} s  the rest of link_records, roughly (the timed call minus the above: dedup, rules)")
        for name, seconds in r.phases.items():
            if name not in timed:
                print(f"  {seconds:7.2f} s  {name}")
        for name, count in r.pair_counts.items():
            print(f"  {count:>9,}  {name}")
    if r.profile:
        print(r.profile)
    print(f"peak RSS: {r.peak_rss_mib_link:,.0f} MiB after the timed call, {r.peak_rss_mib:,.0f} MiB at the end")
    verdict = "TARGET MET" if r.target_met else "TARGET MISSED"
    print(f"{verdict}: {r.n_records:,} records against {r.n_register:,} members linked in {r.seconds:.1f} s (target < 60 s)")


def main(argv: list[str] | None = None) -> BenchResult:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linkage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=FULL_SIZES[0], help="feed records to link (default 100,000)")
    parser.add_argument("--register", type=int, default=FULL_SIZES[1], help="members in the register (default 50,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 records against 1,000 members (the smoke test)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the second, per-part measurement")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed call (slows it) and summarise")
    args = parser.parse_args(argv)
    n_records, n_register = QUICK_SIZES if args.quick else (args.records, args.register)
    result = run(n_records, n_register, args.seed, phases=not args.no_breakdown, profile=args.profile)
    report(result)
    return result


if __name__ == "__main__":
    main()
