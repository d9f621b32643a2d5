"""Each service's event store: a SQLite file under var/ by default, a PostgreSQL schema in
production.

`ServiceApplication` is the eventsourcing Application every service builds on. It records with a
process recorder, so tracking rows (the outbox position, an upstream's position) commit in the same
transaction as the events they belong to (`record_tracked`), and it lets the outbox relay know
when something new was recorded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    ProcessRecorder,
    Tracking,
    Transcoding,
)
from eventsourcing.utils import get_topic

from services.kernel.contract.wire import wire_event, wire_type
from services.kernel.store.chain import ChainedMapper
from services.kernel.store.logread import read_message

SQLITE = "eventsourcing.sqlite"
POSTGRES = "eventsourcing.postgres"
ARRAY_INSERT_RECORDER = "services.kernel.store.pgrecorder:ArrayInsertProcessRecorder"


class DateAsISO(Transcoding):
    """Business dates (occurred_on, deadlines) are plain dates, Asia/Shanghai."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where local state lives (SQLite files, circulars); `ZHAOSHANG_VAR`, default ./var."""
    path = Path(environ.get("ZHAOSHANG_VAR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_env(service: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The eventsourcing environment for one service's store.

    SQLite: one file per service, `var/<service>.sqlite`. PostgreSQL (`PERSISTENCE_MODULE=
    eventsourcing.postgres`): the `POSTGRES_*` variables, one schema per service (default: the
    service's name), created here if missing; `POSTGRES_SSLMODE` and `POSTGRES_SSLROOTCERT`
    apply to every connection (services/kernel/store/pgtls.py).
    """
    persistence = environ.get("PERSISTENCE_MODULE", SQLITE)
    # ZHAOSHANG_CREATE_TABLES=n: the tables are the schema owner's to make (roles.py).
    env = {
        "PERSISTENCE_MODULE": persistence,
        "CREATE_TABLE": environ.get("ZHAOSHANG_CREATE_TABLES", "y"),
    }
    if persistence == SQLITE:
        env["SQLITE_DBNAME"] = str(var_dir(environ) / f"{service}.sqlite")
        env["SQLITE_LOCK_TIMEOUT"] = environ.get("SQLITE_LOCK_TIMEOUT", "30")
    elif persistence == POSTGRES:
        from services.kernel.store.pgtls import FACTORY_TOPIC, SETTINGS

        env.update(
            PERSISTENCE_MODULE=FACTORY_TOPIC,
            POSTGRES_DBNAME=environ.get("POSTGRES_DBNAME", "zhaoshang"),
            POSTGRES_HOST=environ.get("POSTGRES_HOST", "127.0.0.1"),
            POSTGRES_PORT=environ.get("POSTGRES_PORT", "5432"),
            POSTGRES_USER=environ.get("POSTGRES_USER", "postgres"),
            POSTGRES_PASSWORD=environ.get("POSTGRES_PASSWORD", ""),
            POSTGRES_SCHEMA=environ.get(f"{service.upper()}_POSTGRES_SCHEMA", service),
            POSTGRES_POOL_SIZE=environ.get("POSTGRES_POOL_SIZE", "5"),
            PROCESS_RECORDER_TOPIC=ARRAY_INSERT_RECORDER,
            **{name: environ[name] for name in SETTINGS if environ.get(name)},
        )
        ensure_postgres_schema(env)
    else:
        raise ValueError(
            f"PERSISTENCE_MODULE={persistence!r} is not supported; use {SQLITE} or {POSTGRES}"
        )
    return env


def connection_parameters(env: Mapping[str, str]) -> dict[str, Any]:
    """psycopg's connection arguments from a store's environment (store_env)."""
    from services.kernel.store.pgtls import tls_parameters

    return {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"] or None,
        **tls_parameters(env),
    }


def ensure_postgres_schema(env: Mapping[str, str]) -> None:
    """eventsourcing creates tables but not the schema they live in."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(autocommit=True, **connection_parameters(env)) as conn:
        # Only when missing: CREATE SCHEMA needs CREATE on the database even for a schema that
        # exists, and in production a service's role has no such right (roles.py).
        schema = env["POSTGRES_SCHEMA"]
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone():
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


@dataclass(frozen=True)
class Reached(Tracking):
    """A consumer's position in an upstream's log with the stored one it moves on from. A
    store that `checks_moves` (PostgreSQL's, pgrecorder.py) refuses the save, as IntegrityError,
    when another replica moved the position meanwhile; others take it as a plain Tracking."""

    moved_from: int


class ServiceApplication(Application):
    """An eventsourcing Application with a process recorder (a save may carry an upstream's
    position: `record_tracked`), hash-chained stored events (services/kernel/store/chain.py)
    and a hook after each save.

    A service's application subclasses it and owns the parts it needs: a report intake
    (services/kernel/ingest/reports.py), a follower of upstream services
    (services/kernel/bus/consumer.py)."""

    mapper: ChainedMapper  # construct_mapper's

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._listeners: list[Callable[[], None]] = []
        super().__init__(env=dict(env) if env is not None else None)
        self.mapper.bind(self.recorder)

    def construct_mapper(self) -> ChainedMapper:
        plain: Mapper = super().construct_mapper()
        return ChainedMapper(plain.transcoder, compressor=plain.compressor, cipher=plain.cipher)

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    @property
    def checks_moves(self) -> bool:
        """Whether a save refuses a `Reached` that does not move on from the stored position."""
        return bool(getattr(self.process_recorder, "checks_moves", False))

    def positions(self, upstreams: Sequence[str]) -> dict[str, int]:
        """The position reached in each upstream's log (0: none yet), in one round trip where
        the recorder can (pgrecorder.py)."""
        recorder: Any = self.process_recorder
        if hasattr(recorder, "max_tracking_ids"):
            found = recorder.max_tracking_ids(upstreams)
        else:
            found = {u: recorder.max_tracking_id(u) for u in upstreams}
        return {u: found[u] or 0 for u in upstreams}

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:
        """The library's save, collecting with `collect`."""
        processing_event = collect(ProcessingEvent(), objs)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def record_tracked(self, tracking: Tracking, *aggregates: Aggregate) -> None:
        """Save aggregates' new events and an upstream's position in one transaction."""
        self._notify(self._record(collect(ProcessingEvent(tracking=tracking), aggregates)))

    def _record(self, processing_event: Any) -> list[Any]:
        try:
            return super()._record(processing_event)
        except Exception:
            # Not stored: the hashes the mapper kept for these events must not be chained to.
            self.mapper.forget(e.originator_id for e in processing_event.events)
            raise

    def on_recorded(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every save that recorded a public event (the outbox relay
        wakes up on it; what else is stored, receipts, ledger entries, checkpoints, it passes
        over when its idle timer wakes it)."""
        self._listeners.append(listener)

    def _notify(self, recordings: list[Any]) -> None:
        if any(wire_type(r.domain_event) for r in recordings):
            for listener in self._listeners:
                listener()

    def read_wire(self, start: int, stop: int | None = None, limit: int = 1000) -> dict | None:
        """Notifications `start..stop` as one wire message (consumers' gap pulls, replays)."""
        return read_message(self, self.name, start, stop, limit)

    def wire_history(self, aggregate_id: UUID) -> list[dict]:
        """Every public event of one aggregate, in order (Audit.GetHistory)."""
        return [
            e
            for e in (wire_event(self.name, None, d) for d in self.events.get(aggregate_id))
            if e is not None
        ]


def collect(processing_event: ProcessingEvent, objs: Any) -> ProcessingEvent:
    """`ProcessingEvent.collect_events`, telling an aggregate by its class: the library asks
    each object whether it is a domain event with a runtime Protocol check, which costs more
    than collecting the aggregate's events (a batch saves hundreds)."""
    for obj in objs:
        if isinstance(obj, Aggregate):
            processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        elif obj is not None:
            processing_event.collect_events(obj)
    return processing_event


def event_topics(*aggregate_classes: type[Aggregate]) -> list[str]:
    """The stored topics of the events the classes declare (to read their events, and only
    theirs, from a notification log)."""
    return [
        get_topic(member)
        for cls in aggregate_classes
        for member in vars(cls).values()
        if isinstance(member, type) and issubclass(member, Aggregate.Event)
    ]
