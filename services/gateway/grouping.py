"""Group commit: concurrent calls forwarding reports to one service share one RPC.

A service applies its report calls one after another (services/common/reports.py), each in its
own transaction, and each call pays the bus's round trip, the service's look-ups elsewhere
(tracking asks registry for the projects' states) and a commit. When many systems send single
reports at once, most of that is paid again for every report. So, per owning service, one
call is on its way at a time; calls arriving meanwhile wait and then go together in the next
one, as one run of reports in arrival order. Nothing waits when the service is idle, and the
busier it is, the more each call carries.

Reports of different callers in one run do not depend on each other's order: each caller's
own order is kept (its runs are forwarded one after another, planning.py), and reports are
checked against their own sources. A failure of the shared call is every waiting caller's:
each is answered the same error and may resend (what was stored is answered "duplicate").
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# forward(owner, reports) -> one outcome per report, in order
Forward = Callable[[str, list[dict]], list[dict]]


@dataclass
class _Call:
    reports: list[dict]
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # woken to forward the next group rather than with an answer
    outcomes: list[dict] | None = None
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, forward: Forward, max_reports: int = 1000) -> None:
        self._forward = forward
        self._max_reports = max_reports
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[_Call]] = {}
        # Invariant: an owner has a queue only while one of its calls is being forwarded.

    def forward(self, owner: str, reports: Sequence[dict]) -> list[dict]:
        call = _Call(list(reports))
        with self._lock:
            queue = self._waiting.get(owner)
            if queue is None:
                self._waiting[owner] = queue = deque()
                call.leads = True
            queue.append(call)
        if not call.leads:
            call.done.wait()
        if call.leads:  # first in line: forward it with whoever waits behind it
            self._forward_group(owner)
        if call.error is not None:
            raise call.error
        assert call.outcomes is not None
        return call.outcomes

    def _forward_group(self, owner: str) -> None:
        with self._lock:
            queue = self._waiting[owner]
            group = [queue.popleft()]
            size = len(group[0].reports)
            while queue and size + len(queue[0].reports) <= self._max_reports:
                size += len(queue[0].reports)
                group.append(queue.popleft())
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
        with self._lock:
            if queue:
                successor = queue[0]
                successor.leads = True
                successor.done.set()
            else:
                del self._waiting[owner]
        for call in group[1:]:
            call.done.set()
