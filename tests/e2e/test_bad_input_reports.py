"""Every kind of bad input, sent through the public API as a sending system would send it: each
is answered with the field, the value and the rule (Chinese and English), the good reports of
the same batch are still accepted, and nothing malformed is stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    credit_code,
    proposal,
    publish,
    report,
    running_system,
    stored_text,
    the_error,
    unique,
)

WUHAN, HONGSHAN = "pref:420100", "420111"
TOMORROW_PLUS_TWO = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=3)).isoformat()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("bad-input")) as running:
        yield running


def bad_reports(signed: str, unsigned: str) -> list[tuple[dict, str, str, str]]:
    """(report, field, value as answered, rule) for each kind of bad input."""
    wrong_check = credit_code()[:-1] + ("0" if credit_code()[-1] != "0" else "1")
    cases = [
        (proposal(unique("R"), WUHAN, "420199"), "payload.region", "420199", "not_hubei_region"),
        (proposal(unique("R"), WUHAN, "110101"), "payload.region", "110101", "not_hubei_region"),
        (proposal(unique("R"), WUHAN, "4201"), "payload.region", "4201", "region_code_format"),
        (
            proposal(unique("N"), WUHAN, HONGSHAN, total="-5"),
            "payload.total_investment",
            "-5",
            "must_be_positive",
        ),
        (
            proposal(unique("Z"), WUHAN, HONGSHAN, total="0"),
            "payload.total_investment",
            "0",
            "must_be_positive",
        ),
        (
            proposal(unique("D"), WUHAN, HONGSHAN, total="二十亿"),
            "payload.total_investment",
            "二十亿",
            "not_a_decimal",
        ),
        (
            proposal(unique("F"), WUHAN, HONGSHAN, total=12.5),
            "payload.total_investment",
            "12.5",
            "decimal_string_required",
        ),
        (
            report(
                "project.company_registered",
                WUHAN,
                project_code=signed,
                credit_code=wrong_check,
                company_name="某科技有限公司",
            ),
            "payload.credit_code",
            wrong_check,
            "credit_code_check_digit",
        ),
        (
            report("project.tracking_started", WUHAN, TOMORROW_PLUS_TWO, project_code=signed),
            "occurred_on",
            TOMORROW_PLUS_TWO,
            "occurred_in_future",
        ),
        (
            report("project.capital_arrived", WUHAN, project_code="NO-SUCH-PROJECT", amount="1"),
            "payload.project_code",
            "NO-SUCH-PROJECT",
            "unknown_project",
        ),
        (
            report("project.production_started", WUHAN, project_code=signed),
            "type",
            "project.production_started",
            "production_before_construction",
        ),
        (
            report(
                "project.construction_started", WUHAN, project_code=unsigned, kind="construction"
            ),
            "type",
            "project.construction_started",
            "before_signing",
        ),
        (
            report("project.celebrated", WUHAN, project_code=signed),
            "type",
            "project.celebrated",
            "unknown_event_type",
        ),
        (
            {**report("project.tracking_started", WUHAN, project_code=signed), "schema_version": 2},
            "schema_version",
            "2",
            "unsupported_schema_version",
        ),
    ]
    return cases


def test_each_bad_report_is_named_and_the_good_ones_of_its_batch_are_still_accepted(system):
    signed, unsigned = unique("OK"), unique("OK")
    accepted(
        system,
        WUHAN,
        proposal(signed, WUHAN, HONGSHAN, total="8"),
        report("project.signed", WUHAN, project_code=signed, contract_investment="8"),
    )
    cases = bad_reports(signed, unsigned)
    good = [
        proposal(unsigned, WUHAN, HONGSHAN),
        report(
            "project.assigned",
            WUHAN,
            project_code=signed,
            leader="洪山区区长",
            task_force="项目专班",
            plan="《推进方案》",
        ),
        report(
            "project.company_registered",
            WUHAN,
            project_code=signed,
            credit_code=credit_code(),
            company_name="某科技有限公司",
        ),
    ]
    batch = [
        good[0],
        *(case[0] for case in cases[:7]),
        good[1],
        *(c[0] for c in cases[7:]),
        good[2],
    ]

    outcomes = {o["event_id"]: o for o in publish(system, WUHAN, *batch)}

    assert [outcomes[r["event_id"]]["status"] for r in good] == ["accepted"] * 3
    for sent, field, value, rule in cases:
        error = the_error(outcomes[sent["event_id"]])
        assert (error["field"], error["value"], error["rule"]) == (field, value, rule), sent
    for sent, field, value, _ in cases[:9]:  # the contract's words name field and value
        error = outcomes[sent["event_id"]]["errors"][0]
        assert field.split(".")[-1] in error["message_zh"] and value in error["message_zh"]
        assert field.split(".")[-1] in error["message_en"] and value in error["message_en"]

    stored = stored_text(system)
    assert all(r["event_id"] in stored for r in good)
    assert not [case for case in cases if case[0]["event_id"] in stored]


def test_bad_reports_over_amqp_are_answered_the_same_way(system):
    users = system.rabbit_users([WUHAN])
    code = unique("MQ")
    good = proposal(code, WUHAN, HONGSHAN)
    money_as_float = proposal(unique("F"), WUHAN, HONGSHAN, total=20.5)
    unknown = report("project.production_started", WUHAN, project_code=unique("GONE"))

    outcomes = users.publish(WUHAN, [money_as_float, good, unknown])

    assert [o["status"] for o in outcomes] == ["rejected", "accepted", "rejected"]
    assert the_error(outcomes[0])["rule"] == "decimal_string_required"
    assert the_error(outcomes[2])["rule"] == "unknown_project"
    stored = stored_text(system)
    assert good["event_id"] in stored and money_as_float["event_id"] not in stored


def test_the_same_event_id_with_other_content_is_a_conflict_and_changes_nothing(system):
    code = unique("DUP")
    first = proposal(code, WUHAN, HONGSHAN, total="25")
    accepted(system, WUHAN, first)
    same, other = publish(
        system, WUHAN, first, {**first, "payload": {**first["payload"], "total_investment": "26"}}
    )
    assert same["status"] == "duplicate" and same["errors"] == []
    assert other["status"] == "conflict"
    error = the_error(other)
    assert (error["field"], error["value"], error["rule"]) == (
        "event_id",
        first["event_id"],
        "event_id_reused",
    )
    with system.client() as office:
        assert office.get_project(code)["total_investment"] == "25"


def test_an_oversized_batch_is_refused_whole_naming_the_limit(system):
    code = unique("BIG")
    events = [report("project.tracking_started", WUHAN, project_code=code) for _ in range(1001)]

    with system.client(WUHAN) as client, pytest.raises(grpc.RpcError) as refused:
        client.publish(events)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = refused.value.details()
    assert all(part in details for part in ("events", "1001", "max_batch", "一批最多 1000 条"))

    [answer] = system.rabbit_users([WUHAN]).publish(WUHAN, events)
    error = the_error(answer)
    assert (error["field"], error["value"], error["rule"]) == ("events", "1001", "max_batch")
    assert events[0]["event_id"] not in stored_text(system)


def test_a_missing_or_wrong_api_key_is_refused_and_nothing_is_stored(system):
    sent = proposal(unique("KEY"), WUHAN, HONGSHAN)
    with system.supervisor.client() as anonymous, pytest.raises(grpc.RpcError) as missing:
        anonymous.publish([sent])
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "x-api-key" in missing.value.details() and "api_key_missing" in missing.value.details()

    wrong_key = "zsk_" + uuid.uuid4().hex
    with system.supervisor.client(wrong_key) as stranger:
        with pytest.raises(grpc.RpcError) as wrong:
            stranger.publish([sent])
        with pytest.raises(grpc.RpcError) as reading:
            stranger.list_projects()
    details = wrong.value.details()
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert all(
        part in details for part in ("x-api-key", wrong_key[:8], "api_key_unknown", "不是有效")
    )
    assert wrong_key not in details  # a key is never repeated whole
    assert reading.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert sent["event_id"] not in stored_text(system)
