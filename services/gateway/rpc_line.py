"""One thread's line to the nameko services: a broker connection, one channel, one reply queue.

It speaks nameko's RPC on the wire as nameko's standalone proxy does (the request to the
`nameko-rpc` exchange under `<service>.<method>`, mandatory, with a JSON body of `args` and
`kwargs`, the answer on a reply queue named as nameko names a standalone proxy's) and raises
what that proxy raises: `UnknownService` when no service consumes the request, `RpcTimeout`,
the service's error as nameko deserializes it. What it leaves out is the proxy's weight on every
call: a connection and a producer taken from kombu's pools, a second channel, nameko's worker
context, and the broker's confirm of the request. The answer confirms the request; a request
no queue takes comes back (mandatory) while the answer is awaited, as soon as a confirm would
have; one the broker lost is a timeout. On the gateway's single-report load nameko's proxy was
35% of the gateway's time, this line is 21%, half of it reading the answer's frames (README
"Measured here").

A line is used by one thread at a time (services/gateway/rpc.py keeps one per thread).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from amqp import Message
from amqp.exceptions import ChannelError
from kombu.utils import json
from nameko.exceptions import RpcTimeout, UnknownService, deserialize
from nameko.rpc import RPC_REPLY_QUEUE_TEMPLATE, RPC_REPLY_QUEUE_TTL

from services.kernel.bus import broker

RPC_EXCHANGE = "nameko-rpc"  # nameko's default `rpc_exchange`, which the services use
REPLY_QUEUE_OWNER = "standalone_rpc_proxy"  # the name deploy/ grants the gateway's reply queue
NO_ROUTE = 312  # AMQP's reply code for a mandatory message no queue took


class RpcLine:
    def __init__(self, amqp_uri: str, timeout: float) -> None:
        self._timeout = timeout
        self._awaited: str | None = None  # the correlation id of the call under way
        self._returned = False  # the broker returned that call's request: no one consumes it
        self._answer: dict | None = None
        self._reply_to = str(uuid.uuid4())
        self._connection = broker.connection(amqp_uri)
        self._connection.connect()
        try:
            self._channel = self._open_channel()
        except BaseException:  # a refused declaration (the broker's rights) leaves no connection
            self._connection.close()
            raise

    def _open_channel(self) -> Any:
        channel = self._connection.connection.channel()
        channel.events["basic_return"].add(self._on_return)
        queue = RPC_REPLY_QUEUE_TEMPLATE.format(REPLY_QUEUE_OWNER, self._reply_to)
        channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True, auto_delete=False)
        channel.queue_declare(
            queue, durable=True, auto_delete=False, arguments={"x-expires": RPC_REPLY_QUEUE_TTL}
        )
        channel.queue_bind(queue, RPC_EXCHANGE, self._reply_to)
        channel.basic_consume(queue, no_ack=True, callback=self._on_reply)
        return channel

    def call(self, service: str, method: str, kwargs: dict[str, Any]) -> Any:
        self._awaited, self._returned, self._answer = str(uuid.uuid4()), False, None
        message = Message(
            json.dumps({"args": [], "kwargs": kwargs}).encode(),
            content_type="application/json",
            content_encoding="utf-8",
            correlation_id=self._awaited,
            reply_to=self._reply_to,
        )
        self._channel.basic_publish(message, RPC_EXCHANGE, f"{service}.{method}", mandatory=True)
        answer = self._wait(service)
        if answer.get("error"):
            raise deserialize(answer["error"])
        return answer["result"]

    def close(self) -> None:
        self._connection.close()

    def _wait(self, service: str) -> dict:
        deadline = time.monotonic() + self._timeout
        while self._answer is None:
            if self._returned:
                raise UnknownService(service)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RpcTimeout(self._timeout)
            try:
                self._connection.drain_events(timeout=left)
            except TimeoutError:
                continue
        return self._answer

    def _on_reply(self, message: Message) -> None:
        # A late answer to a call that timed out finds no one waiting for it, and is dropped.
        if message.properties.get("correlation_id") == self._awaited:
            self._answer = json.loads(message.body)

    def _on_return(self, error: ChannelError, exchange: str, routing_key: str, message) -> None:
        if (
            error.reply_code == NO_ROUTE
            and message.properties.get("correlation_id") == self._awaited
        ):
            self._returned = True
