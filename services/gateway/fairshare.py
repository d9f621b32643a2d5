"""Fair share (README "Limits"): one sender flooding the gateway does not starve the others.

Every call with a credential takes from that credential's share; a `delegate` credential (the
console) has one share per person it acts for, so one clerk's import does not stall the other
clerks. A share holds token buckets (calls per second; reports per second, a Publish taking one
token per report; Verify and RebuildRanking, which read whole stores, a slower bucket of their
own), a cap on the calls it has in flight, and its Audit calls (Verify, RebuildRanking,
ReadLog, ReadLeaves) run one at a time. A call that would overdraw any of them is refused with
`Throttled` (RESOURCE_EXHAUSTED, and how many seconds to wait before retrying): refused, not
queued, so a greedy sender's calls never wait in the gateway for their turn.

A refusal is answered after its retry-after, at most MAX_HOLD seconds (`hold`): a sender
resending at once, retry-after or not, then sends a few calls a second instead of the
thousands that would keep the gateway busy refusing them. Waiting refusals hold worker
threads, so at most `holds` wait at a time; beyond that a refusal is answered at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.gateway.caller import Caller
from services.gateway.errors import Throttled

PUBLISH = "/zhaoshang.v1.Ingest/Publish"
HEAVY = frozenset({"/zhaoshang.v1.Audit/Verify", "/zhaoshang.v1.Audit/RebuildRanking"})
ONE_AT_A_TIME = HEAVY | {"/zhaoshang.v1.Audit/ReadLog", "/zhaoshang.v1.Audit/ReadLeaves"}
BUSY_RETRY_AFTER = 1.0  # seconds: a share at its cap of calls in flight, or already auditing
MAX_HOLD = 1.0  # seconds a refusal waits before it is answered, at most
SHARES_KEPT = 1000  # beyond this many shares, idle ones (every bucket refilled) are dropped


@dataclass(frozen=True)
class Limits:
    """Each share's limits (Config.from_env reads them from GATEWAY_* variables)."""

    calls_per_s: float = 100.0
    calls_burst: int = 200
    reports_per_s: float = 100.0
    reports_burst: int = 1000  # at least a full batch (Config checks it against max_batch)
    heavy_per_s: float = 0.1  # Verify and RebuildRanking together: one every 10 s
    heavy_burst: int = 10
    concurrent_calls: int = 4


class TokenBucket:
    """`rate` tokens a second, up to `capacity`; full to begin with."""

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = float(capacity), now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = max(self.stamp, now)

    def wait(self, tokens: int, now: float) -> float:
        """Seconds until `tokens` can be taken; 0 when they can be now."""
        self._refill(now)
        return max(0.0, (min(tokens, self.capacity) - self.tokens) / self.rate)

    def take(self, tokens: int, now: float) -> None:
        self._refill(now)
        self.tokens -= min(tokens, self.capacity)

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


def share_key(caller: Caller) -> str:
    """The credential; for a delegate, the credential and the person it acts for."""
    return caller.credential_id + (f"/{caller.operator}" if caller.operator else "")


def retry_after(seconds: float) -> float:
    """Rounded up to a tenth of a second, and at least that."""
    return max(0.1, math.ceil(seconds * 10) / 10)


class Share:
    """One credential's (or one delegated person's) buckets and calls in progress."""

    def __init__(self, caller: Caller, limits: Limits, now: float) -> None:
        self.key, self.limits = share_key(caller), limits
        self.credential, self.person = caller.credential_id, caller.operator
        self.calls = TokenBucket(limits.calls_per_s, limits.calls_burst, now)
        self.reports = TokenBucket(limits.reports_per_s, limits.reports_burst, now)
        self.heavy = TokenBucket(limits.heavy_per_s, limits.heavy_burst, now)
        self.in_flight = 0
        self.auditing = False

    def admit(self, method: str, reports: int, now: float) -> None:
        """Take what the call needs, or raise Throttled for the longest wait."""
        needs = [(self.calls, 1, calls_throttled)]
        if reports:
            needs.append((self.reports, reports, reports_throttled))
        if method in HEAVY:
            needs.append((self.heavy, 1, heavy_throttled))
        waits = [(bucket.wait(n, now), n, refusal) for bucket, n, refusal in needs]
        wait, n, refusal = max(waits, key=lambda w: w[0])
        if wait > 0:
            raise refusal(self, n, retry_after(wait))
        if self.in_flight >= self.limits.concurrent_calls:
            raise too_many_in_flight(self)
        if method in ONE_AT_A_TIME and self.auditing:
            raise auditing_already(self)
        for bucket, n, _ in needs:
            bucket.take(n, now)
        self.in_flight += 1
        self.auditing = self.auditing or method in ONE_AT_A_TIME

    def release(self, method: str) -> None:
        self.in_flight -= 1
        if method in ONE_AT_A_TIME:
            self.auditing = False

    def idle(self, now: float) -> bool:
        buckets = (self.calls, self.reports, self.heavy)
        return self.in_flight == 0 and all(bucket.full(now) for bucket in buckets)


