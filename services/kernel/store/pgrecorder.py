"""The PostgreSQL recorder the services use: the library's, inserting events as four arrays.

The library inserts a batch as one array of a composite type (`stored_event_uuid[]`), which
psycopg writes in Python value by value, in text: for a batch of reports that was a fifth of
tracking's time. The same rows as four plain arrays (ids, versions, topics, states) are written
by psycopg's C dumpers, in binary: 4.4 ms of CPU per 1,000 events instead of 34 here.
store.store_env names it as eventsourcing's PROCESS_RECORDER_TOPIC. Everything else (the table
lock that keeps notification ids in commit order, the notify channel, the ids returned) is the
library's.

It also reads the positions reached in several upstreams' logs in one round trip
(`max_tracking_ids`): a consumer compares them before every message it applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier


class ArrayInsertProcessRecorder(PostgresProcessRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=SQL(self.datastore.originator_id_type),
        )

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_events_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def max_tracking_ids(self, application_names: Sequence[str]) -> dict[str, int | None]:
        """The library's max_tracking_id of each upstream, in one statement (each an index
        look-up, as the library's)."""
        if not application_names:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._positions_statement(len(application_names)),
                         list(application_names), prepare=True)  # fmt: skip
            row = curs.fetchone()
        assert row is not None
        return dict(zip(application_names, row.values(), strict=True))

    def _positions_statement(self, count: int) -> Composed:
        table = SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )
        one = SQL("(SELECT max(notification_id) FROM {} WHERE application_name = %s) AS {}")
        return SQL("SELECT ") + SQL(", ").join(
            one.format(table, Identifier(f"p{n}")) for n in range(count)
        )
