"""Fair share on a fake clock: each credential's buckets refill at their rate, a delegate's are
per person, refusals say when to retry, and Audit calls run one at a time per caller."""

from __future__ import annotations

import pytest

from services.gateway.caller import AUDIT, READ, REPORT, Caller
from services.gateway.config import Config
from services.gateway.errors import GRPC_STATUS, Throttled
from services.gateway.fairshare import PUBLISH, FairShare, Limits, TokenBucket
from services.kernel.contract.errors import SettingInvalid

VERIFY, REBUILD = "/zhaoshang.v1.Audit/Verify", "/zhaoshang.v1.Audit/RebuildRanking"
READ_LOG, GET_RANKING = "/zhaoshang.v1.Audit/ReadLog", "/zhaoshang.v1.Query/GetRanking"
WUHAN = Caller("key-0000000000a1", "pref:420100", frozenset({REPORT, READ}))
YICHANG = Caller("key-0000000000b2", "pref:420500", frozenset({REPORT, READ}))
AUDITOR = Caller("key-0000000000c3", "auditor:provincial", frozenset({AUDIT, READ}))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_shares(clock: FakeClock, **limits) -> FairShare:
    return FairShare(Limits(**limits), clock=clock)


def clerk(user: str) -> Caller:
    """A person of Wuhan the console (a delegate credential) acts for."""
    return Caller("key-00000000c0de", "pref:420100", frozenset({REPORT, READ}), user)


def refusal(shares: FairShare, caller: Caller, method: str = GET_RANKING, reports: int = 0):
    with pytest.raises(Throttled) as refused:
        shares.admit(caller, method, reports)
    return refused.value


def admitted(shares: FairShare, caller: Caller, method: str = GET_RANKING, reports: int = 0):
    release = shares.admit(caller, method, reports)
    release()


def test_a_bucket_starts_full_and_refills_at_its_rate_up_to_its_capacity():
    bucket = TokenBucket(rate=2.0, capacity=4, now=0.0)
    assert bucket.wait(4, now=0.0) == 0
    bucket.take(4, now=0.0)

    assert bucket.wait(1, now=0.0) == 0.5
    assert bucket.wait(1, now=0.5) == 0
    assert bucket.wait(4, now=0.5) == 1.5
    assert bucket.full(now=100.0) and bucket.wait(5, now=100.0) == 0  # never above capacity


def test_a_credential_past_its_calls_burst_is_told_when_to_retry(clock):
    shares = make_shares(clock, calls_per_s=10, calls_burst=3)
    for _ in range(3):
        admitted(shares, WUHAN)

    refused = refusal(shares, WUHAN)

    assert (refused.field, refused.value, refused.rule) == (
        "credential",
        "key-0000000000a1",
        "calls_per_second",
    )
    assert refused.retry_after == 0.1
    assert "请 0.1 秒后重试" in str(refused) and "retry after 0.1 s" in str(refused)
    assert GRPC_STATUS[Throttled].name == "RESOURCE_EXHAUSTED"
    clock.advance(0.1)
    admitted(shares, WUHAN)


def test_one_credential_flooding_leaves_another_its_whole_share(clock):
    shares = make_shares(clock, calls_per_s=1, calls_burst=2)
    admitted(shares, WUHAN)
    admitted(shares, WUHAN)
    refusal(shares, WUHAN)

    admitted(shares, YICHANG)
    admitted(shares, YICHANG)


def test_a_publish_takes_one_report_token_per_report(clock):
    shares = make_shares(clock, reports_per_s=100, reports_burst=1000)
    admitted(shares, WUHAN, PUBLISH, reports=800)

    refused = refusal(shares, WUHAN, PUBLISH, reports=300)

    assert (refused.field, refused.value, refused.rule) == ("events", 300, "reports_per_second")
    assert refused.retry_after == 1.0  # 100 tokens short at 100 a second
    admitted(shares, WUHAN, PUBLISH, reports=200)
    admitted(shares, WUHAN)  # queries are not reports: a reporting system may still read


def test_a_batch_larger_than_the_burst_is_not_refused_forever(clock):
    shares = make_shares(clock, reports_per_s=10, reports_burst=100)
    admitted(shares, WUHAN, PUBLISH, reports=5000)  # the batch limit answers it, not the bucket
    assert refusal(shares, WUHAN, PUBLISH, reports=5000).retry_after == 10.0


def test_a_delegate_has_one_share_per_person_it_acts_for(clock):
    shares = make_shares(clock, reports_per_s=10, reports_burst=1000, concurrent_calls=1)
    release = shares.admit(clerk("zhang.san"), PUBLISH, 600)  # an import, still running

    refused = refusal(shares, clerk("zhang.san"), PUBLISH, 1)
    assert (refused.value, refused.rule) == ("key-00000000c0de/zhang.san", "concurrent_calls")
    assert "凭据 key-00000000c0de（代 zhang.san）" in refused.message_zh
    admitted(shares, clerk("li.si"), PUBLISH, 1000)  # another clerk of the same console
    release()
    assert refusal(shares, clerk("zhang.san"), PUBLISH, 600).rule == "reports_per_second"


