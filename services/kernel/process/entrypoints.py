"""Entrypoints more than one service has, written once: following an upstream's log, and
answering for one's own log (consumers' gap pulls and the auditors' verification).

A service class lists them like any other entrypoint (`on_tracking = entrypoints.follow(
"registry", "tracking")`) or inherits `entrypoints.LogEntrypoints`; nameko finds entrypoints on
base classes too. Service modules import this module, not its classes: `nameko run <module>`
takes every class in the module's namespace that has entrypoints for a service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.rpc import rpc

from services.kernel.process.nameko_support import catch_up, consume, pull_from, upstream_queue
from services.kernel.store.audit import verify_log


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


class LogEntrypoints:
    """The RPCs of a service whose store others read: pages of its log as wire messages, and
    the verification of its hash chains and checkpoints (Audit.Verify)."""

    name: str
    app: Any

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
