"""Entrypoints more than one service has, written once: following an upstream's log, and
answering for one's own log (consumers' gap pulls and the auditors' verification).

A service class lists them like any other entrypoint (`on_tracking = entrypoints.follow(
"registry", "tracking")`) or inherits `entrypoints.LogEntrypoints`; nameko finds entrypoints on
base classes too. Service modules import this module, not its classes: `nameko run <module>`
takes every class in the module's namespace that has entrypoints for a service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.kernel.contract.report import Report
from services.kernel.ingest import isolation
from services.kernel.process.nameko_support import catch_up, consume, pull_from, upstream_queue
from services.kernel.process.prompt import rpc
from services.kernel.store.audit import verify_log
from services.kernel.store.heads import NotFound, keeper


def follow(service: str, upstream: str) -> Callable[[Any, dict], None]:
    """The consumer of `upstream`'s messages on `service`'s queue; gaps are pulled from the
    upstream's `read_wire` through the service's RpcProxy attribute named after it."""

    @consume(upstream_queue(service, upstream), requeue_on_error=True)
    def on_message(self: Any, body: dict) -> None:
        self.app.follower.receive(body, pull_from(getattr(self, upstream)))

    on_message.__name__ = f"on_{upstream}"
    return on_message


def catch_up_with(service: Any, *upstreams: str) -> None:
    """Pull from each upstream what the service's follower has not seen yet."""
    for upstream in upstreams:
        catch_up(service.app.follower, upstream, pull_from(getattr(service, upstream)))


Judge = Callable[[Sequence[Report], Mapping[str, Any] | None], list[dict]]


class IntakeEntrypoints:
    """The RPCs of a service that takes reports from the gateway: `ingest` stores them,
    `validate` answers as `ingest` would and stores nothing (Ingest.Validate). Each report is
    typed again on its own (services/kernel/ingest/isolation.py); `judged` gives a service the
    place to judge a run its own way, `caught_up` to catch up with its upstreams first.

    Read-your-writes across services: each outcome of `ingest` says the service's log
    `position` at which it is visible, and `after` names, per upstream, the position a
    service must have applied before judging (the gateway passes what an earlier part of the
    batch answered: docs/ARCHITECTURE.md "The report path")."""

    app: Any  # the service's Application, with its ReportIntake as `reports`

    @rpc
    def ingest(self, reports: list[dict], after: dict[str, int] | None = None) -> list[dict]:
        self.caught_up(after or {})
        before = self.app.reports.position
        outcomes = isolation.each_typed(reports, lambda run: self.judged(run, self.app.ingest))
        position = self.app.reports.position_after(before)
        return [{**outcome, "position": position} for outcome in outcomes]

    @rpc
    def validate(self, reports: list[dict]) -> list[dict]:
        validate = self.app.reports.validate
        return isolation.each_typed(reports, lambda run: self.judged(run, validate))

    def judged(self, run: list[Report], judge: Judge) -> list[dict]:
        return judge(run, None)

    def caught_up(self, after: Mapping[str, int]) -> None:
        """Apply the upstreams' events up to `after` (upstream -> position) before judging."""


class TreeEntrypoints:
    """The RPCs of every store's Merkle tree (services/kernel/store/heads.py): its signed
    heads and proofs (Audit.GetTreeHead, GetInclusionProof, GetConsistencyProof), the leaf
    hashes of a range (Audit.ReadLog). What is not in the tree answers `{"missing": why}`."""

    name: str
    app: Any

    @rpc
    def tree_head(self, fresh: bool = False) -> dict:
        return keeper(self.app, self.name).head(fresh)

    @rpc
    def inclusion_proof(self, notification_id: int = 0, event_id: str = "", size: int = 0) -> dict:
        try:
            return keeper(self.app, self.name).inclusion(notification_id, event_id, size)
        except NotFound as missing:
            return {"missing": str(missing)}

    @rpc
    def consistency_proof(self, old_size: int, new_size: int = 0) -> dict:
        try:
            return keeper(self.app, self.name).consistency(old_size, new_size)
        except NotFound as missing:
            return {"missing": str(missing)}

    @rpc
    def leaf_hashes(self, first: int, last: int) -> dict[str, str]:
        """notification id (as text: a JSON key) -> leaf hash."""
        hashes = keeper(self.app, self.name).leaf_hashes(first, last)
        return {str(n): h for n, h in hashes.items()}

    @rpc
    def read_leaves(self, start_index: int, after: int, limit: int) -> dict:
        return keeper(self.app, self.name).read_leaves(start_index, after, limit)


class LogEntrypoints(TreeEntrypoints):
    """The RPCs of a service whose store others read: pages of its log as wire messages, and
    the verification of its hash chains and checkpoints (Audit.Verify)."""

    @rpc
    def read_wire(self, start: int, stop: int | None = None, limit: int = 1000) -> dict | None:
        return self.app.read_wire(start, stop, limit)

    @rpc
    def verify(self) -> dict:
        """Every stored event's hash chain and checkpoint (Audit.Verify)."""
        return verify_log(self.app, self.name)


class ReportLogEntrypoints(LogEntrypoints):
    """…and of a service that takes reports: a project's history and the refusals it recorded."""

    @rpc
    def history(self, project_code: str) -> list[dict]:
        return self.app.history(project_code)

    @rpc
    def refusals(self, who: str | None = None) -> list[dict]:
        return self.app.refusals(who)
