"""Who may read what (README "Read scopes"), through the running system: for every Query, Audit
and Office call, 武汉市's system reads its own and is refused 宜昌市's (PERMISSION_DENIED, the
rule named in both languages); the auditor reads everything but may not publish, verify or
publish a ranking. One system for the module, with a little of both 市州's quarter loaded once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    codes,
    credit_code,
    proposal,
    publish,
    report,
    running_system,
    the_error,
    unique,
)
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.client import GatewayClient

WUHAN, YICHANG, AUDITOR = "pref:420100", "pref:420500", "auditor:dev"
HONGSHAN, JINGXIN = "county:420111", "dept:jingxin"
PUBLISHED, OPEN = "2020Q2", "2020Q3"  # the office publishes the first; the second is provisional


@dataclass(frozen=True)
class Unit:
    """What one 市州 reported: a project, a leader, and a report it was refused."""

    source: str
    region: str
    project: str
    leader: str
    refused: str


def load_prefecture(
    system: RunningSystem, source: str, county: str, industry: str, elsewhere: str
) -> Unit:
    """A project in `county`, its registration, a leader, a themed event, an 附件3 task, an
    附件4 matter's progress, and a project in `elsewhere` it may not propose."""
    region = source.removeprefix("pref:")
    code, leader = unique(region), unique(f"{region}-lead")
    accepted(
        system,
        source,
        proposal(code, source, county, industry=industry),
        report(
            "project.company_registered",
            source,
            project_code=code,
            credit_code=credit_code(f"91{county}MA4K00001"),
            company_name="某科技有限公司",
        ),
        report(
            "leader.appointed",
            source,
            leader_id=leader,
            name="李华",
            unit=region,
            role="investment_lead",
        ),
        report(
            "promotion.event_held",
            source,
            unit=region,
            target_region="yangtze_delta",
            title="（上海）招商推介会",
        ),
        report("task.completed", source, task_id="set_up_leading_group", unit=region),
        report(
            "matter.progress_reported",
            source,
            matter_id="guangdong-06",
            unit=region,
            progress="已对接",
            status="in_progress",
        ),
    )
    [refused] = publish(system, source, proposal(unique("X"), source, elsewhere))
    assert the_error(refused)["rule"] == "outside_jurisdiction"
    return Unit(source, region, code, leader, refused["event_id"])


@dataclass(frozen=True)
class World:
    system: RunningSystem
    wuhan: Unit
    yichang: Unit

    def client(self, source: str) -> GatewayClient:
        return self.system.client(source)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_system(tmp_path_factory.mktemp("access")) as system:
        # 省发改委 leads 汽车, 省经信厅 新一代信息技术 (附件2)
        wuhan = load_prefecture(system, WUHAN, "420111", "automotive", "420506")
        yichang = load_prefecture(system, YICHANG, "420506", "next_generation_it", "420111")
        with system.client() as office:
            office.publish_ranking(PUBLISHED)
        yield World(system, wuhan, yichang)


def refused_rule(call: Callable[[], Any]) -> str:
    """The rule a refused call names, in both languages."""
    with pytest.raises(grpc.RpcError) as denied:
        call()
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED, denied.value.details()
    details = denied.value.details()
    found = re.match(r"(\w+ \[(\w+)\]: )", details)
    assert found is not None and details.count(found.group(1)) == 2, details  # zh / en
    return found.group(2)


def project_codes(listing: dict, key: str) -> set[str]:
    return {p["project_code"] for group in listing[key] for p in group["projects"]}


def refusal_ids(listing: dict) -> set[str]:
    return {r["event_id"] for r in listing["refusals"]}


Read = Callable[[GatewayClient, Unit], Any]  # a read about a 市州


