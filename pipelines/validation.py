"""Validate a feed's raw text table against its declarative spec, then type it.

A pandera schema, built from the feed's :class:`~pipelines.feeds.Feed` description, finds
every broken row in one lazy, vectorised pass; broken rows are quarantined with their
location and a reason naming the column and the rule (never the offending value, which
may be personal data).  The remaining rows are converted to typed columns and their
identifiers normalised; an invalid identifier is a data-quality finding, not a rejection.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api.types import infer_dtype

from pipelines.feeds import ColType, Column, Feed
from pipelines.identifiers import IdKind, invalid_mask, normalise_series
from pipelines.identities import derived_identities
from pipelines.parsing import LOC, ROW, FileRejected, RawTable

FILE_DATE = "__file_date__"
LOCAL_DATE = "local_date"


@dataclass
class Validated:
    rows: pd.DataFrame  # typed, with ROW and LOC
    quarantined: pd.DataFrame  # ROW, LOC, reason
    findings: pd.DataFrame  # ROW, LOC, column, rule
    drift: list[str] = field(default_factory=list)  # unknown extra columns

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.quarantined)


SeriesFn = Callable[[pd.Series], pd.Series]


def _per_distinct(fn: SeriesFn) -> SeriesFn:
    """``fn`` worked out once per distinct value of a text column and spread back over its rows
    (``fn`` returns a Series, or a DataFrame of several results, one row per value).

    pandas' ``.str`` methods on text loop over the values in Python, and a register snapshot
    arrives every day, repeating most of yesterday's cells: worked out per distinct value,
    the string work costs what the distinct values cost, not what the rows do.  Exact for
    the functions wrapped here, which treat each value on its own and every missing value
    (None, NaN) alike; anything but text cells is simply passed to ``fn`` whole.
    """

    def on_distinct(s: pd.Series) -> pd.Series:
        values = s.to_numpy(dtype=object)
        if infer_dtype(values, skipna=True) != "string":
            return fn(s)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # A missing value is worked out once too, as the last distinct value (code -1).
        result = fn(pd.Series(np.append(uniques, None), dtype=object, name=s.name))
        return result.take(codes).set_axis(s.index)

    return on_distinct


def _blank_to_none(s: pd.Series) -> pd.Series:
    text = s.astype(object).where(s.notna(), "").astype(str).str.strip()
    return text.where(text != "", None)


def _upper_blank_to_none(s: pd.Series) -> pd.Series:
    return _blank_to_none(s).str.upper()


_cleaned = _per_distinct(_blank_to_none)
_cleaned_upper = _per_distinct(_upper_blank_to_none)


def _formats(feed: Feed, col: Column) -> tuple[str, ...]:
    """The text formats a date or timestamp column may take in this feed."""
    if col.type is ColType.DATE:
        return (feed.date_format,)
    return feed.datetime_formats + ((feed.date_format,) if col.date_only_allowed else ())


def _parse(values: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """Timestamps from text in any of ``formats``; NaT where none fits."""
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in formats:
        parsed = parsed.fillna(pd.to_datetime(values, format=fmt, errors="coerce"))
    return parsed


def _parses(formats: tuple[str, ...]):
    def check(s: pd.Series) -> pd.Series:
        return _parse(s, formats).notna() | s.isna()

    return check


# C0 and C1 control characters other than tab, line feed and carriage return (a quoted
# CSV field may span lines).  Nobody types them: they mark a damaged file, and NUL cannot
# be stored in a PostgreSQL text column at all.
_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_ANY_CONTROL = re.compile(_CONTROL)


def _no_control_characters(s: pd.Series) -> pd.Series:
    return ~s.astype(object).str.contains(_CONTROL, regex=True, na=False).astype(bool)


_no_control_per_distinct = _per_distinct(_no_control_characters)


def _no_control_check(s: pd.Series) -> pd.Series:
    """Almost no column holds one: one scan of all its text (joined by a line feed, which
    is allowed) clears it, and only a column that has one is judged value by value."""
    text = s.dropna()
    if infer_dtype(text, skipna=False) == "string" and not _ANY_CONTROL.search("\n".join(text)):
        return pd.Series(True, index=s.index)
    return _no_control_per_distinct(s)


def _check(fn: SeriesFn, name: str) -> pa.Check:
    """A check that judges missing values itself (every one here passes them), so pandera
    need not drop them first: ignore_na=False saves a copy of every column per check, and
    for a row rule a test of the whole frame for rows with every cell missing (none is:
    every row has its file, ordinal and location)."""
    return pa.Check(fn, name=name, ignore_na=False)


def _column_checks(feed: Feed, col: Column, divisions: frozenset[str] | None) -> list[pa.Check]:
    checks: list[pa.Check] = [_check(_no_control_check, "contains a control character")]
    if col.type is ColType.DATE:
        human = feed.date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
        checks.append(_check(_per_distinct(_parses(_formats(feed, col))), f"not a valid date ({human})"))
    elif col.type is ColType.DATETIME:
        checks.append(_check(_per_distinct(_parses(_formats(feed, col))), "not a valid timestamp"))
    elif col.type is ColType.DIVISION and divisions is not None:
        checks.append(_check(lambda s: s.isin(divisions) | s.isna(), "not a configured division code"))
    elif col.type is ColType.ENUM:
        allowed = set(col.values)
        checks.append(_check(lambda s: s.isin(allowed) | s.isna(), f"not one of {', '.join(col.values)}"))
    elif col.type is ColType.IDENTIFIER and col.required and col.id_kind is not None:
        # An invalid identifier is treated as absent (CONTRACT section 2); a required one
        # absent leaves the row without its key, so the row cannot load.
        checks.append(
            _check(_per_distinct(_valid_identifier(col.id_kind)), f"not a valid {col.id_kind.value}, and it is required")
        )
    return checks


# The warehouse stores identifiers as String(64) (warehouse/schema.py): none is longer,
# and a longer value would not fit a PostgreSQL column.
ID_WIDTH = 64


def _normalised(kind: IdKind, values: pd.Series, reference: date) -> pd.Series:
    normalised = normalise_series(kind, values, reference)
    return normalised.where(normalised.isna() | (normalised.astype("string").str.len() <= ID_WIDTH), None)


def _valid_identifier(kind: IdKind):  # type: ignore[no-untyped-def]
    def check(s: pd.Series) -> pd.Series:
        # The reference date only sets a short PNC year's century, never validity.
        return ~invalid_mask(s, _normalised(kind, s, date.today()))

    return check


def _identified(kind: IdKind, reference: date) -> Callable[[pd.Series], pd.DataFrame]:
    """Each value's canonical form (None if blank or invalid) and whether it was invalid."""

    def both(values: pd.Series) -> pd.DataFrame:
        normalised = _normalised(kind, values, reference)
        return pd.DataFrame({"normalised": normalised, "invalid": invalid_mask(values, normalised)})

    return both


