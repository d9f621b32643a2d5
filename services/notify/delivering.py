"""Delivering notices: the attempts (`Courier`), spaced by retry.py's back-off, each stored as
an intent (`SendingStarted`) before anything leaves and as its outcome (`Sent`,
`SendingFailed`, `GivenUp`) after.

A resend carries the same delivery id (the Message-ID, the webhook's `webhook-id`),
so the one case that can reach a receiver twice (the process stopped after the receiver took the
message and before `Sent` was stored) is recognisable as the same message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError

from services.notify.domain import EMAIL, FAILED, Delivery, Notice
from services.notify.retry import RetryPolicy
from services.notify.transports import Attachment, DeliveryFailed, Outgoing

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Transport(Protocol):
    def send(self, outgoing: Outgoing) -> str: ...


class Courier:
    """Sends the due deliveries of notices through the transport of each one's channel.

    `save` stores a notice (and drops from memory what it could not store); `attachment` gives
    the circular's .docx by its ranking hash.
    """

    def __init__(
        self,
        transports: Mapping[str, Transport],
        retry: RetryPolicy,
        clock: Clock,
        save: Callable[[Notice], None],
        attachment: Callable[[str], Attachment],
    ) -> None:
        self.transports, self.retry, self.clock = dict(transports), retry, clock
        self._save, self._attachment = save, attachment

    def deliver_due(self, notices: Iterable[Notice]) -> int:
        """Try every delivery of `notices` due now; how many attempts were made. Once a route
        (the mail server; a webhook's URL) failed, it is tried no more in this call: a server
        that is down costs one time-out per call, not one per notice."""
        attempts, down = 0, set()
        for notice in notices:
            for delivery in notice.due(self.clock.now()):
                route = _route(notice.deliveries[delivery])
                if route in down:
                    continue
                self.attempt(notice, delivery)
                attempts += 1
                if notice.deliveries[delivery].status == FAILED:
                    down.add(route)
        return attempts

    def attempt(self, notice: Notice, delivery: str) -> None:
        notice.start_sending(delivery, self.clock.now())
        self._save(notice)  # the intent is stored before anything leaves
        try:
            receipt = self._send(notice, delivery)
        except DeliveryFailed as error:
            notice.record_failure(
                delivery, self.clock.now(), error.reason, error.permanent, self.retry
            )
        except Exception as error:  # a transport's bug must not stop the other deliveries
            log.exception("delivery %s of %s failed unexpectedly", delivery, notice.key)
            notice.record_failure(delivery, self.clock.now(), repr(error), False, self.retry)
        else:
            notice.record_sent(delivery, self.clock.now(), receipt)
        self._save(notice)

    def recover_interrupted(self, notices: Iterable[Notice]) -> int:
        """Deliveries a stopped process left "sending" failed with an unknown outcome."""
        now = self.clock.now()
        recovered = 0
        for notice in notices:
            if keys := notice.record_interrupted(now, self.retry):
                log.warning("notice %s: %s were interrupted mid-send; retrying", notice.key, keys)
                self._save(notice)
                recovered += len(keys)
        return recovered

    def _send(self, notice: Notice, delivery: str) -> str:
        channel = notice.deliveries[delivery].channel
        transport = self.transports.get(channel)
        if transport is None:
            raise DeliveryFailed(f"没有配置 {channel} 发送通道", permanent=True)
        try:
            outgoing = self._outgoing(notice, delivery)
        except AggregateNotFoundError as error:
            raise DeliveryFailed(f"找不到附件所需的通报：{error}", permanent=True) from None
        return transport.send(outgoing)

    def _outgoing(self, notice: Notice, delivery: str) -> Outgoing:
        current = notice.deliveries[delivery]
        return Outgoing(
            delivery_id=str(notice.delivery_id(delivery)),
            notice_id=str(notice.id),
            kind=notice.kind,
            about=notice.about,
            stage=notice.stage,
            unit=notice.unit,
            address=current.address,
            subject=notice.subject,
            text=notice.text,
            issued_at=notice.issued_at,
            attachments=tuple(self._attachment(a["ranking_hash"]) for a in notice.attachments),
        )


def _route(delivery: Delivery) -> str:
    """What a delivery goes through: every e-mail through the one mail server."""
    return delivery.channel if delivery.channel == EMAIL else delivery.address
