"""Tamper evidence over a whole store (docs/ARCHITECTURE.md "Tamper evidence"): checkpoints and the
verifier.

Hash chains (chain.py) tie each aggregate's events together; they cannot see an aggregate's
last event deleted, or whole aggregates gone. A checkpoint can: every so often the writer seals
a running hash over the notification log (each notification's id, aggregate, version and event
hash, in log order) as an event of the store's `Checkpoint` aggregate, itself chained and
covered by the next checkpoint.

`verify_log` walks the notification log once, recomputing every event's hash, following every
aggregate's chain and recomputing the running hash at each checkpoint. Each finding names the
aggregate and version (or the checkpoint and the notification range) and what is wrong, in
Chinese and English.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from services.kernel.contract import ids
from services.kernel.store.chain import CHAIN_HEAD, GENESIS, HASH_MARK, event_hash, unseal
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.topics import answer_to_old_names, topics_of

if TYPE_CHECKING:  # psycopg is imported only where PostgreSQL is used
    from eventsourcing.postgres import PostgresApplicationRecorder

answer_to_old_names(__name__)

log = logging.getLogger(__name__)

PAGE = 5000
SEAL_EVERY_SECONDS = 1.0  # at most one checkpoint a second per writer
ALTERED, DELETED, REORDERED, UNCHAINED, CHECKPOINT = (
    "altered",
    "deleted",
    "reordered",
    "unchained",
    "checkpoint",
)


class Checkpoint(Aggregate):
    """Running hashes over the store's notification log, one `Sealed` event per checkpoint."""

    # Declared as classes (not `@event("Sealed")`) so a type checker knows their fields.
    class Started(Aggregate.Created):
        pass

    class Sealed(Aggregate.Event):
        position: int
        count: int
        running_hash: str

    @staticmethod
    def create_id() -> UUID:
        return ids.named_id("checkpoint", "notification-log")

    @event(Started)
    def __init__(self) -> None:
        self.position = 0
        self.count = 0
        self.running_hash = GENESIS

    @event(Sealed)
    def seal(self, position: int, count: int, running_hash: str) -> None:
        """Notifications 1..position (`count` of them, ids may have gaps) hash to this."""
        self.position = position
        self.count = count
        self.running_hash = running_hash


CHECKPOINT_TOPICS = frozenset(topics_of(Checkpoint.Started) + topics_of(Checkpoint.Sealed))


def step(running: str, notification_id: int, originator_id: Any, version: int, hash_: str) -> str:
    """The running hash after one more notification."""
    return hashlib.sha256(
        f"{running}|{notification_id}|{originator_id}|{version}|{hash_}".encode()
    ).hexdigest()


def content_hash(notification: Notification) -> str:
    """An event's hash recomputed from what is stored now."""
    link, inner = unseal(notification.state)
    prev = GENESIS if link is None else link.prev
    return event_hash(
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        prev,
        inner,
    )


def pages(app: ServiceApplication, start: int = 1, page: int = PAGE) -> Iterator[Sequence]:
    while notifications := app.process_recorder.select_notifications(start, page):
        yield notifications
        start = notifications[-1].id + 1


# Sealing ------------------------------------------------------------------------------------


class CheckpointSealer:
    """Seals checkpoints for one application (run by its own thread in the writer, every
    `every_seconds`: services/kernel/process/nameko_support.py)."""

    def __init__(self, app: ServiceApplication, every_seconds: float = SEAL_EVERY_SECONDS):
        self.app = app
        self.every_seconds = every_seconds
        self._checkpoint: Checkpoint | None = None

    def seal(self) -> bool:
        """A checkpoint over everything stored since the last one; False if nothing new (the
        last checkpoint's own events do not call for another)."""
        checkpoint = self._load()
        running, count, position, new = checkpoint.running_hash, checkpoint.count, 0, False
        for links in link_pages(self.app, checkpoint.position + 1):
            for notification_id, aggregate, version, topic, hash_ in links:
                running = step(running, notification_id, aggregate, version, hash_)
                count, position = count + 1, notification_id
                new = new or topic not in CHECKPOINT_TOPICS
        if not new:
            return False
        checkpoint.seal(position=position, count=count, running_hash=running)
        try:
            self.app.save(checkpoint)
        except IntegrityError:  # another replica sealed first: start from its checkpoint
            self._checkpoint = None
            return False
        return True

    def _load(self) -> Checkpoint:
        if self._checkpoint is None:
            try:
                self._checkpoint = self.app.repository.get(Checkpoint.create_id())
            except Exception:  # none yet (AggregateNotFoundError), or unreadable: start over
                self._checkpoint = Checkpoint()
        return self._checkpoint


