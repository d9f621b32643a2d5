"""A TLS-terminating proxy on loopback, for testing TLS clients against servers that speak none
(the machine's RabbitMQ listens on plain 5672 and is never reconfigured): clients speak TLS to
the proxy, which shows a certificate of the development CA (tools/devca.py), and it forwards
the plain bytes to the server. PostgreSQL clients reach it with libpq's direct TLS
(`sslnegotiation=direct`, ALPN "postgresql")."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tools.devca import Issued

LOOPBACK = "127.0.0.1"


class TlsProxy:
    """`with TlsProxy(target, cert).running() as proxy:` clients connect to `proxy.port`.
    `forwarded` counts the connections that completed the handshake and reached the server."""

    def __init__(self, target: tuple[str, int], cert: Issued, alpn: tuple[str, ...] = ()) -> None:
        self.target = target
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert.cert, cert.key)
        if alpn:  # e.g. libpq's direct TLS wants the server to choose "postgresql"
            self.context.set_alpn_protocols(list(alpn))
        self.port = 0
        self.forwarded = 0
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, context: None)  # failed handshakes
        self._started = threading.Event()

    @contextmanager
    def running(self) -> Iterator[TlsProxy]:
        thread = threading.Thread(target=self._serve, name="tls-proxy", daemon=True)
        thread.start()
        self._started.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._forward, LOOPBACK, 0, ssl=self.context)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _forward(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()
            return
        self.forwarded += 1
        await asyncio.gather(_pipe(client_in, server_out), _pipe(server_in, client_out))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.CancelledError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
        writer.close()
