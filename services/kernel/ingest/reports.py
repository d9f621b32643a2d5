"""Applying a batch of validated reports to a service's aggregates, exactly once each.

A `Receipt` aggregate per `event_id` is saved in the same transaction as the changes a report
caused: a resend finds it and is answered "duplicate" (or "conflict" when the content differs),
and two replicas racing on the same report collide on the receipt's version instead of both
applying it (README "Guarantees").

A receipt also records the person a delegate (the console) sent the report for, its operator;
`ReportIntake.with_operators` adds it to a project's history (Audit.GetHistory).

A service's application owns a `ReportIntake`, giving it how one report changes its aggregates
(`apply`); the intake loads, retries, saves and answers. Anything unexpected one report causes
answers just that report `rejected` (`internal_error`, its traceback logged) and undoes its
changes; a store that fails is never the report's fault: the batch is retried, then answered
unavailable (README "Guarantees").
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    Tracking,
)

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.report import Report
from services.kernel.cooperative import PAUSE_EVERY, let_others_run
from services.kernel.ingest.answers import (
    ACCEPTED,
    CONFLICT,
    DUPLICATE,
    REJECTED,
    broken,
    internal_error,
    outcome,
    reused,
)
from services.kernel.ingest.cache import AggregateCache
from services.kernel.store.bulk import select_events_after, select_events_of
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.topics import answer_to_old_names

answer_to_old_names(__name__)
log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 6
# What a lost database connection raises, wrapped by eventsourcing or straight from psycopg.
STORE_DOWN = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
STORE_DOWN_NAMES = frozenset(error.__name__ for error in STORE_DOWN)  # as nameko reports them
# Whatever a store or its driver raises: the store's trouble, never a report's fault.
STORE_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error)


class Receipt(Aggregate):
    """That a report was accepted: its type, its content digest, the project it was about and
    the person a delegate sent it for (None: a system sent it itself)."""

    write_once: ClassVar[bool] = True  # never changed after it is recorded (AggregateCache)

    class Recorded(Aggregate.Created):
        class_version = 2
        event_id: str
        type: str
        digest: str
        project_code: str | None
        operator: str | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            """v1 receipts were written before delegation: nobody sent them for a person."""
            state["operator"] = None

    @staticmethod
    def create_id(event_id: str, **_: Any) -> UUID:
        return ids.receipt_id(event_id)

    @event(Recorded)
    def __init__(
        self,
        event_id: str,
        type: str,
        digest: str,
        project_code: str | None,
        operator: str | None,
    ):
        self.event_id = event_id
        self.type = type
        self.digest = digest
        self.project_code = project_code
        self.operator = operator


class Batch:
    """The aggregates one batch touches, loaded once and saved together."""

    def __init__(self, app: ServiceApplication, cache: AggregateCache | None = None) -> None:
        self.app = app
        self.cache = cache
        self.touched: dict[UUID, Aggregate] = {}
        self.absent: set[UUID] = set()  # known not to exist (until added in this batch)
        # Since the savepoint: each aggregate reached, with its stored version and how many
        # pending events it had when first reached (what `roll_back` restores).
        self._reached: dict[UUID, tuple[int, int]] = {}

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """Load many aggregates in one query; those not stored are remembered as absent. Those
        in the cache are taken from it and brought up to date with what was stored since."""
        wanted = {i for i in aggregate_ids if i not in self.touched and i not in self.absent}
        held = self.cache.take(wanted) if self.cache is not None else {}
        after = {i: held[i].version if i in held else 0 for i in wanted}
        self.touched.update(held)
        loaded = select_events_after(self.app.recorder, after).items()
        for n, (aggregate_id, stored) in enumerate(loaded, 1):
            if n % PAUSE_EVERY == 0:
                let_others_run()
            aggregate = held.get(aggregate_id)
            for stored_event in stored:
                aggregate = self.app.mapper.to_domain_event(stored_event).mutate(aggregate)
            if aggregate is not None:  # it is: loaded aggregates have events
                self.touched[aggregate_id] = aggregate
        self.absent |= wanted - self.touched.keys()

    def get(self, aggregate_id: UUID) -> Any | None:
        if aggregate_id not in self.touched:
            if aggregate_id in self.absent:
                return None
            try:
                self.touched[aggregate_id] = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                self.absent.add(aggregate_id)
                return None
        self._reach(aggregate_id)
        return self.touched[aggregate_id]

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self._reach(aggregate.id)
            self.touched[aggregate.id] = aggregate

    def savepoint(self) -> None:
        """From here, remember what is reached, so `roll_back` can undo it."""
        self._reached = {}

    def roll_back(self) -> None:
        """Undo every change since the savepoint: each aggregate reached since is rebuilt from
        its stored events and the pending events it had then (an event's `apply` that raised
        may have changed it half-way, so its own object is never trusted again); one created
        since is dropped."""
        reached, self._reached = self._reached, {}
        stored = select_events_of(self.app.recorder, [i for i, (v, _) in reached.items() if v])
        for aggregate_id, (version, pending) in reached.items():
            kept = self.touched[aggregate_id].pending_events[:pending]
            aggregate: Aggregate | None = None
            for stored_event in stored.get(aggregate_id, []):
                if stored_event.originator_version <= version:
                    aggregate = self.app.mapper.to_domain_event(stored_event).mutate(aggregate)
            for pending_event in kept:
                aggregate = pending_event.mutate(aggregate)
            if aggregate is None:
                del self.touched[aggregate_id]
            else:
                aggregate.pending_events.extend(kept)
                self.touched[aggregate_id] = aggregate

    def _reach(self, aggregate_id: UUID) -> None:
        if aggregate_id not in self._reached:
            held = self.touched.get(aggregate_id)
            pending = len(held.pending_events) if held is not None else 0
            version = held.version - pending if held is not None else 0
            self._reached[aggregate_id] = (version, pending)

    def receipt(self, event_id: str | UUID) -> Receipt | None:
        return self.get(ids.receipt_id(event_id))

    def changed(self) -> list[Aggregate]:
        """The aggregates with events to save."""
        return [a for a in self.touched.values() if a.pending_events]

    def saved(self) -> None:
        """After the batch's save committed: its aggregates go back into the cache."""
        if self.cache is not None:
            self.cache.keep(self.touched.values())


