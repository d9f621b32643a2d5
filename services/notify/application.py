"""Notify: answers each published ranking with its circular (通报) and the notices it calls for,
reminds units of their 附件3 tasks and 附件4 matters, and delivers every notice by e-mail and
webhook, never twice.

- Consuming (`process`): `ranking.published` from scoring writes the circular (.docx, .html,
  .md) and issues a circular notice to each unit that receives circulars and a 约谈通知 to each
  summoned unit; `task.completed` and `matter.progress_reported` (done) from tracking mark items
  done. Each message's effect and the upstream position are saved in one transaction, and a
  notice's id is derived from what it is about, so a redelivered message issues nothing new.
- Reminding (`issue_reminders`, from a timer): the reminders due today by the injected clock.
- Delivering (`deliver_due`, from a timer): for each due delivery, `SendingStarted` is saved,
  then the transport sends, then `Sent` or `SendingFailed` (with its back-off) or `GivenUp` is
  saved. A delivery that was sent is never due again. One found "sending" at start-up (the
  process stopped mid-send) is recorded as failed and retried: the resend carries the same
  Message-ID and webhook delivery id, so the one case that can reach a receiver twice — the
  process stopped after the receiver took the message and before `Sent` was saved — is
  recognisable as the same message.

Replicas: the queues are single-active-consumer, so one replica at a time answers publications,
and the timers run on one replica at a time, the holder of the `notify.timers` lease
(services/kernel/store/lease.py); either may be a different replica. Each replica's notices and
progress follow the store's own log (`follow_log`) before they are used, so what one replica
saved, another sees. A replica taking the lease over records the deliveries left "sending" as
interrupted, as a restarted one does. The circular's files are a rendering of the stored
circular: a replica asked for them writes them again if it does not have them, byte for byte
(their digests are stored).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking

from services.kernel.bus.consumer import ConsumerApplication
from services.kernel.contract import ids
from services.kernel.reference.reference import Reference, reference
from services.kernel.store.environment import event_topics
from services.kernel.store.lease import Lease
from services.notify import circular, notices
from services.notify.chart import totals_chart
from services.notify.config import Recipients
from services.notify.document import render_docx
from services.notify.domain import (
    CIRCULAR,
    EMAIL,
    FAILED,
    REMINDER,
    SUMMONS,
    Circular,
    Deadline,
    Delivery,
    Notice,
    Progress,
    ReminderSchedule,
    RetryPolicy,
    Stage,
    due_reminders,
    notice_id,
    notice_key,
)
from services.notify.transports import DOCX, Attachment, DeliveryFailed, Outgoing

log = logging.getLogger(__name__)
SHANGHAI = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991
FOLLOWED_TOPICS = event_topics(Notice, Progress)  # what follow_log reads of the store's log


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Transport(Protocol):
    def send(self, outgoing: Outgoing) -> str: ...


class NotifyApplication(ConsumerApplication):
    name = "notify"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        circulars: Path,
        recipients: Recipients | None = None,
        transports: Mapping[str, Transport] | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        reminders: ReminderSchedule | None = None,
        ref: Reference | None = None,
    ) -> None:
        super().__init__(env)
        self.circulars = circulars
        self.recipients = recipients or Recipients()
        self.transports = dict(transports or {})
        self.clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.schedule = reminders or ReminderSchedule()
        self.ref = ref or reference()
        self.deadlines = list(deadlines(self.ref))
        self._delivering = threading.Lock()
        self._reminding = threading.Lock()
        self._following = threading.Lock()
        self._documents: dict[str, Attachment] = {}  # ranking hash -> the circular's .docx
        self.notices: dict[UUID, Notice] = {}
        self.progress = Progress()
        self._followed = 0  # the last notification of the own log folded into memory
        self.follow_log()
        self.timers = Lease(self, "notify.timers")
        self._leading = False  # held the timers' lease at the last tick

    def today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()

    def follow_log(self) -> None:
        """Fold what the store's log holds beyond what was folded before into the notices and
        the progress: what another replica saved (the one consuming publications, or the one
        running the timers). What this replica saved itself is there already: passed over by
        its version."""
        with self._following:
            while notifications := self.process_recorder.select_notifications(
                self._followed + 1, 1000, topics=FOLLOWED_TOPICS
            ):
                for notification in notifications:
                    self._fold(self.mapper.to_domain_event(notification))
                self._followed = notifications[-1].id

    def _fold(self, event: Any) -> None:
        if isinstance(event, Progress.Event):
            self.progress = self._advanced(self.progress, event)
        else:
            self.notices[event.originator_id] = self._advanced(
                self.notices.get(event.originator_id), event
            )

    def _advanced(self, current: Any, event: Any) -> Any:
        """`current` with `event` applied, unless it holds it already; read again from the
        store when the two do not follow on (an in-memory aggregate never saved)."""
        version = event.originator_version
        if current is not None and not current.pending_events:
            if version <= current.version:
                return current
            if version == current.version + 1:
                return event.mutate(current)
        elif version == 1:
            return event.mutate(None)
        return self.repository.get(event.originator_id)

    def fresh(self) -> None:
        """Before a message is applied: what other replicas saved, then the base checks."""
        self.follow_log()
        super().fresh()

    def close(self) -> None:
        self.timers.release()
        super().close()

    # Consuming upstream events -----------------------------------------------------------

    def wants(self, upstream: str, wire: Mapping) -> bool:
        """Published rankings, and tasks and matters done (for the reminders)."""
        if upstream == "tracking":
            return wire["type"] == "task.completed" or (
                wire["type"] == "matter.progress_reported" and wire["payload"]["status"] == "done"
            )
        return wire["type"] == "ranking.published"

    def process(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        if upstream == "tracking":
            self._record_progress(events, tracking)
            return
        changed: list[Aggregate] = []
        for wire in events:
            if wire["type"] != "ranking.published" or self.has_circular(wire["payload"]["hash"]):
                continue  # a republished ranking was answered the first time
            changed += self._answer_publication(wire["payload"], wire["occurred_on"])
        self.record_tracked(tracking, *changed)
        self.notices.update((a.id, a) for a in changed if isinstance(a, Notice))

    def _record_progress(self, events: list[dict], tracking: Tracking) -> None:
        for wire in events:
            payload = wire["payload"]
            if wire["type"] == "task.completed":
                item = f"task:{payload['task_id']}"
            elif wire["type"] == "matter.progress_reported" and payload["status"] == "done":
                item = f"matter:{payload['matter_id']}"
            else:
                continue
            self.progress.record_done(
                item, payload["unit"], date.fromisoformat(wire["occurred_on"])
            )
        try:
            self.record_tracked(tracking, self.progress)
        except Exception:
            self.progress = self._stored_progress()  # drop what was not stored
            raise

    def _stored_progress(self) -> Progress:
        try:
            return self.repository.get(Progress.create_id())
        except AggregateNotFoundError:
            return Progress()

    def has_circular(self, ranking_hash: str) -> bool:
        try:
            self.repository.get(ids.circular_id(ranking_hash))
        except AggregateNotFoundError:
            return False
        return True

    def _answer_publication(self, published: dict, published_on: str) -> list[Aggregate]:
        """The circular, a circular notice per unit that receives circulars, a 约谈通知 per
        summoned unit."""
        ranking = {**published["ranking"], "hash": published["hash"]}
        day = date.fromisoformat(published_on)
        written = self._write_circular(ranking, day)
        docx = next(name for name in written.digests if name.endswith(".docx"))
        attachments = [
            {
                "ranking_hash": ranking["hash"],
                "filename": circular.docx_filename(ranking),
                "sha256": written.digests[docx],
            }
        ]
        about = f"ranking:{ranking['hash']}"
        issued: list[Aggregate] = [written]
        for unit, contacts in self.recipients.circular_contacts():
            text = notices.circular_letter(ranking, day, notices.unit_name(unit, self.ref))
            issued.append(
                self._issue(CIRCULAR, about, unit, text, contacts.channels(), attachments)
            )
        for region in ranking.get("summons", []):
            contacts = self.recipients.contacts(region)
            if contacts is None or not contacts.summons_channels():
                log.warning("no address for summoned unit %s: its 约谈通知 is not sent", region)
                continue
            leaders = [f"{leader.role}{leader.name}" for leader in contacts.leaders]
            addressee = notices.unit_name(region, self.ref)
            text = notices.summons_letter(ranking, region, day, addressee, leaders)
            channels = contacts.summons_channels()
            issued.append(self._issue(SUMMONS, about, region, text, channels, attachments))
        return issued

    def _write_circular(self, ranking: dict, published_on: date) -> Circular:
        contents = self._render_circular(ranking, published_on)
        # Written before the record: a crash in between writes the same bytes again.
        self._write_files(contents)
        return Circular(
            ranking_hash=ranking["hash"],
            quarter=ranking["quarter"],
            policy_version=ranking["policy_version"],
            files=[str(path) for path in contents],
            ranking={k: v for k, v in ranking.items() if k != "hash"},
            published_on=published_on,
            digests={p.name: hashlib.sha256(c).hexdigest() for p, c in contents.items()},
        )

    def _render_circular(self, ranking: dict, published_on: date) -> dict[Path, bytes]:
        """The circular's files (.md, .html, .docx) under this replica's directory."""
        chart = totals_chart(ranking)
        docx = render_docx(ranking, published_on, chart)
        self._documents[ranking["hash"]] = Attachment(circular.docx_filename(ranking), DOCX, docx)
        md, html, docx_path = self._circular_paths(ranking)
        return {
            md: circular.render_markdown(ranking, published_on).encode(),
            html: circular.render_html(ranking, published_on, chart).encode(),
            docx_path: docx,
        }

    def _circular_paths(self, ranking: dict) -> list[Path]:
        stem = self.circulars / f"{ranking['quarter']}-{ranking['hash'][:12]}"
        return [stem.with_suffix(suffix) for suffix in (".md", ".html", ".docx")]

    def _write_files(self, contents: Mapping[Path, bytes]) -> None:
        self.circulars.mkdir(parents=True, exist_ok=True)
        for path, content in contents.items():
            temporary = path.with_name(path.name + ".part")
            temporary.write_bytes(content)
            temporary.replace(path)

    def _issue(
        self,
        kind: str,
        about: str,
        unit: str,
        text: notices.Text,
        channels: list[dict],
        attachments: list[dict] | None = None,
        stage: str = "",
    ) -> Notice:
        return Notice.issue(
            kind=kind,
            about=about,
            unit=unit,
            stage=stage,
            subject=text.subject,
            text=text.body,
            attachments=attachments or [],
            channels=channels,
            issued_at=self.clock.now(),
        )

    def circular_files(self, ranking_hash: str) -> list[str]:
        """The circular's files (.md, .html, .docx) on this replica; none until the publication
        was heard. A replica that does not have them (another one answered the publication, or
        its directory is new) writes them again from the stored circular; bytes that differ
        from the stored digests are not passed off as the circular."""
        try:
            written = self.repository.get(ids.circular_id(ranking_hash))
        except AggregateNotFoundError:
            return []
        ranking = {**written.ranking, "hash": ranking_hash}
        paths = self._circular_paths(ranking)
        if not all(path.exists() for path in paths):
            contents = self._render_circular(ranking, written.published_on)
            digests = {p.name: hashlib.sha256(c).hexdigest() for p, c in contents.items()}
            differing = sorted(n for n, d in digests.items() if written.digests.get(n, d) != d)
            if differing:
                raise RuntimeError(
                    f"circular {ranking_hash[:12]}: {differing} made again differ from the "
                    "files written at publication (renderer changed?)"
                )
            self._write_files(contents)
        return [str(path) for path in paths]

    # Reminders ---------------------------------------------------------------------------

    def lead(self) -> bool:
        """Whether this replica runs the timers now: it holds the lease. On taking it over
        (from a replica that died or stopped, or at start), what the others saved is folded
        in and the deliveries left "sending" are recorded as interrupted."""
        if not self.timers.held():
            self._leading = False
            return False
        self.follow_log()
        if not self._leading:
            self._leading = True
            self.recover_interrupted()
        return True

    def issue_reminders(self) -> int:
        """Issue the reminders due today that were not issued before; how many (0 on a
        replica that does not hold the timers' lease)."""
        if not self.lead():
            return 0
        with self._reminding:
            today = self.today()
            issued = []
            for deadline, unit, stage in due_reminders(
                self.deadlines, self.schedule, today, self.progress.is_done, self.recipients.reaches
            ):
                key = notice_key(REMINDER, deadline.item, unit, stage.name)
                contacts = self.recipients.contacts(unit)
                if notice_id(key) in self.notices or contacts is None:
                    continue
                text = self._reminder_text(deadline, unit, stage, today)
                channels = contacts.channels()
                issued.append(
                    self._issue(REMINDER, deadline.item, unit, text, channels, stage=stage.name)
                )
            if issued:
                self.save(*issued)
                self.notices.update((n.id, n) for n in issued)
            return len(issued)

    def _reminder_text(
        self, deadline: Deadline, unit: str, stage: Stage, today: date
    ) -> notices.Text:
        kind, key = deadline.item.split(":", 1)
        item = (notices.task_item if kind == "task" else notices.matter_item)(key, unit, self.ref)
        return notices.reminder_letter(item, stage, today, notices.unit_name(unit, self.ref))

    # Delivering --------------------------------------------------------------------------

    def recover_interrupted(self) -> int:
        """Deliveries a stopped process left "sending" failed with an unknown outcome."""
        now = self.clock.now()
        recovered = 0
        for notice in self.open_notices():
            if keys := notice.record_interrupted(now, self.retry):
                log.warning("notice %s: %s were interrupted mid-send; retrying", notice.key, keys)
                self._save(notice)
                recovered += len(keys)
        return recovered

    def open_notices(self) -> list[Notice]:
        return [n for n in list(self.notices.values()) if n.is_open]

    def deliver_due(self) -> int:
        """Send every delivery due now; how many attempts were made. A call while another is
        delivering, or on a replica that does not hold the timers' lease, returns at once (the
        timer calls again).

        Once a route (the mail server; a webhook's URL) failed in a call, the call tries it no
        more: a server that is down costs one time-out per call, not one per notice.
        """
        if not self.lead() or not self._delivering.acquire(blocking=False):
            return 0
        try:
            attempts, down = 0, set()
            for notice in self.open_notices():
                for delivery in notice.due(self.clock.now()):
                    route = _route(notice.deliveries[delivery])
                    if route in down:
                        continue
                    self._deliver(notice, delivery)
                    attempts += 1
                    if notice.deliveries[delivery].status == FAILED:
                        down.add(route)
            return attempts
        finally:
            self._delivering.release()

    def _deliver(self, notice: Notice, delivery: str) -> None:
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

    def _save(self, notice: Notice) -> None:
        try:
            self.save(notice)
        except Exception:
            self.notices[notice.id] = self.repository.get(notice.id)  # drop what was not stored
            raise

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

    def _attachment(self, ranking_hash: str) -> Attachment:
        """The circular as .docx, made again from the stored ranking: the same bytes as the
        file written when it was published."""
        if ranking_hash not in self._documents:
            written = self.repository.get(ids.circular_id(ranking_hash))
            ranking = {**written.ranking, "hash": ranking_hash}
            content = render_docx(ranking, written.published_on, totals_chart(ranking))
            self._documents[ranking_hash] = Attachment(
                circular.docx_filename(ranking), DOCX, content
            )
        return self._documents[ranking_hash]

    # Queries -----------------------------------------------------------------------------

    def deliveries(
        self, unit: str | None = None, status: str | None = None, kind: str | None = None
    ) -> list[dict]:
        """What was (or is to be) sent to whom and when, oldest notice first."""
        self.follow_log()
        return [
            row
            for row in delivery_rows(list(self.notices.values()))
            if (unit is None or row["unit"] == unit)
            and (status is None or row["status"] == status)
            and (kind is None or row["kind"] == kind)
        ]

    def failures(self) -> list[dict]:
        """Every delivery that failed at least once: its attempts' reasons and where it stands
        (failed and waiting for its retry, given up, or sent after all)."""
        self.follow_log()
        return [row for row in delivery_rows(list(self.notices.values())) if row["failures"]]


def delivery_rows(notices_: Iterable[Notice]) -> Iterator[dict]:
    for notice in notices_:
        for key, d in notice.deliveries.items():
            yield {
                "notice_id": str(notice.id),
                "delivery_id": str(notice.delivery_id(key)),
                "kind": notice.kind,
                "about": notice.about,
                "stage": notice.stage,
                "unit": notice.unit,
                "subject": notice.subject,
                "channel": d.channel,
                "address": d.address,
                "status": d.status,
                "attempts": d.attempts,
                "issued_at": notice.issued_at.isoformat(),
                "sent_at": _iso(d.sent_at),
                "retry_at": _iso(d.retry_at),
                "receipt": d.receipt,
                "failures": [
                    {"attempt": f["attempt"], "at": f["at"].isoformat(), "reason": f["reason"]}
                    for f in d.failures
                ],
            }


def _route(delivery: Delivery) -> str:
    """What a delivery goes through: every e-mail through the one mail server."""
    return delivery.channel if delivery.channel == EMAIL else delivery.address


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def deadlines(ref: Reference) -> Iterator[Deadline]:
    """附件3 tasks (due the last day of their month) and 附件4 matters, with the units that
    owe them in the form units report as (a region code, `dept:<key>`, or 附件4's own words)."""
    for task in ref.tasks.values():
        yield Deadline(f"task:{task.id}", task.deadline_date, ref.responsible_units(task.id))
    for matter in ref.matters.values():
        units = frozenset(
            f"dept:{unit}" if unit in ref.departments else unit for unit in matter.responsible
        )
        yield Deadline(f"matter:{matter.id}", matter.due, units)
