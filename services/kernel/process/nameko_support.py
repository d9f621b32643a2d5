"""nameko glue every service shares: the container (its broker connections verified TLS for
an amqps AMQP_URI), the application as a dependency (with its outbox relay), the consumer of
upstream queues, and catching up with an upstream."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import eventlet
from eventsourcing.persistence import IntegrityError
from kombu import Queue
from nameko.containers import ServiceContainer
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer

from services.kernel.bus import broker
from services.kernel.bus.consumer import Follower, Pull
from services.kernel.bus.queues import (
    DEAD_SUFFIX,
    DELIVERY_LIMIT,
    consumer_queue,
    declare_dead_letter_queue,
    send_to_queue,
)
from services.kernel.bus.relay import OutboxRelay
from services.kernel.cooperative import cooperative_database_waits
from services.kernel.process.prompt import PromptQueueConsumer
from services.kernel.store.audit import CheckpointSealer
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.heads import keeper

log = logging.getLogger(__name__)

RELAY_IDLE_SECONDS = 1.0
RELAY_STOP_SECONDS = 10.0  # at most this long for a publish under way at shutdown


class Container(ServiceContainer):
    """nameko's container, with `AMQP_SSL` set from the environment for an amqps AMQP_URI
    (services/kernel/bus/broker.py); nameko.yaml names it as SERVICE_CONTAINER_CLS."""

    def __init__(self, service_cls: type, config: dict) -> None:
        super().__init__(service_cls, broker.nameko_config(config))


class ApplicationProvider(DependencyProvider):
    """Owns one service's application (its store) for the container's life.

    With `relay_as`, it also runs the outbox relay in a managed thread that wakes on every save
    (low latency) and at least once a second (to retry after a broker outage). Another managed
    thread seals the store's checkpoints (services/kernel/store/audit.py) and signs a tree head
    over each (heads.py), so growing the tree never holds up the relay (and with it a report's
    way into the ranking); `seal_as` names a store sealed without a relay (notify). `follows` names
    the upstream services whose messages the service consumes (their dead-letter queues are
    declared before the first message can fail).
    """

    def __init__(
        self,
        factory: Callable[[], ServiceApplication],
        relay_as: str | None = None,
        follows: Sequence[str] = (),
        seal_as: str | None = None,
    ):
        self.factory = factory
        self.relay_as = relay_as
        self.seal_as = seal_as or relay_as  # a store without a relay may still be sealed
        self.follows = follows
        self.app: ServiceApplication | None = None
        self.relay: OutboxRelay | None = None
        self.sealer: CheckpointSealer | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._stopped = threading.Event()  # wakes the sealer to stop
        self._threads: list[Any] = []

    def setup(self) -> None:
        if self.follows:  # dead letters need somewhere to go before the first one happens
            with broker.connection(self.container.config["AMQP_URI"]) as connection:
                for upstream in self.follows:
                    queue = upstream_queue(self.container.service_name, upstream)
                    declare_dead_letter_queue(connection, queue.name)
        cooperative_database_waits()
        self.app = self.factory()
        if self.relay_as:
            self.relay = OutboxRelay(self.app, self.relay_as, self.container.config["AMQP_URI"])
            self.app.on_recorded(self._wake.set)
        if self.seal_as:
            self.sealer = CheckpointSealer(self.app)

    def start(self) -> None:
        spawn = self.container.spawn_managed_thread
        if self.relay is not None:
            self._threads.append(spawn(self._run_relay))
        if self.sealer is not None:
            self._threads.append(spawn(self._run_sealer))

    def _run_relay(self) -> None:
        """Publish while reads come back full; then wait for the next save (the wake is cleared
        before reading, so a save during the read is never missed), and when none comes within
        RELAY_IDLE_SECONDS store the position published up to (relay.py)."""
        relay = self.relay
        assert relay is not None
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and relay.pump() >= relay.batch_size:
                    pass
                if not self._wake.wait(RELAY_IDLE_SECONDS):
                    relay.flush()
            except Exception:
                log.exception("outbox relay of %s failed; retrying", self.relay_as)
                self._wake.wait(RELAY_IDLE_SECONDS)

    def _run_sealer(self) -> None:
        assert self.sealer is not None
        while not self._stopped.wait(self.sealer.every_seconds):
            self._seal()

    def _seal(self) -> None:
        """A checkpoint over what was stored since the last, and a signed tree head over it
        (heads.py)."""
        assert self.sealer is not None and self.app is not None and self.seal_as
        try:
            sealed = self.sealer.seal()
        except Exception:
            log.exception("sealing a checkpoint of %s failed; retrying", self.seal_as)
            return
        if sealed:
            keeper(self.app, self.seal_as).after_checkpoint()

    def stop(self) -> None:
        """After the workers finished (nameko stops dependencies last): let the relay finish
        the batch it is publishing, then close its connection and the store."""
        self._stopping = True
        self._wake.set()
        self._stopped.set()
        for thread in self._threads:
            with eventlet.Timeout(RELAY_STOP_SECONDS, False):  # False: just stop waiting
                thread.wait()
        if self.relay is not None:
            self.relay.stop()
        if self.app is not None:
            self.app.close()

    def get_dependency(self, worker_ctx) -> ServiceApplication:
        assert self.app is not None
        return self.app


class UpstreamConsumer(Consumer):
    """nameko's queue consumer (a failed message is requeued), except on the last try the
    queue's delivery limit allows: then the message goes to its dead-letter queue from here,
    with the error that failed it (`x-error`, `x-failed-by`), and is acknowledged. (RabbitMQ
    would dead-letter it on the next delivery anyway, but without saying why.) Its consumer is
    the RPC entrypoints' one that stops promptly (prompt.py)."""

    queue_consumer = PromptQueueConsumer()

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        last_try = tries_of(message) > DELIVERY_LIMIT
        if exc_info is not None and last_try and self._dead_letter(message, exc_info):
            self.queue_consumer.ack_message(message)
            return
        super().handle_message_processed(message, result, exc_info)

    def _dead_letter(self, message, exc_info) -> bool:
        kind, error, _ = exc_info
        headers = {
            **{k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"},
            "x-error": f"{kind.__name__}: {error}"[:1000],
            "x-failed-by": f"{self.container.service_name}.{self.method_name}",
            "x-tries": tries_of(message),
        }
        confirmed = {"confirm_publish": True}
        try:
            uri = self.container.config["AMQP_URI"]
            with broker.connection(uri, transport_options=confirmed) as c:
                send_to_queue(c.Producer(), message, self.queue.name + DEAD_SUFFIX, headers)
        except Exception:
            log.exception("could not dead-letter a message of %s; requeued", self.queue.name)
            return False
        log.error(
            "dead-lettered a message of %s after %d tries: %s",
            self.queue.name,
            tries_of(message),
            headers["x-error"],
        )
        return True


def tries_of(message) -> int:
    return (message.headers or {}).get("x-delivery-count", 0) + 1


consume = UpstreamConsumer.decorator

CATCH_UP_SECONDS = 10
PULL_TIMEOUT_SECONDS = 30


def upstream_queue(consumer: str, upstream: str) -> Queue:
    """The queue on which `consumer` receives `upstream`'s wire messages (see queues.py)."""
    return consumer_queue(consumer, upstream)


def consumed_queues(service_cls: Any) -> list[Queue]:
    """The queues a service class consumes: one per upstream its application follows."""
    return [upstream_queue(service_cls.name, upstream) for upstream in service_cls.app.follows]


def pull_from(upstream: Any) -> Pull:
    """An upstream's `read_wire` RPC, bounded in time: a reply lost on the way must not hold
    the consumer (and its lock) forever."""

    def pull(start: int, stop: int | None) -> dict | None:
        with eventlet.Timeout(PULL_TIMEOUT_SECONDS, TimeoutError):
            return upstream.read_wire(start, stop)

    return pull


def catch_up(follower: Follower, upstream: str, pull: Pull) -> None:
    """Pull what `upstream` has beyond our position; an upstream not running yet, or slow to
    answer, is no error: the next round catches up. Nor is another replica recording the
    same range first (a standby's timer racing the active consumer): the state is rebuilt
    from the store before its next use."""
    try:
        follower.catch_up(upstream, pull)
    except (UnknownService, TimeoutError) as error:
        log.info("could not catch up with %s yet (%r); trying again later", upstream, error)
    except IntegrityError:
        log.info("another replica applied %s's events first; rebuilding from the store", upstream)
