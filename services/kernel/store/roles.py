"""Least privilege in the PostgreSQL stores: a service's role may insert and read its events,
never update or delete them; a separate owner role owns the schema and its tables.

`python -m services.kernel.store.roles SERVICE APP_ROLE`, connected as the schema's owner (the
`POSTGRES_*` variables of the owner, `<SERVICE>_POSTGRES_SCHEMA` as the services use it), creates
the service's tables (the library's events and tracking tables, the Merkle tree's tables:
merkle_store.py) and grants the service's role exactly this (`grants`):

- USAGE on the schema; SELECT and INSERT on every table; USAGE on the sequences (new ids);
- the right to lock the events table: the recorder takes `LOCK TABLE … IN EXCLUSIVE MODE` to
  serialize inserts, which PostgreSQL allows only with UPDATE, DELETE, TRUNCATE or (17 and
  later) MAINTAIN. MAINTAIN where the server has it; before 17, UPDATE — and on every server
  the owner's triggers (`guards`) refuse any UPDATE, DELETE or TRUNCATE of an event, whoever
  asks, so the lock is all the role gets of it;
- UPDATE on the `<service>_tracking` table alone: it holds positions (the outbox's, each
  upstream's), which move forward; it holds no events.

The services then run with `ZHAOSHANG_CREATE_TABLES=n` (they create nothing). Kubernetes: the
Job in deploy/k8s/base/postgres-roles.yaml.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from psycopg import sql

MAINTAIN_SINCE = 170000  # server_version_num of the first PostgreSQL with MAINTAIN


def grants(
    schema: str, events_table: str, tracking_table: str, role: str, server: int = MAINTAIN_SINCE
) -> list[sql.Composed]:
    """The owner's statements that leave `role` insert and read only (see the module's text),
    for a server of version `server` (server_version_num)."""
    s, r = sql.Identifier(schema), sql.Identifier(role)
    events = sql.Identifier(schema, events_table)
    tracking = sql.Identifier(schema, tracking_table)
    lock = "MAINTAIN" if server >= MAINTAIN_SINCE else "UPDATE"
    return [
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(s, r),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(s, r),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(lock), events, r),
        sql.SQL("GRANT UPDATE ON {} TO {}").format(tracking, r),
    ]


def guards(schema: str, events_table: str) -> list[sql.Composed]:
    """The owner's triggers that refuse to change a stored event: no UPDATE or DELETE of a row,
    no TRUNCATE, whoever asks (only the owner could drop them)."""
    events = sql.Identifier(schema, events_table)
    refuse = sql.Identifier(schema, "zhaoshang_events_never_change")
    return [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'stored events are never changed: % refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        ).format(refuse),
        sql.SQL(
            "CREATE OR REPLACE TRIGGER events_never_change BEFORE UPDATE OR DELETE ON {} "
            "FOR EACH ROW EXECUTE FUNCTION {}()"
        ).format(events, refuse),
        sql.SQL(
            "CREATE OR REPLACE TRIGGER events_never_truncated BEFORE TRUNCATE ON {} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {}()"
        ).format(events, refuse),
    ]


def prepare(service: str, role: str, environ: Mapping[str, str] = os.environ) -> None:
    """As the schema's owner: the service's tables, then the role's grants."""
    import psycopg

    from services.kernel.store.environment import (
        ServiceApplication,
        connection_parameters,
        store_env,
    )
    from services.kernel.store.merkle_store import TreeTables

    env = store_env(service, {**environ, "ZHAOSHANG_CREATE_TABLES": "y"})
    named = type(f"{service.title()}Tables", (ServiceApplication,), {"name": service})
    app = named(env)  # creates the library's tables, named after the service as it names them
    TreeTables(app).create()
    recorder: Any = app.recorder
    tables = (recorder.events_table_name, recorder.tracking_table_name)
    app.close()
    schema = env["POSTGRES_SCHEMA"]
    with psycopg.connect(autocommit=True, **connection_parameters(env)) as conn:
        server = conn.info.server_version
        for statement in [*guards(schema, tables[0]), *grants(schema, *tables, role, server)]:
            conn.execute(statement)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a service's tables and its role's grants")
    parser.add_argument("service", choices=["registry", "tracking", "scoring", "notify"])
    parser.add_argument("role", help="the service's PostgreSQL role")
    args = parser.parse_args(argv)
    prepare(args.service, args.role)
    print(f"{args.service}: tables ready; {args.role} may insert and read, not update or delete")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
