"""Real receivers on loopback for notify's integration tests: an SMTP server (aiosmtpd) that can
be stopped and started again on the same port, with STARTTLS or implicit TLS on request, and an
HTTP(S) server that checks webhooks as a unit's system should: the Standard Webhooks signature
over id, timestamp and body, and a timestamp within five minutes of its own clock."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tools.devca import Issued

LOOPBACK = "127.0.0.1"
TOLERANCE_SECONDS = 5 * 60  # what Standard Webhooks suggests receivers allow


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def server_context(cert: Issued) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    return context


class Mailbox:
    """aiosmtpd handler: keeps every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        self.raw.append(envelope.content)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK queued"


class SmtpServer:
    """An SMTP server on a fixed loopback port that a test stops and starts again. With `tls`
    it offers STARTTLS with that certificate and requires it (`implicit`: TLS from the first
    byte); it takes any login, recording (user, over TLS?) in `logins`, over TLS only unless
    `plaintext_logins`."""

    def __init__(
        self, tls: Issued | None = None, implicit: bool = False, plaintext_logins: bool = False
    ) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.logins: list[tuple[str, bool]] = []
        self._implicit = tls is not None and implicit
        self._options: dict[str, Any] = {
            "authenticator": self._authenticate,
            # aiosmtpd counts only STARTTLS as TLS; on an implicit TLS port every byte is.
            "auth_require_tls": not (plaintext_logins or self._implicit),
        }
        if tls is not None and implicit:
            self._options["ssl_context"] = server_context(tls)
        elif tls is not None:
            self._options.update(tls_context=server_context(tls), require_starttls=True)
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.mailbox, hostname=LOOPBACK, port=self.port, **self._options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append((auth_data.login.decode(), self._implicit or session.ssl is not None))
        return AuthResult(success=True)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages

    def raw_header(self, index: int, name: str) -> str:
        """A header as RFC 2047 decodes it (the modern parser puts a space between adjacent
        encoded words of a display name)."""
        raw = email.message_from_bytes(self.mailbox.raw[index])[name]
        return str(make_header(decode_header(raw)))


def standard_signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """What Standard Webhooks signs: base64 HMAC-SHA256 of `id.timestamp.body`, as `v1,...`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def rejection(headers: dict[str, str], body: bytes, key: bytes, now: float) -> str | None:
    """Why a receiver holding `key` rejects a request at `now`; None if it is genuine."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not (webhook_id and timestamp.isdigit()):
        return "missing webhook-id or webhook-timestamp"
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return "timestamp outside five minutes"
    expected = standard_signature(key, webhook_id, timestamp, body)
    offered = headers.get("webhook-signature", "").split()
    if not any(hmac.compare_digest(expected, signature) for signature in offered):
        return "signature does not match"
    return None


class WebhookReceiver:
    """A unit's webhook endpoint holding `key`: a genuine POST is recorded in `requests`
    (headers with lower-case names, raw body) and answered with the next queued status (a 3xx
    sends `Location: redirect_to`); any other is answered 401 and its reason kept in
    `rejected`. `clock` is the receiver's own; with `tls` it serves https."""

    def __init__(self, key: bytes, tls: Issued | None = None) -> None:
        self.key = key
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.rejected: list[str] = []
        self.statuses: list[int] = []
        self.redirect_to = ""
        self.clock: Callable[[], float] = time.time
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                reason = rejection(headers, body, receiver.key, receiver.clock())
                if reason is not None:
                    receiver.rejected.append(reason)
                    status = 401
                else:
                    receiver.requests.append((headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        scheme = "http"
        if tls is not None:
            scheme = "https"
            self.server.socket = server_context(tls).wrap_socket(
                self.server.socket, server_side=True
            )
        self.url = f"{scheme}://{LOOPBACK}:{self.server.server_address[1]}/hooks/zhaoshang"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        self._thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
