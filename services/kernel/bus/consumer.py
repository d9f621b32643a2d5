"""Consuming an upstream service's wire messages exactly once in effect (DESIGN §5.4).

The position reached in each upstream's notification log is a tracking row written in the same
transaction as the state it produced. A message wholly at or below the position is a redelivery
and changes nothing; a message that starts beyond the position makes the consumer pull the
missing range from the upstream (its `read_wire` RPC) first, so nothing is skipped.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import ClassVar

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking

from services.kernel.store.environment import ServiceApplication, collect

# pull(start, stop) -> a wire message covering start..stop (or start.. when stop is None), or
# None when the upstream has nothing from start on.
Pull = Callable[[int, int | None], Mapping | None]
PAGE = 1000  # what one pull returns at most (the upstreams' read_wire limit)


class ConsumerApplication(ServiceApplication, ABC):
    # The upstreams whose positions a consumer's in-memory state reflects, for consumers that
    # keep some (scoring's facts): before that state is used, the stored positions are compared
    # with the ones it reflects, and a difference (another replica applied something: a
    # standby, or a replica answering queries) rebuilds it from the store first.
    upstreams: ClassVar[tuple[str, ...]] = ()

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        # Read before the subclass loads its state: a write in between only costs a rebuild.
        self._reflected = self._stored_positions()
        # One message at a time: positions and in-memory state move together.
        self._receiving = threading.RLock()
        # Set when a save failed: it may have committed before the connection broke, so the
        # in-memory state is rebuilt from the store before it is used again.
        self.stale = False
        # Per upstream: the end of the last message passed over, in memory only (`wants`).
        self._passed: dict[str, int] = {}

    def wants(self, upstream: str, wire: Mapping) -> bool:
        """Whether an upstream event changes this consumer's state. A message with none it
        wants is passed over without a write: its range is remembered in memory only, and
        after a restart pulled again and passed over again."""
        return True

    def refresh(self) -> None:
        """Rebuild in-memory state from the store; consumers that keep some override this."""

    def fresh(self) -> None:
        """Call with `_receiving` held, before using in-memory state."""
        stored = self._stored_positions()
        if self.stale or stored != self._reflected:
            self.refresh()
            self.stale = False
            self._reflected = stored

    def _stored_positions(self) -> dict[str, int]:
        return {u: self.process_recorder.max_tracking_id(u) or 0 for u in self.upstreams}

    def position(self, upstream: str) -> int:
        stored = self.process_recorder.max_tracking_id(upstream) or 0
        return max(stored, self._passed.get(upstream, 0))

    def receive(self, body: Mapping, pull: Pull) -> None:
        """Apply a wire message from `body["service"]`, pulling any gap before it first."""
        upstream = body["service"]
        with self._receiving:
            self.fresh()
            position = self.position(upstream)
            if body["last"] <= position:
                return
            while body["first"] > position + 1:
                gap = pull(position + 1, body["first"] - 1)
                if gap is None:
                    break
                self._apply(upstream, gap, position)
                position = self.position(upstream)
            self._apply(upstream, body, position)

    def catch_up(self, upstream: str, pull: Pull) -> int:
        """Pull everything the upstream has beyond our position (at start, and periodically,
        so a message lost while no queue was bound is still applied).

        Each page is pulled without holding the lock, so live messages from this and other
        upstreams keep being applied while an upstream is slow to answer; a page that live
        messages covered meanwhile is dropped. It stops at the upstream's head as it was when
        reached: chasing a log that keeps growing is the live messages' work.
        """
        applied = 0
        while (body := pull(self.position(upstream) + 1, None)) is not None:
            with self._receiving:
                self.fresh()
                position = self.position(upstream)
                if body["first"] <= position + 1 <= body["last"]:
                    self._apply(upstream, body, position)
                    applied += body["last"] - position
            if body["last"] - body["first"] + 1 < PAGE:
                break  # a short page: that was the head
        return applied

    def _apply(self, upstream: str, body: Mapping, position: int) -> None:
        events = [e for e in body["events"] if e["notification_id"] > position]
        if not any(self.wants(upstream, e) for e in events):
            self._passed[upstream] = body["last"]
            return
        try:
            self.process(upstream, events, Tracking(upstream, body["last"]))
        except Exception:
            self.stale = True
            raise
        if upstream in self._reflected:
            self._reflected[upstream] = body["last"]

    @abstractmethod
    def process(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        """Apply wire events and record the result with `tracking` (use `record_tracked`)."""

    def record_tracked(self, tracking: Tracking, *aggregates: Aggregate) -> None:
        """Save aggregates' new events and the upstream position in one transaction."""
        self._notify(self._record(collect(ProcessingEvent(tracking=tracking), aggregates)))
