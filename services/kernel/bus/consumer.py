"""Following upstream services' wire messages, exactly once in effect (README "Guarantees").

The position reached in each upstream's notification log is a tracking row written in the same
transaction as the state it produced. A message wholly at or below the position is a redelivery
and changes nothing; a message that starts beyond the position makes the follower pull the
missing range from the upstream (its `read_wire` RPC) first, so nothing is skipped.

Where the store checks a position's move (PostgreSQL: each save names the stored position it
moves on from, `Reached`), the follower keeps the positions it read or saved and does not read
them again before each message: should another replica have moved one meanwhile (a standby, or
the replica that was the active consumer before), the save is refused, and the follower reads
the positions, rebuilds what it keeps in memory and applies the message again from there.

An application that consumes owns a `Follower`, giving it what to do with the events
(`process`), which ones matter (`wants`), and how its in-memory state is brought up to date
(`rebuild`, `update`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from eventsourcing.persistence import IntegrityError, Tracking

from services.kernel.store.environment import Reached, ServiceApplication

# pull(start, stop) -> a wire message covering start..stop (or start.. when stop is None), or
# None when the upstream has nothing from start on.
Pull = Callable[[int, int | None], Mapping | None]
# process(upstream, events, tracking): apply wire events and save the result with `tracking`
# (ServiceApplication.record_tracked).
Process = Callable[[str, list[dict], Tracking], None]
Wants = Callable[[str, Mapping], bool]
PAGE = 1000  # what one pull returns at most (the upstreams' read_wire limit)


def every_event(upstream: str, wire: Mapping) -> bool:
    return True


def nothing_to_do() -> None:
    """No in-memory state to bring up to date."""


class Follower:
    """An application's positions in its upstreams' logs, and the applying of their messages.

    - `process`: applies a run of wire events and saves them with the upstream's position.
    - `wants`: whether an upstream event changes this application's state. A message with none
      it wants is passed over without a write: its range is remembered in memory only, and
      after a restart pulled again and passed over again.
    - `reflects`: the upstreams whose positions the application's in-memory state reflects
      (scoring's facts). Before a query uses that state (`up_to_date`), and before a message
      is applied where the store does not check moves, the stored positions are compared with
      the ones it reflects, and a difference (another replica applied something: a standby, or
      a replica answering queries) calls `rebuild`, as does a failed or refused save (it may
      have committed before the connection broke).
    - `rebuild`: rebuilds the in-memory state from the store.
    - `update`: called before the state is used or changed (notify: folds in what other
      replicas saved to its own log); a message passed over does not call it.
    """

    def __init__(
        self,
        app: ServiceApplication,
        process: Process,
        *,
        wants: Wants = every_event,
        reflects: Iterable[str] = (),
        rebuild: Callable[[], None] = nothing_to_do,
        update: Callable[[], None] = nothing_to_do,
    ) -> None:
        self.app = app
        self.process, self.wants = process, wants
        self.reflects = tuple(reflects)
        self.rebuild, self.update = rebuild, update
        # Read before the application loads its state: a write in between only costs a rebuild.
        self._reflected = self._stored_positions()
        # The stored positions as last read or saved here (trusted where the store checks moves).
        self._known: dict[str, int] = dict(self._reflected)
        # One message at a time: positions and in-memory state move together.
        self._receiving = threading.RLock()
        self.stale = False  # a save failed: rebuild before the state is used again
        # Per upstream: the end of the last message passed over, in memory only (`wants`).
        self._passed: dict[str, int] = {}
        self._updated = False  # `update` was called for the message being received

    @contextmanager
    def up_to_date(self) -> Iterator[None]:
        """Hold the in-memory state still, brought up to date with the store first."""
        with self._receiving:
            self.ensure_current()
            yield

    def ensure_current(self) -> dict[str, int]:
        """Bring the in-memory state up to date with the store; call with the lock held. The
        stored positions of the upstreams it reflects, as read for it."""
        self.update()
        self._updated = True
        stored = self._stored_positions()
        self._learn(stored)
        if self.stale or stored != self._reflected:
            self.rebuild()
            self.stale = False
            self._reflected = dict(stored)
        return stored

    def _stored_positions(self) -> dict[str, int]:
        return self.app.positions(self.reflects)

    def position(self, upstream: str, stored: Mapping[str, int] | None = None) -> int:
        """How far the upstream's log is applied (or passed over); `stored`: its stored
        position when just read (or known, where the store checks moves: `_trusted`)."""
        if stored is None or upstream not in stored:
            stored = self.app.positions([upstream])
            self._learn(stored)
        return max(stored[upstream], self._passed.get(upstream, 0))

    def _learn(self, stored: Mapping[str, int]) -> None:
        """Keep positions just read, where they are further on than those known here. A read
        made without the lock (`position`, `at_least`) may be answered before a save here
        moved the position on and land after it: stored positions only move on, so the
        furthest seen is the store's, and the next save names it (`Reached`)."""
        known = self._known
        for upstream, position in stored.items():
            if position > known.get(upstream, -1):
                known[upstream] = position

    def at_least(self, upstream: str) -> int:
        """A position the upstream's log is applied (or passed over) to at least, without
        reading the store once one was read or saved here: positions only move on."""
        if upstream not in self._known:
            return self.position(upstream)
        return max(self._known[upstream], self._passed.get(upstream, 0))

    def receive(self, body: Mapping, pull: Pull) -> None:
        """Apply a wire message from `body["service"]`, pulling any gap before it first."""
        upstream = body["service"]
        with self._receiving:
            self._updated = False  # `update` is called before anything is applied
            if not self._trusted(upstream):
                self._receive(upstream, body, pull, self.ensure_current())
                return
            try:
                self._receive(upstream, body, pull, self._known)
            except IntegrityError:
                # Refused: another replica moved a position since it was read here. Read the
                # positions (and rebuild, `stale`), then apply from where the store is.
                self._receive(upstream, body, pull, self.ensure_current())

    def _trusted(self, upstream: str) -> bool:
        """Whether the positions known here may stand for the stored ones: a save refuses a
        move from any other (`Reached`), and none failed since they were read."""
        known = self._known
        return (
            not self.stale
            and upstream in known
            and all(u in known for u in self.reflects)
            and self.app.checks_moves
        )

    def _receive(self, upstream: str, body: Mapping, pull: Pull, stored: Mapping[str, int]) -> None:
        position = self.position(upstream, stored)
        if body["last"] <= position:
            return
        while body["first"] > position + 1:
            gap = pull(position + 1, body["first"] - 1)
            if gap is None:
                break
            self._apply(upstream, gap, position)
            position = max(position, gap["last"])
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
            with self.up_to_date():
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
        if not self._updated:
            self.update()
            self._updated = True
        moved_from = self._known.get(upstream, 0)
        try:
            self.process(upstream, events, Reached(upstream, body["last"], moved_from))
        except Exception:
            self.stale = True
            raise
        self._known[upstream] = body["last"]
        if upstream in self._reflected:
            self._reflected[upstream] = body["last"]
