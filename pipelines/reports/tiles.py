"""The division's traffic-light tiles on report.html: this month so far against last month.

Figures are the traffic light's own (pipelines/traffic_light.py, computed as of D), so a
tile and the performance table never disagree.  Each tile links to the performance pack
of the last whole month, the one the monthly schedule has made (the month in progress
has no pack until someone makes one); it lies two folders up from the report in
IOM_REPORTS_DIR and in the outbox alike (pipelines/delivery.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from pipelines.settings import Kpi
from pipelines.traffic_light import PER_100, kpi_label


@dataclass(frozen=True)
class Tile:
    kpi: str
    label: str
    value: str  # "92.3%", "8.1 per 100", "—" for no data
    rag: str
    counts: str  # "48 of 52"
    trend: str  # "▲ 2.1 on Oct: better", "" when there is nothing to compare
    direction: str  # "better", "worse", "same" or "" (a class for colour)
    href: str


def performance_href(period: str, division: str) -> str:
    return f"../../performance/{period}/{division}/performance.html"


def _figure(kpi: str, value: object) -> str:
    if value is None or pd.isna(value):
        return "—"
    number = f"{Decimal(str(value)):.1f}"
    return f"{number} per 100" if kpi in PER_100 else f"{number}%"


def _trend(kpi: Kpi, now: object, before: object, before_label: str) -> tuple[str, str]:
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return "", ""
    change = Decimal(str(now)) - Decimal(str(before))
    if change == 0:
        return f"= same as {before_label}", "same"
    improved = (change > 0) == kpi.higher_is_better
    arrow = "▲" if change > 0 else "▼"
    unit = "" if kpi.kpi in PER_100 else " pts"
    return f"{arrow} {abs(change):.1f}{unit} on {before_label}", "better" if improved else "worse"


def tiles(performance: pd.DataFrame, kpis: tuple[Kpi, ...], division: str) -> list[Tile]:
    """One tile per configured KPI for the newest month in ``performance`` (the division's
    traffic-light rows for the month of D-1 and the month before)."""
    if performance.empty:
        return []
    months = sorted(set(performance["period"]))
    now, before = months[-1], (months[-2] if len(months) > 1 else None)
    before_label = pd.Timestamp(f"{before}-01").strftime("%b") if before else ""
    rows = performance.set_index(["period", "kpi"])
    out = []
    for kpi in kpis:
        if (now, kpi.kpi) not in rows.index:
            continue
        row = rows.loc[(now, kpi.kpi)]
        previous = rows.loc[(before, kpi.kpi)]["value"] if before and (before, kpi.kpi) in rows.index else None
        trend, direction = _trend(kpi, row["value"], previous, before_label)
        counts = "" if pd.isna(row["denominator"]) else f"{int(row['numerator'])} of {int(row['denominator'])}"
        out.append(
            Tile(kpi.kpi, kpi_label(kpi.kpi), _figure(kpi.kpi, row["value"]), str(row["rag"]), counts,
                 trend, direction, performance_href(before or now, division))
        )  # fmt: skip
    return out
