"""How a notice leaves: e-mail over SMTP (stdlib smtplib) and a signed webhook (stdlib urllib),
both over TLS with the server's certificate verified (a default SSL context; a CA file of its
own when configured).

Each transport sends one `Outgoing` and returns a receipt, or raises `DeliveryFailed` with a
reason and whether trying again could help. Every attempt of the same delivery produces the same
message: the same SMTP Message-ID, the same webhook body and `webhook-id`, so a receiver can
tell a resend from a new notice.

SMTP: STARTTLS (refused, not skipped, by a server that does not offer it) or implicit TLS;
plaintext only to loopback, and never with a password. Webhook: `POST` of a JSON body signed in
the Standard Webhooks scheme: `webhook-id: <delivery id>` (the idempotency key),
`webhook-timestamp: <seconds since 1970, this attempt>`, `webhook-signature: v1,<base64
HMAC-SHA256 of "id.timestamp.body" with the unit's key>`; a redirect is not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from services.kernel.contract.calendar import SHANGHAI
from services.notify.circular import ISSUER
from services.notify.config import IMPLICIT_TLS, NO_TLS, STARTTLS, SmtpSettings, Webhook

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ID_HEADER = "webhook-id"  # the Standard Webhooks headers
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
NOTICE_HEADER = "X-Zhaoshang-Notice"


class DeliveryFailed(Exception):
    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Outgoing:
    """One delivery of one notice, everything a transport needs."""

    delivery_id: str
    notice_id: str
    kind: str
    about: str
    stage: str
    unit: str
    address: str
    subject: str
    text: str
    issued_at: datetime
    attachments: tuple[Attachment, ...] = ()


# E-mail ------------------------------------------------------------------------------------


def email_message(outgoing: Outgoing, sender: str, message_id_domain: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = Address(display_name=ISSUER, addr_spec=sender)
    message["To"] = outgoing.address
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(outgoing.issued_at.astimezone(SHANGHAI))
    message["Message-ID"] = f"<{outgoing.delivery_id}@{message_id_domain}>"
    message[NOTICE_HEADER] = outgoing.notice_id
    message.set_content(outgoing.text)
    for attachment in outgoing.attachments:
        maintype, subtype = attachment.content_type.split("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    if message.is_multipart():
        message.set_boundary(f"=={outgoing.delivery_id}==")  # not random: resends are identical
    return message


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """A client's default context (certificate and host name verified, TLS 1.2 at least),
    trusting `ca_file` instead of the system's CAs when one is given."""
    return ssl.create_default_context(cafile=ca_file or None)


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.context = tls_context(settings.ca_file) if settings.tls != NO_TLS else None

    def send(self, outgoing: Outgoing) -> str:
        s = self.settings
        message = email_message(outgoing, s.sender, s.message_id_domain)
        smtp: smtplib.SMTP | None = None
        try:
            # Given the host, smtplib checks the server's certificate against it.
            smtp = (
                smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.context)
                if s.tls == IMPLICIT_TLS
                else smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            )
            if s.tls == STARTTLS:
                smtp.starttls(context=self.context)
            if s.username:
                _login(smtp, s)
            smtp.send_message(message, from_addr=s.sender, to_addrs=[outgoing.address])
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise _smtp_failure(code, reply, f"收件人被拒 {outgoing.address}") from None
        except smtplib.SMTPResponseException as error:
            raise _smtp_failure(error.smtp_code, error.smtp_error, "SMTP 服务器拒绝") from None
        except (OSError, smtplib.SMTPException) as error:
            where = f"{s.host}:{s.port}"
            raise DeliveryFailed(f"SMTP {where} 不可用：{type(error).__name__}: {error}") from None
        finally:
            if smtp is not None:
                _close(smtp)
        return f"smtp {s.host}:{s.port} accepted {message['Message-ID']}"


def _login(smtp: smtplib.SMTP, s: SmtpSettings) -> None:
    """Log in, only once the connection is encrypted: a password never crosses in clear."""
    if not isinstance(smtp.sock, ssl.SSLSocket):
        raise DeliveryFailed(
            f"拒绝在未加密的连接上向 {s.host}:{s.port} 发送 SMTP 密码 / refusing to send the "
            "SMTP password over an unencrypted connection",
            permanent=True,
        )
    smtp.login(s.username, s.password)


def _close(smtp: smtplib.SMTP) -> None:
    """Once the server took the message it was sent, whatever QUIT answers."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _smtp_failure(code: int, reply: bytes | str, what: str) -> DeliveryFailed:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    # 5xx is a permanent refusal; 4xx asks the client to come back later.
    return DeliveryFailed(f"{what}：{code} {text}", permanent=500 <= code < 600)


# Webhook -----------------------------------------------------------------------------------


def webhook_body(outgoing: Outgoing) -> bytes:
    """The same bytes on every attempt of a delivery: no send time in it."""
    document = {
        "delivery_id": outgoing.delivery_id,
        "notice_id": outgoing.notice_id,
        "kind": outgoing.kind,
        "about": outgoing.about,
        "stage": outgoing.stage,
        "unit": outgoing.unit,
        "subject": outgoing.subject,
        "text": outgoing.text,
        "issued_at": outgoing.issued_at.isoformat(),
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "sha256": a.sha256,
                "content_base64": base64.b64encode(a.content).decode("ascii"),
            }
            for a in outgoing.attachments
        ],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks' `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect answers the request as an HTTPError: the body and its signature go to the
    configured URL or nowhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class WebhookTransport:
    def __init__(
        self,
        webhooks: Mapping[str, Webhook],
        timeout: float = 10.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.webhooks = dict(webhooks)  # unit -> its webhook
        self.timeout = timeout
        https = urllib.request.HTTPSHandler(context=context or tls_context())
        self.opener = urllib.request.build_opener(_NoRedirects, https)

    def send(self, outgoing: Outgoing) -> str:
        webhook = self.webhooks.get(outgoing.unit)
        if webhook is None or webhook.url != outgoing.address:
            raise DeliveryFailed(
                f"没有为 {outgoing.unit} 配置 webhook {outgoing.address}", permanent=True
            )
        body = webhook_body(outgoing)
        timestamp = int(time.time())
        request = urllib.request.Request(
            outgoing.address,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                ID_HEADER: outgoing.delivery_id,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(webhook.secret, outgoing.delivery_id, timestamp, body),
            },
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return f"webhook {outgoing.address} HTTP {response.status}"
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400:
                raise DeliveryFailed(
                    f"webhook HTTP {error.code} 重定向至 {error.headers.get('Location')}，"
                    "不跟随 / redirects are not followed",
                    permanent=True,
                ) from None
            # 4xx says the request itself is wrong (retrying will not help), except a timeout
            # (408) or a rate limit (429); 5xx may pass later.
            permanent = 400 <= error.code < 500 and error.code not in (408, 429)
            raise DeliveryFailed(f"webhook HTTP {error.code} {error.reason}", permanent) from None
        except OSError as error:  # URLError, a refused connection, a time-out
            reason = getattr(error, "reason", error)
            raise DeliveryFailed(f"webhook {outgoing.address} 不可达：{reason}") from None
