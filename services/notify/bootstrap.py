"""Wires notify from its configuration: the store, the recipients, the transports."""

from __future__ import annotations

import os
from collections.abc import Mapping

from services.kernel.reference import reference
from services.kernel.store.environment import store_env, var_dir
from services.notify.application import NotifyApplication
from services.notify.config import NotifySettings, load_recipients
from services.notify.domain import EMAIL, WEBHOOK
from services.notify.transports import SmtpTransport, WebhookTransport, tls_context


def build(environ: Mapping[str, str] = os.environ) -> NotifyApplication:
    settings = NotifySettings.from_env(environ)
    ref = reference()
    recipients = load_recipients(settings.recipients_file, ref, environ)
    return NotifyApplication(
        store_env("notify", environ),
        circulars=var_dir(environ) / "circulars",
        recipients=recipients,
        transports={
            EMAIL: SmtpTransport(settings.smtp),
            WEBHOOK: WebhookTransport(
                recipients.webhooks(),
                settings.webhook_timeout,
                context=tls_context(settings.webhook_ca_file),
            ),
        },
        retry=settings.retry,
        reminders=settings.reminders,
        ref=ref,
    )
