"""Run a feed's Great Expectations suite on the warehouse for a report date.

The suites are GX's own serialisation (``suites/<feed>.json``, ``suites/record_link.json``),
loaded with ``gx.ExpectationSuite(**json)``: reviewers read and diff exactly what GX runs.
Their thresholds are suite parameters computed from recent history at run time
(``pipelines/quality/rules.py``), from tolerances kept beside each expectation in its
``meta``, with ``meta.why`` saying what the expectation is for.

GX runs in an ephemeral context (nothing written to disk, no project folder), made once
per process: importing GX costs seconds, validating a suite milliseconds. Its progress
bars are switched off in the context (``progress_bars``), and its own logger kept to
errors, so the run's logs stay the hub's. Results are reduced at once to ``Outcome``s:
the expectation, its column, success, the observed count or proportion and the threshold
as text; GX's result objects (which could hold values) go no further. The frames GX sees
hold no personal data in the first place (``pipelines/quality/frames.py``).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import warnings
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from pipelines.link_store import linker_version
from pipelines.quality.frames import FeedFrames, LinkFrames, event_frames, link_frames, snapshot_frames
from pipelines.quality.rules import RULES
from pipelines.settings import HubConfig, LinkThresholds

SUITES_DIR = Path(__file__).parent / "suites"
LINK_SUITE = "record_link"
ROWS, LINKS = "rows", "links"  # what a report is about: a feed's row table, or its stored links
# Aggregate expectations only, so nothing row-level is ever collected; BASIC keeps the
# observed value, and no unexpected value list is asked for should one be added.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0, "include_unexpected_rows": False}


@dataclass(frozen=True)
class Outcome:
    """One expectation's result for a report date: nothing in it is personal."""

    feed: str
    subject: str  # ROWS or LINKS
    rule: str
    expectation: str  # the GX expectation type
    column: str | None
    success: bool
    judged: bool  # False: not enough history or rows to judge by; passes, ``basis`` says why
    observed: int | float | None  # a row count, a proportion or a divergence
    threshold: str
    basis: str  # what the threshold was computed from, or why it was not judged

    @property
    def label(self) -> str:
        return f"{self.rule} {self.column}" if self.column and self.rule != "link_share" else self.rule

    def line(self) -> str:
        if not self.judged:
            return f"{self.feed} {self.label}: not judged ({self.basis})"
        return f"{self.feed} {self.label}: observed {_shown(self.rule, self.observed)}, expected {self.threshold} ({self.basis})"


def _shown(rule: str, value: int | float | None) -> str:
    if value is None:
        return "nothing (not evaluated)"
    if rule == "volume":
        return f"{value:g} rows"
    if rule in ("present", "link_share"):
        return f"{value:.1%}"
    return f"{value:.3f}"


@dataclass(frozen=True)
class QualityReport:
    feed: str
    subject: str
    report_date: date
    window: str  # which rows were validated (file dates only)
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]

    def metadata(self) -> dict[str, object]:
        """Dagster metadata: counts, proportions and sentences made of them."""
        out: dict[str, object] = {
            "report_date": self.report_date.isoformat(),
            "window": self.window,
            "expectations_judged": sum(o.judged for o in self.outcomes),
            "expectations_failed": len(self.failures),
        }
        for o in self.outcomes:
            out[o.label] = o.observed if o.judged and o.observed is not None else "not judged"
        out["failed"] = "\n".join(o.line() for o in self.failures) or "none"
        out["not_judged"] = "\n".join(o.line() for o in self.outcomes if not o.judged) or "none"
        return out

    def as_dicts(self) -> list[dict[str, Any]]:
        """Plain JSON-serialisable rows, one per expectation (the data-quality page's)."""
        return [{"report_date": self.report_date.isoformat(), **asdict(o)} for o in self.outcomes]


