"""The analysts' views, derived from the feed descriptions (pipelines/feeds.py).

- ``<feed.current_view>``: the rows in force now.  Event feeds: the winning row per key
  (``winners.LATER_ROW_FIRST``).  The release schedule: every release as listed by the
  newest file dated on or before its release_date (a moved or cancelled date is what the
  later file says; the rule the traffic light uses).  The register: ``member``
  (warehouse/history.py).
- ``linked_<feed.current_view>``: each of those rows with the member it is linked to (the
  stored link judged against the newest register that judged it), the member's division
  in the register in force on the event's date, and whether it was reportable then.
- ``member_history`` / ``member``: the register as SCD type 2 history.
- ``cjs_location_current``: each member's spell in force in ``cjs_location``.
- ``pseudo_*``: the pseudonymised views for analysts (warehouse/pseudonymised.py).

Plain SQL that SQLite and PostgreSQL both run.  ``VIEWS`` is every view in creation
order; migrations freeze the text (``VIEWS`` in each view migration) and
tests/test_migrations.py checks the newest frozen text of each is what this writes.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from warehouse.history import member_history_sql, member_sql, snapshot_files_sql
from warehouse.pseudonymised import pseudonymised_views
from warehouse.schema import ROW_TABLES
from warehouse.winners import LATER_ROW_FIRST, NEWEST_REGISTER_FIRST, order_sql

REPORTABLE_STATUSES = ("ACTIVE", "DESELECTED")  # CONTRACT section 4


def _columns(feed_name: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.name}" for c in ROW_TABLES[feed_name].columns)


def current_events_sql(feed_name: str) -> str:
    """The winning row per key of an event feed, over every current file version."""
    feed = FEEDS[feed_name]
    table = ROW_TABLES[feed_name]
    cols = ", ".join(c.name for c in table.columns)
    key = ", ".join(f"r.{k}" for k in feed.key)
    return (
        f"SELECT {cols} FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY {key} "
        f"ORDER BY {order_sql(LATER_ROW_FIRST)}) AS rn "
        f"FROM {table.name} r JOIN ingest_file f ON f.id = r.file_id WHERE f.is_current) ranked "
        f"WHERE rn = 1"
    )


def current_schedule_sql(feed_name: str) -> str:
    """A dated snapshot feed's item for each date, from the newest file dated on or before it."""
    feed = FEEDS[feed_name]
    on = feed.event_date_column
    table = ROW_TABLES[feed_name].name
    files = snapshot_files_sql(feed_name)
    return (
        f"WITH files AS ({files}) "
        f"SELECT {_columns(feed_name, 'r')} FROM {table} r JOIN files s ON s.id = r.file_id "
        f"WHERE s.file_date = (SELECT MAX(x.file_date) FROM files x WHERE x.file_date <= r.{on})"
    )


def current_view_sql(feed_name: str) -> str:
    feed = FEEDS[feed_name]
    if feed.kind is FeedKind.EVENTS:
        return current_events_sql(feed_name)
    if feed.event_date_column:
        return current_schedule_sql(feed_name)
    return member_sql()  # the register: its current view is the member view


def linked_view_sql(feed_name: str) -> str:
    """A linked feed's current rows with their member, division then and reportability."""
    feed = FEEDS[feed_name]
    on = f"e.{feed.reportable_on}"
    statuses = ", ".join(f"'{s}'" for s in REPORTABLE_STATUSES)
    return (
        "WITH link AS (SELECT l.file_id, l.row_no, l.iom_id, l.method, g.file_date AS register_date, "
        f"ROW_NUMBER() OVER (PARTITION BY l.file_id, l.row_no ORDER BY {order_sql(NEWEST_REGISTER_FIRST, 'g')}) AS rn "
        f"FROM record_link l JOIN ingest_file g ON g.id = l.register_id WHERE l.feed = '{feed_name}') "
        f"SELECT e.*, {on} AS event_date, SUBSTR(CAST({on} AS TEXT), 1, 7) AS event_month, "
        "k.iom_id AS linked_iom_id, k.method AS link_method, k.register_date AS linked_with_register_of, "
        "h.managing_division, "
        f"CASE WHEN h.status IN ({statuses}) AND h.selected_on <= {on} "
        f"AND (h.status = 'ACTIVE' OR h.deselected_on >= {on}) THEN 1 ELSE 0 END AS reportable "
        f"FROM {feed.current_view} e "
        "LEFT JOIN link k ON k.file_id = e.file_id AND k.row_no = e.row_no AND k.rn = 1 "
        f"LEFT JOIN member_history h ON h.iom_id = k.iom_id AND h.valid_from <= {on} "
        f"AND (h.valid_to IS NULL OR h.valid_to > {on})"
    )


def linked_view_name(feed_name: str) -> str:
    return f"linked_{FEEDS[feed_name].current_view}"


def _views() -> dict[str, Callable[[], str]]:
    views: dict[str, Callable[[], str]] = {"member_history": member_history_sql, "member": member_sql}
    for name, feed in FEEDS.items():
        if feed.current_view not in views:
            views[feed.current_view] = lambda name=name: current_view_sql(name)
    for name in LINKED_FEEDS:
        views[linked_view_name(name)] = lambda name=name: linked_view_sql(name)
    views["cjs_location_current"] = lambda: "SELECT * FROM cjs_location WHERE ended_at IS NULL"
    # Last: the pseudonymised views read the others (warehouse/pseudonymised.py).
    for name in pseudonymised_views():
        views[name] = lambda name=name: pseudonymised_views()[name]
    return views


VIEW_BUILDERS = _views()
CURRENT_VIEWS = {name: feed.current_view for name, feed in FEEDS.items()}


def views() -> dict[str, str]:
    """Every analyst view's SQL, in creation order (a view after those it reads)."""
    return {name: build() for name, build in VIEW_BUILDERS.items()}
