"""Who may read what (services/gateway/access.py), in memory: each check as a table of caller ×
object × allowed, and a guarded method answering PERMISSION_DENIED with its rule and counting
the refusal."""

from __future__ import annotations

import json
import logging

import grpc
import pytest

from services.gateway import access
from services.gateway.caller import AUDIT, DELEGATE, READ, REPORT, REVIEW, Caller
from services.gateway.errors import PermissionDenied
from services.gateway.servicers import AuditServicer, OfficeServicer, QueryServicer
from services.kernel.process.metrics import Metrics
from zhaoshang.api import zhaoshang_pb2 as pb


def caller(unit: str, *roles: str) -> Caller:
    return Caller(f"key-{unit}", unit, frozenset(roles or (REPORT, READ)))


OFFICE = caller("office", REPORT, READ, REVIEW)
AUDITOR = caller("auditor:dev", AUDIT, READ)
WUHAN = caller("pref:420100")
YICHANG = caller("pref:420500")
HONGSHAN = caller("county:420111")  # a county of 武汉市
JINGXIN = caller("dept:jingxin")  # leads 新一代信息技术 (附件2), not 汽车
CALLERS = {c.unit: c for c in (OFFICE, AUDITOR, WUHAN, YICHANG, HONGSHAN, JINGXIN)}


def allowed(check, *args) -> bool:
    try:
        check(*args)
    except PermissionDenied:
        return False
    return True


def table(check, rows: dict[str, tuple]) -> None:
    """`rows`: object name -> (arguments, units allowed); every other caller is refused."""
    for name, (arguments, units) in rows.items():
        for unit, who in CALLERS.items():
            expected = unit in units
            assert allowed(check, who, *arguments) == expected, (name, unit, expected)


EVERYTHING = {"office", "auditor:dev"}


def project(code: str, region: str, industry: str) -> dict:
    return {"project_code": code, "region": region, "industry": industry}


def test_a_project_is_read_within_its_region_or_by_the_department_of_its_industry():
    table(
        access.check_project_in_scope,
        {
            "a car plant in 洪山区": (
                [project("WH-1", "420111", "automotive")],
                EVERYTHING | {"pref:420100", "county:420111"},
            ),
            "a chip plant in 宜昌市": (
                [project("YC-1", "420500", "next_generation_it")],
                EVERYTHING | {"pref:420500", "dept:jingxin"},
            ),
        },
    )


def test_a_units_view_is_read_by_that_unit_its_prefecture_and_the_province():
    table(
        access.check_unit_in_scope,
        {
            "武汉市": (["420100"], EVERYTHING | {"pref:420100"}),
            "洪山区": (["420111"], EVERYTHING | {"pref:420100", "county:420111"}),
            "省经信厅": (["dept:jingxin"], EVERYTHING | {"dept:jingxin"}),
            "every unit": ([""], EVERYTHING),
        },
    )


def test_a_list_of_the_province_is_the_office_and_auditors_a_departments_its_own():
    table(
        access.check_list_in_scope,
        {
            "province": (["", ""], EVERYTHING),
            "province by code": (["420000", ""], EVERYTHING),
            "宜昌市": (["420500", ""], EVERYTHING | {"pref:420500"}),
            "省经信厅's industries": (["", "jingxin"], EVERYTHING | {"dept:jingxin"}),
            # registry lists a department's industries province-wide, whatever the region
            "省经信厅's, named with 武汉市": (["420100", "jingxin"], EVERYTHING | {"dept:jingxin"}),
        },
    )


def test_refusals_are_read_of_a_sender_in_scope():
    table(
        access.check_source_in_scope,
        {
            "洪山区's": (["county:420111"], EVERYTHING | {"pref:420100", "county:420111"}),
            "宜昌市's": (["pref:420500"], EVERYTHING | {"pref:420500"}),
            "the office's": (["office"], EVERYTHING),
        },
    )


def test_published_rankings_and_scorecards_are_circulated_unpublished_ones_are_not():
    everyone = set(CALLERS)
    table(
        access.check_ranking_readable,
        {"published": (["2020Q3", True], everyone), "provisional": (["2020Q3", False], EVERYTHING)},
    )
    table(
        access.check_scorecard_readable,
        {
            "武汉市's published": (["2020Q3", "420100", True], everyone),
            "武汉市's provisional": (["2020Q3", "420100", False], EVERYTHING | {"pref:420100"}),
        },
    )


def test_a_call_needs_one_of_its_roles():
    reporter, console = caller("pref:420100", REPORT), caller("pref:420100", DELEGATE)
    assert allowed(access.require, AUDITOR, "Audit.Verify", *access.READERS)
    assert not allowed(access.require, reporter, "Query.GetProject", *access.READERS)
    assert not allowed(access.require, console, "Query.GetProject", *access.READERS)
    assert [u for u, c in CALLERS.items() if allowed(access.require, c, "m", REVIEW)] == ["office"]


