"""Link records to cohort members (CONTRACT section 4), set-based.

Rule 1: a valid strong identifier held by exactly one member of the register links to
that member.  Rule 2: otherwise an exact match on normalised name and date of birth
(postcode settling ties).  Rule 3: identifiers or personal details that point at
different members are never guessed: the record goes to review.  A near match (the kind
a person would have to check) goes to review too, never into a report.

Near matches come from :class:`CandidateFinder`s; the exact-rule finder here is the seam
where probabilistic matching (Splink) will plug in.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from pipelines.identifiers import IdKind

# Rule 1's order of strength.
STRONG_IDS: tuple[IdKind, ...] = (
    IdKind.IOM_ID,
    IdKind.NICHE_NOMINAL_ID,
    IdKind.NOMS_NUMBER,
    IdKind.CRN,
    IdKind.YOS_REF,
    IdKind.PNC_ID,
    IdKind.CRO_NUMBER,
)

LINKED_BY_ID = "identifier"
LINKED_BY_DETAILS = "name_dob"
REVIEW = "review"
NOT_LINKED = "none"


def name_key(surname: pd.Series, forenames: pd.Series) -> pd.Series:
    return normalise_name(surname) + "|" + normalise_name(forenames)


def normalise_name(values: pd.Series) -> pd.Series:
    """Case, accents, apostrophes, hyphens and spacing do not make a different person:
    ``O'Neill``, ``O Neill`` and ``oneill`` are one name, as are ``Ng-Smith`` and ``Ng Smith``."""
    text = values.astype("string").fillna("").str.casefold().str.normalize("NFKD")
    text = text.str.replace(r"[^a-z]+", "", regex=True)  # combining accents go with the rest
    return text.astype(object)