def published_circular(client: GatewayClient, timeout: float = 30.0) -> dict:
    """The published quarter's circular, once notify has made it (it follows the publication)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.circular(PUBLISHED)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@dataclass(frozen=True)
class Case:
    rpc: str
    read: Read  # truthy when what it read is that 市州's
    rule: str | None  # what 武汉市 is refused when it reads 宜昌市's; None: circulated to all
    own: bool = True  # 武汉市 has its own to read (not the province's logs, checks and rebuilds)
    auditor: bool = True  # an auditor may call it (it reads; it neither publishes nor reviews)


CASES = [
    Case(
        "Query.GetRanking",
        lambda c, u: c.get_ranking(OPEN, "provisional")["quarter"] == OPEN,
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Query.GetScorecard",
        lambda c, u: c.get_scorecard(OPEN, u.region, "provisional")["row"]["region"] == u.region,
        "outside_read_scope",
    ),
    Case("Query.GetProject", lambda c, u: c.get_project(u.project)["stage"], "outside_read_scope"),
    Case(
        "Query.ListProjects",
        lambda c, u: u.project in codes(c.list_projects(region=u.region, register=True)),
        "outside_read_scope",
    ),
    Case(
        "Query.GetMilestones",
        lambda c, u: len(c.milestones(u.project)["milestones"]) == 1,
        "outside_read_scope",
    ),
    Case(
        "Query.ListFiveOnesGaps",
        lambda c, u: u.project in project_codes(c.five_ones_gaps(u.region), "by_prefecture"),
        "outside_read_scope",
    ),
    Case(
        "Query.GetLeaderProgress",
        lambda c, u: (
            u.leader in {x["leader_id"] for x in c.leader_progress(u.region, 2020)["leaders"]}
        ),
        "outside_read_scope",
    ),
    Case(
        "Query.GetPromotionEvents",
        lambda c, u: c.promotion_events(u.region)["prefectures"][0]["in_key_regions"] == 1,
        "outside_read_scope",
    ),
    Case(
        "Query.GetTaskStatus",
        lambda c, u: c.task_status(u.region, "set_up_leading_group")["tasks"][0]["done_on"],
        "outside_read_scope",
    ),
    Case(
        "Query.GetMatterStatus",
        lambda c, u: c.matter_status(u.region, "guangdong-06")["matters"][0]["reports"] == 1,
        "outside_read_scope",
    ),
    Case(
        "Query.ListRefusals",
        lambda c, u: u.refused in refusal_ids(c.refusals(u.source)),
        "outside_read_scope",
    ),
    Case(
        "Query.ListAwaitingReview",
        lambda c, u: u.project in {i["project_code"] for i in c.awaiting_review(u.region)["items"]},
        "outside_read_scope",
    ),
    Case(
        "Query.GetYearlyAssessment",
        lambda c, u: c.yearly_assessment("2020")["complete"] is False,  # Q3 alone is published
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Query.ListOpenCommitments",
        lambda c, u: c.open_commitments(u.region)["unit"] == u.region,
        "outside_read_scope",
    ),
    Case(
        "Query.TryPolicy",
        lambda c, u: c.try_policy(PUBLISHED, {})["real"],
        "role_required",
        own=False,
        auditor=False,
    ),
    Case(
        "Query.GetCircular",
        lambda c, u: published_circular(c)["content"][:2] == b"PK",
        None,
        own=False,
    ),
    Case(
        "Audit.GetHistory",
        lambda c, u: (
            {e["type"] for e in c.history(u.project)}
            >= {"project.proposed", "project.company_registered"}
        ),
        "outside_read_scope",
    ),
    Case("Audit.Verify", lambda c, u: c.verify()["ok"], "office_or_auditor_only", own=False),
    Case(
        "Audit.RebuildRanking",
        lambda c, u: c.rebuild_ranking(PUBLISHED)["matches_published"],
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Audit.ReadLog",
        lambda c, u: c.read_log("registry", 1)["events"],
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Audit.GetTreeHead",
        lambda c, u: {h["store"] for h in c.tree_heads()} >= {"registry", "tracking"},
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Audit.GetInclusionProof",
        lambda c, u: c.inclusion_proof("registry", notification_id=1)["leaf_hash"],
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Audit.GetConsistencyProof",
        lambda c, u: c.consistency_proof("registry", 1)["new_root"],
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Audit.ReadLeaves",
        lambda c, u: c.read_leaves("registry", 0, 0, limit=1),
        "office_or_auditor_only",
        own=False,
    ),
    Case(
        "Office.PublishRanking",
        lambda c, u: c.publish_ranking(OPEN)["published"],
        "role_required",
        own=False,
        auditor=False,
    ),
]


def test_the_cases_are_every_query_audit_and_office_call():
    services = [pb.DESCRIPTOR.services_by_name[name] for name in ("Query", "Audit", "Office")]
    assert [c.rpc for c in CASES] == [f"{s.name}.{m.name}" for s in services for m in s.methods]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rpc)
def test_a_prefecture_reads_its_own_and_is_refused_anothers(world, case):
    with world.client(WUHAN) as wuhan:
        if case.own:
            assert case.read(wuhan, world.wuhan)
        if case.rule is None:  # circulated: everyone's to read
            assert case.read(wuhan, world.yichang)
        else:
            assert refused_rule(lambda: case.read(wuhan, world.yichang)) == case.rule


@pytest.mark.parametrize("case", [c for c in CASES if c.auditor], ids=lambda c: c.rpc)
def test_an_auditor_reads_every_prefectures(world, case):
    with world.client(AUDITOR) as auditor:
        assert case.read(auditor, world.wuhan)
        assert case.read(auditor, world.yichang)


def test_an_auditor_may_not_publish_a_ranking_a_report_or_a_check(world):
    with world.client(AUDITOR) as auditor, world.client("office") as office:
        assert refused_rule(lambda: auditor.publish_ranking(OPEN)) == "role_required"
        [registered] = [
            e for e in office.history(world.wuhan.project) if e["service"] == "tracking"
        ]
        verify = report("milestone.verified", AUDITOR, milestone_event_id=registered["event_id"])
        with pytest.raises(grpc.RpcError) as refused:
            auditor.publish([verify, proposal(unique("AU"), AUDITOR, "420111")])
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert office.get_ranking(OPEN)["published"] is False  # the office has not published it


def test_published_rankings_and_scorecards_are_read_by_every_prefecture(world):
    with world.client(WUHAN) as wuhan:
        assert wuhan.get_ranking(PUBLISHED)["published"] is True
        card = wuhan.get_scorecard(PUBLISHED, world.yichang.region)
        assert card["published"] and card["row"]["region"] == world.yichang.region


def test_province_wide_views_are_the_office_and_auditors(world):
    with world.client(WUHAN) as wuhan:
        assert refused_rule(lambda: wuhan.list_projects()) == "office_or_auditor_only"
        assert refused_rule(lambda: wuhan.five_ones_gaps()) == "office_or_auditor_only"
        assert refused_rule(lambda: wuhan.task_status()) == "office_or_auditor_only"
        assert refused_rule(lambda: wuhan.refusals("office")) == "outside_read_scope"
    with world.client(AUDITOR) as auditor:
        listed = codes(auditor.list_projects())
        refusals = refusal_ids(auditor.refusals())
    assert {world.wuhan.project, world.yichang.project} <= listed
    assert {world.wuhan.refused, world.yichang.refused} <= refusals


def test_a_county_reads_its_own_and_a_department_the_projects_of_its_industries(world):
    wuhan, yichang = (
        world.wuhan.project,
        world.yichang.project,
    )  # 汽车 in 洪山区, 信息技术 in 夷陵区
    with world.client(HONGSHAN) as county:
        assert county.get_project(wuhan)["region"] == "420111"
        assert refused_rule(lambda: county.leader_progress("420100")) == "outside_read_scope"
        assert refused_rule(lambda: county.get_scorecard(OPEN, "420100", "provisional")) == (
            "outside_read_scope"
        )
    with world.client(JINGXIN) as department:
        assert codes(department.list_projects(department="jingxin")) >= {yichang}
        assert department.history(yichang)
        assert refused_rule(lambda: department.get_project(wuhan)) == "outside_read_scope"
        assert refused_rule(lambda: department.list_projects(region="420500")) == (
            "outside_read_scope"
        )
