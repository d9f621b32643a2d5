"""Following the store's log: the notices and the units' progress in memory, as the store holds
them, whichever replica saved them.

Replicas share one store: one answers publications, another may run the timers. Before its
notices and progress are used (a message, a timer tick, a query), a replica folds in what the
log holds beyond what it folded before. What it saved itself is there already: passed over by
its version.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from services.kernel.store.environment import event_topics
from services.notify.domain import Notice, Progress

FOLLOWED_TOPICS = event_topics(Notice, Progress)  # what is read of the store's log
PAGE = 1000


class FollowedLog:
    """The notices (by id) and the progress, kept up with `app`'s stored log by `follow`."""

    def __init__(self, app: Application) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._followed = 0  # the last notification folded in
        self.notices: dict[UUID, Notice] = {}
        self.progress = Progress()

    def follow(self) -> None:
        """Fold in what the store's log holds beyond what was folded before."""
        with self._lock:
            recorder = self._app.recorder
            while notifications := recorder.select_notifications(
                self._followed + 1, PAGE, topics=FOLLOWED_TOPICS
            ):
                for notification in notifications:
                    self._fold(self._app.mapper.to_domain_event(notification))
                self._followed = notifications[-1].id

    def _fold(self, event: Any) -> None:
        if isinstance(event, Progress.Event):
            self.progress = self._advanced(self.progress, event)
        else:
            self.notices[event.originator_id] = self._advanced(
                self.notices.get(event.originator_id), event
            )

    def _advanced(self, current: Any, event: Any) -> Any:
        """`current` with `event` applied, unless it holds it already; read again from the
        store when the two do not follow on (an in-memory aggregate never saved)."""
        version = event.originator_version
        if current is not None and not current.pending_events:
            if version <= current.version:
                return current
            if version == current.version + 1:
                return event.mutate(current)
        elif version == 1:
            return event.mutate(None)
        return self._app.repository.get(event.originator_id)
