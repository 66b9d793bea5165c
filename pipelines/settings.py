"""Configuration from the environment (CONTRACT section 5) and the hub's config file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
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
    "IOM_QUALITY_DIR": str(DATA_DIR / "quality"),  # hub only, likewise
    "IOM_CONFIG": str(PROJECT_ROOT / "config" / "hub.yaml"),
    "IOM_SETTLE_SECONDS": "5",
    "IOM_FIRST_REPORT_DATE": "2025-01-01",
    # Files the hub creates (reports, hub-only pages, the SQLite warehouse) are for the
    # hub's owner and group only: criminal-offence personal data (CONTRACT, background).
    "IOM_UMASK": "007",
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
    "IOM_PSEUDONYM_KEY",  # the secret of the analysts' member pseudonyms (pseudonym_key)
)


def apply_environment_defaults() -> None:
    """Fill unset variables with the embedded defaults, so `dagster dev` and the CLI agree.

    Only non-secret settings have defaults; nothing secret is ever defaulted.
    """
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    for name in OPTIONAL:
        os.environ.setdefault(name, "")
    # An unusable IOM_UMASK gives way to the default, owner and group only;
    # the CLI's preflight says so in one line (umask_problem).
    usable = umask_problem() is None
    os.umask(int(os.environ["IOM_UMASK"] if usable else DEFAULTS["IOM_UMASK"], 8))


def umask_problem() -> str | None:
    """IOM_UMASK must be an octal mask that at least keeps others out (e.g. 007, 027, 077)."""
    text = os.environ.get("IOM_UMASK", DEFAULTS["IOM_UMASK"])
    if not re.fullmatch(r"0?[0-7]{3}", text.strip()):
        return f"IOM_UMASK: {text!r} is not an octal file-mode mask such as 007 or 027"
    mask = int(text, 8)
    if mask & 0o007 != 0o007:
        return f"IOM_UMASK: {text!r} would let users outside the hub's group read personal data (the last digit must be 7)"
    return None


@dataclass(frozen=True)
class FeedTimeliness:
    due_days_after: int
    due_time: time
    stale_after_days: int | None


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAMES = {
    **{d.lower(): i for i, d in enumerate(WEEKDAYS)},
    **{d.lower(): i for i, d in enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))},
}


@dataclass(frozen=True)
class ProviderSchedule:
    """One expected provider of a feed whose file names carry one (an agency, a court):
    the weekdays its files are dated (a court's sitting days, an agency's working days)."""

    code: str
    days: frozenset[int]  # 0 = Monday ... 6 = Sunday
    name: str | None = None  # a label for people, e.g. the court's name

    def delivers_for(self, day: date) -> bool:
        return day.weekday() in self.days

    @property
    def label(self) -> str:
        return f"{self.code} ({self.name})" if self.name else self.code

    def describe_days(self) -> str:
        if len(self.days) == 7:
            return "daily"
        return ", ".join(WEEKDAYS[d] for d in sorted(self.days))


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
class Retention:
    """How long personal data is kept (DPA 2018 Part 3; pipelines/retention.py), in days:
    a member's details after their deselection, and the rows of people never linked to
    the cohort after their file's date."""

    after_deselection_days: int = 2190
    non_cohort_days: int = 365


@dataclass(frozen=True)
class HubConfig:
    divisions: dict[str, str]
    feeds: dict[str, FeedTimeliness]
    kpis: tuple[Kpi, ...]
    linking: LinkThresholds
    # Feeds with several providers (CONTRACT section 7, providers.csv): feed -> code -> schedule.
    providers: dict[str, dict[str, ProviderSchedule]] = field(default_factory=dict)
    # When the morning_report schedule runs the day's report (Europe/London).
    report_at: time = time(7, 0)
    retention: Retention = Retention()


class ConfigError(ValueError):
    pass


RETENTION_KEYS = ("after_deselection_days", "non_cohort_days")


def _retention(path: str, raw: dict) -> Retention:
    section = raw.get("retention")
    if section is None:
        return Retention()
    where = f"{path}: retention"
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be a mapping such as {{after_deselection_days: 2190, non_cohort_days: 365}}")
    unknown = [str(k) for k in section if k not in RETENTION_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(unknown)} (keys: {', '.join(RETENTION_KEYS)})")
    days = {}
    for key in RETENTION_KEYS:
        value = section.get(key, getattr(Retention, key))
        # bool is an int in Python: `yes` must not read as one day.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: {key} must be a whole number of days, at least 1 (got {value!r})")
        days[key] = value
    return Retention(**days)


PSEUDONYM_KEY = "IOM_PSEUDONYM_KEY"
PSEUDONYM_KEY_MIN_LENGTH = 32