def test_a_refusal_names_field_value_and_rule_in_both_languages():
    with pytest.raises(PermissionDenied) as refused:
        access.check_unit_in_scope(WUHAN, "420500")
    error = refused.value
    assert (error.field, error.value, error.rule) == ("unit", "420500", "outside_read_scope")
    assert "pref:420100" in error.message_zh and "420500" in error.message_zh
    assert "pref:420100" in error.message_en and "420500" in error.message_en
    zh, en = str(error).split(" / ")
    assert zh.startswith("unit [outside_read_scope]: ") and en.startswith(zh[: zh.index(":")])


# --- guarded methods --------------------------------------------------------------------------


class Aborted(Exception):
    pass


class FakeContext:
    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code, self.details = code, details
        raise Aborted


class FakeAuth:
    def __init__(self, caller: Caller | None) -> None:
        self.who = caller

    def caller(self, context) -> Caller | None:
        return self.who


class FakeServices:
    """registry, tracking and scoring with one project, in 宜昌市, and what they were asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def call(self, service: str, method: str, **kwargs):
        self.asked.append(f"{service}.{method}")
        answers = {
            "get_project": {**project("YC-1", "420500", "automotive"), "stage": "promotion"},
            "history": [],
            "list_projects": {"projects": []},
            "verify": {
                "service": service,
                "ok": True,
                **dict.fromkeys(("events", "aggregates", "checkpoints", "covered_to", "last"), 0),
                "findings": [],
            },
        }
        return answers[method]


def served(servicer_class, who: Caller | None, method: str, request):
    services, metrics = FakeServices(), Metrics("gateway")
    servicer = servicer_class(services, FakeAuth(who), metrics)
    context = FakeContext()
    try:
        answer = getattr(servicer, method)(request, context)
    except Aborted:
        answer = None
    return answer, context, metrics, services


def refusals(metrics: Metrics, method: str, rule: str) -> float | None:
    labels = {"service": "gateway", "method": method, "rule": rule}
    return metrics.registry.get_sample_value("zhaoshang_calls_refused_total", labels)


def test_another_prefectures_project_is_refused_naming_the_rule_and_counted():
    request = pb.GetProjectRequest(project_code="YC-1")
    answer, context, metrics, _ = served(QueryServicer, WUHAN, "GetProject", request)
    assert answer is None and context.code == grpc.StatusCode.PERMISSION_DENIED
    assert context.details.count("project_code [outside_read_scope]: ") == 2  # zh / en
    assert refusals(metrics, "Query.GetProject", "outside_read_scope") == 1

    answer, *_ = served(QueryServicer, YICHANG, "GetProject", request)
    assert json.loads(answer.state_json)["region"] == "420500"


def test_the_history_of_a_project_out_of_scope_is_refused_before_it_is_read():
    request = pb.GetHistoryRequest(project_code="YC-1")
    _, context, _, services = served(AuditServicer, WUHAN, "GetHistory", request)
    assert context.code == grpc.StatusCode.PERMISSION_DENIED
    assert services.asked == ["registry.get_project"]


def test_an_auditor_verifies_the_stores_and_a_prefecture_may_not():
    _, context, metrics, services = served(AuditServicer, WUHAN, "Verify", pb.VerifyRequest())
    assert context.code == grpc.StatusCode.PERMISSION_DENIED and services.asked == []
    assert refusals(metrics, "Audit.Verify", "office_or_auditor_only") == 1
    verification, *_ = served(AuditServicer, AUDITOR, "Verify", pb.VerifyRequest())
    assert verification.ok and len(verification.stores) == 3


def test_an_auditor_may_not_publish_a_ranking():
    request = pb.PublishRankingRequest(quarter="2020Q3")
    _, context, metrics, services = served(OfficeServicer, AUDITOR, "PublishRanking", request)
    assert context.code == grpc.StatusCode.PERMISSION_DENIED and services.asked == []
    assert "needs the role review" in context.details
    assert refusals(metrics, "Office.PublishRanking", "role_required") == 1


def test_without_authentication_the_caller_is_the_office():
    request = pb.ListProjectsRequest()
    listing, _, _, services = served(QueryServicer, None, "ListProjects", request)
    assert services.asked == ["registry.list_projects"] and listing.content_json


def test_every_call_is_recorded_with_credential_unit_person_and_outcome(caplog):
    clerk = Caller("key-clerk", "pref:420500", frozenset({"read"}), operator="zhang.san")
    request = pb.GetProjectRequest(project_code="YC-1")
    with caplog.at_level(logging.INFO, logger="zhaoshang.access"):
        served(QueryServicer, clerk, "GetProject", request)
        served(QueryServicer, WUHAN, "GetProject", request)

    answered, refused = [r for r in caplog.records if r.name == "zhaoshang.access"]
    assert (answered.method, answered.credential, answered.unit, answered.operator) == (
        "Query.GetProject",
        "key-clerk",
        "pref:420500",
        "zhang.san",
    )
    assert answered.status == "answered" and "for zhang.san" in answered.getMessage()
    assert (refused.unit, refused.status) == (WUHAN.unit, "outside_read_scope")
