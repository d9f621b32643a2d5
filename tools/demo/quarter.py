"""The quarter being generated: its days, its random draws, and the reports written so far.

One `Quarter` is shared by every part of the demo, so the draws come from one generator in one
order: the same quarter and seed give the same reports with the same event ids.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from uuid import UUID, uuid5

from services.kernel.contract.calendar import quarter_bounds
from services.kernel.contract.vocabulary import OWNER
from services.kernel.reference import Reference
from tools.demo.wire import envelope

# Fixed: changing it would change every demo event id, and a re-run would no longer be a resend.
NAMESPACE = UUID("0b7a4a52-1f0e-5c53-9d0a-2f6d8e3c9b41")
OFFICE = "office"


class Quarter:
    def __init__(self, quarter: str, seed: int, ref: Reference):
        self.quarter, self.seed, self.ref = quarter, seed, ref
        self.start, self.end = quarter_bounds(quarter)
        self.rng = random.Random(f"{seed}:{quarter}")
        self.outbox: list[tuple[date, int, int, dict]] = []
        self.event_ids: set[str] = set()

    def emit(self, kind: str, source: str, day: date, payload: dict, key: str) -> str:
        """Writes a report; its event id, derived from `kind` and `key`."""
        event_id = uuid5(NAMESPACE, f"{self.seed}:{self.quarter}:{kind}:{key}")
        if str(event_id) in self.event_ids:
            raise ValueError(f"two demo reports share the key {kind}:{key}")
        self.event_ids.add(str(event_id))
        owner_rank = 0 if OWNER[kind] == "registry" else 1
        report = envelope(event_id, kind, source, day, payload)
        self.outbox.append((day, owner_rank, len(self.outbox), report))
        return str(event_id)

    def published(self) -> list[dict]:
        """The reports in publication order: by business date; within a day registry's reports
        before tracking's (whatever a report depends on happened at least a day before it)."""
        return [report for *_, report in sorted(self.outbox, key=lambda item: item[:3])]

    def day_in(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    def on(self, days: int) -> date:
        return self.start + timedelta(days=days)
