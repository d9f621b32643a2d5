"""Hash chains over stored events (docs/ARCHITECTURE.md "Tamper evidence"): each stored event
carries the hash of its aggregate's previous event, so an event altered, deleted or moved in the
database is detected.

A stored event's `state` is the library's own state (`inner`, usually JSON) wrapped as

    {"chain":{"v":<version>,"p":"<previous hash>","h":"<hash>"},"event":<inner>}

`h` = sha256 over the originator id, the version, the topic, `p` and `inner`; `p` is the `h` of
the aggregate's previous version (64 zeros before version 1). The layout is fixed, so reading
it back is slicing, not parsing. Rows written before chaining (no wrapper) read as they are and
are reported as unchained by the verifier.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from eventsourcing.domain import AggregateEvent, DomainEventProtocol
from eventsourcing.persistence import AggregateRecorder, Mapper, StoredEvent

from services.kernel.cooperative import PAUSE_EVERY, let_others_run

GENESIS = "0" * 64
CHAIN_HEAD = b'{"chain":{"v":'
_PREV = b',"p":"'
HASH_MARK = b'","h":"'
_EVENT = b'"},"event":'
HEADS_KEPT = 50_000  # aggregates whose last hash a writer keeps at hand (more than the
# intake keeps aggregates, services/kernel/ingest/cache.py: those are the ones written next)


@dataclass(frozen=True)
class Link:
    """The chain fields of one stored event, as written."""

    version: int
    prev: str
    hash: str


def event_hash(originator_id: UUID | str, version: int, topic: str, prev: str, inner: bytes) -> str:
    digest = hashlib.sha256(b"zhaoshang-chain-v1\n")
    digest.update(f"{originator_id}\n{version}\n{topic}\n{prev}\n".encode())
    digest.update(inner)
    return digest.hexdigest()


def seal(link: Link, inner: bytes) -> bytes:
    return b"".join(
        (CHAIN_HEAD, str(link.version).encode(), _PREV, link.prev.encode(), HASH_MARK,
         link.hash.encode(), _EVENT, inner, b"}")
    )  # fmt: skip


def unseal(state: bytes) -> tuple[Link | None, bytes]:
    """The chain fields and the library's own state; (None, state) for an unchained row."""
    state = bytes(state)
    if not state.startswith(CHAIN_HEAD):
        return None, state
    comma = state.find(b",", len(CHAIN_HEAD))
    at = comma + len(_PREV)
    if comma < 0 or state[comma:at] != _PREV or not state[len(CHAIN_HEAD) : comma].isdigit():
        return None, state
    prev, at = state[at : at + 64], at + 64
    if state[at : at + len(HASH_MARK)] != HASH_MARK:
        return None, state
    at += len(HASH_MARK)
    hash_, at = state[at : at + 64], at + 64
    if state[at : at + len(_EVENT)] != _EVENT or not state.endswith(b"}"):
        return None, state
    link = Link(int(state[len(CHAIN_HEAD) : comma]), prev.decode(), hash_.decode())
    return link, state[at + len(_EVENT) : -1]


def inner_state(state: bytes) -> bytes:
    """The library's own state, without checking the chain fields (for fast replays; the
    verifier uses `unseal`)."""
    if not state.startswith(CHAIN_HEAD):
        return bytes(state)
    return bytes(state[state.index(_EVENT, len(CHAIN_HEAD)) + len(_EVENT) : -1])


def stored_hash(stored: StoredEvent) -> str:
    """The hash an event's successor is chained to: the one written in it, or for an unchained
    row the hash of its content as if it started a chain."""
    link, inner = unseal(stored.state)
    if link is not None:
        return link.hash
    return event_hash(stored.originator_id, stored.originator_version, stored.topic, GENESIS, inner)


class ChainedMapper(Mapper):
    """The library's mapper, writing and reading the chain wrapper.

    Writing version v needs the hash of version v-1: it is kept from when that version was
    written or read (an application reads an aggregate before changing it), else read from the
    store. `bind` gives it the recorder to read from; `forget` drops what a failed save left.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recorder: AggregateRecorder | None = None
        self._heads: OrderedDict[UUID | str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._mapped = 0  # events mapped, for a pause now and then (cooperative.py)

    def bind(self, recorder: AggregateRecorder) -> None:
        self.recorder = recorder

    def to_stored_event(self, domain_event: DomainEventProtocol) -> StoredEvent:
        self._mapped += 1
        if self._mapped % PAUSE_EVERY == 0:
            let_others_run()
        plain = super().to_stored_event(domain_event)
        version = plain.originator_version
        prev = self._previous(plain.originator_id, version)
        link = Link(
            version, prev, event_hash(plain.originator_id, version, plain.topic, prev, plain.state)
        )
        self._remember(plain.originator_id, version, link.hash)
        return StoredEvent(plain.originator_id, version, plain.topic, seal(link, plain.state))

    def to_domain_event(self, stored_event: StoredEvent) -> AggregateEvent:
        link, inner = unseal(stored_event.state)
        if link is not None:
            self._remember(stored_event.originator_id, stored_event.originator_version, link.hash)
        plain = StoredEvent(
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
            inner,
        )
        # The services store their aggregates' events only (no snapshots).
        return cast(AggregateEvent, super().to_domain_event(plain))

    def forget(self, originator_ids: Iterable[UUID | str]) -> None:
        with self._lock:
            for originator_id in originator_ids:
                self._heads.pop(originator_id, None)

    def _previous(self, originator_id: UUID | str, version: int) -> str:
        if version <= 1:
            return GENESIS
        with self._lock:
            head = self._heads.get(originator_id)
        if head is not None and head[0] == version - 1:
            return head[1]
        if self.recorder is None:
            raise RuntimeError("ChainedMapper.bind(recorder) was not called")
        previous = self.recorder.select_events(originator_id, lte=version - 1, desc=True, limit=1)
        return stored_hash(previous[0]) if previous else GENESIS

    def _remember(self, originator_id: UUID | str, version: int, hash_: str) -> None:
        with self._lock:
            head = self._heads.get(originator_id)
            if head is None or head[0] <= version:
                self._heads[originator_id] = (version, hash_)
                self._heads.move_to_end(originator_id)
            if len(self._heads) > HEADS_KEPT:
                self._heads.popitem(last=False)
