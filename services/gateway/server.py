"""The gateway: gRPC for outside systems, forwarded to the services over nameko RPC.

A plain grpcio server on real threads (no eventlet in this process), with gRPC health and
server reflection, and the AMQP ingest consumer next to it (`python -m services.gateway.server`).
It serves TLS (tls.py): plaintext only when asked, on loopback. The API itself is servicers.py;
this module builds the server and runs the process.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.gateway.amqp_ingest import DEAD_SUFFIX, INGEST_QUEUE, AmqpIngest
from services.gateway.auth import AmqpUsers, Authenticator
from services.gateway.config import MAX_REQUEST_BYTES, Config
from services.gateway.credentials import KeyStore
from services.gateway.evidence import EvidenceServicer
from services.gateway.fairshare import FairShare
from services.gateway.ingest import Ingestor
from services.gateway.rpc import NamekoRpc, Rpc
from services.gateway.servicers import (
    AuditServicer,
    IngestServicer,
    OfficeServicer,
    QueryServicer,
)
from services.gateway.timing import CallTiming, UnknownMethods
from services.gateway.tls import TlsSettingsError, listen
from services.kernel.contract.errors import SettingInvalid
from services.kernel.process.logs import configure_logging
from services.kernel.process.metrics import Metrics
from services.kernel.process.probes import broker_check, dead_letters, http_address, serve_http
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICES = tuple(service.full_name for service in pb.DESCRIPTOR.services_by_name.values())
# Answers may be larger than requests: a province-wide listing, a page of a raw log.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
SWITCH_INTERVAL = 0.0005  # seconds


def serve(
    config: Config,
    rpc: Rpc | None = None,
    metrics: Metrics | None = None,
    ingestor: Ingestor | None = None,
) -> grpc.Server:
    """Build and start the gRPC server on `config.address`. The caller stops it.
    Raises TlsSettingsError for TLS settings it will not serve with (tls.py).

    `ingestor`: the one the process's other transports share, so their calls group together.
    """
    rpc = rpc or NamekoRpc(config.amqp_uri, config.rpc_timeout)
    metrics = metrics or Metrics("gateway")
    auth = Authenticator(KeyStore(config.keys_file) if config.keys_file else None)
    # At most a quarter of the workers hold refusals back (fairshare.py).
    limits, holds = config.limits, config.workers // 4
    fair_share = None if limits is None else FairShare(limits, holds=holds)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="grpc"),
        options=[
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
            ("grpc.max_send_message_length", MAX_ANSWER_BYTES),
        ],
        interceptors=[
            UnknownMethods(metrics),
            CallTiming(metrics),
            *auth.interceptors(fair_share),
        ],
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )
    counted = metrics.counting(ingestor or Ingestor(rpc, config.max_batch, config.group_share))
    pb_grpc.add_IngestServicer_to_server(IngestServicer(counted, auth), server)
    pb_grpc.add_QueryServicer_to_server(QueryServicer(rpc, auth, metrics), server)
    pb_grpc.add_AuditServicer_to_server(AuditServicer(rpc, auth, metrics), server)
    pb_grpc.add_OfficeServicer_to_server(OfficeServicer(rpc, auth, metrics), server)
    pb_grpc.add_EvidenceServicer_to_server(EvidenceServicer(rpc, auth, metrics), server)

    health_servicer = health.HealthServicer()
    for name in ("", *SERVICES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    port = listen(server, config)  # raises when the address is taken
    server.start()
    log.info("gateway: gRPC on %s (port %d)", config.address, port)
    return server


def main() -> None:
    # The interpreter passes between threads every half millisecond instead of five: a short
    # call's thread gets it back soon while another validates a large batch (bench/fairness.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
    configure_logging()
    try:
        config = Config.from_env()
    except SettingInvalid as refused:
        raise SystemExit(f"网关未启动 / gateway not started: {refused}") from None
    rpc = NamekoRpc(config.amqp_uri, config.rpc_timeout)
    dead = dead_letters(config.amqp_uri, lambda: [INGEST_QUEUE + DEAD_SUFFIX])
    metrics = Metrics("gateway", dead)
    ingestor = Ingestor(rpc, config.max_batch, config.group_share)
    try:
        server = serve(config, rpc, metrics, ingestor)
    except TlsSettingsError as refused:
        raise SystemExit(f"网关未启动 / gateway not started: {refused}") from None
    consumer = AmqpIngest(
        config.amqp_uri,
        metrics.counting(ingestor),
        users=AmqpUsers(config.amqp_user_prefix),
        lanes=[config.amqp_user_prefix + source for source in config.amqp_lanes],
        lane_waiting=config.amqp_lane_waiting,
    )
    consumer.start()
    probes = serve_http(http_address("gateway"), metrics, {"broker": broker_check(config.amqp_uri)})

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()

    log.info("gateway: stopping (grace %gs)", config.grace)
    consumer.stop()
    server.stop(config.grace).wait()
    rpc.close()
    probes.stop()
    log.info("gateway: stopped")


if __name__ == "__main__":
    main()