def record_followed(
    app: ServiceApplication,
    reached: Callable[[], int],
    tracking: Tracking,
    change: Callable[[Batch], None],
    cache: AggregateCache | None = None,
) -> None:
    """Apply an upstream's events (`change`, on a batch) and save the result with the
    upstream's position in one transaction (services/kernel/bus/consumer.py): retried when a
    report or another replica changed the same aggregates first; `reached()` is the stored
    position, checked again before each retry (another replica may have got there)."""
    for attempt in range(SAVE_ATTEMPTS):
        if attempt and reached() >= tracking.notification_id:
            return
        batch = Batch(app, cache)
        change(batch)
        try:
            app.record_tracked(tracking, *batch.changed())
        except IntegrityError:
            continue  # read them again
        batch.saved()
        return
    raise RuntimeError(f"{app.name}: could not follow after {SAVE_ATTEMPTS} tries")


def likely_touched(report: Report) -> Iterable[UUID]:
    """The aggregates a report will probably read, guessed from its payload's keys so a batch
    loads them in one query (a wrong guess costs nothing but a row not found)."""
    payload: Mapping[str, Any] = report.payload  # any report type's
    yield ids.receipt_id(report.event_id)
    if "milestone_event_id" in payload:
        yield ids.receipt_id(payload["milestone_event_id"])
    if code := payload.get("project_code"):
        yield ids.project_id(code)
        yield ids.milestones_id(code)
    if leader := payload.get("leader_id"):
        yield ids.leader_id(leader)
        yield ids.named_id("trips", leader)
    if unit := payload.get("unit"):
        yield ids.named_id("unit", unit)


def envelope(report: Report) -> dict[str, Any]:
    """What every domain event caused by a report records of it."""
    return {
        "event_id": str(report.event_id),
        "source": report.source,
        "occurred_on": report.occurred_on,
    }


class StoreUnavailable(Exception):
    """The batch could not be saved now; nothing of it is lost, and a resend is safe. The
    gateway answers it as UNAVAILABLE, which tells a sender to retry."""


# apply(report, batch, context): check the report against the domain's rules and change
# aggregates in `batch`; raise RuleBroken before changing anything when a rule is broken (anything
# else it raises, but a store's error, rejects the report as internal_error, its changes undone).
# `context` carries what a caller gave for the run (empty from the services: tracking reads
# registry's state from its own view, services/tracking/registry_view.py).
Apply = Callable[[Report, Batch, Mapping[str, Any]], None]
# also_touched(reports, batch): aggregates the reports will read that only what was preloaded
# names (tracking: the milestones of the project a checked report was about, named by its
# receipt), loaded in a second query.
AlsoTouched = Callable[[Sequence[Report], Batch], Iterable[UUID]]


def nothing_more(reports: Sequence[Report], batch: Batch) -> Iterable[UUID]:
    return ()