def _dates(formats: tuple[str, ...]) -> SeriesFn:
    """Dates (datetime.date, None where missing) from text in any of ``formats``."""

    def typed(values: pd.Series) -> pd.Series:
        parsed = _parse(values, formats)
        return parsed.dt.date.astype(object).where(parsed.notna(), None)

    return typed


@cache
def schema_for(feed: Feed, divisions: frozenset[str] | None = None) -> pa.DataFrameSchema:
    """The text-level schema of a feed: required values, formats, allowed values, row rules."""
    columns = {
        col.name: pa.Column(object, nullable=not col.required, required=False, checks=_column_checks(feed, col, divisions))
        for col in feed.columns
    }
    after_file = [_not_after_file_date(feed, col) for col in feed.columns if col.not_after_file_date]
    return pa.DataFrameSchema(
        columns,
        checks=[_check(rule.check, rule.name) for rule in feed.row_rules] + after_file,
        strict=False,
    )


def _not_after_file_date(feed: Feed, col: Column) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        return ~(_parse(df[col.name], _formats(feed, col)).dt.normalize() > pd.to_datetime(df[FILE_DATE]))

    return _check(check, f"{col.name} is after the file's date")


_READABLE = {"not_nullable": "required value missing"}


FILE = "__file__"


def validate(feed: Feed, raw: RawTable, file_date: date | None, divisions: frozenset[str] | None = None) -> Validated:
    """Validate one file's table.  Raises FileRejected if it cannot be used at all."""
    outcome = validate_files(feed, {"file": (raw, file_date)}, divisions)["file"]
    if isinstance(outcome, FileRejected):
        raise outcome
    return outcome