@cache
def load_suite(name: str) -> dict[str, Any]:
    """A suite as stored, checked once: every expectation names a known rule and says why."""
    spec = json.loads((SUITES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    for e in spec["expectations"]:
        meta = e.get("meta", {})
        if meta.get("rule") not in RULES or not meta.get("why"):
            raise ValueError(f"suite {name}: {e['type']} needs meta.rule (one of {', '.join(RULES)}) and meta.why")
    return spec


@cache
def _gx_source() -> Any:
    """The pandas data source of a GX ephemeral context, made once per process."""
    # Before the import: GX logs its registrations at import time, and the hub's logs are the hub's.
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GX's own imports of deprecated modules (sre_constants)
        import great_expectations as gx  # here: importing GX takes seconds, needed only by the checks
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

    config = DataContextConfig(
        # Nothing on disk: no docs site (GX would otherwise reserve a temporary folder for one).
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        # tqdm's "Calculating Metrics" bars would otherwise go to stderr, into every run's log.
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    return context.data_sources.add_pandas("warehouse")


@cache
def _batch_definition(name: str) -> Any:
    return _gx_source().add_dataframe_asset(name).add_batch_definition_whole_dataframe("report_window")


def _validate(suite: dict[str, Any], specs: dict[int, dict[str, Any]], frame: pd.DataFrame, parameters: dict[str, Any]) -> dict:
    """GX's result for each of ``specs`` (by its position in the suite)."""
    batch = _batch_definition(suite["name"]).get_batch(batch_parameters={"dataframe": frame})
    import great_expectations as gx  # imported by now (_gx_source), quietly

    # Each expectation carries its position, so results are matched whatever order GX returns them in.
    expectations = [{**copy.deepcopy(spec), "meta": {**spec["meta"], "position": i}} for i, spec in specs.items()]
    judged = gx.ExpectationSuite(name=suite["name"], expectations=expectations, meta=suite.get("meta"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GX's and pandas' notices about GX internals
        result = batch.validate(judged, result_format=RESULT_FORMAT, expectation_parameters=parameters)
    return {r.expectation_config.meta["position"]: r for r in result.results}


def _observed(result: Any) -> int | float | None:
    value = (result.result or {}).get("observed_value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # a count or a number, never anything else GX may put there
    return int(value) if isinstance(value, int) else round(float(value), 4)


def _threshold(rule: str, kwargs: dict[str, Any], column: str | None) -> str:
    if rule == "volume":
        return f"{kwargs.get('min_value')} to {kwargs.get('max_value')} rows"
    if rule == "present":
        return f"at least {kwargs.get('min_value', 0):.1%} with a valid {column}"
    if rule == "link_share":
        return f"at least {kwargs.get('min_value', 0):.1%} linked"
    return f"a divergence from the recent mix below {kwargs.get('threshold')}"


def _codes(feed_name: str, column: str | None) -> tuple[str, ...]:
    return next((c.values for c in FEEDS[feed_name].columns if c.name == column), ())


def _run(
    feed_name: str, subject: str, suite: dict[str, Any], frames: FeedFrames | LinkFrames, report_date: date, window: str
) -> QualityReport:
    """Compute each expectation's thresholds, run those that can be judged, reduce the results."""
    outcomes: dict[int, Outcome] = {}
    judged: dict[int, dict[str, Any]] = {}
    bases: dict[int, str] = {}
    parameters: dict[str, Any] = {}
    for i, spec in enumerate(suite["expectations"]):
        rule, column = spec["meta"]["rule"], spec["kwargs"].get("column")
        thresholds = RULES[rule](spec["meta"], frames, column, _codes(feed_name, column))
        if thresholds.skipped:
            outcomes[i] = Outcome(
                feed_name, subject, rule, spec["type"], column, True, False, None, "not judged", thresholds.skipped
            )
            continue
        parameters |= _parameters(spec, thresholds.kwargs)
        judged[i], bases[i] = spec, thresholds.basis
    results = _validate(suite, judged, frames.window, parameters) if judged else {}
    for i, spec in judged.items():
        outcomes[i] = _outcome(feed_name, subject, spec, results.get(i), bases[i])
    return QualityReport(feed_name, subject, report_date, window, tuple(outcomes[i] for i in sorted(outcomes)))


def _outcome(feed_name: str, subject: str, spec: dict[str, Any], result: Any, basis: str) -> Outcome:
    rule, column = spec["meta"]["rule"], spec["kwargs"].get("column")
    if result is None:  # never seen; should GX drop one, it fails rather than vanish
        return Outcome(feed_name, subject, rule, spec["type"], column, False, True, None, "not evaluated", basis)
    threshold = _threshold(rule, dict(result.expectation_config.kwargs), column)
    return Outcome(
        feed_name, subject, rule, spec["type"], column, bool(result.success), True, _observed(result), threshold, basis
    )


def _parameters(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Suite parameters: each computed kwarg under the name the suite gives it; a kwarg
    the suite fixes (a literal, not {"$PARAMETER": ...}) keeps the suite's value."""
    refs = {kwarg: spec["kwargs"].get(kwarg) for kwarg in values}
    return {ref["$PARAMETER"]: values[k] for k, ref in refs.items() if isinstance(ref, dict) and "$PARAMETER" in ref}


def _columns(suite: dict[str, Any], rule: str) -> list[str]:
    return [e["kwargs"]["column"] for e in suite["expectations"] if e["meta"]["rule"] == rule]


def validate_feed(engine: sa.Engine, feed_name: str, report_date: date, config: HubConfig) -> QualityReport:
    """The feed's suite on its report window for D (its row table's check)."""
    suite = load_suite(feed_name)
    history = suite["meta"]["history"]
    columns = _columns(suite, "present"), _columns(suite, "distribution")
    if FEEDS[feed_name].kind is FeedKind.EVENTS:
        days_after = config.feeds[feed_name].due_days_after
        frames = event_frames(engine, feed_name, report_date, days_after, columns, history["weeks"], history["days"])
    else:
        frames = snapshot_frames(engine, feed_name, report_date, columns, history["snapshots"])
    return _run(feed_name, ROWS, suite, frames, report_date, frames.window_label)


def validate_links(engine: sa.Engine, feed_name: str, report_date: date, thresholds: LinkThresholds) -> QualityReport:
    """The link suite on the stored links of the feed's report window for D (record_link/<feed>'s check)."""
    suite = load_suite(LINK_SUITE)
    frames = link_frames(engine, feed_name, report_date, linker_version(thresholds), suite["meta"]["history"]["days"])
    return _run(feed_name, LINKS, suite, frames, report_date, f"the report window of {report_date}")


def quality_summary(engine: sa.Engine, report_date: date, config: HubConfig) -> list[dict[str, Any]]:
    """Every suite's outcomes for report date D as plain dicts (JSON-serialisable): feed,
    subject, rule, expectation, column, success, judged, observed, threshold, basis."""
    reports = [validate_feed(engine, f, report_date, config) for f in FEEDS]
    reports += [validate_links(engine, f, report_date, config.linking) for f in LINKED_FEEDS]
    return [row for report in reports for row in report.as_dicts()]
