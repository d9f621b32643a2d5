"""The outbox relay (README "Guarantees"): publish what a service stored, from its stored log.

Nothing is dispatched "after commit" by the code that saved it: a process could die between the
two. Instead the relay reads the notification log from its saved position, publishes one message
per batch with publisher confirms, and only then advances the position. A crash between publish
and advance publishes that batch again, which consumers absorb (they track positions).

The position advances in memory at once, and is stored at most once every `SAVE_SECONDS` while
messages keep coming, then as soon as the relay is idle (`flush`) or stops: under a stream of
small commits each message would otherwise cost a transaction of its own. What a crash or a
lost lease can publish again is bounded by that second, and absorbed as above.
"""

from __future__ import annotations

import logging
import time

from eventsourcing.persistence import Tracking
from kombu import Connection, Producer

from services.kernel.bus import broker
from services.kernel.bus.queues import events_exchange
from services.kernel.contract.wire import encode
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.lease import Lease
from services.kernel.store.logread import read_message

log = logging.getLogger(__name__)

OUTBOX = "outbox"
HELD_BACK = 10_000  # ids of nothing public after which the position is saved unpublished
SAVE_SECONDS = 1.0  # at most this long between saves of the position while publishing


class OutboxRelay:
    def __init__(
        self, app: ServiceApplication, service: str, amqp_uri: str, batch_size: int = 1000
    ) -> None:
        self.app = app
        self.service = service
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._passed = 0  # read up to here: nothing public since the saved position
        self.lease = Lease(app, "outbox")
        # (lease term, position): only the lease holder saves the position, so while it holds
        # the lease the one it saved last is the stored one; read again on taking it.
        self._position: tuple[int, int] | None = None
        self._unsaved = False  # `_position` was advanced past the stored one
        self._saved_at = time.monotonic()

    def stored_position(self) -> int:
        return self.app.process_recorder.max_tracking_id(OUTBOX) or 0

    def position(self) -> int:
        if self._position is None or self._position[0] != self.lease.term:
            self._position = (self.lease.term, self.stored_position())
        return self._position[1]

    def _save_position(self, position: int) -> None:
        try:
            self.app.process_recorder.insert_tracking(Tracking(OUTBOX, position))
        except Exception:
            self._position = None  # it may have committed, or another replica saved it
            raise
        self._position = (self.lease.term, position)
        self._unsaved = False
        self._saved_at = time.monotonic()

    def _advance(self, position: int) -> None:
        """Publishing reached `position`: remembered now, stored when it is due."""
        self._position = (self.lease.term, position)
        self._unsaved = True
        if time.monotonic() - self._saved_at >= SAVE_SECONDS:
            self._save_position(position)

    def flush(self) -> None:
        """Store the position published up to, if it is not yet (the relay is idle or stops)."""
        if self._unsaved and self._position is not None and self.lease.held():
            if self._position[0] == self.lease.term:
                self._save_position(self._position[1])
            else:
                self._unsaved = False  # the lease was lost meanwhile: the holder's is stored

    def backlog(self) -> int:
        published = self._position[1] if self._position is not None else 0
        # a range held back is not waiting, nor one published and not yet stored
        done = max(self.stored_position(), self._passed, published)
        return max((self.app.process_recorder.max_notification_id() or 0) - done, 0)

    def pump(self) -> int:
        """Publish the next batch; return how many notification ids it covered (0: none new;
        fewer than `batch_size`: none were left when it read).

        A range holding nothing public (scoring's ledger entries, receipts alone) is not
        published: the next message claims it too, from the saved position on, so consumers
        see no gap. The position is saved past such a range only when it grows long, bounding
        what a restarted relay reads again.
        """
        if not self.lease.held():
            return 0  # another replica's relay publishes
        position = self.position()
        start = max(position, self._passed) + 1
        body = read_message(self.app, self.service, start, limit=self.batch_size)
        if body is None:
            return 0
        if not body["events"]:
            self._passed = body["last"]
            if self._passed - position >= HELD_BACK:
                self._save_position(self._passed)
            return body["last"] - start + 1
        body["first"] = position + 1
        self._publish(body)
        self._advance(body["last"])
        self._passed = body["last"]
        return body["last"] - start + 1

    def _publish(self, body: dict) -> None:
        try:
            self._producer_or_connect().publish(
                encode(body),
                exchange=events_exchange,
                routing_key=self.service,
                declare=[events_exchange],
                delivery_mode=2,
                content_type="application/json",
                content_encoding="utf-8",
            )
        except Exception:
            self.close()  # reconnect on the next pump
            raise

    def _producer_or_connect(self) -> Producer:
        if self._producer is None:
            # confirm_publish: publish() returns only once the broker has taken the message.
            self._connection = broker.connection(
                self.amqp_uri, transport_options={"confirm_publish": True}
            )
            self._producer = Producer(self._connection.channel())
        return self._producer

    def close(self) -> None:
        """Close the broker connection (reopened by the next pump)."""
        if self._connection is not None:
            self._connection.release()
        self._connection = self._producer = None

    def stop(self) -> None:
        """Store the position, close everything, and let another replica's relay take over."""
        try:
            self.flush()
        except Exception:  # the next holder publishes that range again; consumers absorb it
            log.warning("%s: the relay's position could not be stored at stop", self.service)
        self.close()
        self.lease.release()
