"""The gateway's one error table: each kind answered with its gRPC status and both messages,
over gRPC as the call's details and over AMQP as a FieldError."""

from __future__ import annotations

import grpc
import pytest

from services.gateway.amqp_message import refused
from services.gateway.checks import checked_quarter, checked_unit
from services.gateway.errors import (
    BatchTooLarge,
    ServiceRefused,
    ServiceUnavailable,
    Unauthenticated,
    answering,
    status_of,
)
from services.kernel.contract.errors import Problem, RuleBroken


class Aborted(Exception):
    pass


class FakeContext:
    """Records what a handler aborted with, as grpcio's context does by raising."""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code, self.details = code, details
        raise Aborted


def answered(error: Exception) -> FakeContext:
    @answering
    def handler(self, request, context):
        raise error

    context = FakeContext()
    with pytest.raises(Aborted):
        handler(None, None, context)
    return context


def test_a_malformed_argument_is_an_invalid_argument_in_both_languages():
    with pytest.raises(Problem) as refusal:
        checked_quarter("2020Q5")

    context = answered(refusal.value)
    assert context.code == grpc.StatusCode.INVALID_ARGUMENT
    assert context.details == (
        "quarter 应形如 2020Q3，收到 '2020Q5' / quarter must look like 2020Q3, got '2020Q5'"
    )


def test_an_unknown_unit_names_its_field_and_rule_in_each_language():
    with pytest.raises(Problem) as refusal:
        checked_unit("110000")

    assert answered(refusal.value).details == (
        "unit [unknown_unit]: '110000' 不是湖北省行政区划代码、dept:<部门键> "
        "或 org:<附件4单位键> / "
        "unit [unknown_unit]: '110000' is neither a Hubei region code, dept:<department key> "
        "nor org:<key>"
    )
    assert refusal.value.to_dict()["message_en"].startswith("'110000' is neither")


def test_each_kind_has_its_status():
    assert answered(BatchTooLarge(3, 2)).code == grpc.StatusCode.INVALID_ARGUMENT
    assert answered(ServiceUnavailable("未运行", "not running")).code == grpc.StatusCode.UNAVAILABLE
    assert answered(ServiceRefused("拒绝", "refused")).code == grpc.StatusCode.FAILED_PRECONDITION
    missing = Unauthenticated("x-api-key", "", "api_key_missing", "缺少", "missing")
    assert answered(missing).code == grpc.StatusCode.UNAUTHENTICATED
    assert str(missing) == "x-api-key [api_key_missing]: 缺少 / missing"


def test_a_service_refusal_is_a_broken_rule_and_an_unknown_problem_is_no_callers_mistake():
    assert isinstance(ServiceRefused("拒绝", "refused"), RuleBroken)
    assert status_of(RuleBroken("f", "v", "r", "中", "en")) is None
    assert status_of(ValueError("a fault")) is None


def test_an_amqp_message_from_no_source_has_each_of_its_events_rejected():
    stranger = Unauthenticated("user_id", "guest", "amqp_user_not_a_source", "不是", "is not")
    outcomes = refused(stranger, [{"event_id": "e-1"}, {"event_id": "e-2"}])

    assert [o["event_id"] for o in outcomes] == ["e-1", "e-2"]
    assert outcomes[0]["errors"] == [stranger.to_dict()]
    assert refused(BatchTooLarge(3, 2), [])[0]["errors"][0]["value"] == "3"
