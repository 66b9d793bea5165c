"""The linkage benchmark's quick mode (``python -m benchmarks.linkage --quick``) runs and
its numbers mean what they say.  Behaviour only: how long it took is the benchmark's
report, never a test's verdict."""

from __future__ import annotations

import re

from benchmarks.linkage import ID_COLUMNS, QUICK_SIZES, STRANGER, VARIATIONS, main
from pipelines.linking import LINKED_METHODS, NOT_LINKED, REVIEW


def test_quick_benchmark_links_varied_members_to_themselves_and_no_stranger(capsys):
    result = main(["--quick"])
    n_records, n_register = QUICK_SIZES
    data, links = result.data, result.links.links

    # The sizes asked for, unique iom_ids, records without any identifier.
    assert (result.n_records, result.n_register) == (n_records, n_register)
    assert len(data.records) == n_records and len(data.register) == n_register
    assert data.register["iom_id"].is_unique
    assert data.records[list(ID_COLUMNS)].isna().all().all()

    # Half members' details with one variation each, half strangers; the truth says who is who.
    members = data.truth.notna()
    assert members.sum() == n_records // 2
    assert set(data.truth[members]) <= set(data.register["iom_id"])
    assert set(data.kind[members]) <= set(VARIATIONS)
    assert (data.kind[~members] == STRANGER).all()

    # Every record got exactly one outcome.
    assert links.index.equals(data.records.index)
    assert links.index.is_unique
    assert links["method"].isin([*LINKED_METHODS, REVIEW, NOT_LINKED]).all()
    linked = links["method"].isin(LINKED_METHODS)
    assert links.loc[linked, "iom_id"].notna().all()
    assert links.loc[~linked, "iom_id"].isna().all()

    # Members' varied details mostly link to that member; a stranger never links.
    own = linked & (links["iom_id"] == data.truth)
    assert own[members].sum() >= 0.8 * members.sum()
    assert not linked[~members].any()
    assert result.outcomes["member_own"] == own[members].sum()
    assert result.outcomes["stranger_linked"] == 0

    # The report gives counts and a verdict, never a name.
    out = capsys.readouterr().out
    assert re.search(r"^TARGET (MET|MISSED): ", out, re.MULTILINE)
    assert f"{n_records:,} records against {n_register:,} members" in out
    names = set(data.register["surname"]) | set(data.register["forenames"]) | set(data.records["surname"])
    names |= set(data.records["forenames"])
    words = set(re.findall(r"[^\W\d_][^\W\d_'’-]*", out))
    assert not words & {part for name in names for part in re.split(r"[\s'’-]+", name) if len(part) > 2}
