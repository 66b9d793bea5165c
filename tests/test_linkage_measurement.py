"""Linking measured against the generator's truth: the issue's targets, asserted.

A generated inbox where half the members' court and attendance records carry no
identifier and one variation of their details, with decoys (namesakes, twins, father
and son, common names), is linked for every report date exactly as the daily run links
it, and each outcome is compared with who the record really is.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.linkage.measurement import measure
from pipelines.settings import PROJECT_ROOT, load_hub_config

THRESHOLDS = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml")).linking


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("linkage")
    return measure(work, end_date=date(2026, 11, 23), days=30, seed=31, share=0.5, thresholds=THRESHOLDS)


def test_the_measurement_has_something_to_measure(measured):
    assert measured.variation_records > 500
    assert measured.decoy_records > 100
    assert measured.missing_records > 100
    assert set(measured.recall_by_variation) >= {
        "spelling", "nickname", "forenames_swapped", "middle_as_first", "dob_transposed", "no_dob",
    }  # fmt: skip


def test_no_stranger_reaches_a_report(measured):
    assert measured.decoy_reported == 0
    assert measured.precision >= 0.999, measured.figures()


def test_members_records_with_one_variation_link(measured):
    assert measured.recall >= 0.97, measured.figures()


def test_nothing_uncertain_is_dropped_silently(measured):
    # A member's record the model does not link is on the review list, not lost.
    assert measured.variation_lost == 0
    assert measured.missing_linked_right + measured.missing_to_review == measured.missing_records