def pseudonym_key() -> bytes:
    """The secret the member pseudonyms are keyed with: from the environment only, never a
    file in the repository; a ConfigError naming the setting when unset or too short."""
    text = os.environ.get(PSEUDONYM_KEY, "").strip()
    if not text:
        raise ConfigError(f"{PSEUDONYM_KEY}: not set; the pseudonymised views and retention need this secret "
                          "(e.g. openssl rand -hex 32, kept in the hub's secrets store)")  # fmt: skip
    if len(text) < PSEUDONYM_KEY_MIN_LENGTH:
        raise ConfigError(f"{PSEUDONYM_KEY}: too short; use a random secret of at least {PSEUDONYM_KEY_MIN_LENGTH} characters")
    return text.encode("utf-8")


def _thresholds(path: str, raw: dict) -> LinkThresholds:
    spec = raw["linking"]
    thresholds = LinkThresholds(float(spec["link_at"]), float(spec["review_at"]))
    if thresholds.review_at >= thresholds.link_at:
        raise ConfigError(f"{path}: linking: review_at ({thresholds.review_at}) must be below link_at ({thresholds.link_at})")
    return thresholds


PROVIDER_KEYS = ("days", "name")


def _providers(path: str, raw: dict) -> dict[str, dict[str, ProviderSchedule]]:
    """The `providers:` section: feed -> provider code -> {days, name}."""
    from pipelines.feeds import FEEDS  # here, so settings stays importable on its own

    section = raw.get("providers")
    if section is None:
        return {}
    where = f"{path}: providers"
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must map each feed to its providers")
    out: dict[str, dict[str, ProviderSchedule]] = {}
    for feed_name, entries in section.items():
        feed = FEEDS.get(str(feed_name))
        if feed is None:
            raise ConfigError(f"{where}: {feed_name}: no such feed (feeds: {', '.join(FEEDS)})")
        if "partner" not in feed.file_pattern.groupindex:
            with_providers = ", ".join(n for n, f in FEEDS.items() if "partner" in f.file_pattern.groupindex)
            raise ConfigError(
                f"{where}: {feed_name}: this feed's file names carry no provider, so it cannot have providers"
                f" (feeds that can: {with_providers})"
            )
        if not isinstance(entries, dict) or not entries:
            raise ConfigError(f"{where}: {feed_name}: must list its providers, each with its days")
        schedules: dict[str, ProviderSchedule] = {}
        for code, spec in entries.items():
            here = f"{where}: {feed_name}: {code}"
            text = str(code).strip().upper()
            shape = _partner_shape(feed.file_pattern)
            if not shape.fullmatch(text):
                raise ConfigError(f"{here}: not a provider code as this feed's file names carry one ({shape.pattern})")
            if text in schedules:
                raise ConfigError(f"{here}: listed twice")
            if not isinstance(spec, dict):
                raise ConfigError(f"{here}: must be a mapping with days (and optionally name), e.g. {{days: daily}}")
            unknown = [str(k) for k in spec if k not in PROVIDER_KEYS]
            if unknown:
                raise ConfigError(f"{here}: unknown key {', '.join(unknown)} (keys: {', '.join(PROVIDER_KEYS)})")
            if "days" not in spec:
                raise ConfigError(f"{here}: days is required: daily, or a list such as [Mon, Tue, Wed, Thu, Fri]")
            name = spec.get("name")
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise ConfigError(f"{here}: name must be text")
            schedules[text] = ProviderSchedule(text, _days(here, spec["days"]), name.strip() if name else None)
        out[feed.name] = schedules
    return out


def _partner_shape(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """What the ``partner`` group of a feed's file-name pattern accepts, upper-cased."""
    m = re.search(r"\(\?P<partner>([^()]*)\)", pattern.pattern)
    return re.compile(m.group(1) if m else r"[A-Z0-9_]+")


def _days(here: str, value: object) -> frozenset[int]:
    if isinstance(value, str) and value.strip().lower() == "daily":
        return frozenset(range(7))
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{here}: days must be daily or a non-empty list of weekdays such as [Mon, Tue, Wed, Thu, Fri]")
    days = set()
    for item in value:
        day = _WEEKDAY_NAMES.get(str(item).strip().lower()) if isinstance(item, str) else None
        if day is None:
            raise ConfigError(f"{here}: days: {item!r} is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
        days.add(day)
    return frozenset(days)


def _report_at(path: str, raw: dict) -> time:
    text = (raw.get("schedule") or {}).get("report_at", "07:00")
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(f"{path}: schedule: report_at {text!r} is not a time (HH:MM, Europe/London)") from None


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
        return HubConfig(
            {str(k): str(v) for k, v in raw["divisions"].items()},
            feeds,
            tuple(kpis),
            _thresholds(path, raw),
            _providers(path, raw),
            _report_at(path, raw),
            _retention(path, raw),
        )
    except ConfigError:
        raise  # already says where and what
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"hub configuration {path} is not usable: {exc}") from None
