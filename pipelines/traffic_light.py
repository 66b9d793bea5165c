"""The red/amber/green performance table (CONTRACT section 8).

For each calendar month from the earliest file to the month of D-1, the register at the
period's end E decides who counts and in which division; events come from every file
dated on or before D.  Rows for later months are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import sqlalchemy as sa

from pipelines.link_store import linked_members
from pipelines.member_events import releases_as_listed
from pipelines.membership import active_members
from pipelines.settings import ConfigError, HubConfig, Kpi
from pipelines.store import earliest_file_date, events_as_of, register_in_force
from pipelines.traffic_light_inputs import month_digests, stale_months, store_digests
from warehouse.schema import traffic_light, traffic_light_history, traffic_light_input

ALL = "ALL"
EVENT_FEEDS = ("attendance", "arrests")  # the event feeds the KPIs count


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"


def periods(first: date, report_date: date) -> list[Period]:
    """Calendar months from ``first``'s month to the month containing D-1 (ending at D-1)."""
    last = report_date - timedelta(days=1)
    out = []
    start = first.replace(day=1)
    while start <= last:
        next_start = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append(Period(start, min(next_start - timedelta(days=1), last)))
        start = next_start
    return out


def rag(numerator: int, denominator: int, kpi: Kpi) -> tuple[Decimal | None, str]:
    if denominator == 0:
        return None, "NO_DATA"
    exact = Fraction(100 * numerator, denominator)
    value = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    green, amber = Fraction(str(kpi.green)), Fraction(str(kpi.amber))
    if kpi.higher_is_better:
        colour = "GREEN" if exact >= green else "AMBER" if exact >= amber else "RED"
    else:
        colour = "GREEN" if exact <= green else "AMBER" if exact <= amber else "RED"
    return value, colour


@dataclass
class PeriodData:
    """What the KPIs of one period need, all already restricted to counted members."""

    period: Period
    register: pd.DataFrame
    active: pd.DataFrame
    appointments: pd.DataFrame
    arrests: pd.DataFrame
    releases: pd.DataFrame


KPI_MEASURES: dict[str, Callable[[PeriodData], tuple[pd.Series, pd.Series]]] = {}
KPI_LABELS: dict[str, str] = {}  # each KPI in words, for people (reports, packs)
PER_100 = frozenset({"arrests_per_100"})  # a rate per 100 members, not a percentage


def kpi_label(kpi: str) -> str:
    """A KPI's name for people; a KPI added by configuration gets its code in words."""
    return KPI_LABELS.get(kpi, kpi.replace("_", " ").capitalize())


def measure(name: str, label: str):
    def register(fn: Callable[[PeriodData], tuple[pd.Series, pd.Series]]):
        KPI_MEASURES[name] = fn
        KPI_LABELS[name] = label
        return fn

    return register


# Each measure returns (numerator items' divisions, denominator items' divisions), one
# entry per counted item, so counting by division and for ALL is shared code.


@measure("review_in_date", "Reviews in date")
def _review_in_date(d: PeriodData) -> tuple[pd.Series, pd.Series]:
    due = pd.to_datetime(d.active["next_review_due"])
    return d.active.loc[due >= pd.Timestamp(d.period.end), "managing_division"], d.active["managing_division"]


@measure("plan_in_place", "Support plan in place")
def _plan_in_place(d: PeriodData) -> tuple[pd.Series, pd.Series]:
    agreed = pd.to_datetime(d.active["support_plan_agreed_on"])
    start = pd.Timestamp(d.period.end - timedelta(days=182))
    ok = (agreed >= start) & (agreed <= pd.Timestamp(d.period.end))
    return d.active.loc[ok, "managing_division"], d.active["managing_division"]


@measure("appointment_compliance", "Appointment compliance")
def _appointment_compliance(d: PeriodData) -> tuple[pd.Series, pd.Series]:
    a = d.appointments
    if a.empty:
        return pd.Series(dtype=object), pd.Series(dtype=object)
    good = a["outcome"].isin(["ATTENDED", "ACCEPTABLE_ABSENCE"])
    judged = good | (a["outcome"] == "FAILED_TO_ATTEND")
    return a.loc[good, "managing_division"], a.loc[judged, "managing_division"]


