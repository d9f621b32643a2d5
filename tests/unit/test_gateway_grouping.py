"""Group commit in the gateway: callers arriving while a service's call is on its way are
forwarded together next, each answered with its own outcomes; while small calls come, a large
one goes in shares, so they wait behind one share of it at most."""

from __future__ import annotations

import threading
import time

import pytest

from services.gateway.grouping import GroupCommit


class SlowService:
    """Answers each report "accepted"; the first call is held until `release` is set, so
    callers pile up behind it as they do behind a busy service."""

    def __init__(self, fail_call: int | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.fail_call = fail_call

    def __call__(self, owner: str, reports: list[dict]) -> list[dict]:
        self.calls.append((owner, [r["id"] for r in reports]))
        if len(self.calls) == 1:
            self.first_arrived.set()
            assert self.release.wait(5)
        if len(self.calls) == self.fail_call:
            raise ConnectionError("the service went away")
        return [{"event_id": r["id"], "status": "accepted"} for r in reports]


def reports(*names: str) -> list[dict]:
    return [{"id": name} for name in names]


def call_in_thread(
    group: GroupCommit, owner: str, batch: list[dict], answers: dict
) -> threading.Thread:
    def run() -> None:
        try:
            answers[batch[0]["id"]] = group.forward(owner, batch)
        except Exception as error:
            answers[batch[0]["id"]] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_waiting(group: GroupCommit, owner: str, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(group._waiting[owner]) < count:
        assert time.monotonic() < deadline, "callers did not queue"
        time.sleep(0.001)


def busy(
    owner: str, service: SlowService | None = None, **options: int
) -> tuple[SlowService, GroupCommit, dict, threading.Thread]:
    """A group whose service has taken a first call ("a") from a thread and holds it until
    `service.release` is set: the service, the group, the answers by first id, that thread."""
    service = service or SlowService()
    group = GroupCommit(service, **options)
    answers: dict = {}
    first = call_in_thread(group, owner, reports("a"), answers)
    assert service.first_arrived.wait(5)
    return service, group, answers, first


def test_an_idle_service_gets_each_call_at_once_and_alone():
    service = SlowService()
    service.release.set()
    group = GroupCommit(service, in_flight=1)

    assert group.forward("registry", reports("a")) == [{"event_id": "a", "status": "accepted"}]
    assert group.forward("registry", reports("b", "c"))[1]["event_id"] == "c"
    assert service.calls == [("registry", ["a"]), ("registry", ["b", "c"])]


def test_callers_waiting_behind_a_busy_service_go_together_in_arrival_order():
    service, group, answers, first = busy("tracking", in_flight=1)
    waiting = []
    for batch in (reports("b"), reports("c", "d"), reports("e")):
        waiting.append(call_in_thread(group, "tracking", batch, answers))
        wait_for_waiting(group, "tracking", len(waiting))
    other = call_in_thread(group, "registry", reports("x"), answers)  # another service: free
    other.join(5)
    assert service.calls[1] == ("registry", ["x"])

    service.release.set()
    for thread in (first, *waiting):
        thread.join(5)

    assert service.calls[2] == ("tracking", ["b", "c", "d", "e"])
    assert [o["event_id"] for o in answers["c"]] == ["c", "d"]
    assert [o["event_id"] for o in answers["b"]] == ["b"]
    assert [o["event_id"] for o in answers["e"]] == ["e"]
    assert not any(group._waiting.values())


def test_a_group_never_exceeds_the_largest_call_a_service_takes():
    service, group, answers, first = busy("registry", max_reports=3, in_flight=1)
    waiting = []
    for batch in (reports("b", "c"), reports("d"), reports("e", "f")):
        waiting.append(call_in_thread(group, "registry", batch, answers))
        wait_for_waiting(group, "registry", len(waiting))
    service.release.set()
    for thread in (first, *waiting):
        thread.join(5)

    assert [ids for _, ids in service.calls] == [["a"], ["b", "c", "d"], ["e", "f"]]
    assert [o["event_id"] for o in answers["e"]] == ["e", "f"]


def test_a_failed_group_call_fails_each_of_its_callers_and_no_one_else():
    service, group, answers, first = busy("registry", SlowService(fail_call=2), in_flight=1)
    waiting = [call_in_thread(group, "registry", reports("b"), answers)]
    wait_for_waiting(group, "registry", 1)
    waiting.append(call_in_thread(group, "registry", reports("c"), answers))
    wait_for_waiting(group, "registry", 2)
    service.release.set()
    for thread in (first, *waiting):
        thread.join(5)

    assert answers["a"][0]["status"] == "accepted"
    assert isinstance(answers["b"], ConnectionError)
    assert isinstance(answers["c"], ConnectionError)
    # The next caller is served normally.
    assert group.forward("registry", reports("d"))[0]["event_id"] == "d"


@pytest.mark.parametrize("callers", [2, 16])
def test_many_concurrent_callers_each_get_exactly_their_own_outcomes(callers):
    service = SlowService()
    service.release.set()
    group = GroupCommit(service, max_reports=5)
    answers: dict = {}
    threads = [
        call_in_thread(group, "tracking", reports(f"{n}-0", f"{n}-1"), answers)
        for n in range(callers)
    ]
    for thread in threads:
        thread.join(5)

    for n in range(callers):
        assert [o["event_id"] for o in answers[f"{n}-0"]] == [f"{n}-0", f"{n}-1"]
    forwarded = sorted(i for _, ids in service.calls for i in ids)
    assert forwarded == sorted(f"{n}-{k}" for n in range(callers) for k in (0, 1))


def test_a_second_call_crosses_while_the_service_works_on_the_first():
    service, group, answers, first = busy("tracking", in_flight=2)

    assert group.forward("tracking", reports("b")) == [{"event_id": "b", "status": "accepted"}]
    assert "a" not in answers  # still held
    service.release.set()
    first.join(5)
    assert answers["a"] == [{"event_id": "a", "status": "accepted"}]


class GatedService:
    """Answers each report "accepted", each call once the test lets one more through."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = threading.Semaphore(0)

    def __call__(self, owner: str, reports: list[dict]) -> list[dict]:
        self.calls.append([r["id"] for r in reports])
        assert self.gate.acquire(timeout=5)
        return [{"event_id": r["id"], "status": "accepted"} for r in reports]


def sending(group: GroupCommit, batch: list[dict], sender: str, answers: dict):
    def run() -> None:
        answers[batch[0]["id"]] = group.forward("registry", batch, sender)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_calls(service: GatedService, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(service.calls) < count:
        assert time.monotonic() < deadline, "the service was not called"
        time.sleep(0.001)


def test_while_small_calls_come_a_large_one_goes_in_shares_and_holds_them_up_by_one():
    service, answers = GatedService(), {}
    group = GroupCommit(service, max_reports=100, share=2)
    threads = [sending(group, reports("y0"), "yichang", answers)]  # small: sharing begins
    wait_for_calls(service, 1)
    threads.append(sending(group, reports(*(f"f{n}" for n in range(6))), "wuhan", answers))
    wait_for_waiting(group, "registry", 1)
    threads.append(sending(group, reports("y1"), "yichang", answers))
    wait_for_waiting(group, "registry", 2)

    for _ in range(4):
        service.gate.release()
    for thread in threads:
        thread.join(5)

    assert service.calls == [["y0"], ["f0", "f1", "y1"], ["f2", "f3"], ["f4", "f5"]]
    assert [o["event_id"] for o in answers["f0"]] == [f"f{n}" for n in range(6)]


def test_without_small_calls_about_a_large_call_goes_whole():
    now = [0.0]
    service, answers = GatedService(), {}
    group = GroupCommit(service, max_reports=100, share=2, clock=lambda: now[0])
    service.gate.release()
    group.forward("registry", reports("y0"), "yichang")
    now[0] = 1.5  # a second and more later: no small call since

    service.gate.release()
    sending(group, reports(*(f"f{n}" for n in range(6))), "wuhan", answers).join(5)

    assert service.calls == [["y0"], [f"f{n}" for n in range(6)]]


def test_a_senders_calls_past_its_share_wait_for_the_next_group_in_their_order():
    service, answers = GatedService(), {}
    group = GroupCommit(service, max_reports=100, share=2)
    threads = [sending(group, reports("y0"), "yichang", answers)]
    wait_for_calls(service, 1)
    for batch, sender in [(("a0", "a1"), "wuhan"), (("b0",), "wuhan"), (("y1",), "yichang")]:
        threads.append(sending(group, reports(*batch), sender, answers))
        wait_for_waiting(group, "registry", len(threads) - 1)
    threads.append(sending(group, reports("c0"), "wuhan", answers))
    wait_for_waiting(group, "registry", 4)

    for _ in range(3):
        service.gate.release()
    for thread in threads:
        thread.join(5)

    assert service.calls == [["y0"], ["a0", "a1", "y1"], ["b0", "c0"]]
