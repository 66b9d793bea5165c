"""The monthly performance pack: per division and for ALL, one month's traffic light with
the trend of each KPI over the last twelve months, the cohort in numbers and where the
cohort is in the criminal justice system, as HTML (for screens), PDF (for meetings) and
XLSX (for analysts).

Everything is read from the warehouse as the pipeline stored it: the figures from
``traffic_light`` (CONTRACT section 8), restatements from ``traffic_light_history``, the
register at the month's end E (section 8's "register at E"), the locations from the
stored ``cjs_location`` spells.  A pack holds counts only, never a person.

Definitions (docs: "The monthly performance pack"):

- the month's end E is the ``period_end`` the traffic light stored for the month (the
  month's last day, or D-1 for the month in progress);
- the cohort counted is the members active at E (section 8): ACTIVE in the register at E,
  selected on or before E; a division's are those it manages in that register;
- statutory = the case manager's agency supervises the member under a court order or
  licence (PROBATION or YOS); everyone else (POLICE, DIP, NON_STATUTORY, not recorded)
  is non-statutory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.cjs_location import location_at_end_of
from pipelines.feeds import FEEDS
from pipelines.membership import active_members
from pipelines.reports.charts import KpiChart, chart_svgs, charts_for, kpi_title, unit
from pipelines.reports.pdf import pdf_bytes
from pipelines.reports.publish import publish_folder
from pipelines.reports.workbook import workbook_bytes
from pipelines.settings import HubConfig, Kpi
from pipelines.store import register_in_force
from pipelines.traffic_light import ALL
from warehouse.schema import CJS_LOCATIONS, cjs_location, traffic_light, traffic_light_history

ALL_NAME = "All divisions"
TREND_MONTHS = 12
STATUTORY_AGENCIES = ("PROBATION", "YOS")
NOT_RECORDED = "not recorded"
STATUTORY_DEFINITION = (
    "Statutory: members whose case manager is from an agency that supervises them under a court order or "
    "licence (PROBATION or YOS). Non-statutory: everyone else, whose case manager is from the police, DIP or a "
    "non-statutory provider, or is not recorded."
)
# What a zero denominator means for each KPI, so a NO_DATA month says why in words.
NOTHING_TO_COUNT = {
    "review_in_date": "no members active at the month's end",
    "plan_in_place": "no members active at the month's end",
    "appointment_compliance": "no counted appointments attended, excused or missed",
    "arrests_per_100": "no members active at the month's end",
    "settled_on_release": "no counted releases",
}
KPI_DEFINITIONS = {
    "review_in_date": "members active at the month's end whose next review is due on or after it, of all members active then",
    "plan_in_place": "members active at the month's end with a support plan agreed in the 183 days up to it",
    "appointment_compliance": "appointments attended or excused, of those attended, excused or missed",
    "arrests_per_100": "distinct arrests of members in the month per 100 members active at its end",
    "settled_on_release": "releases to settled accommodation, of all releases of members in the month",
}
TREND_COLUMNS = ["period", "period_start", "period_end", "division", "kpi", "value", "rag", "numerator", "denominator",
                 "report_date"]  # fmt: skip
TABLE_COLUMNS = ["period", "period_start", "period_end", "division", "kpi", "kpi_name", "value", "unit", "rag", "numerator",
                 "denominator", "green", "amber", "better", "previous_value", "change", "change_is", "report_date"]  # fmt: skip
NOTE_COLUMNS = ["period", "kpi", "note"]
FILES = ("performance.html", "performance.pdf", "performance.xlsx")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --------------------------------------------------------------------------- months


def month_start(month: str) -> date:
    if not _MONTH.match(month):
        raise ValueError(f"performance pack month {month!r} is not a month in the form YYYY-MM")
    return date.fromisoformat(f"{month}-01")


def month_end(start: date) -> date:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def shift(month: str, months: int) -> str:
    """The month ``months`` after (negative: before) ``month``, as YYYY-MM."""
    start = month_start(month)
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_name(month: str) -> str:
    return f"{month_start(month):%B %Y}"


def short_month(month: str) -> str:
    return f"{month_start(month):%b %Y}"


def day_text(day: date | None) -> str:
    return "" if day is None else f"{day.day} {day:%b %Y}"


# --------------------------------------------------------------------------- the pack


@dataclass(frozen=True)
class PerformancePack:
    """One division's (or ALL's) pack for one month: tables of counts, no person."""

    month: str  # YYYY-MM
    division: str  # a division code or ALL
    division_name: str
    period_start: date
    period_end: date  # E: the traffic light's period_end for the month (D-1 while in progress)
    figures_from: date | None  # the report date of the run whose figures these are
    register_date: date | None  # the register at E
    locations_as_of: date | None  # the report date the stored cjs_location spells were derived for
    table: pd.DataFrame  # the month's traffic light (TABLE_COLUMNS), one row per configured KPI
    trend: pd.DataFrame  # the twelve months' rows as stored (TREND_COLUMNS)
    charts: tuple[KpiChart, ...]
    notes: pd.DataFrame  # NOTE_COLUMNS; kpi "" means every KPI
    cohort: pd.DataFrame  # measure, category, members
    locations: pd.DataFrame  # location, members

    @property
    def title(self) -> str:
        return f"{self.division_name} performance, {month_name(self.month)}"

    @property
    def in_progress(self) -> bool:
        return self.period_end < month_end(self.period_start)


def _stored(engine: sa.Engine, table: sa.Table, first: str, last: str) -> pd.DataFrame:
    """Rows of a traffic-light table for the months first..last, typed for pandas: value as
    float (one decimal place, exact enough to compare), counts as nullable integers."""
    query = (
        sa.select(*(table.c[c] for c in TREND_COLUMNS))
        .where(table.c.period >= first, table.c.period <= last)
        .order_by(table.c.period, table.c.division, table.c.kpi, table.c.report_date)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).fetchall(), columns=TREND_COLUMNS)
    return frame.assign(
        value=pd.to_numeric(frame["value"].astype(object), errors="coerce").astype(float),
        numerator=pd.to_numeric(frame["numerator"]).astype("Int64"),
        denominator=pd.to_numeric(frame["denominator"]).astype("Int64"),
    )


def build_packs(engine: sa.Engine, month: str, config: HubConfig) -> list[PerformancePack]:
    """The month's pack for every configured division and for ALL, from what the
    traffic_light and cjs_location assets last stored."""
    start = month_start(month)
    first = shift(month, -(TREND_MONTHS - 1))
    stored = _stored(engine, traffic_light, first, month)
    history = _stored(engine, traffic_light_history, first, month)
    this_month = stored[stored["period"] == month]
    end = max(this_month["period_end"]) if not this_month.empty else month_end(start)
    figures_from = max(this_month["report_date"]) if not this_month.empty else None
    register_date, register = register_in_force(engine, end, stand_in=False)
    active = active_members(register, end)
    located, locations_as_of = _located(engine, end)
    names = {**config.divisions, ALL: ALL_NAME}
    packs = []
    for division, name in names.items():
        members = active if division == ALL or active.empty else active[active["managing_division"] == division]
        trend = stored[stored["division"] == division].reset_index(drop=True)
        table = month_table(trend, month, division, start, end, config.kpis)
        notes = pack_notes(trend, history[history["division"] == division], table, month)
        if locations_as_of is not None and locations_as_of < end:
            notes = _add_note(notes, month, "", f"CJS locations are as the run for {day_text(locations_as_of)} derived "
                              f"them, before the month's end")  # fmt: skip
        packs.append(
            PerformancePack(
                month=month,
                division=division,
                division_name=name,
                period_start=start,
                period_end=end,
                figures_from=figures_from,
                register_date=register_date,
                locations_as_of=locations_as_of,
                table=table,
                trend=trend,
                charts=tuple(charts_for(trend, division, config.kpis)),
                notes=notes,
                cohort=cohort_in_numbers(members),
                locations=location_counts(located, members),
            )
        )
    return packs


# --------------------------------------------------------------------------- the month's table


def month_table(trend: pd.DataFrame, month: str, division: str, start: date, end: date, kpis: tuple[Kpi, ...]) -> pd.DataFrame:
    """One row per configured KPI: the month's figures as stored, the thresholds, and the
    change from the month before (and whether that is better, given the KPI's direction)."""
    spec = pd.DataFrame(
        {
            "kpi": [k.kpi for k in kpis],
            "kpi_name": [kpi_title(k.kpi) for k in kpis],
            "unit": [unit(k.kpi) for k in kpis],
            "green": [float(k.green) for k in kpis],
            "amber": [float(k.amber) for k in kpis],
            "better": ["higher" if k.higher_is_better else "lower" for k in kpis],
        }
    )
    current = trend[trend["period"] == month].drop(columns=["division"])
    previous = trend.loc[trend["period"] == shift(month, -1), ["kpi", "value"]].rename(columns={"value": "previous_value"})
    table = spec.merge(current, on="kpi", how="left").merge(previous, on="kpi", how="left")
    # A KPI the table does not hold for the month (not computed yet, or newly configured).
    table = table.assign(
        period=month,
        period_start=table["period_start"].where(table["period_start"].notna(), start),
        period_end=table["period_end"].where(table["period_end"].notna(), end),
        division=division,
        rag=table["rag"].fillna("NO_DATA"),
        value=table["value"].astype(float),
        previous_value=table["previous_value"].astype(float),
    )
    change = (table["value"] - table["previous_value"]).round(1)
    improved = np.where(table["better"] == "higher", change > 0, change < 0)
    change_is = np.select([change.isna().to_numpy(), (change == 0).to_numpy(), improved], ["", "no change", "better"], "worse")
    return table.assign(change=change, change_is=change_is)[TABLE_COLUMNS]


# --------------------------------------------------------------------------- notes


def _figure(value: float, numerator: object, denominator: object) -> str:
    if pd.isna(value):
        return "no data"
    counts = "" if pd.isna(numerator) or pd.isna(denominator) else f" ({int(numerator)} of {int(denominator)})"
    return f"{value:.1f}{counts}"


def no_data_notes(trend: pd.DataFrame) -> pd.DataFrame:
    """Why each NO_DATA month has no figure: no register at its end (every KPI at once),
    or nothing to count (that KPI's denominator is 0)."""
    empty = trend[trend["rag"] == "NO_DATA"]
    no_register = empty[empty["denominator"].isna()]
    whole = no_register.drop_duplicates("period")
    zero = empty[empty["denominator"].notna()]
    return pd.DataFrame(
        {
            "period": [*whole["period"], *zero["period"]],
            "kpi": [""] * len(whole) + list(zero["kpi"]),
            "note": [f"no data: no cohort register dated on or before {day_text(e)}" for e in whole["period_end"]]
            + [f"no data: nothing to count ({NOTHING_TO_COUNT.get(k, 'the denominator is 0')})" for k in zero["kpi"]],
        },
        columns=NOTE_COLUMNS,
    )


def restated_notes(history: pd.DataFrame, trend: pd.DataFrame) -> pd.DataFrame:
    """A month a later run computed over the same days with different figures: "restated
    by the run for <report date>: was X, now Y".  Runs that computed the month while it
    was in progress (an earlier period_end) are not restatements, just fewer days."""
    if history.empty or trend.empty:
        return pd.DataFrame(columns=NOTE_COLUMNS)
    same_days = history.merge(trend[["period", "kpi", "period_end"]], on=["period", "kpi", "period_end"])
    runs = same_days.sort_values(["period", "kpi", "report_date"]).reset_index(drop=True)
    figures = ["numerator", "denominator", "value", "rag"]
    before = runs.groupby(["period", "kpi"])[figures].shift()
    first = runs.groupby(["period", "kpi"]).cumcount() == 0
    differs = pd.Series(False, index=runs.index)
    for column in figures:  # four columns, compared whole: a null equals a null
        was, now = before[column], runs[column]
        differs |= ~((was == now).fillna(False) | (was.isna() & now.isna()))
    changed = runs[differs & ~first]
    was = before[differs & ~first]
    notes = [
        f"restated by the run for {day_text(r.report_date)}: was {_figure(w.value, w.numerator, w.denominator)}, "
        f"now {_figure(r.value, r.numerator, r.denominator)}"
        for r, w in zip(changed.itertuples(index=False), was.itertuples(index=False), strict=True)
    ]  # one line per restatement: a handful per year
    return pd.DataFrame({"period": changed["period"], "kpi": changed["kpi"], "note": notes}, columns=NOTE_COLUMNS)


def in_progress_notes(trend: pd.DataFrame) -> pd.DataFrame:
    """A month whose stored figures stop before its last day: "to <date> only"."""
    months = trend.drop_duplicates("period")
    last_days = months["period_start"].map(month_end)
    short = months[months["period_end"].to_numpy() < last_days.to_numpy()] if not months.empty else months
    notes = [
        f"to {day_text(end)} only: the month was in progress when the run for {day_text(run)} computed it"
        for end, run in zip(short["period_end"], short["report_date"], strict=True)
    ]
    return pd.DataFrame({"period": short["period"], "kpi": "", "note": notes}, columns=NOTE_COLUMNS)


def _add_note(notes: pd.DataFrame, period: str, kpi: str, note: str) -> pd.DataFrame:
    extra = pd.DataFrame([{"period": period, "kpi": kpi, "note": note}], columns=NOTE_COLUMNS)
    return pd.concat([notes, extra], ignore_index=True) if not notes.empty else extra


def pack_notes(trend: pd.DataFrame, history: pd.DataFrame, table: pd.DataFrame, month: str) -> pd.DataFrame:
    """Every note of the pack, by month and KPI: no data, restated, in progress, not stored."""
    parts = [no_data_notes(trend), restated_notes(history, trend), in_progress_notes(trend)]
    missing = table.loc[table["report_date"].isna(), "kpi"]
    if len(missing) == len(table):
        parts.append(pd.DataFrame([{"period": month, "kpi": "", "note": "no figures stored for the month: the daily "
                                    "pipeline has not run for a report date in or after it"}]))  # fmt: skip
    else:
        parts.append(pd.DataFrame({"period": month, "kpi": missing, "note": "not in the stored traffic light for the month"}))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=NOTE_COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values(["period", "kpi"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- the cohort in numbers


def _values(column: str) -> tuple[str, ...]:
    return next(c.values for c in FEEDS["cohort"].columns if c.name == column)


def _counts(measure: str, labels: pd.Series, order: tuple[str, ...]) -> pd.DataFrame:
    """Members per category, every expected category listed (zeros too), then any other."""
    counts = labels.value_counts()
    categories = [*order, *sorted(set(counts.index) - set(order))]
    return pd.DataFrame({"measure": measure, "category": categories, "members": [int(counts.get(c, 0)) for c in categories]})


def cohort_in_numbers(members: pd.DataFrame) -> pd.DataFrame:
    """The members active at E by strand, cohort type, case manager's agency, and statutory
    versus non-statutory supervision (STATUTORY_DEFINITION)."""
    if members.empty:
        members = pd.DataFrame(columns=["strand", "cohort_type", "case_manager_agency"])
    agency = members["case_manager_agency"].fillna("").astype(str).str.strip()
    agency = agency.where(agency != "", NOT_RECORDED)
    supervision = np.where(agency.isin(STATUTORY_AGENCIES), "statutory", "non-statutory")
    parts = [
        pd.DataFrame({"measure": ["active members"], "category": ["all"], "members": [len(members)]}),
        _counts("strand", members["strand"].astype(str), _values("strand")),
        _counts("cohort type", members["cohort_type"].astype(str), _values("cohort_type")),
        _counts("case manager agency", agency, (*_values("case_manager_agency"), NOT_RECORDED)),
        _counts("supervision", pd.Series(supervision, dtype=object), ("statutory", "non-statutory")),
    ]
    return pd.concat(parts, ignore_index=True)


def _located(engine: sa.Engine, end: date) -> tuple[pd.DataFrame, date | None]:
    """Each member's stored spell in force at the end of E (cjs_location, as stored), and
    the report date those spells were derived for."""
    midnight = pd.Timestamp(end + timedelta(days=1)).to_pydatetime()
    columns = ["iom_id", "started_at", "ended_at", "location", "as_of"]
    query = sa.select(*(cjs_location.c[c] for c in columns)).where(cjs_location.c.started_at < midnight)
    with engine.connect() as conn:
        spells = pd.DataFrame(conn.execute(query).fetchall(), columns=columns)
        as_of = conn.execute(sa.select(sa.func.max(cjs_location.c.as_of))).scalar()
    at_end = location_at_end_of(spells, end) if not spells.empty else spells
    return at_end.sort_values("started_at").drop_duplicates("iom_id", keep="last"), as_of


def location_counts(located: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Members active at E by where they were at the end of E; a member the stored spells
    do not place is "not recorded" (listed only when there is one)."""
    ids = members[["iom_id"]] if not members.empty else pd.DataFrame(columns=["iom_id"])
    where = ids.merge(located[["iom_id", "location"]], on="iom_id", how="left")["location"].fillna(NOT_RECORDED)
    counts = where.value_counts()
    order = [*CJS_LOCATIONS, *sorted(set(counts.index) - set(CJS_LOCATIONS) - {NOT_RECORDED})]
    if counts.get(NOT_RECORDED, 0):
        order.append(NOT_RECORDED)
    return pd.DataFrame({"location": order, "members": [int(counts.get(c, 0)) for c in order]})


# --------------------------------------------------------------------------- rendering

_env = Environment(
    loader=PackageLoader("pipelines.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def number(value: object, places: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.{places}f}"


def count(value: object) -> str:
    return "—" if value is None or pd.isna(value) else str(int(value))


def render_html(pack: PerformancePack) -> str:
    """The pack as one self-contained page (inline CSS and SVG), for screens and print."""
    svgs = chart_svgs(pack.charts)
    return _env.get_template("performance.html.j2").render(
        pack=pack,
        svgs=svgs,
        month_name=month_name,
        short_month=short_month,
        day=day_text,
        number=number,
        count=count,
        kpi_title=kpi_title,
        definitions=KPI_DEFINITIONS,
        statutory=STATUTORY_DEFINITION,
        cohort=list(pack.cohort.groupby("measure", sort=False)),
        notes=pack.notes.assign(month=pack.notes["period"].map(month_name)),
    )


def workbook(pack: PerformancePack) -> bytes:
    """One sheet per section; dates as dates, counts as numbers (workbook_bytes)."""
    return workbook_bytes(
        {
            "traffic light": pack.table,
            "trend": pack.trend,
            "cohort in numbers": pack.cohort,
            "cjs locations": pack.locations.assign(at_end_of=pack.period_end),
            "notes": pack.notes,
        }
    )


def pack_files(pack: PerformancePack) -> dict[str, bytes]:
    html = render_html(pack)
    return {
        "performance.html": html.encode("utf-8"),
        "performance.pdf": pdf_bytes(html, title=f"performance pack {pack.month} {pack.division}"),
        "performance.xlsx": workbook(pack),
    }


def pack_folder(reports_dir: Path, month: str, division: str) -> Path:
    return reports_dir / "performance" / month / division


def write_packs(reports_dir: Path, packs: list[PerformancePack]) -> list[tuple[Path, bool]]:
    """Each pack's folder ``<reports_dir>/performance/<YYYY-MM>/<division>/``, published
    whole (PublishError if not; it is then as it was), and whether its content changed."""
    written = []
    for pack in packs:
        folder = pack_folder(reports_dir, pack.month, pack.division)
        written.append((folder, publish_folder(folder, pack_files(pack))))
    return written
