"""What every domain event caused by a report carries: the sender's envelope (docs/CONTRACT.md).

Services' event classes subclass `Reported` instead of declaring the three fields each; the
fields stay first, in this order, so the stored state is the same. Depends only on
`eventsourcing.domain`, so domain modules may import it.
"""

from __future__ import annotations

from datetime import date

from eventsourcing.domain import Aggregate


class Reported(Aggregate.Event):
    """Fields every report carries: the sender's envelope."""

    event_id: str
    source: str
    occurred_on: date
