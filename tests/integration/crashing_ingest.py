"""The gateway's AMQP ingest in a process that dies outright on one report, as the kernel's
out-of-memory killer would end it: nothing is caught, nothing settled. Run by
tests/integration/test_amqp_ingest_bounds.py: `python -m tests.integration.crashing_ingest URI`.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from services.gateway.amqp_ingest import AmqpIngest

CRASH = "crash"  # the event_id the process dies on
DIED = 3  # its exit status then


class Crashing:
    max_batch = 100

    def publish(self, raw_events: Any) -> list[dict]:
        if any(event.get("event_id") == CRASH for event in raw_events):
            os._exit(DIED)
        return [{"event_id": e["event_id"], "status": "accepted", "errors": []} for e in raw_events]


if __name__ == "__main__":
    AmqpIngest(sys.argv[1], Crashing(), retry_pause=0.0).start()
    threading.Event().wait()  # until terminated