@measure("arrests_per_100", "Arrests per 100 members")
def _arrests_per_100(d: PeriodData) -> tuple[pd.Series, pd.Series]:
    arrests = d.arrests.drop_duplicates("custody_ref") if not d.arrests.empty else d.arrests
    numerator = arrests["managing_division"] if not arrests.empty else pd.Series(dtype=object)
    return numerator, d.active["managing_division"]


@measure("settled_on_release", "Settled accommodation on release")
def _settled_on_release(d: PeriodData) -> tuple[pd.Series, pd.Series]:
    r = d.releases
    if r.empty:
        return pd.Series(dtype=object), pd.Series(dtype=object)
    return r.loc[r["accommodation_on_release"] == "SETTLED", "managing_division"], r["managing_division"]


def months_of(engine: sa.Engine, report_date: date) -> list[Period]:
    """The months the run for D holds: from the earliest file's month to the month of D-1."""
    first = earliest_file_date(engine, report_date)
    return periods(first, report_date) if first is not None else []


def compute(
    engine: sa.Engine,
    report_date: date,
    config: HubConfig,
    *,
    last_periods: int | None = None,
    months: list[Period] | None = None,
) -> pd.DataFrame:
    """The table's rows as the run for D writes them: every month, or only ``months``, or
    only the ``last_periods`` newest (the daily report's tiles need this month and last)."""
    unknown = [k.kpi for k in config.kpis if k.kpi not in KPI_MEASURES]
    if unknown:
        raise ConfigError(f"unknown traffic-light kpi(s) {', '.join(unknown)}; known: {', '.join(KPI_MEASURES)}")
    if months is None:
        months = months_of(engine, report_date)
        months = months[-last_periods:] if last_periods else months
    if not months:
        return pd.DataFrame(columns=[c.name for c in traffic_light.columns])
    divisions = [*config.divisions, ALL]

    def counted(feed_name: str, records: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
        """Events of members of the register at E inside their active interval, by the stored links."""
        return linked_members(engine, feed_name, records, register, config.linking, report_date)

    rows = []
    for period in months:
        # The register at E is dated on or before E (CONTRACT section 8): a later ODBC read
        # stands in for a report date, never for a past month's register.
        _, register = register_in_force(engine, period.end, stand_in=False)
        data = None
        if not register.empty:
            active = active_members(register, period.end)
            events = {name: events_as_of(engine, name, report_date, period.start, period.end) for name in EVENT_FEEDS}
            attendance = counted("attendance", events["attendance"], register)
            data = PeriodData(
                period,
                register,
                active,
                attendance[attendance["record_type"] == "APPOINTMENT"] if not attendance.empty else attendance,
                counted("arrests", events["arrests"], register),
                counted("prison_releases", releases_as_listed(engine, period.start, period.end, report_date), register),
            )
        for kpi in config.kpis:
            if data is not None:
                num_items, den_items = KPI_MEASURES[kpi.kpi](data)
            for division in divisions:
                if data is None:
                    numerator = denominator = None
                    value, colour = None, "NO_DATA"
                else:
                    pick = (lambda s: s) if division == ALL else (lambda s, d=division: s[s == d])
                    numerator, denominator = len(pick(num_items)), len(pick(den_items))
                    value, colour = rag(numerator, denominator, kpi)
                rows.append(
                    {
                        "period": period.label,
                        "period_start": period.start,
                        "period_end": period.end,
                        "division": division,
                        "kpi": kpi.kpi,
                        "numerator": numerator,
                        "denominator": denominator,
                        "value": value,
                        "rag": colour,
                        "report_date": report_date,
                    }
                )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Refreshed:
    rows: pd.DataFrame  # the rows written
    kept: list[str]  # the months whose inputs had not changed: their rows stay as they were


def refresh(engine: sa.Engine, report_date: date, config: HubConfig) -> Refreshed:
    """The run for D: recompute the months whose inputs changed since their rows were
    written (pipelines/traffic_light_inputs.py), keep the others."""
    months = months_of(engine, report_date)
    digests = month_digests(engine, months, report_date, config, EVENT_FEEDS)
    stale = set(stale_months(engine, digests))
    todo = [m for m in months if m.label in stale]
    rows = compute(engine, report_date, config, months=todo)
    store(engine, rows, {m.label: digests[m.label] for m in todo})
    kept = [m.label for m in months if m.label not in stale]
    confirm(engine, kept, report_date)
    return Refreshed(rows, kept)


def confirm(engine: sa.Engine, periods: list[str], report_date: date) -> None:
    """The run for D found these months' inputs unchanged: their rows are what it would have
    computed, so the tables say so as a full recompute would (report_date D, and a history
    row for D), and a range run equals its days run one by one.  Costs the months' rows."""
    if not periods:
        return
    history = traffic_light_history
    columns = [c.name for c in traffic_light.columns if c.name != "report_date"]
    current = traffic_light.c
    with engine.begin() as conn:
        later = conn.execute(
            sa.select(current.period).where(current.period.in_(periods), current.report_date > report_date).distinct()
        ).scalars()
        periods = sorted(set(periods) - set(later))  # a later run's rows stay as it wrote them
        if not periods:
            return
        conn.execute(traffic_light.update().where(current.period.in_(periods)).values(report_date=report_date))
        conn.execute(
            traffic_light_input.update().where(traffic_light_input.c.period.in_(periods)).values(report_date=report_date)
        )
        conn.execute(history.delete().where(history.c.period.in_(periods), history.c.report_date == report_date))
        conn.execute(
            history.insert().from_select(
                [*columns, "report_date"],
                sa.select(*[current[c] for c in columns], sa.literal(report_date, sa.Date)).where(current.period.in_(periods)),
            )
        )


def figures(engine: sa.Engine, report_date: date, config: HubConfig, *, last_periods: int) -> pd.DataFrame:
    """The newest months' rows as of D, as ``compute`` gives them: read from the table
    where the stored month was computed from the same inputs, computed where not (a
    report for a past date, or before the day's traffic light has run)."""
    months = months_of(engine, report_date)[-last_periods:]
    digests = month_digests(engine, months, report_date, config, EVENT_FEEDS)
    stale = set(stale_months(engine, digests))
    kept = [m.label for m in months if m.label not in stale]
    with engine.connect() as conn:
        result = conn.execute(sa.select(traffic_light).where(traffic_light.c.period.in_(kept)))
        stored = pd.DataFrame(result.all(), columns=list(result.keys()))
    computed = compute(engine, report_date, config, months=[m for m in months if m.label in stale])
    if stored.empty:
        return computed
    both = pd.concat([stored, computed]) if not computed.empty else stored
    # compute's order: by month, then the KPIs and divisions as configured.
    order = {
        "kpi": {k.kpi: i for i, k in enumerate(config.kpis)},
        "division": {d: i for i, d in enumerate([*config.divisions, ALL])},
    }
    return both.sort_values(["period", "kpi", "division"], key=lambda c: c.map(order[c.name]) if c.name in order else c)[
        [c.name for c in traffic_light.columns]
    ].reset_index(drop=True)


def store(engine: sa.Engine, table_rows: pd.DataFrame, digests: dict[str, str] | None = None) -> None:
    """Replace the computed months' rows in one transaction; later months stay as they are.

    The history keeps every run's figures: the rows this run's report date wrote before
    (a re-run) are replaced, those of other report dates are kept.  ``digests``: what each
    month was computed from (``refresh``), stored with its rows."""
    if table_rows.empty:
        return
    periods = sorted(set(table_rows["period"]))
    runs = sorted(set(table_rows["report_date"]))
    records = table_rows.astype(object).where(table_rows.notna(), None).to_dict("records")
    with engine.begin() as conn:
        conn.execute(traffic_light.delete().where(traffic_light.c.period.in_(periods)))
        conn.execute(traffic_light.insert(), records)
        history = traffic_light_history
        conn.execute(history.delete().where(history.c.period.in_(periods), history.c.report_date.in_(runs)))
        conn.execute(history.insert(), records)
        if digests:
            store_digests(conn, digests, max(runs))
        else:  # written without saying from what: the next refresh recomputes them
            conn.execute(traffic_light_input.delete().where(traffic_light_input.c.period.in_(periods)))
