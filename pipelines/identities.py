"""The identity columns of a feed's rows, as linking needs them."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipelines.feeds import Feed
from pipelines.identifiers import invalid_mask, normalise_series


def derived_identities(feed: Feed, rows: pd.DataFrame, reference: date) -> tuple[pd.DataFrame, pd.Series]:
    """Add the feed's derived identifier columns; also return which rows held an invalid one."""
    out = rows.copy()
    invalid = pd.Series(False, index=rows.index)
    for d in feed.derived_identifiers:
        applies = rows[d.when_column] == d.when_value
        source = rows[d.source].where(applies, None)
        normalised = normalise_series(d.kind, source, reference)
        invalid |= invalid_mask(source, normalised)
        column = d.kind.value
        out[column] = normalised if column not in out else out[column].where(out[column].notna(), normalised)
    return out, invalid
