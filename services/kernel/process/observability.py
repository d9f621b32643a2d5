"""Health, readiness, Prometheus metrics and JSON logs, the same for every process.

Each process serves on `METRICS_HOST:METRICS_PORT` (default 127.0.0.1 and its own port,
services/kernel/process/probes.py) `/healthz`, `/readyz` and `/metrics`; the metric names are
explained in deploy/README.md.

A nameko service gets all of it from one dependency, `Observability()` (this module), which also
times every entrypoint and counts the outcome of every report its `ingest` RPC answers. The
gateway builds a `Metrics` (metrics.py), wraps its ingestor with `Metrics.counting` and its gRPC
server with `CallTiming` (services/gateway/timing.py), and serves them with
`probes.serve_http`. Logs: logs.py.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator, Mapping

from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer

from services.kernel.bus.consumer import Follower
from services.kernel.bus.queues import DEAD_SUFFIX
from services.kernel.process.metrics import Metrics, Sample
from services.kernel.process.nameko_support import ApplicationProvider
from services.kernel.process.probes import (
    HttpEndpoint,
    broker_check,
    dead_letters,
    http_address,
    serve_http,
)


class Observability(DependencyProvider):
    """Health, readiness and metrics of the nameko service it is declared on.

    It finds the service's `ApplicationProvider` (the store, the relay; the application's
    follower for the positions) and its consumers' upstreams by itself, so declaring it is one
    line: `observability = Observability()`.
    """

    def setup(self) -> None:
        amqp_uri = self.container.config["AMQP_URI"]
        dead = dead_letters(amqp_uri, lambda: [q + DEAD_SUFFIX for q in self._queues().values()])
        self.metrics = Metrics(self.container.service_name, self._store_gauges, dead)
        self._started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # worker -> start
        self._seen_heads: dict[str, int] = {}  # upstream -> highest `last` seen on the bus

    def start(self) -> None:
        checks = {
            "broker": broker_check(self.container.config["AMQP_URI"]),
            "store": self._store,
            "consumers": self._consuming,
        }
        address = http_address(self.container.service_name)
        self.endpoint: HttpEndpoint | None = serve_http(address, self.metrics, checks)

    def stop(self) -> None:
        if (endpoint := getattr(self, "endpoint", None)) is not None:
            self.endpoint = None
            endpoint.stop()

    def kill(self) -> None:
        self.stop()

    # The store and the bus, read when scraped or probed.

    def _application(self) -> ApplicationProvider:
        dependencies = self.container.dependencies
        return next(d for d in dependencies if isinstance(d, ApplicationProvider))

    def _consuming(self) -> None:
        """The service's queue consumers (its RPC queue, its upstreams' queues) have started
        consuming: nameko starts them after the dependencies, so until then a call finds no
        queue bound to its routing key (UnknownService) although the store and broker answer."""
        for extension in self.container.subextensions:
            started = getattr(extension, "_consumers_ready", None)  # nameko's QueueConsumer
            if started is not None and not started.ready():
                raise RuntimeError(f"{type(extension).__name__} is not consuming yet")

    def _store(self) -> None:
        app = self._application().app
        if app is None:
            raise RuntimeError("the store is not open yet")
        app.process_recorder.max_notification_id()

    def _queues(self) -> dict[str, str]:
        """upstream -> the queue this service consumes it from."""
        consumers = (e for e in self.container.entrypoints if isinstance(e, Consumer))
        return {c.queue.routing_key: c.queue.name for c in consumers}

    def _store_gauges(self) -> Iterator[Sample]:
        dependency = self._application()
        app = dependency.app
        if app is None:
            return
        yield (
            "zhaoshang_log_head",
            "Highest notification id in this service's own event log",
            {},
            app.process_recorder.max_notification_id() or 0,
        )
        if dependency.relay is not None:
            yield (
                "zhaoshang_relay_backlog",
                "Stored events not yet published to the bus by the outbox relay",
                {},
                dependency.relay.backlog(),
            )
        follower: Follower | None = getattr(app, "follower", None)  # if it consumes upstreams
        if follower is None:
            return
        for upstream in sorted(self._queues()):
            position = follower.position(upstream)  # passed over included (consumer.py)
            head = max(self._seen_heads.get(upstream, 0), position)
            yield (
                "zhaoshang_consumer_position",
                "Last notification id of the upstream's log applied here",
                {"upstream": upstream},
                position,
            )
            yield (
                "zhaoshang_consumer_lag",
                "Upstream notifications seen on the bus but not applied yet (head - position)",
                {"upstream": upstream},
                head - position,
            )

    # Every worker: timed; an ingest's outcomes counted; a wire message's head remembered.

    def worker_setup(self, worker_ctx) -> None:
        self._started[worker_ctx] = time.perf_counter()
        body = worker_ctx.args[0] if worker_ctx.args else None
        if isinstance(body, Mapping) and {"service", "last"} <= body.keys():
            upstream = body["service"]
            self._seen_heads[upstream] = max(self._seen_heads.get(upstream, 0), body["last"])

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self._started.pop(worker_ctx, None)
        method = worker_ctx.entrypoint.method_name
        if started is not None:
            self.metrics.observe(method, time.perf_counter() - started, exc_info is not None)
        if method == "ingest" and isinstance(result, list):
            reports = worker_ctx.kwargs.get("reports") or (worker_ctx.args or [[]])[0]
            self.metrics.record_outcomes(result, reports)