def validate_files(
    feed: Feed, tables: dict[str, tuple[RawTable, date | None]], divisions: frozenset[str] | None = None
) -> dict[str, Validated | FileRejected]:
    """Validate many files of one feed in a single vectorised pass.

    Per-file overheads dominate when a day brings hundreds of small files, so their rows
    are checked together and the results split back per file.
    """
    results: dict[str, Validated | FileRejected] = {}
    frames = []
    for name, (raw, file_date) in tables.items():
        missing = [c for c in feed.required_columns if c not in raw.columns]
        if missing:
            results[name] = FileRejected(f"required column(s) missing: {', '.join(missing)}", rows=raw.rows_in or None)
            continue
        frame = raw.frame.reindex(columns=[*feed.column_names, ROW, LOC])
        frame[FILE] = name
        frame[FILE_DATE] = file_date.isoformat() if file_date else None
        frames.append(frame)
    if not frames:
        return results
    frame = pd.concat(frames, ignore_index=True)
    for col in feed.columns:
        upper = col.type in (ColType.ENUM, ColType.IDENTIFIER, ColType.DIVISION)
        frame[col.name] = (_cleaned_upper if upper else _cleaned)(frame[col.name])

    reasons = _failures(feed, frame, divisions)
    bad_index = reasons.index.unique()
    joined = reasons.groupby(level=0).agg("; ".join)
    bad = pd.DataFrame({FILE: frame.loc[bad_index, FILE], ROW: frame.loc[bad_index, ROW], LOC: frame.loc[bad_index, LOC],
                        "reason": joined.loc[bad_index]})  # fmt: skip
    typed, findings = _typed(feed, frame.drop(index=bad_index))
    by_file_typed = dict(tuple(typed.groupby(FILE, sort=False)))
    by_file_bad = dict(tuple(bad.groupby(FILE, sort=False)))
    by_file_findings = dict(tuple(findings.groupby(FILE, sort=False))) if not findings.empty else {}
    for name, (raw, _) in tables.items():
        if name in results:
            continue
        parts = [
            pd.DataFrame(raw.bad_rows, columns=[ROW, LOC, "reason"]),
            by_file_bad.get(name, bad.iloc[0:0]).drop(columns=FILE),
        ]
        quarantined = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True).sort_values(ROW, kind="stable")
        rows = by_file_typed.get(name, typed.iloc[0:0]).drop(columns=FILE)
        found = by_file_findings.get(name, findings.iloc[0:0]).drop(columns=FILE, errors="ignore")
        drift = [c for c in raw.columns if c not in feed.column_names]
        results[name] = Validated(
            rows.reset_index(drop=True), quarantined.reset_index(drop=True), found.reset_index(drop=True), drift
        )
    return results


def _failures(feed: Feed, frame: pd.DataFrame, divisions: frozenset[str] | None) -> pd.Series:
    """One reason string per failed (row, rule), indexed by frame row."""
    if frame.empty:
        return pd.Series(dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandera's own advisory warnings are not ours to show
        try:
            schema_for(feed, divisions).validate(frame, lazy=True)
            return pd.Series(dtype=object)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
    cases = cases[cases["index"].notna()]
    is_frame_rule = cases["schema_context"] == "DataFrameSchema"
    reason = cases["check"].map(lambda c: _READABLE.get(c, c)).astype(str)
    reason = reason.where(is_frame_rule, cases["column"].astype(str) + ": " + reason)
    out = pd.DataFrame({"index": cases["index"].astype(int), "reason": reason}).drop_duplicates()
    return out.set_index("index")["reason"].sort_index(kind="stable")


def _typed(feed: Feed, good: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = pd.DataFrame({FILE: good[FILE], ROW: good[ROW].astype("int64"), LOC: good[LOC].astype(str)})
    findings = []
    # Short-form PNC years pivot on the year of the file that delivered them
    # (docs/design.md); only the year matters, so rows are normalised per year.
    file_year = good[FILE_DATE].str[:4].fillna(str(date.today().year))
    references = {y: date(int(y), 1, 1) for y in file_year.drop_duplicates().tolist()}

    def each_reference(values: pd.Series, normalise) -> pd.Series:  # type: ignore[no-untyped-def]
        if len(references) <= 1:
            return normalise(values, next(iter(references.values()), date.today()))
        parts = [normalise(values[file_year == y], ref) for y, ref in references.items()]
        return pd.concat(parts).reindex(values.index)

    def finding(mask: pd.Series, column: str, rule: str) -> None:
        if mask.any():
            findings.append(pd.DataFrame({FILE: good.loc[mask, FILE], ROW: good.loc[mask, ROW], LOC: good.loc[mask, LOC],
                                          "column": column, "rule": rule}))  # fmt: skip

    for col in feed.columns:
        values = good[col.name]
        if col.type is ColType.DATE:
            out[col.name] = _per_distinct(_dates(_formats(feed, col)))(values)
        elif col.type is ColType.DATETIME:
            out[col.name] = _parse(values, _formats(feed, col))
        elif col.type is ColType.IDENTIFIER and col.id_kind is not None:
            kind = col.id_kind
            identified = each_reference(values, lambda v, ref, k=kind: _per_distinct(_identified(k, ref))(v))
            finding(identified["invalid"], col.name, f"not a valid {kind.value} (format or check letter)")
            out[col.name] = identified["normalised"]
        else:
            out[col.name] = values
    if feed.derived_identifiers:
        bad = each_reference(out, lambda v, ref: derived_identities(feed, v, ref)[1])
        finding(bad, feed.derived_identifiers[0].source, "not a valid identifier for its agency (format)")
    if feed.event_date_column is not None:
        out[LOCAL_DATE] = pd.to_datetime(out[feed.event_date_column]).dt.date  # as written: never shifted
    empty = pd.DataFrame(columns=[FILE, ROW, LOC, "column", "rule"])
    return out, (pd.concat(findings, ignore_index=True) if findings else empty)
