"""Health, readiness, Prometheus metrics and JSON logs, the same for every process.

Each process serves on `METRICS_HOST:METRICS_PORT` (default 127.0.0.1 and its own port below):

- `GET /healthz`: 200 while the process answers at all (its event loop is not stuck);
- `GET /readyz`: 200 when every check passes (the broker takes a connection, the store answers
  a query), else 503 naming the check that failed;
- `GET /metrics`: Prometheus text format; the names are explained in deploy/README.md.

A nameko service gets all of it from one dependency, `Observability()`, which also times every
entrypoint and counts the outcome of every report its `ingest` RPC answers. The gateway builds a
`Metrics`, wraps its ingestor with `Metrics.counting` and its gRPC server with
`Metrics.grpc_interceptor`, and serves them with `serve_http`.

Logs: `LOG_FORMAT=json` makes every line a JSON object; a line about an event carries its
`event_id` and `source` (pass `extra=about(report)`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import grpc
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from services.kernel.bus.queues import DEAD_SUFFIX
from services.kernel.process.nameko_support import EventSourcedApplication

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series: they double the output and nobody alerts on them

DEFAULT_PORTS = {
    "registry": 8001,
    "tracking": 8002,
    "scoring": 8003,
    "notify": 8004,
    "gateway": 8005,
}
CHECK_TIMEOUT_SECONDS = 3.0
# Fields a log line about an event carries, when given in `extra`.
EVENT_FIELDS = ("event_id", "source", "type", "status", "upstream", "errors")
OUTCOMES = ("accepted", "duplicate", "conflict", "rejected")

Check = Callable[[], object]  # raises when what it checks is unreachable
Sample = tuple[str, str, Mapping[str, str], float]  # (name, help, labels, value)


# --- configuration ---------------------------------------------------------------------------


def http_address(service: str, environ: Mapping[str, str] = os.environ) -> tuple[str, int]:
    """Where `service` serves /healthz, /readyz and /metrics (`METRICS_PORT=0`: any free port)."""
    host = environ.get("METRICS_HOST", "127.0.0.1")
    return host, int(environ.get("METRICS_PORT", DEFAULT_PORTS.get(service, 0)))


# --- logs --------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event it is about."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EVENT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


PLAIN_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure_logging(environ: Mapping[str, str] = os.environ) -> None:
    """Root logging for a process without nameko's LOGGING config (the gateway):
    `LOG_FORMAT=json|plain`, `LOG_LEVEL`."""
    handler = logging.StreamHandler()
    json_lines = environ.get("LOG_FORMAT", "plain") == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=environ.get("LOG_LEVEL", "INFO"), handlers=[handler], force=True)


def about(report: Mapping[str, Any] | None, **more: Any) -> dict[str, Any]:
    """`extra=` for a log line about a report: its event_id, source and type."""
    report = report or {}
    fields = {name: report.get(name) for name in ("event_id", "source", "type")}
    return {**{k: str(v) for k, v in fields.items() if v is not None}, **more}


# --- metrics -----------------------------------------------------------------------------------


class Metrics:
    """One process's metrics, in a registry of its own (tests start several in one process)."""

    def __init__(self, service: str, *samplers: Callable[[], Iterable[Sample]]):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "zhaoshang_events_handled",
            "Reports answered, by outcome: accepted, duplicate, conflict, rejected",
            ["service", "outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:  # every series exists from the start, so rate() sees the first
            self.events.labels(service, outcome)
        self.latency = Histogram(
            "zhaoshang_request_duration_seconds",
            "Time to answer one request (RPC, gRPC call, consumed message, timer), by outcome",
            ["service", "entrypoint", "outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(_Sampled(service, samplers))

    def record_outcomes(self, outcomes: Iterable[Mapping], reports: Iterable[Any] = ()) -> None:
        """Count each outcome; log the ones that were not accepted, with their event."""
        by_id = {str(r.get("event_id")): r for r in reports if isinstance(r, Mapping)}
        for outcome in outcomes:
            status = outcome.get("status", "unknown")
            self.events.labels(self.service, status).inc()
            if status in ("rejected", "conflict"):
                event_id = outcome.get("event_id")
                report = by_id.get(str(event_id), {"event_id": event_id})
                log.warning(
                    "report %s %s",
                    event_id,
                    status,
                    extra=about(report, status=status, errors=outcome.get("errors")),
                )

    def observe(self, entrypoint: str, seconds: float, failed: bool) -> None:
        self.latency.labels(self.service, entrypoint, "error" if failed else "ok").observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def counting(self, ingestor: Ingestor) -> Ingestor:
        """`ingestor`, counting and logging the outcome of every report it answers."""
        return _CountingIngestor(ingestor, self)

    def grpc_interceptor(self) -> grpc.ServerInterceptor:
        """Times every unary gRPC call by method and status code."""
        return _GrpcTiming(self)


class Ingestor(Protocol):
    max_batch: int

    def publish(self, raw_events: Sequence[Any]) -> list[dict]: ...


class _CountingIngestor:
    def __init__(self, ingestor: Ingestor, metrics: Metrics):
        self._ingestor = ingestor
        self._metrics = metrics
        self.max_batch = ingestor.max_batch

    def publish(self, raw_events: Sequence[Any]) -> list[dict]:
        outcomes = self._ingestor.publish(raw_events)
        self._metrics.record_outcomes(outcomes, raw_events)
        return outcomes


class _GrpcTiming(grpc.ServerInterceptor):
    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method, inner = handler_call_details.method, handler.unary_unary

        def timed(request, context):
            started = time.perf_counter()
            code = "OK"
            try:
                return inner(request, context)
            except BaseException:
                code = getattr(context.code(), "name", None) or "UNKNOWN"
                raise
            finally:
                self.metrics.latency.labels(self.metrics.service, method, code).observe(
                    time.perf_counter() - started
                )

        return grpc.unary_unary_rpc_method_handler(
            timed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Sampled:
    """Gauges read when scraped (backlogs, positions, dead letters), so they are never stale.
    Each sampler fails alone: with the broker down, the store's gauges are still reported."""

    def __init__(self, service: str, samplers: Iterable[Callable[[], Iterable[Sample]]]):
        self.service = service
        self.samplers = list(samplers)

    def describe(self) -> list:
        return []  # the gauges depend on what sample() finds; nothing to check up front

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        samples: list[Sample] = []
        for sampler in self.samplers:
            try:
                samples.extend(sampler())
            except Exception as error:  # an unreachable store or broker must not break a scrape
                log.warning("metrics of %s: %s failed (%s)", self.service, sampler.__name__, error)
        for name, help_text, labels, value in samples:
            names = ["service", *labels]
            family = families.setdefault(name, GaugeMetricFamily(name, help_text, labels=names))
            family.add_metric([self.service, *labels.values()], value)
        yield from families.values()


# --- checks ------------------------------------------------------------------------------------


def broker_check(amqp_uri: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> Check:
    """Passes when the broker accepts a connection to our vhost within `timeout`."""

    def check() -> None:
        options = {"read_timeout": timeout, "write_timeout": timeout}
        with Connection(amqp_uri, connect_timeout=timeout, transport_options=options) as c:
            c.connect()

    return check


def dead_letters(
    amqp_uri: str, queues: Callable[[], Iterable[str]], timeout: float = CHECK_TIMEOUT_SECONDS
) -> Callable[[], list[Sample]]:
    """A sampler of the messages waiting in the dead-letter queues `queues()` names."""

    def dead_letters() -> list[Sample]:
        options = {"read_timeout": timeout, "write_timeout": timeout}
        with Connection(amqp_uri, connect_timeout=timeout, transport_options=options) as c:
            return [
                ("zhaoshang_dead_letters", DEAD_LETTERS_HELP, {"queue": q}, _depth(c, q))
                for q in queues()
            ]

    return dead_letters


DEAD_LETTERS_HELP = "Messages parked in a dead-letter queue, waiting for an operator"


def _depth(connection: Connection, queue: str) -> int:
    """Messages waiting in `queue` (0 when it does not exist yet)."""
    channel = connection.channel()  # a failed passive declare closes its channel
    try:
        return channel.queue_declare(queue, passive=True).message_count
    except Exception as error:
        if getattr(error, "code", None) == 404:  # NOT_FOUND: nothing dead-lettered yet
            return 0
        raise
    finally:
        with contextlib.suppress(Exception):
            channel.close()


# --- the HTTP endpoint -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _ProbeServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._answer(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            failures = self.server.failing_checks()
            body = json.dumps(failures or {"ready": True}, ensure_ascii=False).encode() + b"\n"
            self._answer(503 if failures else 200, body, "application/json")
        elif path == "/metrics":
            self._answer(200, self.server.metrics.exposition(), CONTENT_TYPE_LATEST)
        else:
            self._answer(404, b"not found\n", "text/plain; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes arrive every few seconds; they are not worth a log line each."""


class _ProbeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], metrics: Metrics, checks: Mapping[str, Check]):
        super().__init__(address, _Handler)
        self.metrics = metrics
        self.checks = dict(checks)
        self._checking = threading.Lock()  # one round of checks at a time, however many probes

    def failing_checks(self) -> dict[str, str]:
        with self._checking:
            failures = {}
            for name, check in self.checks.items():
                try:
                    check()
                except Exception as error:
                    failures[name] = f"{type(error).__name__}: {error}"
            return failures


class HttpEndpoint:
    """The running /healthz, /readyz, /metrics server; `stop()` closes it."""

    def __init__(self, server: _ProbeServer):
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="http-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_http(
    address: tuple[str, int], metrics: Metrics, checks: Mapping[str, Check]
) -> HttpEndpoint:
    endpoint = HttpEndpoint(_ProbeServer(address, metrics, checks))
    log.info("%s: /healthz /readyz /metrics on port %d", metrics.service, endpoint.port)
    return endpoint


# --- nameko ------------------------------------------------------------------------------------


class Observability(DependencyProvider):
    """Health, readiness and metrics of the nameko service it is declared on.

    It finds the service's `EventSourcedApplication` (the store, the relay) and its consumers'
    upstreams by itself, so declaring it is one line: `observability = Observability()`.
    """

    def setup(self) -> None:
        amqp_uri = self.container.config["AMQP_URI"]
        dead = dead_letters(amqp_uri, lambda: [q + DEAD_SUFFIX for q in self._queues().values()])
        self.metrics = Metrics(self.container.service_name, self._store_gauges, dead)
        self._started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # worker -> start
        self._seen_heads: dict[str, int] = {}  # upstream -> highest `last` seen on the bus

    def start(self) -> None:
        checks = {"broker": broker_check(self.container.config["AMQP_URI"]), "store": self._store}
        self.endpoint = serve_http(http_address(self.container.service_name), self.metrics, checks)

    def stop(self) -> None:
        if (endpoint := getattr(self, "endpoint", None)) is not None:
            self.endpoint = None
            endpoint.stop()

    def kill(self) -> None:
        self.stop()

    # The store and the bus, read when scraped or probed.

    def _application(self) -> EventSourcedApplication:
        dependencies = self.container.dependencies
        return next(d for d in dependencies if isinstance(d, EventSourcedApplication))

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
        for upstream in sorted(self._queues()):
            position = app.position(upstream)  # passed-over messages included (consumer.py)
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
