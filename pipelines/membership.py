"""Who is in the cohort when: the reportability rule of CONTRACT section 4."""

from __future__ import annotations

import pandas as pd

IN_COHORT_STATUSES = ("ACTIVE", "DESELECTED")
MEMBER_COLUMNS = ["iom_id", "surname", "forenames", "managing_division", "status", "selected_on", "deselected_on"]


def attach_members(linked: pd.DataFrame, register: pd.DataFrame, event_date: str) -> pd.DataFrame:
    """Keep the records whose member's active interval contains ``event_date``.

    Names and division come from the register, not from the feed.  Members are ACTIVE or
    DESELECTED; an ACTIVE member's interval is open-ended.
    """
    if linked.empty or register.empty:
        return pd.DataFrame(
            columns=[*linked.columns, "managing_division", "member_status", "member_selected_on", "member_deselected_on"]
        )
    members = register[MEMBER_COLUMNS].rename(columns={c: f"m_{c}" for c in MEMBER_COLUMNS})
    merged = linked.drop(columns=[c for c in ("surname", "forenames") if c in linked]).merge(
        members, left_on="iom_id", right_on="m_iom_id", how="inner"
    )
    when = pd.to_datetime(merged[event_date])
    selected = pd.to_datetime(merged["m_selected_on"])
    deselected = pd.to_datetime(merged["m_deselected_on"]).where(merged["m_status"] == "DESELECTED")
    inside = merged["m_status"].isin(IN_COHORT_STATUSES) & (selected <= when) & (deselected.isna() | (when <= deselected))
    kept = merged[inside].drop(columns=["m_iom_id"])
    # Names and division replace the feed's; the member's status and interval keep a
    # prefix so they never collide with a feed's own columns (attendance has a status).
    shown = {"m_surname": "surname", "m_forenames": "forenames", "m_managing_division": "managing_division"}
    return kept.rename(columns=shown).rename(columns=lambda c: f"member_{c[2:]}" if c.startswith("m_") else c)


def active_members(register: pd.DataFrame, at: object) -> pd.DataFrame:
    """Members ACTIVE in the register with selected_on on or before ``at``."""
    if register.empty:
        return register
    selected = pd.to_datetime(register["selected_on"])
    return register[(register["status"] == "ACTIVE") & (selected <= pd.Timestamp(at))]
