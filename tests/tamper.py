"""What someone with write access to a store's database does, for the tamper tests: read the
events table's rows, change them in place, delete them, put them back, and recompute every hash
chain and checkpoint so that the stores' own verification agrees with the rows as changed."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
from psycopg import sql

from services.kernel.store.audit import CHECKPOINT_TOPICS, step
from services.kernel.store.chain import GENESIS, Link, event_hash, seal, unseal
from services.kernel.store.environment import connection_parameters

Row = tuple[int, str, int, str, bytes]  # notification id, aggregate, version, topic, state


class EventsTable:
    """One store's events table, on SQLite (`stored_events`, the rowid is the notification id)
    or PostgreSQL (`<schema>.<store>_events`), edited directly."""

    def __init__(self, env: dict[str, str], store: str) -> None:
        self.env = env
        self.sqlite = env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
        schema = env.get("POSTGRES_SCHEMA", store)
        self.table = "stored_events" if self.sqlite else f'"{schema}"."{store}_events"'
        self.id = "rowid" if self.sqlite else "notification_id"

    def run(self, statement: str, *params: Any) -> list[tuple]:
        statement = statement.replace("{table}", self.table).replace("{id}", self.id)
        if self.sqlite:
            with sqlite3.connect(self.env["SQLITE_DBNAME"]) as db:
                return db.execute(statement, params).fetchall()
        with psycopg.connect(autocommit=True, **connection_parameters(self.env)) as conn:
            cursor = conn.execute(sql.SQL(statement.replace("?", "%s")), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def rows(self) -> list[Row]:
        return [
            (int(n), str(a), int(v), t, bytes(s))
            for n, a, v, t, s in self.run(
                "SELECT {id}, originator_id, originator_version, topic, state FROM {table} "
                "ORDER BY {id}"
            )
        ]

    def put(self, row: Row) -> None:
        n, _, _, topic, state = row
        self.run("UPDATE {table} SET topic = ?, state = ? WHERE {id} = ?", topic, state, n)

    def delete_from(self, notification_id: int) -> None:
        self.run("DELETE FROM {table} WHERE {id} >= ?", notification_id)

    def delete_checkpoints(self) -> None:
        self.run("DELETE FROM {table} WHERE topic LIKE ?", "%Checkpoint.Sealed")

    def restore(self, rows: list[Row]) -> None:
        """Every row back as it was (deleted ones inserted again with their ids)."""
        self.delete_from(rows[0][0])
        for row in rows:
            self.run(
                "INSERT INTO {table} ({id}, originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?, ?)",
                *row,
            )

    def forge(self, rows: list[Row]) -> None:
        """Write `rows` with every hash chain and every checkpoint's running hash recomputed to
        agree with them (what an operator would do to hide an edit)."""
        heads: dict[str, str] = {}
        running, running_at = GENESIS, {}
        for n, aggregate, version, topic, state in rows:
            _, inner = unseal(state)
            if topic in CHECKPOINT_TOPICS and b'"running_hash"' in inner:
                sealed = json.loads(inner)
                inner = inner.replace(
                    sealed["running_hash"].encode(), running_at[sealed["position"]].encode()
                )
            prev = heads.get(aggregate, GENESIS)
            hash_ = event_hash(self._uuid(aggregate), version, topic, prev, inner)
            forged = seal(Link(version, prev, hash_), inner)
            if forged != state:
                self.put((n, aggregate, version, topic, forged))
            heads[aggregate] = hash_
            running = step(running, n, self._uuid(aggregate), version, hash_)
            running_at[n] = running

    def _uuid(self, aggregate: str) -> str:
        """The aggregate id as the application hashes it (SQLite stores it without dashes)."""
        import uuid

        return str(uuid.UUID(aggregate))
