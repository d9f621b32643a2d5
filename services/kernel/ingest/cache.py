"""The aggregates a process last saved, kept between batches of reports (services/kernel/ingest/
reports.py), so a batch reads only what another replica stored since."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate

AGGREGATES_KEPT = 20_000  # per process: projects, their milestones, records


class AggregateCache:
    """Aggregates as this process last saved them, so the next batch that touches one reads only
    what was stored since (another replica's changes) instead of its whole history: a 市州's
    record or a leader's trips grow by an event per report.

    A batch takes what it uses out of the cache, and only a batch whose save committed puts its
    aggregates back: an aggregate changed by a failed save is never seen again, and two batches
    never hold the same object. Aggregates whose class says `write_once` (receipts, refusals:
    written once, rarely read again) are not kept. Least recently saved ones go first beyond
    `size`.
    """

    def __init__(self, size: int = AGGREGATES_KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        with self._lock:
            taken = {i: self._kept.pop(i) for i in aggregate_ids if i in self._kept}
        return taken

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        with self._lock:
            for aggregate in aggregates:
                if getattr(aggregate, "write_once", False) or aggregate.pending_events:
                    continue
                kept = self._kept.get(aggregate.id)
                if kept is None or kept.version <= aggregate.version:
                    self._kept[aggregate.id] = aggregate
                    self._kept.move_to_end(aggregate.id)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
