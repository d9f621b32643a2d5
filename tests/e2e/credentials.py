"""Credentials for a running system in tests, made as an operator would make them.

gRPC: the supervisor issues development API keys for every source, for `auditor:dev` and a
delegate key for the console (`console-delegate`, tools/run.py); a test calls as a source with
`system.client(source)`, or with any key and a person named in the metadata with `RawCalls`
(delegation, services/gateway/delegation.py). AMQP: a RabbitMQ user per source, named
`<prefix><source>` (the gateway strips `GATEWAY_AMQP_USER_PREFIX`), created in one
`rabbitmqctl import_definitions` and deleted in one `rabbitmqctl eval` (each rabbitmqctl call
costs about a second).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import grpc
from kombu import Connection, Exchange, Producer, Queue

from services.gateway.amqp_queues import LANES
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc
from zhaoshang.client import event_to_proto, open_channel, outcome_from_proto

INGEST = Exchange("zhaoshang.ingest", type="topic", durable=True)


def new_user_prefix() -> str:
    """A prefix for one system's AMQP users: RabbitMQ users are global, vhosts are not."""
    return f"zstest-{uuid.uuid4().hex[:8]}/"


def _password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


class RabbitUsers:
    """A system's RabbitMQ users, one per source, in one vhost: `uri(source)` connects as it,
    `user_id(source)` is what its messages carry."""

    def __init__(self, amqp_uri: str, prefix: str) -> None:
        self.amqp_uri = amqp_uri
        self.prefix = prefix
        self.password = secrets.token_urlsafe(16)
        self.vhost = urlsplit(amqp_uri).path.lstrip("/") or "/"
        self.sources: set[str] = set()

    def add(self, sources: Iterable[str]) -> RabbitUsers:
        users = [self.user_id(s) for s in sorted(set(sources) - self.sources)]
        if not users:
            return self
        definitions = {
            "users": [
                {
                    "name": user,
                    "password_hash": _password_hash(self.password),
                    "hashing_algorithm": "rabbit_password_hashing_sha256",
                    "tags": "",
                }
                for user in users
            ],
            "permissions": [
                {"user": user, "vhost": self.vhost, "configure": ".*", "write": ".*", "read": ".*"}
                for user in users
            ],
            # Each user publishes on the lanes' exchange under its own name only, as README
            # "Credentials and access" asks a deployment to set.
            "topic_permissions": [
                {
                    "user": user,
                    "vhost": self.vhost,
                    "exchange": LANES.name,
                    "write": "^{username}$",
                    "read": "^$",
                }
                for user in users
            ],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(definitions, f)
        os.chmod(f.name, 0o644)  # the broker reads it, as its own user
        try:
            _rabbitmqctl("import_definitions", f.name)
        finally:
            os.unlink(f.name)
        self.sources |= set(sources)
        return self

    def user_id(self, source: str) -> str:
        return self.prefix + source

    def uri(self, source: str) -> str:
        parts = urlsplit(self.amqp_uri)
        host = parts.netloc.rpartition("@")[2]
        user = quote(self.user_id(source), safe="")
        return urlunsplit(parts._replace(netloc=f"{user}:{self.password}@{host}"))

    def publish(self, source: str, events: list[dict]) -> list[dict]:
        return publish_over_amqp(self.uri(source), events, self.user_id(source))

    def publish_body(self, source: str, body: bytes) -> list[dict]:
        """One message body exactly as given (JSON text a test writes by hand)."""
        return publish_body_over_amqp(self.uri(source), body, self.user_id(source))

    def delete(self) -> None:
        if not self.sources:
            return
        names = ",".join(f'<<"{self.user_id(s)}"/utf8>>' for s in sorted(self.sources))
        _rabbitmqctl(
            "eval",
            'lists:foreach(fun(U) -> rabbit_auth_backend_internal:delete_user(U, <<"test">>) '
            f"end, [{names}]).",
        )
        self.sources = set()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def publish_over_amqp(
    amqp_uri: str, events: list[dict], user_id: str | None = None, timeout: float = 60.0
) -> list[dict]:
    """Publish one batch to exchange zhaoshang.ingest as any AMQP client would, with `user_id`
    set (RabbitMQ checks it is the connection's user); wait for the outcomes on a reply
    queue."""
    body = json.dumps({"events": events}, ensure_ascii=False).encode()
    return publish_body_over_amqp(amqp_uri, body, user_id, timeout)


def publish_body_over_amqp(
    amqp_uri: str, body: bytes, user_id: str | None = None, timeout: float = 60.0
) -> list[dict]:
    """Publish one message `body` as it is, and wait for its outcomes (publish_over_amqp): as
    a source, on its own lane (routing key: its user name); without `user_id`, on the shared
    exchange of earlier releases."""
    correlation_id = str(uuid.uuid4())
    replies: list = []
    properties = {} if user_id is None else {"user_id": user_id}
    exchange, routing_key = (INGEST, "reports") if user_id is None else (LANES, user_id)
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        # server-named (amq.gen-…): the gateway answers only the sender's own reply queue
        reply_queue = Queue("", exclusive=True, auto_delete=True)(channel)
        reply_queue.declare()
        Producer(channel).publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            declare=[exchange],
            reply_to=reply_queue.name,
            correlation_id=correlation_id,
            content_type="application/json",
            **properties,
        )
        with connection.Consumer(  # declared once: the amq. prefix is the broker's alone
            reply_queue, callbacks=[lambda body, m: replies.append(body)], auto_declare=False
        ):
            deadline = time.monotonic() + timeout
            while not replies and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=1)
    assert replies, "no reply from the gateway's AMQP ingest"
    body = replies[0]
    return (json.loads(body) if isinstance(body, bytes | str) else body)["outcomes"]


class RawCalls:
    """gRPC calls with the metadata a test chooses, a key and maybe a person (`x-on-behalf-of-*`),
    over the channel `make run`'s clients use; close() when done."""

    def __init__(self, target: str, ca_file: Path | None, plaintext: bool) -> None:
        self.channel = open_channel(target, ca_file, plaintext=plaintext)
        self.ingest = pb_grpc.IngestStub(self.channel)
        self.query = pb_grpc.QueryStub(self.channel)

    def publish(self, events: list[dict], key: str, person: dict | None = None) -> list[dict]:
        request = pb.PublishRequest(events=[event_to_proto(e) for e in events])
        answer = self.ingest.Publish(request, metadata=metadata(key, person), timeout=60)
        return [outcome_from_proto(o) for o in answer.outcomes]

    def refusals(self, key: str, person: dict | None = None) -> dict:
        answer = self.query.ListRefusals(
            pb.RefusalsRequest(), metadata=metadata(key, person), timeout=60
        )
        return json.loads(answer.content_json)

    def close(self) -> None:
        self.channel.close()


def metadata(key: str, person: dict | None = None) -> list[tuple[str, str]]:
    return [("x-api-key", key), *(person or {}).items()]


def denied(error: grpc.RpcError, code: grpc.StatusCode, rule: str) -> bool:
    """Whether a call was refused with `code`, naming `rule`."""
    return error.code() == code and rule in (error.details() or "")
