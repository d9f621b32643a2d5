"""Notify's use cases: answers each published ranking with its circular (通报) and the notices
it calls for, reminds units of their 附件3 tasks and 附件4 matters, and delivers every notice by
e-mail and webhook, never twice. The parts are in their own modules:

- Consuming (`_consume`, called by the follower): `ranking.published` from scoring writes the
  circular (rendering.py) and issues the notices it calls for (addressing.py);
  `task.completed` and `matter.progress_reported` (done) from tracking mark items done. Each
  message's effect and the upstream position are saved in one transaction, and a notice's id
  is derived from what it is about, so a redelivered message issues nothing new.
- Reminding (`issue_reminders`, from a timer): the reminders due today by the injected clock
  (reminders.py).
- Delivering (`deliver_due`, from a timer): each due delivery, its intent stored before anything
  leaves and its outcome after (delivering.py). One found "sending" when this replica takes the
  timers (the process stopped mid-send) is recorded as failed and retried as the same message.

Replicas: the queues are single-active-consumer, so one replica at a time answers publications,
and the timers run on one replica at a time, the holder of the `notify.timers` lease
(services/kernel/store/lease.py); either may be a different replica. Each replica's notices and
progress follow the store's own log (following.py) before they are used, so what one replica
saved, another sees. The circular's files are a rendering of the stored circular: a replica
asked for them writes them again if it does not have them, byte for byte (their digests are
stored).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking

from services.kernel.bus.consumer import Follower
from services.kernel.contract import ids
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.ranking import Ranking, RankingPublished
from services.kernel.reference import Reference, reference
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.lease import Lease
from services.notify import queries, yearly
from services.notify.addressing import Addressing
from services.notify.config import Recipients
from services.notify.delivering import Clock, Courier, SystemClock, Transport
from services.notify.domain import Circular, Notice, Progress
from services.notify.following import FollowedLog
from services.notify.reminders import Deadline, ReminderSchedule, deadlines, due_reminders
from services.notify.rendering import RenderedCircular, file_names, render
from services.notify.retry import RetryPolicy
from services.notify.transports import Attachment


class NotifyApplication(ServiceApplication):
    """Notify's store, with its follower of scoring and tracking (`follower`), which folds in
    what other replicas saved (`follow_log`) before each message."""

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
        self.follower = Follower(self, self._consume, wants=self._wants, update=self.follow_log)
        self.circulars = circulars
        self.recipients = recipients or Recipients()
        self.transports = dict(transports or {})
        self.clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.schedule = reminders or ReminderSchedule()
        self.ref = ref or reference()
        self.deadlines = list(deadlines(self.ref))
        self.addressing = Addressing(self.recipients, self.ref, self.clock.now)
        self.courier = Courier(
            self.transports, self.retry, self.clock, self._save, self._attachment
        )
        self._delivering = threading.Lock()
        self._reminding = threading.Lock()
        self._documents: dict[str, Attachment] = {}  # ranking hash -> the circular's .docx
        # Every store's fresh signed tree head, for a circular (set by the service: heads.py)
        self.heads_source: Callable[[], list[dict]] = list
        self.followed = FollowedLog(self)
        self.follow_log()
        self.timers = Lease(self, "notify.timers")
        self._leading = False  # held the timers' lease at the last tick

    @property
    def notices(self) -> dict[UUID, Notice]:
        return self.followed.notices

    @property
    def progress(self) -> Progress:
        return self.followed.progress

    def today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()

    def follow_log(self) -> None:
        """Fold in what other replicas saved (the one consuming publications, or the one
        running the timers)."""
        self.followed.follow()

    def close(self) -> None:
        self.timers.release()
        super().close()

    # Consuming upstream events -----------------------------------------------------------

    def _wants(self, upstream: str, wire: Mapping) -> bool:
        """Published rankings, and tasks and matters done (for the reminders)."""
        if upstream == "tracking":
            return wire["type"] == "task.completed" or (
                wire["type"] == "matter.progress_reported" and wire["payload"]["status"] == "done"
            )
        return wire["type"] in ("ranking.published", "reward.decided")

    def _consume(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        if upstream == "tracking":
            self._record_progress(events, tracking)
            return
        changed: list[Aggregate] = []
        for wire in events:
            if wire["type"] == "reward.decided":
                changed += self._answer_rewards(wire)
                continue
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
            self.followed.progress = self._stored_progress()  # drop what was not stored
            raise

    def _stored_progress(self) -> Progress:
        try:
            return self.repository.get(Progress.create_id())
        except AggregateNotFoundError:
            return Progress()

    # The circular ------------------------------------------------------------------------

    def has_circular(self, ranking_hash: str) -> bool:
        try:
            self.repository.get(ids.circular_id(ranking_hash))
        except AggregateNotFoundError:
            return False
        return True

    def _answer_publication(
        self, published: RankingPublished, published_on: str
    ) -> list[Aggregate]:
        """The circular, written, and the notices it calls for."""
        ranking: Ranking = {**published["ranking"], "hash": published["hash"]}
        day = date.fromisoformat(published_on)
        heads = self.heads_source()
        rendered = self._rendered(ranking, day, heads)
        # Written before the record: a crash in between writes the same bytes again.
        paths = rendered.write(self.circulars)
        written = Circular(
            ranking_hash=ranking["hash"],
            quarter=ranking["quarter"],
            policy_version=ranking["policy_version"],
            files=[str(path) for path in paths],
            ranking=published["ranking"],
            published_on=day,
            digests=rendered.digests,
            heads=heads,
        )
        attachment = {
            "ranking_hash": ranking["hash"],
            "filename": rendered.attachment.filename,
            "sha256": rendered.attachment.sha256,
        }
        commitments = published.get("open_commitments") or []
        notices = self.addressing.publication_notices(ranking, day, attachment, commitments, heads)
        return [written, *notices]

    def _answer_rewards(self, wire: Mapping) -> list[Aggregate]:
        """The yearly circular (十九)(十五), written, and its notice to each unit that receives
        circulars; a notice already issued is not issued again."""
        payload, decided_on = wire["payload"], date.fromisoformat(wire["occurred_on"])
        yearly.write(self.circulars, payload, wire["event_id"], decided_on)
        notices = self.addressing.circulated(
            f"rewards:{payload['year']}",
            lambda addressee: yearly.letter(payload, decided_on, addressee),
        )
        return [n for n in notices if n.id not in self.notices]

    def circular_files(self, ranking_hash: str) -> list[str]:
        """The circular's files (.md, .html, .docx) on this replica; none until the publication
        was heard. A replica that does not have them (another one answered the publication, or
        its directory is new) writes them again from the stored circular; bytes that differ
        from the stored digests are not passed off as the circular."""
        try:
            written: Circular = self.repository.get(ids.circular_id(ranking_hash))
        except AggregateNotFoundError:
            return []
        ranking: Ranking = {**written.ranking, "hash": ranking_hash}
        paths = [self.circulars / name for name in file_names(ranking)]
        if not all(path.exists() for path in paths):
            rendered = self._rendered(ranking, publication_day(written), written.heads)
            if differing := rendered.differing(written.digests):
                raise RuntimeError(
                    f"circular {ranking_hash[:12]}: {differing} made again differ from the "
                    "files written at publication (renderer changed?)"
                )
            rendered.write(self.circulars)
        return [str(path) for path in paths]

    def circular_document(self, ranking_hash: str) -> Attachment | None:
        """The circular as .docx, as the units received it (its signed tree heads included);
        None until the publication was heard."""
        try:
            return self._attachment(ranking_hash)
        except AggregateNotFoundError:
            return None

    def _attachment(self, ranking_hash: str) -> Attachment:
        """The circular as .docx, made again from the stored ranking when this replica has not
        rendered it: the same bytes as the file written when it was published."""
        if ranking_hash not in self._documents:
            written: Circular = self.repository.get(ids.circular_id(ranking_hash))
            self._rendered(
                {**written.ranking, "hash": ranking_hash}, publication_day(written), written.heads
            )
        return self._documents[ranking_hash]

    def _rendered(
        self, ranking: Ranking, published_on: date, heads: list[dict]
    ) -> RenderedCircular:
        rendered = render(ranking, published_on, heads)
        self._documents[ranking["hash"]] = rendered.attachment
        return rendered

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
            self.courier.recover_interrupted(self.open_notices())
        return True

    def issue_reminders(self, commitments: Iterable[Deadline] = ()) -> int:
        """Issue the reminders due today that were not issued before; how many (0 on a
        replica that does not hold the timers' lease). `commitments`: those made at 约谈 and
        still open (services/notify/yearly.py), reminded like the tasks and matters."""
        if not self.lead():
            return 0
        with self._reminding:
            today = self.today()
            owed = [*self.deadlines, *commitments]
            due = due_reminders(
                owed, self.schedule, today, self.progress.is_done, self.recipients.reaches
            )
            issued = self.addressing.reminder_notices(due, today, self.notices)
            if issued:
                self.save(*issued)
                self.notices.update((n.id, n) for n in issued)
            return len(issued)

    # Delivering --------------------------------------------------------------------------

    def open_notices(self) -> list[Notice]:
        return [n for n in list(self.notices.values()) if n.is_open]

    def deliver_due(self) -> int:
        """Send every delivery due now; how many attempts were made. A call while another is
        delivering, or on a replica that does not hold the timers' lease, returns at once (the
        timer calls again)."""
        if not self.lead() or not self._delivering.acquire(blocking=False):
            return 0
        try:
            return self.courier.deliver_due(self.open_notices())
        finally:
            self._delivering.release()

    def _save(self, notice: Notice) -> None:
        try:
            self.save(notice)
        except Exception:
            self.notices[notice.id] = self.repository.get(notice.id)  # drop what was not stored
            raise

    # Queries -----------------------------------------------------------------------------

    def deliveries(
        self, unit: str | None = None, status: str | None = None, kind: str | None = None
    ) -> list[dict]:
        """What was (or is to be) sent to whom and when, oldest notice first."""
        self.follow_log()
        return queries.deliveries(list(self.notices.values()), unit, status, kind)

    def failures(self) -> list[dict]:
        """Every delivery that failed at least once: its attempts' reasons and where it stands
        (failed and waiting for its retry, given up, or sent after all)."""
        self.follow_log()
        return queries.failures(list(self.notices.values()))


def publication_day(written: Circular) -> date:
    """The day a circular was published, to make its files again from what was stored."""
    if written.published_on is None:
        raise RuntimeError(
            f"circular {written.ranking_hash[:12]} was written at version 1, which kept neither "
            "the ranking nor the day: its files cannot be made again"
        )
    return written.published_on
