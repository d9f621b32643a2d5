"""The hostile catalogue (issue 14), through the running system over gRPC and AMQP: each report
written as an attacker writes it is answered `rejected` with its rule (README "Limits"), the good
report beside it is accepted, nothing of it is stored (its event id stays free for the report
as it should have been), and the gateway's memory stays below the manifests' limit.

The hostile payloads are JSON text written by hand (a JSON library writes no 4,301-digit
integer, no key twice, no NaN): over gRPC as an event's `payload_json`, over AMQP spliced into
the message body. One system for the module; each transport sends its catalogue in one batch.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.kernel.contract.calendar import quarter_bounds, quarter_of, shanghai_today
from services.kernel.contract.vocabulary import MAX_ERRORS
from services.scoring.application import DEFAULT_POLICY_FILE
from tests.e2e.conftest import RunningSystem
from tests.e2e.credentials import RawCalls, metadata
from tests.e2e.lifecycle import (
    accepted,
    proposal,
    publish,
    report,
    running_system,
    stored_text,
    unique,
)
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.client import event_to_proto, outcome_from_proto

WUHAN, HONGSHAN, OFFICE = "pref:420100", "420111", "office"
TODAY = shanghai_today()
TOMORROW = TODAY + timedelta(days=1)
NEXT_QUARTER = quarter_bounds(quarter_of(TODAY))[1] + timedelta(days=1)
GATEWAY_MANIFEST = Path(__file__).parents[2] / "deploy" / "k8s" / "base" / "gateway.yaml"
ANSWER_BYTES = 32 * 1024  # an answer stays small however large the report (was 76 MB)
ODD_KEY: dict[str, Any] = {"\udc00": "x"}  # a payload key no encoding can write
_RAW = "@raw@"  # stands for a field's hand-written JSON text until it is spliced in


@dataclass(frozen=True)
class Hostile:
    """A report as it should have been written (`good`, resent at the end) and its hostile
    twin: the same envelope but for `envelope`, with `payload` as JSON text."""

    kind: str
    good: dict
    payload: str
    rules: frozenset[str]
    envelope: dict = field(default_factory=dict)
    # JSON the contract will not read (jsontext.py): over AMQP the whole message is refused
    whole_message: bool = False

    @property
    def event_id(self) -> str:
        return self.good["event_id"]

    def _envelope(self) -> dict:
        good = {key: value for key, value in self.good.items() if key != "payload"}
        return {**good, **self.envelope}

    def proto(self) -> pb.Event:
        return pb.Event(**self._envelope(), payload_json=self.payload)

    def json_text(self) -> str:
        return json.dumps(self._envelope())[:-1] + f', "payload": {self.payload}}}'


def hostile(
    kind: str,
    good: dict,
    rules: set[str],
    *,
    envelope: dict | None = None,
    raw: dict[str, str] | None = None,
    whole_message: bool = False,
    **values: Any,
) -> Hostile:
    """`good` with payload `values` changed, and the fields in `raw` written as that JSON text.
    Odd characters go as \\u escapes (ASCII JSON), as any JSON writer may send them."""
    raw = raw or {}
    text = json.dumps({**good["payload"], **values, **{k: _RAW + k for k in raw}})
    for key, written in raw.items():
        text = text.replace(json.dumps(_RAW + key), written)
    return Hostile(kind, good, text, frozenset(rules), envelope or {}, whole_message)


def nested(depth: int) -> str:
    """A JSON object `depth` levels deep, as text (no JSON library recursion needed)."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def a_project() -> dict:
    return proposal(unique("HX"), WUHAN, HONGSHAN)


def trips(leader: str) -> Iterator[dict]:
    """Good trips of `leader`, each two days earlier than the last (trips may not overlap)."""
    for k in itertools.count():
        returned = TODAY - timedelta(days=2 * k + 1)
        yield report(
            "leader.trip_completed",
            WUHAN,
            TODAY.isoformat(),
            leader_id=leader,
            destination="广东省深圳市",
            departed_on=(returned - timedelta(days=1)).isoformat(),
            returned_on=returned.isoformat(),
            companies_met=["华为技术有限公司"],
        )


