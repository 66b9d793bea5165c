"""Roles on the real PostgreSQL warehouse: an analyst reads only the pseudonymised views."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from pipelines.cli import main
from tests.builders import member
from warehouse.pseudonymised import pseudonymised_views, refresh_pseudonyms
from warehouse.roles import RoleError, Roles, grant, roles_from_env

D = date(2026, 11, 23)
CLOSED = ("cohort_member", "arrest_row", "member_history", "member", "member_pseudonym", "record_link", "arrest",
          "linked_arrest", "link_decision", "audit_event", "erasure_log", "cjs_location")  # fmt: skip


@pytest.fixture
def roles(request):
    """Unique role names (roles are cluster-wide), dropped afterwards; the warehouse owner
    may create roles for the test's duration."""
    server = request.getfixturevalue("postgres_server")
    tag = uuid.uuid4().hex[:8]
    names = Roles(f"analyst_{tag}", f"pipeline_{tag}")
    login = f"alice_{tag}"
    server.psql(f"ALTER ROLE {server.user} CREATEROLE")
    yield server, names, login
    server.psql(f"ALTER ROLE {server.user} NOCREATEROLE")
    for role in (login, names.analyst, names.pipeline):
        server.psql(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize("hub", ["postgresql"], indirect=True)
def test_an_analyst_reads_the_pseudonymised_views_and_nothing_else(hub, roles):
    server, names, login = roles
    hub.inbox.cohort(date(2026, 11, 20), [member("LDS-000001", "Ng-Smith", "Zoë", "1990-01-01", niche_nominal_id="N1")])
    hub.inbox.arrests("20261122_230000", [{"custody_ref": "K1", "niche_nominal_id": "N1", "surname": "x", "forenames": "y",
                                          "arrest_datetime": "22/11/2026 10:00", "offence_description": "Theft"}])  # fmt: skip
    hub.run(D)
    refresh_pseudonyms(hub.engine, b"k" * 40)
    assert grant(hub.engine, names) == list(pseudonymised_views())
    assert grant(hub.engine, names) == list(pseudonymised_views())  # idempotent
    database = hub.engine.url.database
    server.psql(f"CREATE ROLE {login} LOGIN PASSWORD 'pw-{login}'; GRANT {names.analyst} TO {login}")
    url = sa.URL.create("postgresql+psycopg2", username=login, password=f"pw-{login}", host=server.host,
                        port=server.port, database=database)  # fmt: skip
    analyst = sa.create_engine(url)
    try:
        with analyst.connect() as conn:
            for view in pseudonymised_views():
                conn.execute(sa.text(f"SELECT * FROM {view}")).fetchall()
            assert conn.execute(sa.text("SELECT COUNT(*) FROM pseudo_arrest")).scalar_one() == 1
        for table in CLOSED:
            with analyst.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT * FROM {table}"))
        with analyst.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("DELETE FROM pseudo_traffic_light"))
    finally:
        analyst.dispose()
    server.psql(f"DROP OWNED BY {login}, {names.analyst}, {names.pipeline}", database=database)
    # The pipeline role may write every table.
    granted = server.psql(
        f"SELECT COUNT(*) FROM information_schema.role_table_grants WHERE grantee = '{names.pipeline}'", database=database
    )
    assert granted.strip() == "0"  # dropped above; what follows checks it was there before
    grant(hub.engine, names)
    rights = server.psql(
        "SELECT privilege_type FROM information_schema.role_table_grants "
        f"WHERE grantee = '{names.pipeline}' AND table_name = 'arrest_row' ORDER BY 1",
        database=database,
    ).split()
    assert rights == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    server.psql(f"DROP OWNED BY {names.analyst}, {names.pipeline}", database=database)


def test_on_sqlite_roles_are_said_to_be_a_postgresql_feature(hub, monkeypatch, capsys):
    with pytest.raises(RoleError, match="roles are a PostgreSQL feature"):
        grant(hub.engine, roles_from_env())
    monkeypatch.setenv("IOM_WAREHOUSE_URL", hub.engine.url.render_as_string(hide_password=False))
    assert main(["grant"]) == 2
    assert "roles are a PostgreSQL feature" in capsys.readouterr().err


def test_role_names_are_checked(monkeypatch):
    monkeypatch.setenv("IOM_ANALYST_ROLE", "Robert'); DROP TABLE x;--")
    with pytest.raises(RoleError, match=r"^IOM_ANALYST_ROLE: .* is not a role name"):
        roles_from_env()
    monkeypatch.delenv("IOM_ANALYST_ROLE")
    assert roles_from_env() == Roles("iom_analyst", "iom_pipeline")
    with pytest.raises(RoleError, match="must be different"):
        roles_from_env("same", "same")
