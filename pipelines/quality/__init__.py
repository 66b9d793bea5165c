"""Data quality beyond structure: a Great Expectations suite per feed, run as WARN checks.

pandera's typed schemas (``pipelines/checks/schema.py``) say whether each row is well
formed and block the run when not. These suites say whether the day's data looks like the
days before: its volume, how many identifiers are valid, the mix of coded values, whether
the register shrank, how many records linked to the cohort. A failure warns, never blocks:
unusual is not wrong, and a person should look (docs/design.md, "Data quality").

- ``suites/``: the suites, in GX's own JSON, reviewed like code.
- ``frames``: what the suites are run on, read from the warehouse without personal data.
- ``rules``: the thresholds, computed from recent history.
- ``run``: ``validate_feed``, ``validate_links`` and ``quality_summary``.
"""

from pipelines.quality.run import Outcome, QualityReport, quality_summary, validate_feed, validate_links

__all__ = ["Outcome", "QualityReport", "quality_summary", "validate_feed", "validate_links"]
