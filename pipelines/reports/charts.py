"""Trend charts for the monthly performance pack: one small bar chart per KPI (matplotlib).

Each bar is a month's figure coloured by its RAG, with the green and amber thresholds
drawn as labelled lines; a month without data is a grey "no data" label and no bar.  The
SVG keeps its text as text and scales to its container (viewBox, no fixed size), so a
chart fits a phone's width and prints sharp.  The same chart data gives the same bytes
(fixed hash salt, no date stamp), so a re-run that changes nothing rewrites nothing.

matplotlib is imported only here, and only the performance pack imports this module:
the daily pipeline never pays for it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from pipelines.settings import Kpi
from pipelines.traffic_light import PER_100, kpi_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# RAG colours as the HTML tables show them: dark enough for text contrast on white (WCAG AA).
RAG_COLOURS = {"GREEN": "#1e6b2e", "AMBER": "#a35f00", "RED": "#b3261e"}
NO_DATA_COLOUR = "#6b6b76"
_SALT = "iom-performance-pack"
# svg.hashsalt: ids from the chart's content, not a random seed; fonttype none: text stays text.
_STYLE = {"svg.hashsalt": _SALT, "svg.fonttype": "none", "font.size": 8.5, "xtick.labelsize": 7.5, "ytick.labelsize": 7.5}
_FIGSIZE = (4.2, 2.6)  # inches: about a phone's width at 1:1, so its text stays readable there


kpi_title = kpi_label


def unit(kpi: str) -> str:
    return "per 100 members" if kpi in PER_100 else "%"


class Point(NamedTuple):
    """One month of a KPI, as the traffic_light table holds it."""

    period: str  # YYYY-MM
    value: float | None
    rag: str
    numerator: int | None
    denominator: int | None


@dataclass(frozen=True)
class KpiChart:
    division: str
    kpi: str
    higher_is_better: bool
    green: float
    amber: float
    points: tuple[Point, ...]

    @property
    def title(self) -> str:
        direction = "higher is better" if self.higher_is_better else "lower is better"
        return f"{kpi_title(self.kpi)} ({direction})"


def _optional_int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _optional_float(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def charts_for(rows: pd.DataFrame, division: str, kpis: Iterable[Kpi]) -> list[KpiChart]:
    """A chart per configured KPI from traffic_light rows (period, division, kpi, value,
    rag, numerator, denominator), the division's rows only, months in order."""
    mine = rows[rows["division"] == division].sort_values("period") if not rows.empty else rows
    charts = []
    for kpi in kpis:
        of_kpi = mine[mine["kpi"] == kpi.kpi] if not mine.empty else mine
        points = tuple(
            Point(str(r.period), _optional_float(r.value), str(r.rag), _optional_int(r.numerator), _optional_int(r.denominator))
            for r in of_kpi.itertuples(index=False)
        )  # at most twelve rows per KPI: the loop is over months, not data
        charts.append(KpiChart(division, kpi.kpi, kpi.higher_is_better, float(kpi.green), float(kpi.amber), points))
    return charts


def _month_label(period: str) -> str:
    """ "Nov\\n26": short enough for twelve months across a phone."""
    stamp = pd.Timestamp(f"{period}-01")
    return f"{stamp:%b}\n{stamp:%y}"


def _y_top(chart: KpiChart) -> float:
    values = [p.value for p in chart.points if p.value is not None]
    highest = max([*values, chart.green, chart.amber], default=0.0)
    if chart.kpi in PER_100:
        return max(highest * 1.25, 1.0)
    return max(100.0, highest) * 1.12  # room above 100 % for the value labels


def render_svg(chart: KpiChart) -> str:
    """The chart as an SVG document (text as text, scalable, deterministic bytes)."""
    import matplotlib
    from matplotlib.figure import Figure  # the OO API: no pyplot state, no GUI backend

    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=_FIGSIZE, layout="constrained")
        ax = fig.add_subplot()
        _draw(ax, chart)
        buffer = io.StringIO()
        # No metadata block at all (no date, no creator): same data, same bytes.
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return buffer.getvalue()


def _draw(ax: Axes, chart: KpiChart) -> None:
    top = _y_top(chart)
    for x, point in enumerate(chart.points):
        if point.value is None:
            label = ax.text(x, top * 0.04, "no data", rotation=90, ha="center", va="bottom", color=NO_DATA_COLOUR, fontsize=7)
            label.set_gid(f"nodata-{point.period}")
            continue
        (bar,) = ax.bar([x], [point.value], width=0.7, color=RAG_COLOURS.get(point.rag, NO_DATA_COLOUR))
        bar.set_gid(f"point-{point.period}")
        ax.text(x, point.value + top * 0.015, f"{point.value:.1f}", ha="center", va="bottom", fontsize=6.5)
    sign = "≥" if chart.higher_is_better else "≤"
    for name, level in (("green", chart.green), ("amber", chart.amber)):
        colour = RAG_COLOURS[name.upper()]
        ax.axhline(level, color=colour, linestyle="--", linewidth=1.0, gid=f"threshold-{name}")
        ax.text(1.0, level, f" {name} {sign} {level:g}", transform=ax.get_yaxis_transform(), ha="left", va="center",
                color=colour, fontsize=7, gid=f"threshold-{name}-label")  # fmt: skip
    ax.set_xticks(range(len(chart.points)), [_month_label(p.period) for p in chart.points])
    ax.set_xlim(-0.6, max(len(chart.points), 1) - 0.4)
    ax.set_ylim(0, top)
    ax.set_ylabel(unit(chart.kpi))
    ax.set_title(chart.title, loc="left", fontsize=9, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    if not chart.points:
        ax.text(0.5, 0.5, "no months to show", transform=ax.transAxes, ha="center", color=NO_DATA_COLOUR)


_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_SIZE = re.compile(r'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"')
_IDS = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def inline_svg(svg: str, *, prefix: str, label: str) -> str:
    """The SVG ready to sit inside an HTML page: no XML prologue, no fixed size (CSS sizes
    it from the viewBox), ids namespaced so several charts on one page never share one,
    and a text alternative for screen readers."""
    body = _PROLOGUE.sub("", svg, count=1)
    body = _SIZE.sub(r"\1", body, count=1)
    body = _IDS.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", body)
    escaped = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return body.replace("<svg ", f'<svg role="img" aria-label="{escaped}" ', 1)


def describe(chart: KpiChart) -> str:
    """The chart in words (its text alternative): every month's figure and RAG."""
    months = "; ".join(f"{p.period}: {'no data' if p.value is None else f'{p.value:g} {p.rag.lower()}'}" for p in chart.points)
    return f"{chart.title}, green {chart.green:g}, amber {chart.amber:g}. {months or 'No months.'}"


def chart_svgs(charts: Iterable[KpiChart]) -> Mapping[str, str]:
    """kpi -> inline SVG, for the page."""
    return {c.kpi: inline_svg(render_svg(c), prefix=f"chart-{c.kpi}", label=describe(c)) for c in charts}
