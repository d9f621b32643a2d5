"""One replica at a time: a PostgreSQL advisory lock held on a connection of its own."""

from __future__ import annotations

import contextlib
import hashlib
import time
from typing import Any

import psycopg

from services.kernel.store.environment import ServiceApplication


class Lease:
    """Which replica does a piece of work that one replica at a time must do (`purpose`: the
    outbox relay's publishing, notify's timers): on PostgreSQL, the one holding an advisory
    lock named after the purpose and the service's schema, on a connection of its own. If that
    replica dies, its session ends, the lock is free, and another replica takes it within a
    second. (SQLite and the in-memory store are one process's: always held.)

    After a database restart a replica may believe it still holds the lock for up to
    `CHECK_SECONDS` while another took it: both work for that moment. The relay's consumers
    absorb it (they apply each notification once), as they absorb a crash between publish and
    advance; notify's deliveries collide on the notice's version instead of both sending.
    """

    CHECK_SECONDS = 1.0

    def __init__(self, app: ServiceApplication, purpose: str) -> None:
        from eventsourcing.postgres import PostgresDatastore

        datastore = getattr(app.process_recorder, "datastore", None)
        self._postgres = False
        if isinstance(datastore, PostgresDatastore):
            self._postgres = True
            # eventsourcing gives its pool a dict; psycopg_pool also types a callable or None.
            self._connect = dict(datastore.pool.kwargs)  # type: ignore[arg-type]
            self._connect.pop("row_factory", None)
            digest = hashlib.sha256(f"zhaoshang.{purpose}:{datastore.schema}".encode()).digest()
            self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._connection: Any = None
        self._checked = 0.0
        self.term = 0  # how many times the lock was taken: what was learnt under it holds

    def held(self) -> bool:
        if not self._postgres:
            return True
        if self._connection is not None:
            if time.monotonic() - self._checked < self.CHECK_SECONDS:
                return True
            try:
                self._connection.execute("SELECT 1")
                self._checked = time.monotonic()
                return True
            except psycopg.Error:
                self.release()  # the session is gone, and the lock with it
        try:
            connection = psycopg.connect(autocommit=True, connect_timeout=5, **self._connect)
        except psycopg.Error:
            return False
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            got = row is not None and row[0]
        except psycopg.Error:
            got = False
        if not got:
            connection.close()
            return False
        self._connection, self._checked = connection, time.monotonic()
        self.term += 1
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()  # ends the session: the lock is released
        self._connection = None