def _hash_of(notification: Notification) -> str:
    link, _ = unseal(notification.state)
    return link.hash if link is not None else content_hash(notification)


Link = tuple[int, str, int, str, str]  # notification id, aggregate, version, topic, event hash


def link_pages(app: ServiceApplication, start: int, page: int = PAGE) -> Iterator[list[Link]]:
    """What a checkpoint covers of each notification from `start` on, page by page. On
    PostgreSQL the event hash is cut out of the stored row by the database (chain.py's fixed
    layout), so the events themselves are not sent over; a row without the chain wrapper is
    read whole and hashed as the verifier does."""
    from eventsourcing.postgres import PostgresApplicationRecorder

    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        for notifications in pages(app, start, page):
            yield [
                (n.id, str(n.originator_id), n.originator_version, n.topic, _hash_of(n))
                for n in notifications
            ]
        return
    while links := _postgres_links(recorder, start, page):
        yield links
        start = links[-1][0] + 1


def _postgres_links(recorder: PostgresApplicationRecorder, start: int, page: int) -> list[Link]:
    from psycopg.sql import SQL, Identifier

    statement = SQL(
        "SELECT notification_id, originator_id::text, originator_version, topic, "
        "CASE WHEN substring(state FROM 1 FOR %s) = %s "
        "THEN convert_from(substring(state FROM position(%s IN state) + %s FOR 64), 'SQL_ASCII') "
        "END FROM {}.{} WHERE notification_id >= %s ORDER BY notification_id LIMIT %s"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    params = (len(CHAIN_HEAD), CHAIN_HEAD, HASH_MARK, len(HASH_MARK), start, page)
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, params)
        rows = curs.fetchall()
    links = []
    for row in rows:
        notification_id, aggregate, version, topic, hash_ = row.values()
        if hash_ is None:  # not chained: its content as if it started a chain
            (n,) = recorder.select_notifications(notification_id, 1)
            hash_ = _hash_of(n)
        links.append((notification_id, aggregate, version, topic, hash_))
    return links


# Verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # ALTERED, DELETED, REORDERED, UNCHAINED or CHECKPOINT
    aggregate_id: str | None
    aggregate_type: str | None  # the event class's owner, e.g. "Project"
    version: int | None
    notification_id: int | None
    detail_zh: str
    detail_en: str


def _kind_of(topic: str) -> str:
    """'services.registry.domain:Project.Proposed' -> 'Project'."""
    return topic.rpartition(":")[2].split(".")[0]


