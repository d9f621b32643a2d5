"""Least privilege in a PostgreSQL store, on this machine's server (services/kernel/store/roles.py):
the schema's owner makes registry's tables and grants; registry, running as its own role, stores
reports; that role cannot change or remove a stored event, nor empty the table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from services.kernel.contract.report import validate_report
from services.kernel.store.environment import connection_parameters, store_env
from services.kernel.store.roles import prepare
from services.registry.application import RegistryApplication
from tests.conftest import PG
from tests.integration.test_audit_tamper import reports

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_role(postgres_env) -> Iterator[str]:
    """A login role for registry alone, dropped afterwards with what was granted to it in the
    test's database (roles belong to the cluster)."""
    role = sql.Identifier(f"zs_registry_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
    yield role.as_string(None).strip('"')
    with psycopg.connect(dbname=postgres_env["POSTGRES_DBNAME"], autocommit=True, **PG) as db:
        db.execute(sql.SQL("DROP OWNED BY {}").format(role))
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(role))


def test_a_services_role_stores_reports_but_cannot_change_or_remove_an_event(
    postgres_env, app_role, tmp_path
):
    owner = {**postgres_env, "ZHAOSHANG_VAR": str(tmp_path / "var")}
    prepare("registry", app_role, owner)  # as the owner (the tests' superuser)

    env = store_env(
        "registry", {**owner, "POSTGRES_USER": app_role, "ZHAOSHANG_CREATE_TABLES": "n"}
    )
    app = RegistryApplication(env)
    try:
        outcomes = app.ingest([validate_report(r) for r in reports()])
    finally:
        app.close()
    assert {o["status"] for o in outcomes} == {"accepted"}

    schema = env["POSTGRES_SCHEMA"]
    events = sql.Identifier(schema, "registry_events")
    attempts = [
        sql.SQL("UPDATE {} SET state = state").format(events),
        sql.SQL("DELETE FROM {}").format(events),
        sql.SQL("TRUNCATE {}").format(events),
    ]
    with psycopg.connect(autocommit=True, **connection_parameters(env)) as service:
        stored = service.execute(sql.SQL("SELECT count(*) FROM {}").format(events)).fetchone()
        for attempt in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                service.execute(attempt)
        after = service.execute(sql.SQL("SELECT count(*) FROM {}").format(events)).fetchone()
    assert stored == after and stored is not None and stored[0] >= len(reports())
