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
from pipelines.synth.names import name_key

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


class IdentityIndex:
    def __init__(self, persons: Iterable[Person], report_date: date) -> None:
        self._report_date = report_date
        self._ids: dict[tuple[IdKind, str], str] = {}
        self._people: dict[tuple[str, str, date], str] = {}
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

    def judge(
        self,
        ids: Mapping[IdKind, str | None],
        surname: str,
        forenames: str,
        dob: date | None,
    ) -> tuple[str | None, bool]:
        """(who the row points at, whether that is certain)."""
        pointed: set[str | None] = set()
        for kind, raw in ids.items():
            canonical = normalise(kind, raw, self._report_date) if raw else None
            if canonical is not None:
                # A valid identifier nobody holds points nowhere: not certain either.
                pointed.add(self._ids.get((kind, canonical)))
        by_name = self._people.get(person_key(surname, forenames, dob)) if dob else None
        if pointed:
            if len(pointed) == 1 and None not in pointed:
                (who,) = pointed
                if by_name is None or by_name == who:
                    return who, True
            return None, False
        return by_name, by_name is not None
