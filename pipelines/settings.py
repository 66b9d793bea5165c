"""Configuration from the environment (CONTRACT section 5) and the hub's config file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("IOM_DATA_DIR", PROJECT_ROOT / "data"))

DEFAULT_DAGSTER_HOME = DATA_DIR / "dagster_home"  # set by the iom-hub command when unset

DEFAULTS: dict[str, str] = {
    "IOM_INBOX": str(DATA_DIR / "inbox"),
    "IOM_WAREHOUSE_URL": f"sqlite:///{DATA_DIR / 'warehouse.sqlite'}",
    "IOM_REPORTS_DIR": str(DATA_DIR / "reports"),
    "IOM_REVIEW_DIR": str(DATA_DIR / "review"),  # hub only: never under the reports or the outbox
    "IOM_CONFIG": str(PROJECT_ROOT / "config" / "hub.yaml"),
    "IOM_SETTLE_SECONDS": "5",
    "IOM_FIRST_REPORT_DATE": "2025-01-01",
}


def today_in_london() -> date:
    return datetime.now(ZoneInfo("Europe/London")).date()


# Optional settings, some secret: absent means "not used".  They are set to "" when
# absent so Dagster can always resolve them as EnvVars at run time (never at import).
OPTIONAL = (
    "IOM_COHORT_ODBC",
    "IOM_ARRESTS_ODBC",
    "IOM_OUTBOX",
    "IOM_SFTP_KEY_FILE",
    "IOM_SFTP_KEY",
    "IOM_SFTP_KEY_PASSPHRASE",
    "IOM_SFTP_KNOWN_HOSTS",
)


def apply_environment_defaults() -> None:
    """Fill unset variables with the embedded defaults, so `dagster dev` and the CLI agree.

    Only non-secret settings have defaults; nothing secret is ever defaulted.
    """
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    for name in OPTIONAL:
        os.environ.setdefault(name, "")


@dataclass(frozen=True)
class FeedTimeliness:
    due_days_after: int
    due_time: time
    stale_after_days: int | None


@dataclass(frozen=True)
class Kpi:
    kpi: str
    higher_is_better: bool
    green: float
    amber: float


@dataclass(frozen=True)
class LinkThresholds:
    """Match weights: at or above ``link_at`` a record links; from ``review_at`` up to it,
    the pair goes to the review list; below, the record is nobody in the cohort."""

    link_at: float
    review_at: float


@dataclass(frozen=True)
class HubConfig:
    divisions: dict[str, str]
    feeds: dict[str, FeedTimeliness]
    kpis: tuple[Kpi, ...]
    linking: LinkThresholds


class ConfigError(ValueError):
    pass


def _thresholds(path: str, raw: dict) -> LinkThresholds:
    spec = raw["linking"]
    thresholds = LinkThresholds(float(spec["link_at"]), float(spec["review_at"]))
    if thresholds.review_at >= thresholds.link_at:
        raise ConfigError(f"{path}: linking: review_at ({thresholds.review_at}) must be below link_at ({thresholds.link_at})")
    return thresholds


@cache
def load_hub_config(path: str) -> HubConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        feeds = {
            name: FeedTimeliness(
                int(spec["due"]["days_after"]),
                time.fromisoformat(spec["due"]["time"]),
                spec.get("stale_after_days"),
            )
            for name, spec in raw["feeds"].items()
        }
        kpis = []
        for item in raw["traffic_light"]:
            if item["better"] not in ("higher", "lower"):
                raise ConfigError(f"{path}: kpi {item['kpi']}: better must be higher or lower")
            kpis.append(Kpi(item["kpi"], item["better"] == "higher", float(item["green"]), float(item["amber"])))
        return HubConfig({str(k): str(v) for k, v in raw["divisions"].items()}, feeds, tuple(kpis), _thresholds(path, raw))
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"hub configuration {path} is not usable: {exc}") from None
