"""Notify's domain: the circular (通报) of each published ranking, the notices sent to units (the
circular itself, 约谈通知 (十九), deadline reminders for 附件3 tasks and 附件4 matters), and the
delivery of each notice, attempt by attempt; what units reported done (`Progress`).

A delivery records its intent (`SendingStarted`) before anything leaves and its outcome
(`Sent`, `SendingFailed`, `GivenUp`) after, so a delivery that was sent is never due again and
one interrupted mid-send is recognisable as such. The back-off between attempts is
retry.py's `RetryPolicy`; the reminder calendar is reminders.py's. Standard library,
eventsourcing.domain and the kernel's ids and ranking shapes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.ranking import HashedContent

# What a notice is about.
CIRCULAR = "circular"  # the quarter's circular (通报), to every unit that receives circulars
SUMMONS = "summons"  # 约谈通知 to the leaders of a unit on the summons list (十九)
REMINDER = "reminder"  # a deadline reminder or overdue notice (附件3 tasks, 附件4 matters)
KINDS = (CIRCULAR, SUMMONS, REMINDER)

# How a notice reaches a unit.
EMAIL = "email"
WEBHOOK = "webhook"
CHANNELS = (EMAIL, WEBHOOK)

# Where a delivery stands.
PENDING = "pending"  # not tried yet
SENDING = "sending"  # an attempt is under way (or was, when the service stopped mid-send)
SENT = "sent"
FAILED = "failed"  # the last attempt failed; another is due at `retry_at`
GIVEN_UP = "given_up"
OPEN = frozenset({PENDING, SENDING, FAILED})

INTERRUPTED = "发送中断：服务在发送过程中停止，结果未知，按同一消息标识重发 (interrupted mid-send)"


class NotifyError(ValueError):
    """A broken rule, naming the field, the value and the rule."""

    def __init__(self, field: str, value: Any, rule: str, explanation: str):
        super().__init__(f"{field} = {value!r}: {rule} ({explanation})")
        self.field, self.value, self.rule = field, value, rule


def notice_key(kind: str, about: str, unit: str, stage: str = "") -> str:
    """The natural key of a notice: one per (kind, subject, unit, stage), ever."""
    return f"{kind}|{about}|{stage}|{unit}"


def notice_id(key: str) -> UUID:
    return ids.named_id("notice", key)


def delivery_id(notice: UUID, delivery: str) -> UUID:
    """Stable across attempts and restarts: the SMTP Message-ID and the webhook's idempotency
    key are made from it, so a resend after a crash is recognisable as the same message."""
    return ids.named_id("delivery", f"{notice}|{delivery}")


def delivery_key(channel: str, address: str) -> str:
    return f"{channel}:{address}"


class Backoff(Protocol):
    """When a failed delivery is tried again (retry.py's `RetryPolicy`)."""

    def retry_at(self, attempt: int, failed_at: datetime) -> datetime | None: ...


# Notices and their deliveries ---------------------------------------------------------------


@dataclass
class Delivery:
    """One notice on its way to one address (an e-mail address or a webhook URL)."""

    channel: str
    address: str
    status: str = PENDING
    attempts: int = 0
    retry_at: datetime | None = None
    started_at: datetime | None = None
    sent_at: datetime | None = None
    receipt: str = ""
    failures: list[dict] = field(default_factory=list)  # {"attempt", "at", "reason"}

    @property
    def key(self) -> str:
        return delivery_key(self.channel, self.address)

    def is_due(self, now: datetime) -> bool:
        return self.status == PENDING or (
            self.status == FAILED and self.retry_at is not None and self.retry_at <= now
        )


class Notice(Aggregate):
    """One notice to one unit, with its deliveries (one per address)."""

    class Issued(Aggregate.Created):
        key: str
        kind: str
        about: str  # "ranking:<hash>", "task:<id>", "matter:<id>"
        stage: str  # reminders: "before-7d", "overdue-1d"; else ""
        unit: str
        subject: str
        text: str
        attachments: list  # [{"ranking_hash", "filename", "sha256"}]: the circular as .docx
        channels: list  # [{"channel", "address"}]
        issued_at: datetime

    class SendingStarted(Aggregate.Event):
        delivery: str
        attempt: int
        at: datetime

    class Sent(Aggregate.Event):
        delivery: str
        attempt: int
        at: datetime
        receipt: str

    class SendingFailed(Aggregate.Event):
        delivery: str
        attempt: int
        at: datetime
        reason: str
        retry_at: datetime | None

    class GivenUp(Aggregate.Event):
        delivery: str
        attempts: int
        at: datetime
        reason: str

    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return notice_id(key)

    @event(Issued)
    def __init__(
        self,
        key: str,
        kind: str,
        about: str,
        stage: str,
        unit: str,
        subject: str,
        text: str,
        attachments: list,
        channels: list,
        issued_at: datetime,
    ) -> None:
        self.key, self.kind, self.about, self.stage, self.unit = key, kind, about, stage, unit
        self.subject, self.text, self.attachments = subject, text, attachments
        self.issued_at = issued_at
        self.deliveries = {
            delivery_key(c["channel"], c["address"]): Delivery(c["channel"], c["address"])
            for c in channels
        }

    @classmethod
    def issue(cls, *, kind: str, about: str, unit: str, stage: str = "", **fields: Any) -> Notice:
        check_kind(kind)
        check_channels(fields["channels"])
        key = notice_key(kind, about, unit, stage)
        return cls(key=key, kind=kind, about=about, stage=stage, unit=unit, **fields)

    def delivery_id(self, delivery: str) -> UUID:
        return delivery_id(self.id, delivery)

    def due(self, now: datetime) -> list[str]:
        return [key for key, d in self.deliveries.items() if d.is_due(now)]

    @property
    def is_open(self) -> bool:
        return any(d.status in OPEN for d in self.deliveries.values())

    # Commands -------------------------------------------------------------------------------

    def start_sending(self, delivery: str, at: datetime) -> None:
        """Record the intent to send, before anything leaves."""
        current = self._delivery(delivery)
        if not current.is_due(at):
            raise NotifyError(
                "delivery",
                delivery,
                "not_due",
                f"{current.status}, retry at {current.retry_at}: nothing to send now",
            )
        self._start(delivery=delivery, attempt=current.attempts + 1, at=at)

    def record_sent(self, delivery: str, at: datetime, receipt: str) -> None:
        current = self._sending(delivery)
        self._sent(delivery=delivery, attempt=current.attempts, at=at, receipt=receipt)

    def record_failure(
        self, delivery: str, at: datetime, reason: str, permanent: bool, policy: Backoff
    ) -> None:
        """The attempt failed: try again after a back-off, or give up (a permanent refusal, or
        the last attempt allowed)."""
        current = self._sending(delivery)
        retry_at = None if permanent else policy.retry_at(current.attempts, at)
        self._failed(
            delivery=delivery, attempt=current.attempts, at=at, reason=reason, retry_at=retry_at
        )
        if retry_at is None:
            why = "永久性拒绝 (permanent)" if permanent else f"已尝试 {current.attempts} 次"
            self._given_up(
                delivery=delivery, attempts=current.attempts, at=at, reason=f"{why}：{reason}"
            )

    def record_interrupted(self, at: datetime, policy: Backoff) -> list[str]:
        """At start-up: attempts left "sending" by a stopped process failed with an unknown
        outcome; they are retried (as the same message) like any failure."""
        interrupted = [key for key, d in self.deliveries.items() if d.status == SENDING]
        for key in interrupted:
            self.record_failure(key, at, INTERRUPTED, permanent=False, policy=policy)
        return interrupted

    # Events ---------------------------------------------------------------------------------

    @event(SendingStarted)
    def _start(self, delivery: str, attempt: int, at: datetime) -> None:
        current = self.deliveries[delivery]
        current.status, current.attempts, current.started_at = SENDING, attempt, at
        current.retry_at = None

    @event(Sent)
    def _sent(self, delivery: str, attempt: int, at: datetime, receipt: str) -> None:
        current = self.deliveries[delivery]
        current.status, current.sent_at, current.receipt = SENT, at, receipt

    @event(SendingFailed)
    def _failed(
        self, delivery: str, attempt: int, at: datetime, reason: str, retry_at: datetime | None
    ) -> None:
        current = self.deliveries[delivery]
        current.status, current.retry_at = FAILED, retry_at
        current.failures.append({"attempt": attempt, "at": at, "reason": reason})

    @event(GivenUp)
    def _given_up(self, delivery: str, attempts: int, at: datetime, reason: str) -> None:
        current = self.deliveries[delivery]
        current.status, current.retry_at = GIVEN_UP, None

    # Checks ---------------------------------------------------------------------------------

    def _delivery(self, delivery: str) -> Delivery:
        try:
            return self.deliveries[delivery]
        except KeyError:
            raise NotifyError(
                "delivery", delivery, "known_delivery", f"notice {self.key} has no such delivery"
            ) from None

    def _sending(self, delivery: str) -> Delivery:
        current = self._delivery(delivery)
        if current.status != SENDING:
            raise NotifyError(
                "delivery", delivery, "sending", f"{current.status}: no attempt is under way"
            )
        return current


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NotifyError("kind", kind, "known_kind", f"one of {list(KINDS)}")


def check_channels(channels: Iterable[dict]) -> None:
    seen: set[str] = set()
    for position, channel in enumerate(channels):
        if channel.get("channel") not in CHANNELS or not channel.get("address"):
            raise NotifyError(
                f"channels[{position}]", channel, "channel_address", f"one of {list(CHANNELS)}"
            )
        key = delivery_key(channel["channel"], channel["address"])
        if key in seen:
            raise NotifyError(f"channels[{position}]", key, "unique_address", "listed twice")
        seen.add(key)
    if not seen:
        raise NotifyError("channels", [], "at_least_one", "a notice goes somewhere")


# The circular ------------------------------------------------------------------------------


class Circular(Aggregate):
    """A published ranking's circular (通报), written once per ranking: the ranking it was made
    from (so the attachment can be made again, byte for byte), the files and their digests."""

    class Written(Aggregate.Created):
        class_version = 3
        ranking_hash: str
        quarter: str
        policy_version: str
        files: list
        ranking: HashedContent  # {} in a circular written at version 1
        published_on: date | None
        digests: dict  # file name -> sha256
        heads: list  # the signed tree heads it was made under (services/notify/heads.py)

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            """v1 (Markdown + HTML only) kept neither the ranking nor digests."""
            state.update(ranking={}, published_on=None, digests={})

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            """v2 was made before the stores signed tree heads."""
            state["heads"] = []

    @staticmethod
    def create_id(ranking_hash: str, **_: Any) -> UUID:
        return ids.circular_id(ranking_hash)

    @event(Written)
    def __init__(
        self,
        ranking_hash: str,
        quarter: str,
        policy_version: str,
        files: list,
        ranking: HashedContent,
        published_on: date | None,
        digests: dict,
        heads: list | None = None,
    ) -> None:
        self.heads = heads or []
        self.ranking_hash = ranking_hash
        self.quarter = quarter
        self.policy_version = policy_version
        self.files = files
        self.ranking = ranking
        self.published_on = published_on
        self.digests = digests


# What units reported done ------------------------------------------------------------------


class Progress(Aggregate):
    """The 附件3 tasks and 附件4 matters each unit reported done, as tracking published them:
    a unit that reported an item gets no more reminders for it."""

    class Opened(Aggregate.Created):
        pass

    class ItemDone(Aggregate.Event):
        item: str  # "task:<id>" or "matter:<id>"
        unit: str
        occurred_on: date

    @staticmethod
    def create_id() -> UUID:
        return ids.named_id("progress", "units")

    @event(Opened)
    def __init__(self) -> None:
        self.done: dict[str, date] = {}

    def record_done(self, item: str, unit: str, occurred_on: date) -> None:
        """The first report counts; a later one about the same item changes nothing."""
        if not self.is_done(item, unit):
            self._done(item=item, unit=unit, occurred_on=occurred_on)

    def is_done(self, item: str, unit: str) -> bool:
        return _progress_key(item, unit) in self.done

    @event(ItemDone)
    def _done(self, item: str, unit: str, occurred_on: date) -> None:
        self.done[_progress_key(item, unit)] = occurred_on


def _progress_key(item: str, unit: str) -> str:
    return f"{item}@{unit}"
