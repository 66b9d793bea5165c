"""Link records to cohort members: the rules of CONTRACT section 4, set-based.

Rule 1: a valid strong identifier held by exactly one member of the register links to
that member (deterministic, first).  Rule 2: otherwise the linkage model
(``pipelines.linkage``, Splink) scores the record's name, date of birth and postcode
against the register: one member at or above the link threshold links; anything between
the review and link thresholds goes to review, never into a report.  Rule 3: identifiers
and details that point at different members, two identifiers that disagree, or details
that fit several members are never guessed: the record goes to review.

The hub's review decisions sit on top of all three: an accepted pair links, a rejected
pair never links again (``pipelines.review`` records them).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.identifiers import IdKind
from pipelines.linkage.features import person_features
from pipelines.linkage.scoring import score_pairs
from pipelines.settings import LinkThresholds

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
LINKED_BY_DETAILS = "details"
LINKED_BY_DECISION = "accepted"
REVIEW = "review"
NOT_LINKED = "none"
LINKED_METHODS = (LINKED_BY_ID, LINKED_BY_DETAILS, LINKED_BY_DECISION)

ACCEPT = "accept"
REJECT = "reject"

DETAIL_COLUMNS = ("surname", "forenames", "date_of_birth", "postcode")


@dataclass
class Links:
    """``links``: one row per record (iom_id or null, method, reason, match_weight).
    ``candidates``: the members a record might be (rec, iom_id, match_weight, evidence, via)."""

    links: pd.DataFrame
    candidates: pd.DataFrame


CANDIDATE_COLUMNS = ["rec", "iom_id", "match_weight", "evidence", "via"]


def _identifier_hits(records: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """(rec, iom_id) for every valid strong identifier that exactly one member holds."""
    hits = []
    for kind in STRONG_IDS:
        col = kind.value
        if col not in records.columns or col not in register.columns:
            continue
        held = register.dropna(subset=[col])
        held = held[~held[col].duplicated(keep=False)]
        unique = pd.DataFrame({"_value": held[col].to_numpy(), "iom_id": held["iom_id"].to_numpy()})
        given = pd.DataFrame({"rec": records.index, "_value": records[col].to_numpy()}).dropna()
        hits.append(given.merge(unique, on="_value")[["rec", "iom_id"]])
    if not hits:
        return pd.DataFrame(columns=["rec", "iom_id"])
    return pd.concat(hits, ignore_index=True).drop_duplicates()


def _identifier_disagreements(pairs: pd.DataFrame, records: pd.DataFrame, register: pd.DataFrame) -> pd.Series:
    """True for a pair where the record and the member both hold a valid identifier of
    one kind and they differ: the details may fit, but the identifiers say two people."""
    disagree = pd.Series(False, index=pairs.index)
    member = register.set_index("iom_id", drop=False)
    for kind in STRONG_IDS:
        col = kind.value
        if col not in records.columns or col not in register.columns:
            continue
        theirs = records[col].reindex(pairs["rec"]).to_numpy()
        ours = member[col].reindex(pairs["iom_id"]).to_numpy()
        both = pd.notna(theirs) & pd.notna(ours)
        disagree |= both & (theirs != ours)
    return disagree


def _detail_scores(records: pd.DataFrame, register: pd.DataFrame, review_at: float) -> pd.DataFrame:
    """Model scores (rec, iom_id, match_weight, contradicted, evidence) at or above ``review_at``.

    Records with the same details are scored once: a court list repeats a defendant
    for every offence, an attendance feed a client for every appointment.
    """
    details = records.reindex(columns=list(DETAIL_COLUMNS)).astype(object)
    details = details.where(details.notna(), None)
    keyed = details.astype(str).agg("\x1f".join, axis=1)
    distinct = ~keyed.duplicated()
    people = details[distinct]
    scored = score_pairs(
        person_features(register, register["iom_id"]),
        person_features(people, pd.Series(range(len(people)), index=people.index).astype(str)),
        min_weight=review_at,
    )
    person_of = pd.Series(keyed[distinct].to_numpy(), index=pd.RangeIndex(len(people)).astype(str))
    scored = scored.assign(_key=scored["unique_id_r"].map(person_of)).rename(columns={"unique_id_l": "iom_id"})
    recs = pd.DataFrame({"rec": records.index, "_key": keyed.to_numpy()})
    return recs.merge(scored[["_key", "iom_id", "match_weight", "contradicted", "evidence"]], on="_key")[
        ["rec", "iom_id", "match_weight", "contradicted", "evidence"]
    ]


def link_records(
    records: pd.DataFrame,
    register: pd.DataFrame,
    thresholds: LinkThresholds,
    decisions: pd.DataFrame | None = None,
) -> Links:
    """Link each record to at most one member of ``register`` (one cohort snapshot).

    ``records`` has surname, forenames, date_of_birth, optionally postcode, and any of
    the strong identifier columns (normalised; invalid ones null).  ``decisions`` has
    (rec, iom_id, decision) for the pairs the hub has decided, newest per pair.
    """
    out = pd.DataFrame(
        index=records.index, data={"iom_id": None, "method": NOT_LINKED, "reason": "", "match_weight": float("nan")}
    )
    empty = pd.DataFrame(columns=CANDIDATE_COLUMNS)
    if records.empty or register.empty:
        return Links(out, empty)
    decisions = decisions if decisions is not None else pd.DataFrame(columns=["rec", "iom_id", "decision"])
    decisions = decisions[decisions["iom_id"].isin(register["iom_id"])]
    rejected = decisions.loc[decisions["decision"] == REJECT, ["rec", "iom_id"]]

    def without_rejected(pairs: pd.DataFrame) -> pd.DataFrame:
        if rejected.empty or pairs.empty:
            return pairs
        flagged = pairs.merge(rejected.assign(_rejected=True), on=["rec", "iom_id"], how="left")["_rejected"]
        return pairs[flagged.isna().to_numpy()]

    ids = without_rejected(_identifier_hits(records, register))
    scores = without_rejected(_detail_scores(records, register, thresholds.review_at))
    scores = scores.assign(_disagrees=_identifier_disagreements(scores, records, register).to_numpy())
    # A member whose own identifier differs from the record's is somebody else, unless the
    # details fit firmly (then something is wrong, and a person looks: below).
    scores = scores[~scores["_disagrees"] | (scores["match_weight"] >= thresholds.link_at)]
    # Firm: the details alone would link.  Strong: and no identifier of the record says otherwise.
    firm = scores[(scores["match_weight"] >= thresholds.link_at) & ~scores["contradicted"]]
    strong = firm[~firm["_disagrees"]]

    def weight_of(recs: pd.Index, members: pd.Series, missing: float) -> pd.Series:
        pairs = pd.DataFrame({"rec": recs, "iom_id": members.to_numpy()})
        found = pairs.merge(scores[["rec", "iom_id", "match_weight"]], on=["rec", "iom_id"], how="left")
        return pd.Series(found["match_weight"].astype(float).fillna(missing).to_numpy(), index=recs)

    id_count = ids.groupby("rec")["iom_id"].nunique()
    id_member = ids.drop_duplicates("rec").set_index("rec")["iom_id"]
    strong_count = strong.groupby("rec")["iom_id"].nunique()
    best = strong.sort_values("match_weight", ascending=False).drop_duplicates("rec").set_index("rec")

    def set_outcome(index: pd.Index, method: str, reason: str = "", member: pd.Series | None = None) -> None:
        index = index.difference(decided)
        out.loc[index, "method"] = method
        out.loc[index, "reason"] = reason
        if member is not None:
            out.loc[index, "iom_id"] = member.loc[index]
            out.loc[index, "match_weight"] = weight_of(index, member.loc[index], float("nan"))
        decided.update(index)

    decided: set = set()
    accepted = decisions[decisions["decision"] == ACCEPT].drop_duplicates("rec", keep="last").set_index("rec")["iom_id"]
    set_outcome(accepted.index, LINKED_BY_DECISION, "the hub accepted this pair", accepted)

    # Rule 3: identifiers that disagree with each other.
    set_outcome(id_count[id_count > 1].index, REVIEW, "identifiers point at different members")
    # Rule 1, unless the details point firmly at somebody else (rule 3 again).
    single = id_member.loc[id_count[id_count == 1].index]
    elsewhere = firm.assign(_id=firm["rec"].map(single)).dropna(subset=["_id"])
    elsewhere = elsewhere[elsewhere["iom_id"] != elsewhere["_id"]]
    own_weight = weight_of(single.index, single, float("-inf"))
    clash = pd.Index(elsewhere["rec"].unique()).intersection(own_weight[own_weight < thresholds.link_at].index)
    set_outcome(clash, REVIEW, "identifier and personal details point at different members")
    set_outcome(single.index, LINKED_BY_ID, "", single)

    # Rule 2: the model's scores.
    set_outcome(strong_count[strong_count > 1].index, REVIEW, "personal details fit more than one member")
    set_outcome(best.index, LINKED_BY_DETAILS, "", best["iom_id"])
    high = scores["match_weight"] >= thresholds.link_at
    disagreeing = scores.loc[high & scores["_disagrees"], "rec"]
    set_outcome(pd.Index(disagreeing.unique()), REVIEW, "details fit a member whose identifier differs")
    contradicted = scores.loc[high & scores["contradicted"], "rec"]
    set_outcome(pd.Index(contradicted.unique()), REVIEW, "details fit a member but the name or date of birth disagrees")
    set_outcome(pd.Index(scores["rec"].unique()), REVIEW, "possible match, not certain")

    candidates = pd.concat(
        [
            scores.drop(columns=["_disagrees", "contradicted"]).assign(via="details"),
            ids.merge(scores[["rec", "iom_id"]], on=["rec", "iom_id"], how="left", indicator=True)
            .query("_merge == 'left_only'")
            .drop(columns="_merge")
            .assign(match_weight=float("nan"), evidence=None, via="identifier"),
        ],
        ignore_index=True,
    )[CANDIDATE_COLUMNS]
    on_review = out.index[out["method"] == REVIEW]
    return Links(out, candidates[candidates["rec"].isin(on_review)].reset_index(drop=True))
