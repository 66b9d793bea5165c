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


RISK_LEVELS = ("HIGH", "MEDIUM", "LOW")


@dataclass(frozen=True)
class EventCountWeight:
    """Points for each reportable event of a kind in the ``days`` up to D-1, at most ``most_points``."""

    days: int
    points_each: int
    most_points: int


@dataclass(frozen=True)
class ReleaseWeight:
    """Points for a release in [D, D + ``days``] without settled accommodation."""

    days: int = 14
    points: int = 3


@dataclass(frozen=True)
class PriorityWeights:
    """The priority list's score (pipelines/priorities.py): each reason's points.
    A tuple of pairs rather than a dict keeps the settings hashable."""

    risk_level: tuple[tuple[str, int], ...] = (("HIGH", 3), ("MEDIUM", 1), ("LOW", 0))
    arrests: EventCountWeight = EventCountWeight(30, 2, 6)
    failed_appointments: EventCountWeight = EventCountWeight(30, 1, 3)
    release_without_settled_accommodation: ReleaseWeight = ReleaseWeight()
    review_overdue_points: int = 2
    # Listed from this score up: "who most needs attention", not everyone of medium risk.
    min_score: int = 4

    @property
    def risk_points(self) -> dict[str, int]:
        return dict(self.risk_level)


@dataclass(frozen=True)
class AttendanceCriterion:
    """Exit criterion: compliance of at least ``min_percent`` over the last ``months``,
    judged on at least ``min_appointments`` appointments."""

    months: int = 3
    min_percent: float = 85
    min_appointments: int = 3


@dataclass(frozen=True)
class ExitCriteria:
    """The partnership's exit criteria (pipelines/exit_review.py)."""

    no_arrest_months: int = 6
    attendance: AttendanceCriterion = AttendanceCriterion()
    settled_accommodation: bool = True  # false: shown, but not required
    support_plan_within_days: int = 182


@dataclass(frozen=True)
class PackSchedule:
    day: int = 1  # day of the month (1-28, so every month has it)
    at: time = time(8, 0)  # after the morning report, so the month just ended is complete


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
    # The priority list's score and the exit-review criteria (pipelines/priorities.py, exit_review.py).
    priority: PriorityWeights = PriorityWeights()
    exit_review: ExitCriteria = ExitCriteria()
    # When the monthly products are made (schedule.packs): the case-conference packs for that
    # day's date and the performance pack of the month just ended.
    packs: PackSchedule = PackSchedule()


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


PRIORITY_KEYS = (
    "risk_level", "arrests", "failed_appointments", "release_without_settled_accommodation", "review_overdue", "min_score",
)  # fmt: skip
EVENT_COUNT_KEYS = ("days", "points_each", "most_points")
RELEASE_KEYS = ("days", "points")
EXIT_REVIEW_KEYS = ("no_arrest_months", "attendance", "settled_accommodation", "support_plan_within_days")
ATTENDANCE_KEYS = ("months", "min_percent", "min_appointments")