def test_calls_in_flight_are_capped_per_credential_and_freed_when_answered(clock):
    shares = make_shares(clock, concurrent_calls=2)
    first, second = shares.admit(WUHAN, GET_RANKING), shares.admit(WUHAN, GET_RANKING)

    refused = refusal(shares, WUHAN)
    assert refused.rule == "concurrent_calls" and refused.retry_after == 1.0
    admitted(shares, YICHANG)
    first()
    admitted(shares, WUHAN)
    second()


def test_audit_calls_run_one_at_a_time_per_caller(clock):
    shares = make_shares(clock)
    verifying = shares.admit(AUDITOR, VERIFY)

    for method in (VERIFY, REBUILD, READ_LOG):
        assert refusal(shares, AUDITOR, method).rule == "audit_one_at_a_time"
    admitted(shares, AUDITOR, "/zhaoshang.v1.Audit/GetHistory")  # a read, not a store scan
    admitted(shares, clerk("auditing.too"), READ_LOG)  # another caller
    verifying()
    admitted(shares, AUDITOR, READ_LOG)


def test_verify_and_rebuild_are_not_callable_in_a_loop(clock):
    shares = make_shares(clock, heavy_per_s=0.1, heavy_burst=2)
    admitted(shares, AUDITOR, VERIFY)
    admitted(shares, AUDITOR, REBUILD)

    refused = refusal(shares, AUDITOR, VERIFY)

    assert refused.rule == "verify_rebuild_rate" and refused.retry_after == 10.0
    assert "每 10 秒一次" in refused.message_zh
    admitted(shares, AUDITOR, READ_LOG)  # paging a log is not a rebuild
    clock.advance(10)
    admitted(shares, AUDITOR, VERIFY)


def test_a_refused_call_takes_nothing(clock):
    shares = make_shares(clock, calls_per_s=1, calls_burst=5, reports_per_s=1, reports_burst=10)
    admitted(shares, WUHAN, PUBLISH, reports=8)  # one of five call tokens

    refusal(shares, WUHAN, PUBLISH, reports=5)  # three reports short: no call token taken

    for _ in range(4):
        admitted(shares, WUHAN)
    assert refusal(shares, WUHAN).rule == "calls_per_second"


def test_a_refusal_waits_out_its_retry_after_up_to_a_second_while_a_place_is_free(clock):
    slept: list[float] = []
    limits = Limits(calls_per_s=1, calls_burst=1)
    shares = FairShare(limits, holds=1, clock=clock, sleep=slept.append)
    admitted(shares, WUHAN)
    shares.hold(refusal(shares, WUHAN))
    shares.hold(refusal(shares, WUHAN, "/zhaoshang.v1.Ingest/Publish", reports=1))
    assert slept == [1.0, 1.0]

    def sleep_while_another_is_refused(seconds: float) -> None:
        slept.append(seconds)
        shares.hold(refusal(shares, WUHAN))  # the one place is taken: answered at once

    shares.sleep = sleep_while_another_is_refused
    shares.hold(Throttled("credential", "k", "calls_per_second", "…", "…", retry_after=0.3))
    assert slept == [1.0, 1.0, 0.3]


def test_the_limits_are_read_from_the_environment_and_must_be_positive():
    config = Config.from_env({"GATEWAY_CALLS_PER_S": "2.5", "GATEWAY_CONCURRENT_CALLS": "3"})
    assert (config.limits.calls_per_s, config.limits.concurrent_calls) == (2.5, 3)
    assert Config.from_env({}).limits == Limits()

    for name, text in [("GATEWAY_CALLS_BURST", "0"), ("GATEWAY_REPORTS_PER_S", "nan")]:
        with pytest.raises(SettingInvalid) as refused:
            Config.from_env({name: text})
        assert (refused.value.field, refused.value.rule) == (name, "positive_number")
    with pytest.raises(SettingInvalid) as refused:
        Config.from_env({"GATEWAY_REPORTS_BURST": "999"})  # a batch holds 1000
    assert refused.value.rule == "burst_holds_a_batch"


def test_amqp_lanes_are_named_sources_or_all_and_anything_else_stops_the_gateway():
    assert Config.from_env({"GATEWAY_AMQP_LANES": "pref:420100, office"}).amqp_lanes == (
        "pref:420100",
        "office",
    )
    everyone = Config.from_env({"GATEWAY_AMQP_LANES": "all"}).amqp_lanes
    assert {"office", "pref:420500", "county:420102"} <= set(everyone)
    assert Config.from_env({}).amqp_lanes == ()
    with pytest.raises(SettingInvalid) as refused:
        Config.from_env({"GATEWAY_AMQP_LANES": "pref:420100,pref:999999"})
    assert (refused.value.field, refused.value.value) == ("GATEWAY_AMQP_LANES", "pref:999999")
