"""How identifiers get written in the feeds: usually canonical, sometimes in the other
forms CONTRACT section 2 allows, occasionally wrong."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from pipelines.identifiers import CHECK_ALPHABET, normalise_pnc
from pipelines.synth.model import Person

# Counts of non-canonical PNC forms written, for truth["mess"].
PNC_FORMS: Counter[str] = Counter()


def written_pnc(rng: random.Random, person: Person, file_date: date, report_date: date) -> str:
    """The person's PNC as a partner system might type it; always normalises back."""
    assert person.pnc is not None and person.pnc_parts is not None
    year, serial = person.pnc_parts
    letter = person.pnc[-1]
    roll = rng.random()
    if roll < 0.72:
        return person.pnc
    if roll < 0.82:
        text, form = f"{year % 100:02d}/{serial:07d}{letter}", "short_year"
    elif roll < 0.91:
        text, form = f"{year:04d}/{serial}{letter}", "no_leading_zeros"
    elif roll < 0.95:
        text, form = f"{year % 100:02d}/{serial}{letter}", "short_year_no_leading_zeros"
    elif roll < 0.98:
        # Prison and probation systems drop the slash: twelve characters, the long form.
        text, form = f"{year:04d}{serial:07d}{letter}", "no_slash"
    else:
        # ... or the short form, two year digits then the serial (12394773H, 033Y).
        text, form = f"{year % 100:02d}{serial}{letter}", "no_slash_short_year"
    # The short year pivots on the report date, and only the date's year counts; keep only
    # forms that read back the same for every report date from the file's own date to D,
    # that is in each year from the file's to D's (D itself for D's year).
    first, last = sorted((file_date.year, report_date.year))
    dates = [report_date if y == report_date.year else date(y, 1, 1) for y in range(first, last + 1)]
    if any(normalise_pnc(text, d) != person.pnc for d in dates):
        return person.pnc
    if text != person.pnc:
        PNC_FORMS[form] += 1
    return text


def wrong_check_letter(canonical: str) -> str:
    """The same PNC or CRO with its check letter replaced by the next one in the alphabet."""
    letter = canonical[-1]
    wrong = CHECK_ALPHABET[(CHECK_ALPHABET.index(letter) + 1) % len(CHECK_ALPHABET)]
    return canonical[:-1] + wrong