def a_policy(version: str) -> dict:
    """The default policy under a version of its own, as the office adopts it."""
    policy = {**yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8")), "version": version}
    return report(
        "policy.adopted",
        OFFICE,
        TODAY.isoformat(),
        version=version,
        effective_from=quarter_of(TODAY),
        policy=policy,
    )


def dated(day: date | str) -> dict[str, Any]:
    day = day if isinstance(day, str) else day.isoformat()
    return {"departed_on": day, "returned_on": day}


def catalogue(leader: str, version: str) -> list[Hostile]:
    trip = trips(leader).__next__
    investor = a_project()["payload"]["investor"]
    future_quarter = {"trip_in_future_quarter"} | (
        {"occurred_in_future"} if NEXT_QUARTER > TOMORROW else set()
    )
    return [
        hostile("lone surrogate", a_project(), {"lone_surrogate"}, name="招商\ud800项目"),
        hostile(
            "lone surrogate, nested",
            a_project(),
            {"lone_surrogate"},
            investor={**investor, "name": "华为\udfff"},
        ),
        hostile("lone surrogate as a key", a_project(), {"lone_surrogate"}, **ODD_KEY),
        hostile("NUL", a_project(), {"control_character"}, name="招商\x00项目"),
        hostile("C1 control", a_project(), {"control_character"}, name="招商\x85项目"),
        hostile("U+202E", a_project(), {"bidi_control"}, name="招商\u202e目项"),
        hostile("zero-width only", a_project(), {"zero_width_only"}, name="\u200b\u200c\u200d"),
        hostile("noncharacter", a_project(), {"noncharacter"}, name="招商\ufdd0"),
        hostile("noncharacter, plane 16", a_project(), {"noncharacter"}, name="招商\U0010ffff"),
        hostile("201 characters", a_project(), {"too_long"}, name="招" * 201),
        hostile("million-digit amount", a_project(), {"too_large"}, total_investment="9" * 10**6),
        hostile("50,000-digit amount", a_project(), {"too_long"}, total_investment="9" * 50_000),
        hostile(
            "over-precise decimal",
            a_project(),
            {"too_many_decimal_places"},
            total_investment="9999.9999999999999999999999999999",
        ),
        hostile("exponent", a_project(), {"not_a_decimal"}, total_investment="1E+999999"),
        hostile(
            "4,301-digit integer",
            a_project(),
            {"number_too_large"},
            raw={"total_investment": "9" * 4301},
            whole_message=True,
        ),
        hostile(
            "NaN", a_project(), {"not_json"}, raw={"total_investment": "NaN"}, whole_message=True
        ),
        hostile(
            "1e999",
            a_project(),
            {"number_too_large"},
            raw={"total_investment": "1e999"},
            whole_message=True,
        ),
        hostile(
            "key twice",
            a_project(),
            {"duplicate_key"},
            raw={"name": '"甲项目", "name": "乙项目"'},
            whole_message=True,
        ),
        hostile("500,000 integers met", trip(), {"too_large"}, companies_met=[7] * 500_000),
        hostile(
            "51 companies met",
            trip(),
            {"too_many_items"},
            companies_met=[f"公司{i}" for i in range(51)],
        ),
        hostile(
            "50 bad companies met",
            trip(),
            {"control_character", "more_errors"},
            companies_met=["公司\x00"] * 50,
        ),
        hostile(
            "trip dated 0001-01-01",
            trip(),
            {"before_earliest_date"},
            envelope={"occurred_on": "0001-01-01"},
            **dated("0001-01-01"),
        ),
        hostile(
            "trip dated 9999-12-31",
            trip(),
            {"occurred_in_future", "trip_in_future_quarter"},
            envelope={"occurred_on": "9999-12-31"},
            **dated("9999-12-31"),
        ),
        hostile(
            "trip pre-reported into the next quarter",
            trip(),
            future_quarter,
            envelope={"occurred_on": NEXT_QUARTER.isoformat()},
            **dated(NEXT_QUARTER),
        ),
        hostile(
            "trip reported before its return",
            trip(),
            {"reported_before_return"},
            departed_on=TODAY.isoformat(),
            returned_on=TOMORROW.isoformat(),
        ),
        hostile(  # any source could send one: the bound comes before the office-only check
            "policy nested 900 deep",
            a_policy(version),
            {"too_deep"},
            envelope={"source": WUHAN},
            raw={"policy": nested(900)},
        ),
        hostile(  # past the parser's own recursion: its RecursionError is a rejection too
            "policy nested 20,000 deep",
            a_policy(f"{version}-2"),
            {"too_deep"},
            envelope={"source": WUHAN},
            raw={"policy": "[" * 20_000 + "]" * 20_000},
            whole_message=True,
        ),
    ]


TRANSPORTS = ("grpc", "amqp")
LEADERS = {transport: unique("hx-lead") for transport in TRANSPORTS}
CATALOGUE = {t: catalogue(LEADERS[t], f"hostile-{t}") for t in TRANSPORTS}
CASES = [(t, case) for t in TRANSPORTS for case in CATALOGUE[t]]


@dataclass
class Sent:
    """What each transport answered, and the good reports sent beside the hostile ones."""

    system: RunningSystem
    answers: dict[str, dict] = field(default_factory=dict)  # event id -> outcome
    whole: dict[str, list[dict]] = field(default_factory=dict)  # event id -> message's outcomes
    beside: dict[str, list[dict]] = field(default_factory=dict)  # transport -> good reports


def by_grpc(system: RunningSystem, cases: list[Hostile], good: dict) -> list[dict]:
    calls = RawCalls(system.target, system.supervisor.ca_file, system.supervisor.plaintext)
    try:
        request = pb.PublishRequest(
            events=[case.proto() for case in cases] + [event_to_proto(good)]
        )
        answer = calls.ingest.Publish(
            request, metadata=metadata(system.api_keys[WUHAN]), timeout=120
        )
    finally:
        calls.close()
    return [outcome_from_proto(o) for o in answer.outcomes]


def by_amqp(system: RunningSystem, cases: list[Hostile], good: dict) -> list[dict]:
    events = [case.json_text() for case in cases] + [json.dumps(good)]
    body = '{"events": [' + ", ".join(events) + "]}"
    return system.rabbit_users([WUHAN]).publish_body(WUHAN, body.encode())


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    with running_system(tmp_path_factory.mktemp("hostile")) as system:
        appointed = [
            report(
                "leader.appointed",
                WUHAN,
                leader_id=leader,
                name="李华",
                unit="420100",
                role="investment_lead",
            )
            for leader in LEADERS.values()
        ]
        accepted(system, WUHAN, *appointed)
        result = Sent(system)
        for transport, send in (("grpc", by_grpc), ("amqp", by_amqp)):
            cases = CATALOGUE[transport]
            singles = [c for c in cases if transport == "grpc" or not c.whole_message]
            result.beside[transport] = [a_project()]
            outcomes = send(system, singles, result.beside[transport][0])
            result.answers |= {o["event_id"]: o for o in outcomes}
            for case in (c for c in cases if c not in singles):
                beside = a_project()
                result.beside[transport].append(beside)
                result.whole[case.event_id] = by_amqp(system, [case], beside)
        yield result


def rules_of(outcome: dict) -> set[str]:
    return {error["rule"] for error in outcome["errors"]}


@pytest.mark.parametrize(("transport", "case"), CASES, ids=[f"{t}-{c.kind}" for t, c in CASES])
def test_a_hostile_report_is_rejected_with_its_rule(sent, transport, case):
    if transport == "amqp" and case.whole_message:
        # JSON the contract will not read refuses the whole message (README "Publishing
        # reports"): one rejection naming field `body` and the rule, the reports in it unread
        [answer] = sent.whole[case.event_id]
        assert answer["status"] == "rejected" and answer["errors"][0]["field"] == "body", answer
    else:
        answer = sent.answers[case.event_id]
        assert answer["status"] == "rejected", answer
    assert rules_of(answer) == case.rules, answer
    assert len(answer["errors"]) <= MAX_ERRORS + 1
    for error in answer["errors"]:
        assert error["field"] is not None and error["message_zh"] and error["message_en"], error
    assert len(json.dumps(answer)) < ANSWER_BYTES


def test_the_good_report_beside_the_hostile_ones_is_accepted(sent):
    for transport in TRANSPORTS:
        good = sent.beside[transport][0]
        assert sent.answers[good["event_id"]]["status"] == "accepted", transport


def test_nothing_of_a_hostile_report_is_stored_and_its_event_id_stays_free(sent):
    hostiles = [case for _, case in CASES]
    refused_whole = [good for t in TRANSPORTS for good in sent.beside[t][1:]]
    stored = stored_text(sent.system)
    assert [c.kind for c in hostiles if c.event_id in stored] == []
    assert [g for g in refused_whole if g["event_id"] in stored] == []
    with sent.system.client(OFFICE) as office:
        for code in (r["payload"].get("project_code") for r in [c.good for c in hostiles]):
            if code is not None:
                assert office.get_project(code) is None and office.history(code) == [], code

    # the receipt does not exist: the same event id with good content is accepted
    policies = [c.good for c in hostiles if c.good["source"] == OFFICE]
    accepted(sent.system, OFFICE, *policies)
    accepted(sent.system, WUHAN, *(c.good for c in hostiles if c.good not in policies))
    accepted(sent.system, WUHAN, *refused_whole)


def memory_limit() -> int:
    """The gateway container's memory limit in the manifests, in bytes."""
    [deployment] = [
        d for d in yaml.safe_load_all(GATEWAY_MANIFEST.read_text()) if d["kind"] == "Deployment"
    ]
    [container] = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "gateway"
    ]
    limit = container["resources"]["limits"]["memory"]
    units = {"Mi": 2**20, "Gi": 2**30}
    return int(limit[:-2]) * units[limit[-2:]]


def test_the_gateway_stays_below_its_memory_limit(sent):
    pid = sent.system.supervisor.processes["gateway"].pid
    status = Path(f"/proc/{pid}/status").read_text()
    kib = {
        line.split(":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }
    # now and at its peak, over both catalogues (VmHWM: the most it ever held)
    assert kib["VmRSS"] * 1024 < memory_limit() and kib["VmHWM"] * 1024 < memory_limit(), kib


def test_text_is_stored_and_hashed_in_nfc(sent):
    """The same name typed two ways (a letter and its accent apart, or composed) is one name."""
    decomposed = proposal(unique("NFC"), WUHAN, HONGSHAN, name="Cafe\u0301 项目")
    composed = {**decomposed, "payload": {**decomposed["payload"], "name": "Caf\u00e9 项目"}}
    accepted(sent.system, WUHAN, decomposed)
    [again] = publish(sent.system, WUHAN, composed)
    assert again["status"] == "duplicate", again
    with sent.system.client(OFFICE) as office:
        project = office.get_project(decomposed["payload"]["project_code"])
    assert project is not None and project["name"] == "Caf\u00e9 项目"
