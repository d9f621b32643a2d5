"""Group commit: concurrent calls forwarding reports to one service share one RPC.

A service applies its report calls one after another (services/kernel/ingest/reports.py), each
in its own transaction, and each call pays the bus's round trip, the service's look-ups
elsewhere (tracking asks registry for the projects' states) and a commit. When many systems send
single reports at once, most of that is paid again for every report. So, per owning service, one
call is on its way at a time (`in_flight`); calls arriving meanwhile wait and then go together
in the next one, as one run of reports in arrival order. Nothing waits when the service is idle,
and the busier it is, the more each call carries.

Reports of different callers in one run do not depend on each other's order: each caller's
own order is kept (its runs are forwarded one after another, planning.py), and reports are
checked against their own sources. A failure of the shared call is every waiting caller's:
each is answered the same error and may resend (what was stored is answered "duplicate").
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# forward(owner, reports) -> one outcome per report, in order
Forward = Callable[[str, list[dict]], list[dict]]


@dataclass
class _Call:
    reports: list[dict]
    done: threading.Event = field(default_factory=threading.Event)
    group: list[_Call] | None = None  # set on the call that forwards a group (its first)
    outcomes: list[dict] | None = None
    error: BaseException | None = None


class GroupCommit:
    """`in_flight` calls per service may be on their way at once. One measured best on the
    benchmarks (bench/ingest.py): with two, the second call crosses the bus and does its
    look-ups while the service works on the first, but groups are smaller."""

    def __init__(self, forward: Forward, max_reports: int = 1000, in_flight: int = 1) -> None:
        self._forward = forward
        self._max_reports = max_reports
        self._in_flight = in_flight
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[_Call]] = defaultdict(deque)
        self._active: dict[str, int] = defaultdict(int)
        # Invariant: callers wait only while `in_flight` calls of their service are active.

    def forward(self, owner: str, reports: Sequence[dict]) -> list[dict]:
        call = _Call(list(reports))
        with self._lock:
            if self._active[owner] < self._in_flight:
                self._active[owner] += 1
                call.group = [call]
            else:
                self._waiting[owner].append(call)
        if call.group is None:
            call.done.wait()  # answered, or handed a group to forward
        if call.group is not None:
            self._forward_group(owner, call.group)
        if call.error is not None:
            raise call.error
        assert call.outcomes is not None
        return call.outcomes

    def _forward_group(self, owner: str, group: list[_Call]) -> None:
        try:
            outcomes = self._forward(owner, [r for call in group for r in call.reports])
        except BaseException as error:  # every caller in the group gets it, then re-raised
            for call in group:
                call.error = error
        else:
            start = 0
            for call in group:
                call.outcomes = outcomes[start : start + len(call.reports)]
                start += len(call.reports)
        successor = None
        with self._lock:
            queue = self._waiting[owner]
            if queue:  # the slot passes to the next group, formed here in arrival order
                successor = queue.popleft()
                successor.group = [successor]
                size = len(successor.reports)
                while queue and size + len(queue[0].reports) <= self._max_reports:
                    size += len(queue[0].reports)
                    successor.group.append(queue.popleft())
            else:
                self._active[owner] -= 1
        if successor is not None:
            successor.done.set()
        for call in group[1:]:
            call.done.set()
