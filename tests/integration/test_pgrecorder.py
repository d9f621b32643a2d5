"""The services' PostgreSQL recorder (services/kernel/store/pgrecorder.py) stores what the library's
own would, in the same order, and refuses a version written twice as the library's does."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder

from services.kernel.store.environment import Reached, ServiceApplication, store_env
from services.kernel.store.pgrecorder import ArrayInsertProcessRecorder


@pytest.fixture
def recorder(postgres_env, tmp_path) -> ArrayInsertProcessRecorder:
    app = ServiceApplication(
        store_env("pgrecorder", {**postgres_env, "ZHAOSHANG_VAR": str(tmp_path)})
    )
    yield app.process_recorder
    app.close()


def events(count: int) -> list[StoredEvent]:
    aggregate = uuid.uuid4()
    return [
        StoredEvent(
            originator_id=aggregate if i % 2 else uuid.uuid4(),
            originator_version=i + 1 if i % 2 else 1,
            topic=f"services.example:Thing.Happened{i % 3}",
            state=b'{"n":%d,"text":"\xe6\x8b\x9b\xe5\x95\x86","zero":"\x00"}' % i,
        )
        for i in range(count)
    ]


def test_the_services_store_with_the_array_insert(recorder):
    assert type(recorder) is ArrayInsertProcessRecorder
    assert isinstance(recorder, PostgresProcessRecorder)


def test_a_batch_is_stored_as_given_in_order_with_its_notification_ids(recorder):
    first, second = events(300), events(5)

    first_ids = recorder.insert_events(first)
    second_ids = recorder.insert_events(second)

    assert first_ids == sorted(first_ids) and len(set(first_ids)) == 300
    assert second_ids[0] > first_ids[-1]
    stored = recorder.select_notifications(first_ids[0], 1000)
    assert [n.id for n in stored] == first_ids + second_ids
    assert [(n.originator_id, n.originator_version, n.topic, n.state) for n in stored] == [
        (e.originator_id, e.originator_version, e.topic, e.state) for e in first + second
    ]


def test_a_version_written_twice_is_refused_and_nothing_of_its_batch_is_stored(recorder):
    batch = events(10)
    recorder.insert_events(batch)
    again = [*events(3), batch[3]]  # a new aggregate's events, and one version already there

    with pytest.raises(IntegrityError):
        recorder.insert_events(again)

    assert recorder.select_events(again[0].originator_id) == []
    assert recorder.max_notification_id() == len(batch)


def test_the_positions_in_several_upstreams_logs_are_read_at_once(recorder):
    from eventsourcing.persistence import Tracking

    recorder.insert_events([], tracking=Tracking("registry", 7))
    recorder.insert_events([], tracking=Tracking("registry", 12))
    recorder.insert_events(events(2), tracking=Tracking("tracking", 3))

    positions = recorder.max_tracking_ids(["registry", "tracking", "notify"])

    assert positions == {"registry": 12, "tracking": 3, "notify": None}
    assert positions == {name: recorder.max_tracking_id(name) for name in positions}


def test_a_position_not_beyond_the_stored_one_is_refused_with_nothing_of_its_save_stored(
    recorder,
):
    """What makes a consumer apply each upstream event once: its position and what the
    event changed are stored together, or neither is."""
    from eventsourcing.persistence import Tracking

    ids = recorder.insert_events(events(2), tracking=Tracking("registry", 5))
    late = events(3)

    for stale in (5, 4):
        with pytest.raises(IntegrityError):
            recorder.insert_events(late, tracking=Tracking("registry", stale))
        with pytest.raises(IntegrityError):
            recorder.insert_events([], tracking=Tracking("registry", stale))

    assert recorder.max_tracking_id("registry") == 5
    assert recorder.max_notification_id() == ids[-1]
    assert recorder.select_events(late[0].originator_id) == []
    recorder.insert_events(late, tracking=Tracking("registry", 6))
    assert recorder.max_tracking_id("registry") == 6
    assert len(recorder.select_notifications(1, 100)) == 5


def test_a_store_made_before_the_recording_function_is_still_saved_to(recorder, caplog):
    """Tables an older release made (their owner makes them: roles.py) have no function yet:
    saves take the library's statements, with the same refusals."""
    from eventsourcing.persistence import Tracking
    from psycopg import sql

    function = f"zs_record_{recorder.events_table_name}"
    with recorder.datastore.get_connection() as conn:
        schema = recorder.datastore.schema
        conn.execute(sql.SQL("DROP FUNCTION {}").format(sql.Identifier(schema, function)))

    ids = recorder.insert_events(events(4), tracking=Tracking("registry", 3))
    with pytest.raises(IntegrityError):
        recorder.insert_events(events(1), tracking=Tracking("registry", 3))

    assert ids == [1, 2, 3, 4]
    assert recorder.max_tracking_id("registry") == 3
    assert "has no recording function" in caplog.text


def test_a_consumers_position_is_stored_only_if_it_moves_on_from_the_stored_one(recorder):
    """A consumer's save names the stored position it moves on from (`Reached`): a replica
    that did not hear of another's save is refused, with nothing of its save stored."""
    assert recorder.checks_moves
    recorder.insert_events(events(1), tracking=Reached("registry", 4, 0))

    late = events(2)
    for moved_from in (0, 2, 9):  # a replica that read 0, or 2, or one that is confused
        with pytest.raises(IntegrityError):
            recorder.insert_events(late, tracking=Reached("registry", 9, moved_from))
    with pytest.raises(IntegrityError):
        recorder.insert_events(late, tracking=Reached("registry", 4, 4))  # not moved on

    assert recorder.max_tracking_id("registry") == 4
    assert recorder.select_events(late[0].originator_id) == []
    recorder.insert_events(late, tracking=Reached("registry", 9, 4))
    assert recorder.max_tracking_id("registry") == 9
    assert len(recorder.select_notifications(1, 100)) == 3


def test_a_store_without_the_function_refuses_a_checked_move_until_its_consumer_reads_first(
    recorder,
):
    """The library's statements cannot check a move: the first such save is refused (its
    consumer reads the positions and sends it again) and the store says it checks no more."""
    from psycopg import sql

    function = f"zs_record_{recorder.events_table_name}"
    with recorder.datastore.get_connection() as conn:
        schema = recorder.datastore.schema
        conn.execute(sql.SQL("DROP FUNCTION {}").format(sql.Identifier(schema, function)))

    with pytest.raises(IntegrityError):
        recorder.insert_events(events(1), tracking=Reached("registry", 3, 0))
    assert not recorder.checks_moves
    assert recorder.max_notification_id() in (0, None)
    recorder.insert_events(events(1), tracking=Reached("registry", 3, 0))
    assert recorder.max_tracking_id("registry") == 3