class FairShare:
    """Every caller's share, under one lock (each admission is a few arithmetic steps)."""

    def __init__(
        self,
        limits: Limits,
        holds: int = 16,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits, self.clock, self.sleep = limits, clock, sleep
        self._shares: dict[str, Share] = {}
        self._lock = threading.Lock()
        self._holding = threading.BoundedSemaphore(holds)

    def admit(self, caller: Caller, method: str, reports: int = 0) -> Callable[[], None]:
        """Admit one call of `caller` to `method` carrying `reports` reports; answers the
        function that ends it (call it once the call is answered). Raises Throttled."""
        key = share_key(caller)
        with self._lock:
            now = self.clock()
            share = self._shares.get(key) or self._new_share(caller, now)
            share.admit(method, reports, now)

        def release() -> None:
            with self._lock:
                share.release(method)

        return release

    def hold(self, refused: Throttled) -> None:
        """Wait before answering `refused`, if a waiting place is free."""
        if self._holding.acquire(blocking=False):
            try:
                self.sleep(min(refused.retry_after, MAX_HOLD))
            finally:
                self._holding.release()

    def _new_share(self, caller: Caller, now: float) -> Share:
        if len(self._shares) >= SHARES_KEPT:
            self._shares = {k: s for k, s in self._shares.items() if not s.idle(now)}
        share = Share(caller, self.limits, now)
        self._shares[share.key] = share
        return share


# --- the refusals, each naming the share, the limit and the rule --------------------------------


def who(share: Share) -> tuple[str, str]:
    credential, person = share.credential, share.person
    if person:
        return f"凭据 {credential}（代 {person}）", f"credential {credential} (for {person})"
    return f"凭据 {credential}", f"credential {credential}"


def calls_throttled(share: Share, n: int, after: float) -> Throttled:
    zh, en = who(share)
    rate, burst = share.limits.calls_per_s, share.limits.calls_burst
    return Throttled(
        "credential",
        share.key,
        "calls_per_second",
        f"{zh} 调用过于频繁：每秒最多 {rate:g} 次（可连续 {burst} 次），请 {after:g} 秒后重试"
        "（规则 calls_per_second）",
        f"{en} calls too often: at most {rate:g} calls a second (bursts of {burst}); retry "
        f"after {after:g} s (rule calls_per_second)",
        after,
    )


def reports_throttled(share: Share, n: int, after: float) -> Throttled:
    zh, en = who(share)
    rate, burst = share.limits.reports_per_s, share.limits.reports_burst
    return Throttled(
        "events",
        n,
        "reports_per_second",
        f"{zh} 报送过快：本次 {n} 条报告，每秒最多 {rate:g} 条（可连续 {burst} 条），请 "
        f"{after:g} 秒后重试（规则 reports_per_second）",
        f"{en} reports too fast: {n} reports in this call, at most {rate:g} reports a second "
        f"(bursts of {burst}); retry after {after:g} s (rule reports_per_second)",
        after,
    )


def heavy_throttled(share: Share, n: int, after: float) -> Throttled:
    zh, en = who(share)
    every, burst = 1 / share.limits.heavy_per_s, share.limits.heavy_burst
    return Throttled(
        "credential",
        share.key,
        "verify_rebuild_rate",
        f"{zh} 调用 Verify、RebuildRanking 过于频繁：二者读取全部存储，每 {every:g} 秒一次"
        f"（可连续 {burst} 次），请 {after:g} 秒后重试（规则 verify_rebuild_rate）",
        f"{en} calls Verify and RebuildRanking too often: each reads whole stores, once every "
        f"{every:g} s (bursts of {burst}); retry after {after:g} s (rule verify_rebuild_rate)",
        after,
    )


def too_many_in_flight(share: Share) -> Throttled:
    zh, en = who(share)
    cap = share.limits.concurrent_calls
    return Throttled(
        "credential",
        share.key,
        "concurrent_calls",
        f"{zh} 已有 {cap} 个调用正在进行（上限 {cap}）：请待其完成，{BUSY_RETRY_AFTER:g} 秒后"
        "重试（规则 concurrent_calls）",
        f"{en} has {cap} calls in progress, the most it may (rule concurrent_calls); retry "
        f"after {BUSY_RETRY_AFTER:g} s, once one is answered",
        BUSY_RETRY_AFTER,
    )


def auditing_already(share: Share) -> Throttled:
    zh, en = who(share)
    return Throttled(
        "credential",
        share.key,
        "audit_one_at_a_time",
        f"{zh} 的另一个审计调用（Verify、RebuildRanking 或 ReadLog）尚未完成：审计调用每次只能"
        f"进行一个，请 {BUSY_RETRY_AFTER:g} 秒后重试（规则 audit_one_at_a_time）",
        f"{en} has another Audit call (Verify, RebuildRanking or ReadLog) in progress: one at a "
        f"time (rule audit_one_at_a_time); retry after {BUSY_RETRY_AFTER:g} s",
        BUSY_RETRY_AFTER,
    )