def _mapping(where: str, value: object, keys: tuple[str, ...], example: str) -> dict:
    """A section that must be a mapping of known keys (unknown keys are a typo, not ignored)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping such as {example}")
    unknown = [str(k) for k in value if k not in keys]
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(unknown)} (keys: {', '.join(keys)})")
    return value


def _whole(where: str, key: str, value: object, least: int) -> int:
    # bool is an int in Python: `yes` must not read as 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{where}: {key} must be a whole number, at least {least} (got {value!r})")
    return value


def _event_count(where: str, value: object, default: EventCountWeight) -> EventCountWeight:
    spec = _mapping(where, value, EVENT_COUNT_KEYS, "{days: 30, points_each: 2, most_points: 6}")
    days = _whole(where, "days", spec.get("days", default.days), 1)
    each = _whole(where, "points_each", spec.get("points_each", default.points_each), 0)
    return EventCountWeight(days, each, _whole(where, "most_points", spec.get("most_points", default.most_points), 0))


def _risk_levels(where: str, value: object) -> tuple[tuple[str, int], ...]:
    """Points per risk level; a level not listed gives none."""
    spec = _mapping(where, value, RISK_LEVELS, "{HIGH: 3, MEDIUM: 1}")
    return tuple((level, _whole(where, level, spec[level], 0)) for level in RISK_LEVELS if level in spec)


def _priority(path: str, raw: dict) -> PriorityWeights:
    section = raw.get("priority")
    if section is None:
        return PriorityWeights()
    where = f"{path}: priority"
    spec = _mapping(where, section, PRIORITY_KEYS, "{risk_level: {HIGH: 3}, arrests: {days: 30, points_each: 2}}")
    d = PriorityWeights()
    risk = _risk_levels(f"{where}: risk_level", spec["risk_level"]) if "risk_level" in spec else d.risk_level
    here = f"{where}: release_without_settled_accommodation"
    release = _mapping(here, spec.get("release_without_settled_accommodation", {}), RELEASE_KEYS, "{days: 14, points: 3}")
    d_release = d.release_without_settled_accommodation
    review = _mapping(f"{where}: review_overdue", spec.get("review_overdue", {}), ("points",), "{points: 2}")
    return PriorityWeights(
        risk,
        _event_count(f"{where}: arrests", spec.get("arrests", {}), d.arrests),
        _event_count(f"{where}: failed_appointments", spec.get("failed_appointments", {}), d.failed_appointments),
        ReleaseWeight(
            _whole(here, "days", release.get("days", d_release.days), 1),
            _whole(here, "points", release.get("points", d_release.points), 0),
        ),
        _whole(f"{where}: review_overdue", "points", review.get("points", d.review_overdue_points), 0),
        _whole(where, "min_score", spec.get("min_score", d.min_score), 1),
    )


def _attendance_criterion(where: str, value: object) -> AttendanceCriterion:
    spec = _mapping(where, value, ATTENDANCE_KEYS, "{months: 3, min_percent: 85, min_appointments: 3}")
    d = AttendanceCriterion()
    percent = spec.get("min_percent", d.min_percent)
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise ConfigError(f"{where}: min_percent must be a number from 0 to 100 (got {percent!r})")
    return AttendanceCriterion(
        _whole(where, "months", spec.get("months", d.months), 1),
        percent,
        _whole(where, "min_appointments", spec.get("min_appointments", d.min_appointments), 1),
    )


def _exit_review(path: str, raw: dict) -> ExitCriteria:
    section = raw.get("exit_review")
    if section is None:
        return ExitCriteria()
    where = f"{path}: exit_review"
    spec = _mapping(where, section, EXIT_REVIEW_KEYS, "{no_arrest_months: 6, support_plan_within_days: 182}")
    d = ExitCriteria()
    settled = spec.get("settled_accommodation", d.settled_accommodation)
    if not isinstance(settled, bool):
        raise ConfigError(f"{where}: settled_accommodation must be true or false (got {settled!r})")
    return ExitCriteria(
        _whole(where, "no_arrest_months", spec.get("no_arrest_months", d.no_arrest_months), 1),
        _attendance_criterion(f"{where}: attendance", spec.get("attendance", {})),
        settled,
        _whole(where, "support_plan_within_days", spec.get("support_plan_within_days", d.support_plan_within_days), 1),
    )


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


def _packs(path: str, raw: dict) -> PackSchedule:
    spec = (raw.get("schedule") or {}).get("packs")
    if spec is None:
        return PackSchedule()
    where = f"{path}: schedule: packs"
    spec = _mapping(where, spec, ("day", "at"), '{day: 1, at: "08:00"}')
    day = _whole(where, "day", spec.get("day", 1), 1)
    if day > 28:
        raise ConfigError(f"{where}: day must be 1 to 28, so that every month has it (got {day})")
    try:
        at = time.fromisoformat(str(spec.get("at", "08:00")))
    except ValueError:
        raise ConfigError(f"{where}: at {spec.get('at')!r} is not a time (HH:MM, Europe/London)") from None
    return PackSchedule(day, at)


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
            priority=_priority(path, raw),
            exit_review=_exit_review(path, raw),
            packs=_packs(path, raw),
        )
    except ConfigError:
        raise  # already says where and what
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"hub configuration {path} is not usable: {exc}") from None
