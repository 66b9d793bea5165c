"""Decides whether a written row identifies its person for certain (CONTRACT section 4).

The generator states who each row is about; this judge then reads the row as the
contract would (valid identifiers, exact name and date of birth) and says whether that
identity is certain.  Deriving the truth from the row's content, not from intent, keeps
truth.json honest when a random choice drops an identifier by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from pipelines.identifiers import IdKind, normalise
from pipelines.synth.model import Person
from pipelines.synth.names import loose_key, name_key

_PERSON_KINDS: tuple[tuple[IdKind, str], ...] = (
    (IdKind.IOM_ID, "iom_id"),
    (IdKind.NICHE_NOMINAL_ID, "niche"),
    (IdKind.NOMS_NUMBER, "noms"),
    (IdKind.CRN, "crn"),
    (IdKind.YOS_REF, "yos_ref"),
    (IdKind.PNC_ID, "pnc"),
    (IdKind.CRO_NUMBER, "cro"),
)


def person_key(surname: str, forenames: str, dob: date) -> tuple[str, str, date]:
    return name_key(surname), name_key(forenames), dob


def loose_person_key(surname: str, forenames: str, dob: date) -> tuple[str, str, date]:
    """The key the pipeline's exact-details rule joins on (pipelines.linking)."""
    return loose_key(surname), loose_key(forenames), dob


def identifierless(ids: Mapping[IdKind, str | None], report_date: date) -> bool:
    """True when none of the written identifiers is a valid strong identifier."""
    return not any(raw and normalise(kind, raw, report_date) is not None for kind, raw in ids.items())


class IdentityIndex:
    def __init__(self, persons: Iterable[Person], report_date: date) -> None:
        self._report_date = report_date
        self._ids: dict[tuple[IdKind, str], str] = {}
        self._people: dict[tuple[str, str, date], str] = {}
        self._loose: dict[tuple[str, str, date], set[str]] = {}
        for person in persons:
            for kind, attribute in _PERSON_KINDS:
                value = getattr(person, attribute)
                if value is not None:
                    if (kind, value) in self._ids:
                        raise AssertionError(f"identifier {value} held twice")
                    self._ids[(kind, value)] = person.person_id
            key = person_key(person.surname, person.forenames, person.dob)
            if key in self._people:
                raise AssertionError(f"name and date of birth held twice: {key}")
            self._people[key] = person.person_id
            self._loose.setdefault(loose_person_key(person.surname, person.forenames, person.dob), set()).add(person.person_id)

    def _canonical(self, kind: IdKind, raw: str | None) -> str | None:
        """The written identifier's canonical form: a held identifier written canonically
        is its own (the common case, and it spares a normalisation), else the rule decides."""
        if not raw:
            return None
        if (kind, raw) in self._ids:
            return raw
        return normalise(kind, raw, self._report_date)

    def variant_verdict(self, person_id: str, surname: str, forenames: str, dob: date | None) -> bool | None:
        """Whether details written for `person_id` without identifiers identify them for
        certain (True), leave them uncertain (False), or are unusable (None): exactly the
        details of someone else, under the judge's normalisation or the linker's looser one,
        or certain under one and not the other."""
        if dob is None:
            return False
        strict = self._people.get(person_key(surname, forenames, dob))
        loose = self._loose.get(loose_person_key(surname, forenames, dob), set())
        if strict not in (None, person_id) or loose - {person_id}:
            return None
        if (strict == person_id) != (person_id in loose):
            return None
        return strict == person_id

    def judge(
        self,
        ids: Mapping[IdKind, str | None],
        surname: str,
        forenames: str,
        dob: date | None,
    ) -> tuple[str | None, bool]:
        """(who the row points at, whether that is certain)."""
        who, certain, _ = self.assess(ids, surname, forenames, dob)
        return who, certain

    def assess(
        self,
        ids: Mapping[IdKind, str | None],
        surname: str,
        forenames: str,
        dob: date | None,
    ) -> tuple[str | None, bool, bool]:
        """(who the row points at, whether that is certain, whether it carries no valid
        strong identifier at all)."""
        pointed: set[str | None] = set()
        for kind, raw in ids.items():
            canonical = self._canonical(kind, raw)
            if canonical is not None:
                # A valid identifier nobody holds points nowhere: not certain either.
                pointed.add(self._ids.get((kind, canonical)))
        by_name = self._people.get(person_key(surname, forenames, dob)) if dob else None
        if pointed:
            if len(pointed) == 1 and None not in pointed:
                (who,) = pointed
                if by_name is None or by_name == who:
                    return who, True, False
            return None, False, False
        return by_name, by_name is not None, True