class CandidateFinder(Protocol):
    """Finds members a record *might* be, for the review list."""

    def candidates(self, records: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
        """Return rows (record index ``rec``, ``iom_id``, ``why``) of possible matches."""
        ...


class VariantFinder:
    """The usual variations, checked exactly: same surname and date of birth with other
    forenames, day and month transposed, forenames and surname swapped, or name only
    where the record has no date of birth."""

    def candidates(self, records: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
        recs = records.assign(rec=records.index)
        reg = register[["iom_id", "_name", "_surname", "_dob"]]
        ways = (
            (recs, ["_surname", "_dob"], ["_surname", "_dob"], "same surname and date of birth"),
            (recs.dropna(subset=["_dob_swapped"]), ["_name", "_dob_swapped"], ["_name", "_dob"],
             "day and month of birth transposed"),
            (recs, ["_name_swapped", "_dob"], ["_name", "_dob"], "forenames and surname swapped"),
            (recs[recs["_dob"].isna()], ["_name"], ["_name"], "name matches but no date of birth"),
        )  # fmt: skip
        found = [
            subset[["rec", *left]].merge(reg, left_on=left, right_on=right)[["rec", "iom_id"]].assign(why=why)
            for subset, left, right, why in ways
        ]
        return pd.concat(found, ignore_index=True)


def prepare_register(register: pd.DataFrame) -> pd.DataFrame:
    reg = register.copy()
    reg["_name"] = name_key(reg["surname"], reg["forenames"])
    reg["_surname"] = normalise_name(reg["surname"])
    reg["_dob"] = pd.to_datetime(reg["date_of_birth"]).dt.strftime("%Y-%m-%d")
    return reg


def link_records(
    records: pd.DataFrame,
    register: pd.DataFrame,
    finder: CandidateFinder | None = None,
) -> pd.DataFrame:
    """Link each record to at most one member.

    ``records`` has surname, forenames, date_of_birth and any of the strong identifier
    columns (already normalised; invalid ones are null), plus optionally postcode.
    ``register`` is one cohort snapshot (every status).  Returns a frame indexed like
    ``records`` with iom_id (or null), method, reason and candidates (';'-joined ids).
    """
    finder = finder or VariantFinder()
    out = pd.DataFrame(index=records.index, data={"iom_id": None, "method": NOT_LINKED, "reason": "", "candidates": ""})
    if records.empty or register.empty:
        return out
    reg = prepare_register(register)
    recs = pd.DataFrame(index=records.index)
    recs["_name"] = name_key(records["surname"], records["forenames"])
    recs["_name_swapped"] = name_key(records["forenames"], records["surname"])
    recs["_surname"] = normalise_name(records["surname"])
    dob = pd.to_datetime(records.get("date_of_birth"), errors="coerce")
    recs["_dob"] = dob.dt.strftime("%Y-%m-%d")
    swappable = dob.notna() & (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
    recs["_dob_swapped"] = None
    if swappable.any():
        s = dob[swappable]
        recs.loc[swappable, "_dob_swapped"] = (
            s.dt.year.astype(str) + "-" + s.dt.day.map("{:02d}".format) + "-" + s.dt.month.map("{:02d}".format)
        )
    recs["_postcode"] = records["postcode"] if "postcode" in records else None

    # Rule 1: each strong identifier that exactly one member holds.
    id_hits = []
    for kind in STRONG_IDS:
        col = kind.value
        if col not in records.columns or col not in reg.columns:
            continue
        held = reg.dropna(subset=[col])
        held = held[~held[col].duplicated(keep=False)]
        unique = pd.DataFrame({"_value": held[col].to_numpy(), "iom_id": held["iom_id"].to_numpy()})
        given = pd.DataFrame({"rec": records.index, "_value": records[col].to_numpy()}).dropna()
        hit = given.merge(unique, on="_value")[["rec", "iom_id"]]
        id_hits.append(hit)
    hits = pd.concat(id_hits, ignore_index=True).drop_duplicates() if id_hits else pd.DataFrame(columns=["rec", "iom_id"])
    id_count = hits.groupby("rec")["iom_id"].nunique()
    id_member = hits.drop_duplicates("rec").set_index("rec")["iom_id"]

    # Rule 2: exact normalised name and date of birth.
    keyed = reg.dropna(subset=["_dob"])
    detail_hits = (
        recs.dropna(subset=["_dob"])
        .reset_index(names="rec")
        .merge(
            keyed[["_name", "_dob", "iom_id", "postcode"]].rename(columns={"postcode": "_member_postcode"}),
            on=["_name", "_dob"],
        )
    )
    detail_count = detail_hits.groupby("rec")["iom_id"].nunique()
    # Postcode, where the record has one, may settle two members with the same details.
    pc = detail_hits[detail_hits["_postcode"].notna() & (detail_hits["_postcode"] == detail_hits["_member_postcode"])]
    pc_count = pc.groupby("rec")["iom_id"].nunique()
    detail_member = detail_hits.drop_duplicates("rec").set_index("rec")["iom_id"]
    pc_member = pc.drop_duplicates("rec").set_index("rec")["iom_id"]

    ids_conflict = id_count[id_count > 1].index
    by_id = id_count[id_count == 1].index
    by_details_unique = detail_count[detail_count == 1].index
    by_details_pc = pc_count[(pc_count == 1)].index.difference(by_details_unique)
    details_ambiguous = detail_count[detail_count > 1].index.difference(by_details_pc)
    details_member = pd.concat([detail_member.loc[by_details_unique], pc_member.loc[by_details_pc]])

    # Identifiers first; personal details that point at someone else send it to review.
    linked_id = id_member.loc[by_id]
    clash = linked_id.index.intersection(details_member.index)
    clash = clash[linked_id.loc[clash].to_numpy() != details_member.loc[clash].to_numpy()]
    # Details fitting several members: the identifier settles it if its member is one of
    # them; if not, identifier and details point at different people.
    fits = detail_hits.groupby("rec")["iom_id"].agg(set)
    clash = clash.union(pd.Index([r for r in linked_id.index.intersection(details_ambiguous) if linked_id[r] not in fits[r]]))
    ok_id = linked_id.index.difference(clash)
    out.loc[ok_id, "iom_id"] = linked_id.loc[ok_id]
    out.loc[ok_id, "method"] = LINKED_BY_ID

    no_id = recs.index.difference(hits["rec"].unique())
    ok_details = details_member.index.intersection(no_id)
    out.loc[ok_details, "iom_id"] = details_member.loc[ok_details]
    out.loc[ok_details, "method"] = LINKED_BY_DETAILS

    reviews: dict[object, tuple[str, set[str]]] = {}

    def review(index: pd.Index, reason: str, members: pd.DataFrame) -> None:
        grouped = members.groupby("rec")["iom_id"].agg(lambda s: set(s)) if not members.empty else pd.Series(dtype=object)
        for rec in index:
            if rec not in reviews:
                reviews[rec] = (reason, set(grouped.get(rec, set())))

    review(ids_conflict, "identifiers point at different members", hits)
    review(
        clash,
        "identifier and personal details point at different members",
        pd.concat([hits[hits["rec"].isin(clash)], detail_hits[detail_hits["rec"].isin(clash)][["rec", "iom_id"]]]),
    )
    review(details_ambiguous.intersection(no_id), "personal details fit more than one member", detail_hits)

    unresolved = out.index[(out["method"] == NOT_LINKED)].difference(pd.Index(list(reviews)))
    if len(unresolved):
        near = finder.candidates(recs.loc[unresolved], reg)
        for why, group in near.groupby("why", sort=True):
            review(pd.Index(group["rec"].unique()), f"possible match, not certain: {why}", group)

    if reviews:
        idx = pd.Index(list(reviews))
        out.loc[idx, "method"] = REVIEW
        out.loc[idx, "iom_id"] = None
        out.loc[idx, "reason"] = [reviews[r][0] for r in idx]
        out.loc[idx, "candidates"] = [";".join(sorted(reviews[r][1])) for r in idx]
    return out
