"""PostgreSQL roles for the warehouse (issue 9): analysts read only the pseudonymised views.

``grant`` is idempotent.  It makes (or keeps) two NOLOGIN group roles, to which login
roles are then granted (``GRANT iom_analyst TO alice``):

- the analyst role: USAGE on the schema and SELECT on the ``pseudo_*`` views, nothing
  else (every other privilege it had on the schema's tables and views is revoked, so a
  view or table granted by hand earlier does not linger).  The views run with their
  owner's rights, so the tables and ``member_pseudonym`` behind them stay closed.
- the pipeline role: SELECT, INSERT, UPDATE, DELETE on every table and view, and its
  sequences, now and (default privileges) for tables the owner creates later.

The warehouse URL's own user owns the schema's objects (it runs the migrations) and is
the one that runs this.  SQLite has no roles: access is the file's permissions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import sqlalchemy as sa

from warehouse.pseudonymised import pseudonymised_views

ANALYST_ROLE_SETTING = "IOM_ANALYST_ROLE"
PIPELINE_ROLE_SETTING = "IOM_PIPELINE_ROLE"
DEFAULT_ANALYST_ROLE = "iom_analyst"
DEFAULT_PIPELINE_ROLE = "iom_pipeline"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(ValueError):
    """A role setting or back end that cannot be granted, said in one line."""


@dataclass(frozen=True)
class Roles:
    analyst: str
    pipeline: str


def roles_from_env(analyst: str | None = None, pipeline: str | None = None) -> Roles:
    """The role names (an option, else IOM_ANALYST_ROLE / IOM_PIPELINE_ROLE, else the default)."""
    names = {
        ANALYST_ROLE_SETTING: analyst or os.environ.get(ANALYST_ROLE_SETTING) or DEFAULT_ANALYST_ROLE,
        PIPELINE_ROLE_SETTING: pipeline or os.environ.get(PIPELINE_ROLE_SETTING) or DEFAULT_PIPELINE_ROLE,
    }
    for setting, name in names.items():
        if not _ROLE_NAME.match(name):
            raise RoleError(f"{setting}: {name!r} is not a role name (lower-case letters, digits and _, at most 63)")
    if names[ANALYST_ROLE_SETTING] == names[PIPELINE_ROLE_SETTING]:
        raise RoleError(f"{ANALYST_ROLE_SETTING} and {PIPELINE_ROLE_SETTING} must be different roles")
    return Roles(names[ANALYST_ROLE_SETTING], names[PIPELINE_ROLE_SETTING])


def _create_role(name: str) -> str:
    # CREATE ROLE has no IF NOT EXISTS; a concurrent grant may create it first.
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN CREATE ROLE {name} NOLOGIN; "
        "END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


def grant_statements(schema: str, roles: Roles) -> list[str]:
    analyst, pipeline = roles.analyst, roles.pipeline
    views = ", ".join(f"{schema}.{name}" for name in pseudonymised_views())
    return [
        _create_role(analyst),
        _create_role(pipeline),
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {analyst}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {analyst}",
        f"GRANT USAGE ON SCHEMA {schema} TO {analyst}, {pipeline}",
        f"GRANT SELECT ON {views} TO {analyst}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {pipeline}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {pipeline}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {pipeline}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {pipeline}",
    ]


def grant(engine: sa.Engine, roles: Roles) -> list[str]:
    """Create or update both roles' privileges (idempotent); returns the pseudonymised views granted."""
    if engine.dialect.name != "postgresql":
        raise RoleError(
            f"roles are a PostgreSQL feature; this warehouse is {engine.dialect.name}, where access is the file's "
            "permissions (IOM_UMASK)"
        )
    with engine.begin() as conn:
        schema = engine.dialect.identifier_preparer.quote(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
        for statement in grant_statements(schema, roles):
            conn.execute(sa.text(statement))
    return list(pseudonymised_views())