class _Walk:
    """State of one pass over the log."""

    def __init__(self, checkpoints: list[tuple[int, int, str, int]]) -> None:
        # aggregate -> (highest version, its hash, whether it holds the event written there)
        self.heads: dict[Any, tuple[int, str, bool]] = {}
        self.missing: dict[tuple[Any, int], str] = {}  # (aggregate, version) -> topic seen
        self.findings: dict[tuple, Finding] = {}
        self.checkpoints = checkpoints  # (position, count, running hash, version), ascending
        self.next_checkpoint = 0
        self.previous_position = 0
        self.running, self.count, self.events = GENESIS, 0, 0

    def add(self, kind: str, n: Notification | None, version: int | None, zh: str, en: str,
            aggregate: Any = None, topic: str | None = None) -> None:  # fmt: skip
        aggregate = aggregate if n is None else n.originator_id
        topic = topic if n is None else n.topic
        key = (kind, str(aggregate), version)
        if key not in self.findings:
            self.findings[key] = Finding(
                kind,
                None if aggregate is None else str(aggregate),
                None if topic is None else _kind_of(topic),
                version,
                None if n is None else n.id,
                zh,
                en,
            )

    def visit(self, n: Notification) -> None:
        self.close_checkpoints_before(n.id)
        version, aggregate = n.originator_version, n.originator_id
        link, _ = unseal(n.state)
        computed = content_hash(n)
        if link is None:
            self.add(UNCHAINED, n, version, "未纳入哈希链的事件", "an event outside the hash chain")
        elif link.version != version:
            self.add(
                REORDERED, n, version,
                f"第 {version} 版的位置上存放的是原第 {link.version} 版事件",
                f"version {version} holds the event recorded as version {link.version}",
            )  # fmt: skip
        elif computed != link.hash:
            self.add(
                ALTERED, n, version,
                f"第 {version} 版事件的内容与写入时的哈希不符",
                f"version {version} no longer matches the hash it was written with",
            )  # fmt: skip
        self.follow_chain(n, link, computed)
        self.running = step(self.running, n.id, aggregate, version, computed)
        self.count += 1
        self.events += 1

    def follow_chain(self, n: Notification, link: Any, computed: str) -> None:
        version, aggregate = n.originator_version, n.originator_id
        highest, last_hash, last_in_place = self.heads.get(aggregate, (0, GENESIS, True))
        if version <= highest:  # it was counted as missing when a later version came first
            self.missing.pop((aggregate, version), None)
            self.add(
                REORDERED, n, version,
                f"第 {version} 版事件在通知日志中排在第 {highest} 版之后",
                f"version {version} comes after version {highest} in the notification log",
            )  # fmt: skip
            return
        for gap in range(highest + 1, version):
            self.missing[(aggregate, gap)] = n.topic
        in_place = link is not None and link.version == version
        if version == highest + 1 and in_place and last_in_place and link.prev != last_hash:
            if highest == 0:
                self.add(
                    ALTERED, n, version,
                    f"第 {version} 版事件所链接的前一哈希不是链的起点",
                    f"version {version} is not chained to the start of its chain",
                )  # fmt: skip
            else:
                self.add(
                    ALTERED, None, highest,
                    f"第 {highest} 版事件已被改动：第 {highest + 1} 版所链接的哈希与之不符",
                    f"version {highest} was changed: version {highest + 1} is chained to "
                    "another hash",
                    aggregate=aggregate, topic=n.topic,
                )  # fmt: skip
        self.heads[aggregate] = (version, computed, in_place)

    def close_checkpoints_before(self, notification_id: int) -> None:
        while (
            self.next_checkpoint < len(self.checkpoints)
            and self.checkpoints[self.next_checkpoint][0] < notification_id
        ):
            self.close_checkpoint()

    def close_checkpoint(self) -> None:
        position, count, running, version = self.checkpoints[self.next_checkpoint]
        self.next_checkpoint += 1
        if running != self.running or count != self.count:
            lost = count - self.count
            first = self.previous_position + 1
            zh = f"通知 {first}–{position} 的累积哈希与检查点（第 {version} 版）不符"
            en = f"notifications {first}-{position} no longer hash to checkpoint version {version}"
            if lost > 0:
                zh += f"，少了 {lost} 条通知（被删除）"
                en += f": {lost} notification(s) fewer than sealed (deleted)"
            elif lost < 0:
                zh += f"，多了 {-lost} 条通知（被插入）"
                en += f": {-lost} notification(s) more than sealed (inserted)"
            else:
                zh += "（被改动或重排）"
                en += " (altered or reordered)"
            self.add(
                CHECKPOINT, None, version, zh, en,
                aggregate=Checkpoint.create_id(), topic=get_topic(Checkpoint.Sealed),
            )  # fmt: skip
            # Go on from the sealed state, so that later ranges are judged on their own.
            self.running, self.count = running, count
        self.previous_position = position

    def finish(self) -> None:
        while self.next_checkpoint < len(self.checkpoints):
            self.close_checkpoint()
        for (aggregate, version), topic in sorted(self.missing.items(), key=str):
            self.add(
                DELETED, None, version,
                f"第 {version} 版事件缺失（被删除）",
                f"version {version} is missing (deleted)",
                aggregate=aggregate, topic=topic,
            )  # fmt: skip


def verify_log(
    app: ServiceApplication, service: str, progress: Callable[[int], None] | None = None
) -> dict:
    """Every event's hash, every aggregate's chain, every checkpoint of one service's store."""
    checkpoints = _checkpoints(app)
    walk = _Walk(checkpoints)
    last = 0
    for notifications in pages(app):
        for n in notifications:
            walk.visit(n)
        last = notifications[-1].id
        if progress is not None:
            progress(last)
    walk.finish()
    findings = sorted(
        walk.findings.values(),
        key=lambda f: (f.notification_id or 0, f.aggregate_id or "", f.version or 0, f.kind),
    )
    covered = checkpoints[-1][0] if checkpoints else 0
    return {
        "service": service,
        "ok": not findings,
        "events": walk.events,
        "aggregates": len(walk.heads),
        "checkpoints": len(checkpoints),
        "covered_to": covered,
        "last": last,
        "findings": [asdict(f) for f in findings],
    }


def _checkpoints(app: ServiceApplication) -> list[tuple[int, int, str, int]]:
    """(position, count, running hash, checkpoint version) of each seal, by position. A seal
    that cannot be read is left out here; the walk reports its row as altered."""
    sealed = []
    for stored in app.recorder.select_events(Checkpoint.create_id()):
        try:
            domain_event = app.mapper.to_domain_event(stored)
        except Exception:
            continue
        if isinstance(domain_event, Checkpoint.Sealed):
            sealed.append(
                (
                    domain_event.position,
                    domain_event.count,
                    domain_event.running_hash,
                    domain_event.originator_version,
                )
            )
    return sorted(sealed)
