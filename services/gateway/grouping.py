"""Group commit: concurrent calls forwarding reports to one service share one RPC.

A service applies its report calls one after another (services/kernel/ingest/reports.py), each
in its own transaction, and each call pays the bus's round trip, loading what the run touches
and a commit. When many systems send
single reports at once, most of that is paid again for every report. So, per owning service, one
call is on its way at a time (`in_flight`); calls arriving meanwhile wait and then go together
in the next one, as one run of reports in arrival order. Nothing waits when the service is idle,
and the busier it is, the more each call carries.

Fair share: a bulk import must not hold small calls behind it. While small calls (at most
`share` reports) keep coming, at least one in the last LIGHT_SECONDS, a call is forwarded in
chunks of at most `share` reports, one after another, and a group takes at most `share` reports
of each sender (its `sender`: the credential, or the person a delegate acts for): a small call
arriving behind an import waits for at most one chunk of it in flight and goes in the next
group beside at most one more. With only bulk imports about, calls and groups are as large as
a service takes (`max_reports`), which is what imports go fastest with (bench/ingest.py).

Reports of different callers in one run do not depend on each other's order: each caller's
own order is kept (its runs and their chunks are forwarded one after another, planning.py), and
reports are checked against their own sources. A failure of the shared call is every waiting
caller's: each is answered the same error and may resend (what was stored is answered
"duplicate").
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

# forward(owner, reports[, after=]) -> one outcome per report, in order; `after`, when any
# call of the group names one: per upstream, the highest position its callers need applied
# (read-your-writes, services/gateway/ingest.py)
Forward = Callable[..., list[dict]]
LIGHT_SECONDS = 1.0  # how long after a small call groups stay cut into shares
# A sender's share of a group while small calls are about: what such a call may wait behind.
# Measured on bench/fairness.py: with 25, a flood raises another sender's p99 about 2×; imports
# beside small calls then go about a third slower than in groups of 1000 (bench/ingest.py).
SHARE = 25


@dataclass
class _Call:
    reports: list[dict]
    sender: Hashable  # whose share of a group the reports take
    after: Mapping[str, int] = field(default_factory=dict)  # upstream positions it needs
    done: threading.Event = field(default_factory=threading.Event)
    group: list[_Call] | None = None  # set on the call that forwards a group (its first)
    outcomes: list[dict] | None = None
    error: BaseException | None = None


class GroupCommit:
    """`in_flight` calls per service may be on their way at once. One measured best on the
    benchmarks (bench/ingest.py): with two, the second call crosses the bus while the
    service works on the first, but groups are smaller."""

    def __init__(
        self,
        forward: Forward,
        max_reports: int = 1000,
        in_flight: int = 1,
        share: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._forward = forward
        self._max_reports = max_reports
        self._in_flight = in_flight
        self._share = min(share or max_reports, max_reports)
        self._clock = clock
        self._light_until = float("-inf")  # small calls about until then: groups cut into shares
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[_Call]] = defaultdict(deque)
        self._active: dict[str, int] = defaultdict(int)
        # Invariant: callers wait only while `in_flight` calls of their service are active.

    def forward(
        self,
        owner: str,
        reports: Sequence[dict],
        sender: Hashable | None = None,
        after: Mapping[str, int] | None = None,
    ) -> list[dict]:
        """One outcome per report, in order. `sender`: None, each call a sender of its own.
        `after`: the upstream positions the service must have applied first (the group's call
        names the highest of its members')."""
        if len(reports) <= self._share:
            self._light_until = self._clock() + LIGHT_SECONDS
        token = object() if sender is None else sender
        outcomes: list[dict] = []
        start = 0
        while start < len(reports):
            size = self._share if self._sharing() else self._max_reports
            chunk = list(reports[start : start + size])
            outcomes += self._forward_chunk(owner, _Call(chunk, token, dict(after or {})))
            start += len(chunk)
        return outcomes

    def _sharing(self) -> bool:
        return self._clock() < self._light_until

    def _forward_chunk(self, owner: str, call: _Call) -> list[dict]:
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
            after: dict[str, int] = {}
            for call in group:
                for upstream, position in call.after.items():
                    after[upstream] = max(after.get(upstream, 0), position)
            reports = [r for call in group for r in call.reports]
            outcomes = self._forward(owner, reports, **({"after": after} if after else {}))
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
                successor.group = self._next_group(successor, queue)
            else:
                self._active[owner] -= 1
        if successor is not None:
            successor.done.set()
        for call in group[1:]:
            call.done.set()

    def _next_group(self, first: _Call, queue: deque[_Call]) -> list[_Call]:
        """`first` and the calls after it, in arrival order, up to `max_reports` in all and,
        while sharing, `share` of any one sender (whose later calls then wait, in order); the
        calls left keep their places."""
        group, size = [first], len(first.reports)
        share = self._share if self._sharing() else self._max_reports
        taken: Counter[Hashable] = Counter({first.sender: size})
        held: set[Hashable] = set()
        for call in list(queue):
            if size + len(call.reports) > self._max_reports:
                break
            if call.sender in held or taken[call.sender] + len(call.reports) > share:
                held.add(call.sender)
                continue
            queue.remove(call)
            group.append(call)
            size += len(call.reports)
            taken[call.sender] += len(call.reports)
        return group
