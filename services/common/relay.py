"""The outbox relay (DESIGN §5.3): publish what a service stored, from its stored log.

Nothing is dispatched "after commit" by the code that saved it: a process could die between the
two. Instead the relay reads the notification log from its saved position, publishes one message
per batch with publisher confirms, and only then advances the position. A crash between publish
and advance publishes that batch again, which consumers absorb (they track positions).
"""

from __future__ import annotations

import logging

from eventsourcing.persistence import Tracking
from kombu import Connection, Producer

from services.common.queues import events_exchange
from services.common.store import ServiceApplication
from services.common.wire import encode, message, wire_event

log = logging.getLogger(__name__)

OUTBOX = "outbox"


def read_message(
    app: ServiceApplication, service: str, start: int, stop: int | None = None, limit: int = 1000
) -> dict | None:
    """A wire message for notifications `start..stop` (at most `limit` of them).

    With `stop` given, the message claims the whole range when it read fewer than `limit`
    notifications: ids the database skipped (rolled-back sequence values) are covered too.
    """
    notifications = app.process_recorder.select_notifications(start=start, limit=limit, stop=stop)
    if not notifications:
        return None if stop is None else message(service, start, stop, [])
    last = stop if stop is not None and len(notifications) < limit else notifications[-1].id
    events = (wire_event(service, n.id, app.mapper.to_domain_event(n)) for n in notifications)
    return message(service, start, last, (e for e in events if e is not None))


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

    def position(self) -> int:
        return self.app.process_recorder.max_tracking_id(OUTBOX) or 0

    def backlog(self) -> int:
        return (self.app.process_recorder.max_notification_id() or 0) - self.position()

    def pump(self) -> int:
        """Publish the next batch; return how many notification ids it covered (0: none new)."""
        position = self.position()
        body = read_message(self.app, self.service, position + 1, limit=self.batch_size)
        if body is None:
            return 0
        self._publish(body)
        self.app.process_recorder.insert_tracking(Tracking(OUTBOX, body["last"]))
        return body["last"] - position

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
            self._connection = Connection(
                self.amqp_uri, transport_options={"confirm_publish": True}
            )
            self._producer = Producer(self._connection.channel())
        return self._producer

    def close(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection = self._producer = None
