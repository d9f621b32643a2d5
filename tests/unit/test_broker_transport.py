"""The gateway's RPC names py-amqp as its transport, so kombu does not probe for librabbitmq
(a failed import searching sys.path) on each of the connections nameko's standalone RPC
makes per call; the broker, the vhost, the credentials and TLS stay as configured."""

from __future__ import annotations

import builtins
import sys

from kombu import Connection
from kombu.transport.pyamqp import SSLTransport, Transport

from services.gateway.rpc import NamekoRpc
from services.kernel.bus.broker import named_transport


def test_a_plain_uri_names_the_same_transport_and_keeps_everything_else():
    named = named_transport("amqp://gw:s3cret@broker.internal:5672/zhaoshang")
    assert named == "pyamqp://gw:s3cret@broker.internal:5672/zhaoshang"
    connection = Connection(named)
    assert connection.transport_cls == "pyamqp"
    assert isinstance(connection.transport, Transport)
    assert (connection.hostname, connection.port, connection.virtual_host) == (
        "broker.internal",
        5672,
        "zhaoshang",
    )
    assert (connection.userid, connection.password) == ("gw", "s3cret")


def test_a_tls_uri_is_left_as_it_is():
    uri = "amqps://gw:s3cret@broker.internal:5671/zhaoshang"
    assert named_transport(uri) == uri
    assert isinstance(Connection(uri).transport, SSLTransport)


def test_the_gateways_connections_do_not_try_to_import_librabbitmq(monkeypatch):
    rpc = NamekoRpc("amqp://guest:guest@127.0.0.1:5672/", timeout=1.0)
    tried: list[str] = []
    real_import = builtins.__import__

    def watching(name, *args, **kwargs):
        if name == "librabbitmq" and name not in sys.modules:
            tried.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", watching)
    Connection(rpc._config["AMQP_URI"])  # what nameko's publisher makes for each call
    Connection("amqp://guest:guest@127.0.0.1:5672/")  # what it made before
    assert tried == ["librabbitmq"]  # only the unnamed transport was probed
