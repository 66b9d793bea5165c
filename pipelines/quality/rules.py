"""The thresholds a suite's expectations are run with, computed from recent history.

Each expectation in a suite (``pipelines/quality/suites/*.json``) names its rule in
``meta.rule`` and carries the rule's tolerances in its ``meta``; its kwargs refer to the
computed thresholds as suite parameters (``{"$PARAMETER": "min_rows"}``). A rule returns
the values of those kwargs, a sentence saying what they were computed from, or the
reason there is not enough to judge by (then the expectation is not run, and passes with
that note). No value here is personal: counts, proportions and code mixes only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.quality.frames import BLANK, FeedFrames, LinkFrames


@dataclass(frozen=True)
class Thresholds:
    kwargs: dict[str, Any]  # expectation kwarg -> computed value
    basis: str  # what they were computed from, for people
    skipped: str | None = None  # why the expectation is not judged today


def skip(reason: str) -> Thresholds:
    return Thresholds({}, "", reason)


def volume(meta: Mapping[str, Any], frames: FeedFrames, column: str | None, codes: tuple[str, ...] = ()) -> Thresholds:
    """Rows of the window within [median x min_ratio, median x max_ratio] of comparable
    earlier windows; a difference under ``slack_rows`` never counts (small feeds vary)."""
    counts = frames.earlier_counts
    if len(counts) < meta["min_history"]:
        return skip(f"not enough history: {len(counts)} of the {meta['min_history']} earlier windows needed")
    median = statistics.median(counts)
    slack = meta["slack_rows"]
    low = max(0, math.ceil(min(median * meta["min_ratio_to_median"], median - slack)))
    high = math.floor(max(median * meta["max_ratio_to_median"], median + slack))
    return Thresholds({"min_value": low, "max_value": high}, f"median {median:g} rows over {len(counts)} {frames.earlier_label}")


def present(meta: Mapping[str, Any], frames: FeedFrames, column: str | None, codes: tuple[str, ...] = ()) -> Thresholds:
    """Share of rows with a valid identifier at least ``min_ratio_to_recent`` of the recent share."""
    if len(frames.window) < meta["min_rows"]:
        return skip(f"only {len(frames.window)} rows in the window ({meta['min_rows']} needed to judge a rate)")
    recent = frames.recent[column]
    if "min_ratio_to_recent" not in meta:
        return Thresholds({}, "a fixed threshold")
    if len(recent) < meta["min_recent_rows"]:
        return skip(f"only {len(recent)} rows of history ({meta['min_recent_rows']} needed)")
    share = float(recent.notna().mean())
    return Thresholds(
        {"min_value": round(share * meta["min_ratio_to_recent"], 4)}, f"{share:.1%} present in {frames.recent_label}"
    )


def distribution(meta: Mapping[str, Any], frames: FeedFrames, column: str | None, codes: tuple[str, ...] = ()) -> Thresholds:
    """The recent mix of a coded column as a GX categorical partition: every allowed code
    and blank, each count smoothed (``smoothing`` added) so no code has zero weight and a
    code that was rare but possible never makes the divergence infinite."""
    recent = frames.recent[column]
    if len(frames.window) < meta["min_rows"]:
        return skip(f"only {len(frames.window)} rows in the window ({meta['min_rows']} needed to judge a mix)")
    if len(recent) < meta["min_recent_rows"]:
        return skip(f"only {len(recent)} rows of history ({meta['min_recent_rows']} needed)")
    seen = pd.concat([recent, frames.window[column]]).unique().tolist()
    values = [*codes, BLANK, *sorted(set(seen) - {*codes, BLANK})]
    counts = recent.value_counts().reindex(values, fill_value=0) + meta["smoothing"]
    weights = (counts / counts.sum()).tolist()
    return Thresholds(
        {"partition_object": {"values": values, "weights": weights}}, f"against {len(recent)} rows of {frames.recent_label}"
    )


def link_share(meta: Mapping[str, Any], frames: LinkFrames, column: str | None, codes: tuple[str, ...] = ()) -> Thresholds:
    """Share linked at least ``min_ratio_to_recent`` of the recent share, judged only when
    the window should hold ``min_expected_linked`` linked records (fewer is chance)."""
    earlier = frames.earlier
    if len(earlier) < meta["min_history"]:
        return skip(f"stored links for {len(earlier)} of the {meta['min_history']} earlier report dates needed")
    share = float(earlier["linked"].sum() / earlier["records"].sum())
    expected = share * len(frames.window)
    if expected < meta["min_expected_linked"]:
        return skip(
            f"{len(frames.window)} records at the recent share ({share:.1%}) would hold {expected:.1f} linked; "
            f"{meta['min_expected_linked']} needed to judge"
        )
    basis = f"{share:.1%} linked over {len(earlier)} of {frames.earlier_label}"
    return Thresholds({"min_value": round(share * meta["min_ratio_to_recent"], 4)}, basis)


# (the expectation's meta, the frames, its column, the column's allowed codes) -> thresholds.
RULES: dict[str, Callable[..., Thresholds]] = {
    "volume": volume,
    "present": present,
    "distribution": distribution,
    "link_share": link_share,
}
