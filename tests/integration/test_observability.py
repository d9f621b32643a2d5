"""A real registry process (`nameko run`) answers its probes and metrics, and says not-ready while
its broker cannot be reached: the test reaches RabbitMQ through a TCP proxy it cuts and restores
(the machine's RabbitMQ keeps running for everyone else)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import grpc
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway.config import Config
from services.gateway.server import serve
from services.kernel.contract.report import validate_report
from services.kernel.process.metrics import Metrics
from services.kernel.process.probes import broker_check, serve_http
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

pytestmark = pytest.mark.rabbit

ROOT = Path(__file__).resolve().parents[2]


class TcpProxy:
    """Forwards 127.0.0.1:port to the broker; `cut()` drops every connection and refuses new
    ones, as a broker that went away would; `restore()` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it (Linux)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                return  # cut
            server.settimeout(None)
            with self._lock:
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def eventually(probe: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {probe.__doc__ or probe}")
        time.sleep(0.2)


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            series, value = line.rsplit(" ", 1)
            found = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
            if found == wanted:
                return float(value)
    raise KeyError(f"{name}{{{wanted}}} not in /metrics")


def report(type_: str, payload: dict) -> dict:
    raw = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": "pref:420100",
        "occurred_on": "2020-05-20",
        "schema_version": 1,
        "payload": payload,
    }
    return validate_report(raw).to_primitive()


PROPOSED = {
    "project_code": "420100-OBS-1",
    "name": "武汉光谷示范项目",
    "investor": {"name": "华为技术有限公司", "origin": "CN-44"},
    "industry": "next_generation_it",
    "region": "420111",
    "total_investment": "12.5",
    "categories": [],
    "channel": "park",
}


@pytest.fixture
def broker_proxy(amqp_uri: str) -> Iterator[tuple[TcpProxy, str]]:
    """The test's vhost, reached through a proxy: (proxy, AMQP URI through it)."""
    parts = urlsplit(amqp_uri)
    proxy = TcpProxy((parts.hostname or "localhost", parts.port or 5672))
    proxy.restore()
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
    yield proxy, urlunsplit(parts._replace(netloc=netloc))
    proxy.cut()


@pytest.fixture
def registry_process(broker_proxy, tmp_path) -> Iterator[tuple[int, Path]]:
    """`nameko run` of registry on SQLite in tmp_path: (metrics port, its log file)."""
    _, uri = broker_proxy
    port = free_port()
    log = tmp_path / "registry.log"
    env = {
        **os.environ,
        "AMQP_URI": uri,
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "ZHAOSHANG_VAR": str(tmp_path / "var"),
        "METRICS_PORT": str(port),
        "LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "nameko", "run", "--config", "nameko.yaml"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "services.registry.service"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield port, log
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_service_reports_metrics_and_is_not_ready_while_its_broker_is_unreachable(
    amqp_uri, broker_proxy, registry_process
):
    proxy, _ = broker_proxy
    port, log = registry_process

    def ready() -> bool:
        """registry answers /readyz with 200"""
        try:
            return get(port, "/readyz")[0] == 200
        except OSError:
            return False

    eventually(ready)
    assert get(port, "/healthz") == (200, "ok\n")

    accepted, rejected = (
        report("project.proposed", PROPOSED),
        report("project.tracking_started", {"project_code": "420100-NOPE"}),
    )
    # Ready means its RPC queue is bound: the first call is answered.
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}) as rpc:
        outcomes: list[dict] = rpc.registry.ingest(reports=[accepted, rejected])
    assert [o["status"] for o in outcomes] == ["accepted", "rejected"]

    def published() -> bool:
        """the relay has published everything registry stored"""
        return metric(get(port, "/metrics")[1], "zhaoshang_relay_backlog", service="registry") == 0

    eventually(published)
    text = get(port, "/metrics")[1]
    assert (
        metric(text, "zhaoshang_events_handled_total", service="registry", outcome="accepted") == 1
    )
    assert (
        metric(text, "zhaoshang_events_handled_total", service="registry", outcome="rejected") == 1
    )
    assert metric(text, "zhaoshang_log_head", service="registry") >= 1
    latency = {"service": "registry", "entrypoint": "ingest", "outcome": "ok"}
    assert metric(text, "zhaoshang_request_duration_seconds_count", **latency) == 1

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    about_rejected = [line for line in lines if line.get("event_id") == rejected["event_id"]]
    assert about_rejected and about_rejected[0]["source"] == "pref:420100"
    assert about_rejected[0]["errors"][0]["rule"] == "unknown_project"

    proxy.cut()
    status, body = get(port, "/readyz")
    assert status == 503 and "broker" in json.loads(body)
    assert get(port, "/healthz")[0] == 200  # alive: a restart would not bring the broker back

    proxy.restore()
    eventually(ready)


class AcceptingServices:
    """What the services answer the gateway: every forwarded report accepted."""

    def call(self, service: str, method: str, **kwargs):
        return [
            {"event_id": r["event_id"], "status": "accepted", "errors": []}
            for r in kwargs["reports"]
        ]


def test_the_gateway_counts_outcomes_times_grpc_calls_and_needs_its_broker_to_be_ready():
    metrics = Metrics("gateway")
    config = Config(address=f"127.0.0.1:{free_port()}", plaintext=True)
    server = serve(config, AcceptingServices(), metrics)
    nobody = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens there
    probes = serve_http(("127.0.0.1", 0), metrics, {"broker": broker_check(nobody, timeout=1)})
    try:
        good = report("project.proposed", PROPOSED)
        events = [
            pb.Event(
                event_id=good["event_id"],
                type="project.proposed",
                source="pref:420100",
                occurred_on="2020-05-20",
                schema_version=1,
                payload_json=json.dumps(PROPOSED, ensure_ascii=False),
            ),
            pb.Event(event_id=str(uuid.uuid4()), type="project.celebrated", source="pref:420100"),
        ]
        with grpc.insecure_channel(config.address) as channel:
            pb_grpc.IngestStub(channel).Publish(pb.PublishRequest(events=events), timeout=10)

        text = get(probes.port, "/metrics")[1]
        assert (
            metric(text, "zhaoshang_events_handled_total", service="gateway", outcome="accepted")
            == 1
        )
        assert (
            metric(text, "zhaoshang_events_handled_total", service="gateway", outcome="rejected")
            == 1
        )
        publish = {
            "service": "gateway",
            "entrypoint": "/zhaoshang.v1.Ingest/Publish",
            "outcome": "OK",
        }
        assert metric(text, "zhaoshang_request_duration_seconds_count", **publish) == 1
        status, body = get(probes.port, "/readyz")
        assert status == 503 and "broker" in json.loads(body)
    finally:
        probes.stop()
        server.stop(None)