class ReportIntake:
    """A service's intake of the report types it owns: applies each run of reports with
    `apply`, saves it in one transaction (retried when another replica saved first or the
    store went away), and answers per report."""

    def __init__(
        self, app: ServiceApplication, apply: Apply, also_touched: AlsoTouched = nothing_more
    ) -> None:
        self.app = app
        self.apply = apply
        self.also_touched = also_touched
        self.aggregates = AggregateCache()
        self._ingesting = threading.Lock()
        # The last notification id this process saved: what a consumer must have applied to
        # see these reports' effects (read-your-writes across services, ARCHITECTURE).
        self.position = 0

    def ingest(
        self, reports: Sequence[Report], context: Mapping[str, Any] | None = None
    ) -> list[dict]:
        """Apply a run of reports in order and save all changes in one transaction."""
        context = context or {}
        with self._ingesting:  # batches of one process never race each other
            trouble = "conflicting saves"
            for attempt in range(SAVE_ATTEMPTS):
                try:
                    return self._ingest_once(reports, context)
                except IntegrityError:
                    # Another replica changed one of these aggregates first: start again from
                    # what is stored now (its receipts turn our resends into duplicates).
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))
                except STORE_DOWN as error:
                    # The database went away (a restart, a failover). If the commit made it
                    # before the connection broke, the receipts answer "duplicate" next time.
                    trouble = f"the store is unreachable ({error})"
                    time.sleep(0.5 * 2**attempt)
        raise StoreUnavailable(f"{self.app.name}: {SAVE_ATTEMPTS} tries failed: {trouble}")

    def validate(
        self, reports: Sequence[Report], context: Mapping[str, Any] | None = None
    ) -> list[dict]:
        """What `ingest` would answer for the run now, storing nothing (Ingest.Validate): the
        reports are applied to aggregates loaded afresh (never the cache), then dropped; a
        refusal a report would cause is not recorded either."""
        return self._judge(reports, context or {}, Batch(self.app))

    def _ingest_once(self, reports: Sequence[Report], context: Mapping[str, Any]) -> list[dict]:
        batch = Batch(self.app, self.aggregates)
        outcomes = self._judge(reports, context, batch)
        recordings = self.app.save(*batch.changed())
        batch.saved()
        if recordings:
            self.position = max(self.position, recordings[-1].notification.id)
        return outcomes

    def _judge(
        self, reports: Sequence[Report], context: Mapping[str, Any], batch: Batch
    ) -> list[dict]:
        """Apply the run to `batch` in order, answering per report; nothing saved here."""
        failed: dict[int, dict] = {}  # by position: the reports that failed while loading
        batch.preload(self._each(reports, failed, likely_touched))
        batch.preload(self._each(reports, failed, lambda r: self.also_touched([r], batch)))
        outcomes = []
        for n, report in enumerate(reports):
            if n % PAUSE_EVERY == PAUSE_EVERY - 1:
                let_others_run()
            outcomes.append(failed.get(n) or self._apply_guarded(report, batch, context))
        return outcomes

    def _each(
        self,
        reports: Sequence[Report],
        failed: dict[int, dict],
        touched: Callable[[Report], Iterable[UUID]],
    ) -> list[UUID]:
        """What `touched` names for each report not failed yet; a report it fails on fails."""
        found: list[UUID] = []
        for n, report in enumerate(reports):
            if n not in failed:
                try:
                    found += touched(report)
                except STORE_ERRORS:
                    raise
                except Exception:  # the report's own content broke it: that report fails
                    failed[n] = self._failed(report)
        return found

    def _apply_guarded(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> dict:
        """`_apply_one`, with anything unexpected rejecting the report and undoing its changes
        (a store's failure goes on to `ingest`: the whole batch is tried again)."""
        batch.savepoint()
        try:
            return self._apply_one(report, batch, context)
        except STORE_ERRORS:
            raise
        except Exception:
            batch.roll_back()
            return self._failed(report)

    def _failed(self, report: Report) -> dict:
        """Answer for a report that raised something unexpected (called in its `except`)."""
        log.exception(
            "%s: report %s raised unexpectedly; rejected as internal_error",
            self.app.name,
            report.event_id,
            extra={"event_id": str(report.event_id), "source": report.source, "type": report.type},
        )
        return outcome(report, REJECTED, [internal_error(report.event_id)])

    def _apply_one(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> dict:
        digest = report.digest()
        receipt = batch.receipt(report.event_id)
        if receipt is not None:
            if receipt.digest == digest:
                return outcome(report, DUPLICATE)
            return outcome(report, CONFLICT, [reused(report)])
        try:
            self.apply(report, batch, context)
        except RuleBroken as error:
            return outcome(report, REJECTED, [broken(error)])
        batch.add(
            Receipt(
                event_id=str(report.event_id),
                type=report.type,
                digest=digest,
                project_code=report.project_code,
                operator=report.operator,
            )
        )
        return outcome(report, ACCEPTED)

    def position_after(self, before: int) -> int:
        """The log position at which what was applied since `before` (this process's
        `position` then) is visible: the position now, or, when nothing was saved meanwhile
        (duplicates, refusals), the store's head (another replica may have saved it)."""
        if self.position > before:
            return self.position
        return max(self.position, self.app.recorder.max_notification_id() or 0)

    def with_operators(self, history: Sequence[dict]) -> list[dict]:
        """History entries (wire events), each with the operator its report's receipt names:
        None for a report a system sent itself, or an event no report of this service caused."""
        batch = Batch(self.app)
        batch.preload(ids.receipt_id(e["event_id"]) for e in history if e.get("event_id"))

        def operator(event_id: str | None) -> str | None:
            return getattr(batch.receipt(event_id), "operator", None) if event_id else None

        return [{**e, "operator": operator(e.get("event_id"))} for e in history]
