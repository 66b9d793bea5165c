"""The linkage model, declared once: what is compared, how, and which pairs are scored.

Splink scores a record against a member as the sum of one match weight per comparison
below (log2 of how much likelier that level of agreement is for the same person than
for two different people), plus the prior.  The levels are tried in order; the first
that holds counts.  Term-frequency adjustments make agreement on a common surname or
forename (Smith, Mohammed) worth less than agreement on a rare one, using frequencies
taken from the register in force, so a record's score depends only on it and that
register.  The trained m and u probabilities live beside this file in ``model.json``
(``iom-hub linkage-train`` re-estimates them); ``load_settings`` refuses a model file
trained for another declaration.
"""

from __future__ import annotations

import json
from pathlib import Path

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression, SettingsCreator, block_on

MODEL_PATH = Path(__file__).with_name("model.json")

# Surname and forenames written the other way round (the register is the left side,
# records the right): "Stacey" / "Ó Briain" for Stacey Ó Briain, "Dean Matthew" / "Atkinson".
_REVERSED = (
    '("surname_l" = "given_r" or "surname_l" = "forename1_r") and ("surname_r" = "given_l" or "surname_r" = "forename1_l")'
)
# The first forename of one side is another of the other's forenames (middle name first).
_ANOTHER_FORENAME = 'list_contains("forenames_all_l", "forename1_r") or list_contains("forenames_all_r", "forename1_l")'


SURNAME = cl.CustomComparison(
    output_column_name="surname",
    comparison_description="surname",
    comparison_levels=[
        cll.NullLevel("surname"),
        cll.ExactMatchLevel("surname", term_frequency_adjustments=True).configure(label_for_charts="same surname"),
        cll.CustomLevel(_REVERSED, "surname and forename swapped"),
        cll.ArrayIntersectLevel("surname_parts", 1).configure(label_for_charts="one part of a double surname"),
        cll.DamerauLevenshteinLevel("surname", 1).configure(label_for_charts="one letter wrong, missing or swapped"),
        cll.JaroWinklerLevel("surname", 0.9).configure(label_for_charts="similar (Jaro-Winkler >= 0.9)"),
        cll.ElseLevel().configure(label_for_charts="disagrees"),
    ],
)

FORENAMES = cl.CustomComparison(
    output_column_name="forenames",
    comparison_description="forenames",
    comparison_levels=[
        cll.NullLevel("forename1"),
        cll.ExactMatchLevel("forename1", term_frequency_adjustments=True).configure(label_for_charts="same first forename"),
        cll.CustomLevel(_REVERSED, "surname and forename swapped"),
        cll.ArrayIntersectLevel("forename_names", 1).configure(label_for_charts="nickname of the same name"),
        cll.DamerauLevenshteinLevel("forename1", 1).configure(label_for_charts="one letter wrong, missing or swapped"),
        cll.CustomLevel(_ANOTHER_FORENAME, "a middle name used as the first"),
        cll.JaroWinklerLevel("forename1", 0.9).configure(label_for_charts="similar (Jaro-Winkler >= 0.9)"),
        cll.ElseLevel().configure(label_for_charts="disagrees"),
    ],
)

DATE_OF_BIRTH = cl.CustomComparison(
    output_column_name="date_of_birth",
    comparison_description="date of birth",
    comparison_levels=[
        cll.NullLevel("dob"),
        cll.ExactMatchLevel("dob").configure(label_for_charts="same date of birth"),
        cll.CustomLevel('"dob_l" = "dob_swapped_r"', "day and month transposed"),
        cll.DamerauLevenshteinLevel("dob", 1).configure(label_for_charts="one digit wrong or two swapped"),
        cll.ElseLevel().configure(label_for_charts="disagrees"),
    ],
)

# Every Leeds postcode shares its area (LS), so agreement there says nothing: no area level.
_SECTOR = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]"
_DISTRICT = r"^[A-Z]{1,2}[0-9][A-Z0-9]?"
POSTCODE = cl.CustomComparison(
    output_column_name="postcode",
    comparison_description="postcode",
    comparison_levels=[
        cll.NullLevel("postcode"),
        cll.ExactMatchLevel("postcode").configure(label_for_charts="same postcode"),
        cll.ExactMatchLevel(ColumnExpression("postcode").regex_extract(_SECTOR)).configure(label_for_charts="same sector"),
        cll.ExactMatchLevel(ColumnExpression("postcode").regex_extract(_DISTRICT)).configure(label_for_charts="same district"),
        cll.ElseLevel().configure(label_for_charts="disagrees"),
    ],
)

COMPARISONS = [SURNAME, FORENAMES, DATE_OF_BIRTH, POSTCODE]

# Which pairs are scored at all.  Each rule is cheap (an equality join); together they
# catch every single variation: a slip in a name keeps the date of birth, a transposed
# date keeps the name, a missing date keeps the name.
BLOCKING_RULES = [
    block_on("dob"),
    '"l"."dob" = "r"."dob_swapped"',
    block_on("surname", "forename1"),
    '"l"."surname" = "r"."given" and "l"."given" = "r"."surname"',
]

# A pair whose names or dates of birth flatly disagree (the comparison's last level) is
# never linked on the score alone, however well the rest agrees: father and son at one
# address, twins, a namesake.  It can still go to review (a changed surname).
CONTRADICTING = ("surname", "forenames", "date_of_birth")


def declaration() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=COMPARISONS,
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        retain_matching_columns=True,  # the gamma (level) columns, for the evidence
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


def structure(settings: dict) -> list[tuple[str, list[str]]]:
    """What a model file was trained for: each comparison's levels' SQL."""
    return [
        (c["output_column_name"], [level["sql_condition"] for level in c["comparison_levels"]]) for c in settings["comparisons"]
    ]


class ModelMismatch(RuntimeError):
    pass


def load_settings(path: Path = MODEL_PATH) -> dict:
    """The trained model, checked against the declaration above."""
    trained = json.loads(path.read_text(encoding="utf-8"))
    from splink import DuckDBAPI

    declared = declaration().get_settings(DuckDBAPI().sql_dialect.sql_dialect_str).as_dict()
    if structure(trained) != structure(declared):
        raise ModelMismatch(
            f"{path} was trained for a different model declaration (pipelines/linkage/model.py): run `iom-hub linkage-train`"
        )
    return trained
