"""The PostgreSQL recorder the services use: the library's, with each save one statement.

The library saves in a pipelined transaction (begin, the upstream's position, `SET LOCAL
lock_timeout`, the table lock that keeps notification ids in commit order, the notify, the
insert, commit), each statement of which psycopg sends, syncs and reads back in Python. Here
a save is one call of a function made with the tables (`RECORD_FUNCTION`), which does the same
in the same order inside the one transaction the statement is: a consumer's message with its
position cost 1.07 ms of the service's CPU before and 0.73 after, a call of ten reports 4.7 and
3.1 ms. A position not beyond the stored one is refused as the library refuses it
(IntegrityError), and nothing of the save is stored. A position that names the one it
moves on from (`Reached`, a consumer's) is stored only if that is the stored one: a replica
that had not heard of another's save is refused instead of applying a range twice, so it need
not read its positions before every message (services/kernel/bus/consumer.py).

The events go as four plain arrays (ids, versions, topics, states), which psycopg's C dumpers
write in binary: the library's one array of a composite type (`stored_event_uuid[]`) is
written in Python value by value, in text (34 ms of CPU per 1,000 events instead of 4.4).
A store whose tables were made before the function existed (its owner made them, services
create nothing: roles.py) is saved to with the library's statements until its owner makes
them again. store.store_env names this class as eventsourcing's PROCESS_RECORDER_TOPIC.

It also reads the positions reached in several upstreams' logs in one round trip
(`max_tracking_ids`): a consumer reads them when it starts, after a refused save, and before
a query.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

from services.kernel.store.environment import Reached

log = logging.getLogger(__name__)


RECORD_FUNCTION = """
CREATE OR REPLACE FUNCTION {record}(
    ids {id_type}[], versions bigint[], topics text[], states bytea[],
    upstream text, reached bigint, moved_from bigint
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    IF upstream IS NOT NULL AND moved_from IS NULL THEN
        INSERT INTO {tracking} AS t (application_name, notification_id)
        VALUES (upstream, reached)
        ON CONFLICT (application_name) DO UPDATE SET notification_id = reached
        WHERE t.notification_id < reached;
    ELSIF upstream IS NOT NULL AND moved_from = 0 THEN
        INSERT INTO {tracking} (application_name, notification_id) VALUES (upstream, reached)
        ON CONFLICT (application_name) DO NOTHING;
    ELSIF upstream IS NOT NULL THEN
        UPDATE {tracking} SET notification_id = reached
        WHERE application_name = upstream AND notification_id = moved_from
        AND moved_from < reached;
    END IF;
    IF upstream IS NOT NULL THEN
        IF NOT FOUND THEN
            RAISE unique_violation USING MESSAGE = format(
                'position %s in %s is recorded already, or not moved on from %s',
                reached, upstream, moved_from);
        END IF;
    END IF;
    IF cardinality(ids) > 0 THEN
        SET LOCAL lock_timeout = '{lock_timeout}s';
        LOCK TABLE {events} IN EXCLUSIVE MODE;
        NOTIFY {channel};
        RETURN QUERY INSERT INTO {events} (originator_id, originator_version, topic, state)
            SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id;
    END IF;
END
$$
"""


def _columns(stored_events: Sequence[StoredEvent]) -> tuple[list, list, list, list]:
    """The events as the four arrays both inserts take."""
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


class ArrayInsertProcessRecorder(PostgresProcessRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        record = Identifier(self.datastore.schema, f"zs_record_{self.events_table_name}")
        self.sql_create_statements.append(
            SQL(RECORD_FUNCTION).format(
                record=record,
                events=Identifier(self.datastore.schema, self.events_table_name),
                tracking=Identifier(self.datastore.schema, self.tracking_table_name),
                channel=Identifier(self.channel_name),
                lock_timeout=self.datastore.lock_timeout,
                id_type=SQL(self.datastore.originator_id_type),
            )
        )
        self.record_statement = SQL(
            "SELECT * FROM {}(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[], "
            "%s::text, %s::bigint, %s::bigint) AS recorded(notification_id)"
        ).format(record, id_type=SQL(self.datastore.originator_id_type))
        self._with_function = True  # until the store turns out to have none
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=SQL(self.datastore.originator_id_type),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self._with_function:
            try:
                return self._record(stored_events, kwargs.get("tracking"))
            except ProgrammingError as error:
                if not isinstance(error.__cause__, psycopg.errors.UndefinedFunction):
                    raise
                log.warning(
                    "%s has no recording function (its tables were made by an older release);"
                    " saving with the library's statements until its owner makes them again",
                    self.datastore.schema,
                )
                self._with_function = False
                if isinstance(kwargs.get("tracking"), Reached):
                    # Its consumer trusted the check to be made: it reads the position first
                    # from now on (`checks_moves`) and sends the message again.
                    raise IntegrityError("the position's move could not be checked") from error
        return super().insert_events(stored_events, **kwargs)

    @property
    def checks_moves(self) -> bool:
        """Whether a save refuses a position that does not move on from the one it names
        (environment.Reached), so its consumer need not read the position first."""
        return self._with_function

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _record(self, stored_events: Sequence[StoredEvent], tracking: Tracking | None) -> list[int]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.record_statement,
                (
                    *_columns(stored_events),
                    tracking.application_name if tracking else None,
                    tracking.notification_id if tracking else None,
                    getattr(tracking, "moved_from", None),
                ),
                prepare=True,
            )
            return [row["notification_id"] for row in curs.fetchall()]

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        """The library's statements' insert (a store without the function), as four arrays."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_events_statement, _columns(stored_events))

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
