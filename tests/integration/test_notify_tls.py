"""notify's wires for real: SMTP with STARTTLS or implicit TLS against aiosmtpd holding a
certificate of the development CA (tools/devca.py), and webhooks as a unit's system receives
them: https verified, redirects not followed, the Standard Webhooks signature checked and a
replay older than five minutes rejected."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notify.config import IMPLICIT_TLS, NO_TLS, STARTTLS, SmtpSettings, Webhook
from services.notify.transports import (
    DeliveryFailed,
    Outgoing,
    SmtpTransport,
    WebhookTransport,
    tls_context,
)
from tests.notify_servers import LOOPBACK, SmtpServer, WebhookReceiver
from tests.notify_support import WEBHOOK_KEY, WUHAN
from tools.devca import Issued, ensure_ca, ensure_dev_tls

FIVE_MINUTES = 5 * 60


@pytest.fixture(scope="module")
def dev_tls(tmp_path_factory) -> tuple[Issued, Issued]:
    return ensure_dev_tls(tmp_path_factory.mktemp("dev-tls"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    return ensure_ca(tmp_path_factory.mktemp("other"), "other-ca").cert


def outgoing(address: str = "zsj@wuhan.example", **overrides) -> Outgoing:
    fields = {
        "delivery_id": "8d0f6a8e-0000-4000-8000-000000000001",
        "notice_id": "8d0f6a8e-0000-4000-8000-000000000002",
        "kind": "circular",
        "about": "ranking:abc",
        "stage": "",
        "unit": WUHAN,
        "address": address,
        "subject": "关于2020年第三季度全省招商引资工作评分排名情况的通报",
        "text": "武汉市人民政府：……",
        "issued_at": datetime(2020, 10, 12, 2, 0, tzinfo=UTC),
    }
    return Outgoing(**{**fields, **overrides})


# SMTP --------------------------------------------------------------------------------------


@pytest.fixture
def serving() -> Iterator[list[SmtpServer]]:
    """Starts the SMTP servers a test makes (`serving.append(server)`), stops them after."""
    servers: list[SmtpServer] = []
    yield servers
    for server in servers:
        server.stop()


def started(serving: list[SmtpServer], **options) -> SmtpServer:
    server = SmtpServer(**options)
    server.start()
    serving.append(server)
    return server


def mail_settings(server: SmtpServer, tls: str, ca: Path | None, **login) -> SmtpSettings:
    return SmtpSettings(
        host=LOOPBACK,
        port=server.port,
        tls=tls,
        ca_file=str(ca or ""),
        timeout=5,
        sender="zsyz@hubei.example",
        message_id_domain="hubei.example",
        **login,
    )


LOGIN = {"username": "zsyz", "password": "mail-password"}


@pytest.mark.parametrize("tls", [STARTTLS, IMPLICIT_TLS])
def test_mail_and_login_go_over_tls_to_a_server_the_configured_ca_certifies(serving, dev_tls, tls):
    ca, cert = dev_tls
    server = started(serving, tls=cert, implicit=tls == IMPLICIT_TLS)

    receipt = SmtpTransport(mail_settings(server, tls, ca.cert, **LOGIN)).send(outgoing())

    assert "accepted" in receipt
    assert [m["To"] for m in server.messages] == ["zsj@wuhan.example"]
    assert server.logins == [("zsyz", True)]


def test_a_server_certified_by_another_ca_gets_neither_the_password_nor_the_mail(
    serving, dev_tls, other_ca
):
    _, cert = dev_tls
    server = started(serving, tls=cert)

    with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
        SmtpTransport(mail_settings(server, STARTTLS, other_ca, **LOGIN)).send(outgoing())

    assert (server.messages, server.logins) == ([], [])


def test_a_server_that_offers_no_starttls_is_refused_not_used_in_clear(serving, dev_tls):
    ca, _ = dev_tls
    server = started(serving)  # plaintext only

    with pytest.raises(DeliveryFailed, match="STARTTLS"):
        SmtpTransport(mail_settings(server, STARTTLS, ca.cert)).send(outgoing())

    assert server.messages == []


def test_a_password_is_refused_over_plaintext_before_it_is_sent(serving):
    server = started(serving, plaintext_logins=True)  # would take it

    with pytest.raises(DeliveryFailed, match="unencrypted") as refused:
        SmtpTransport(mail_settings(server, NO_TLS, None, **LOGIN)).send(outgoing())

    assert refused.value.permanent
    assert (server.messages, server.logins) == ([], [])


# Webhooks ----------------------------------------------------------------------------------


def webhook_transport(receiver: WebhookReceiver, ca: Path | None = None) -> WebhookTransport:
    context = tls_context(str(ca)) if ca else None
    return WebhookTransport({WUHAN: Webhook(receiver.url, WEBHOOK_KEY)}, 5, context=context)


def test_an_https_webhook_is_delivered_only_when_its_certificate_chains_to_the_ca(
    dev_tls, other_ca
):
    ca, cert = dev_tls
    with WebhookReceiver(WEBHOOK_KEY, tls=cert).running() as receiver:
        webhook_transport(receiver, ca.cert).send(outgoing(receiver.url))
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
            webhook_transport(receiver, other_ca).send(outgoing(receiver.url))

    assert receiver.url.startswith("https://")
    assert len(receiver.requests) == 1 and receiver.rejected == []


def test_a_redirect_is_not_followed(dev_tls):
    with (
        WebhookReceiver(WEBHOOK_KEY).running() as redirecting,
        WebhookReceiver(WEBHOOK_KEY).running() as elsewhere,
    ):
        redirecting.statuses, redirecting.redirect_to = [307], elsewhere.url

        with pytest.raises(DeliveryFailed, match="307") as refused:
            webhook_transport(redirecting).send(outgoing(redirecting.url))

    assert refused.value.permanent
    assert elsewhere.requests == [] and elsewhere.rejected == []


def post(url: str, headers: dict[str, str], body: bytes) -> int:
    """Send a captured request again, as someone who saw it on the wire would."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_delivery_replayed_after_five_minutes_is_rejected_and_cannot_be_refreshed():
    with WebhookReceiver(WEBHOOK_KEY).running() as receiver:
        webhook_transport(receiver).send(outgoing(receiver.url))
        ((headers, body),) = receiver.requests
        tampered = post(receiver.url, headers, body.replace("武汉".encode(), "襄阳".encode()))

        receiver.clock = lambda: time.time() + FIVE_MINUTES + 60
        replayed = post(receiver.url, headers, body)
        refreshed = {**headers, "webhook-timestamp": str(int(receiver.clock()))}
        replayed_refreshed = post(receiver.url, refreshed, body)

    assert (tampered, replayed, replayed_refreshed) == (401, 401, 401)
    assert receiver.rejected == [
        "signature does not match",
        "timestamp outside five minutes",
        "signature does not match",
    ]
    assert len(receiver.requests) == 1
