"""Where a process serves `/healthz`, `/readyz` and `/metrics`, the checks `/readyz` runs, and
the dead-letter sampler.

- `GET /healthz`: 200 while the process answers at all (its event loop is not stuck);
- `GET /readyz`: 200 when every check passes (the broker takes a connection, the store answers
  a query, a nameko service's queue consumers are consuming), else 503 naming the check that
  failed;
- `GET /metrics`: Prometheus text format (services/kernel/process/metrics.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST

from services.kernel.bus import broker
from services.kernel.process.metrics import Metrics, Sample

log = logging.getLogger(__name__)

DEFAULT_PORTS = {
    "registry": 8001,
    "tracking": 8002,
    "scoring": 8003,
    "notify": 8004,
    "gateway": 8005,
}
CHECK_TIMEOUT_SECONDS = 3.0

Check = Callable[[], object]  # raises when what it checks is unreachable


def http_address(service: str, environ: Mapping[str, str] = os.environ) -> tuple[str, int]:
    """Where `service` serves /healthz, /readyz and /metrics (`METRICS_PORT=0`: any free port)."""
    host = environ.get("METRICS_HOST", "127.0.0.1")
    return host, int(environ.get("METRICS_PORT", DEFAULT_PORTS.get(service, 0)))


def broker_check(amqp_uri: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> Check:
    """Passes when the broker accepts a connection to our vhost within `timeout`."""

    def check() -> None:
        options = {"read_timeout": timeout, "write_timeout": timeout}
        with broker.connection(amqp_uri, connect_timeout=timeout, transport_options=options) as c:
            c.connect()

    return check


def dead_letters(
    amqp_uri: str, queues: Callable[[], Iterable[str]], timeout: float = CHECK_TIMEOUT_SECONDS
) -> Callable[[], list[Sample]]:
    """A sampler of the messages waiting in the dead-letter queues `queues()` names."""

    def dead_letters() -> list[Sample]:
        options = {"read_timeout": timeout, "write_timeout": timeout}
        with broker.connection(amqp_uri, connect_timeout=timeout, transport_options=options) as c:
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
