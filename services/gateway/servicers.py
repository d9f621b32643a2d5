"""The four gRPC services of the public API (zhaoshang/api): Ingest, Query, Audit, Office.

Each method checks its arguments (checks.py), asks the services over RPC, and maps the answer
to its proto message (mapping.py); `answering` turns the errors into gRPC status codes
(errors.py). Every Query, Audit and Office method is `guarded` (access.py): the roles it needs
are named on it, and it checks what it answers against the caller's scope.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import grpc

from services.gateway import audit, transparency
from services.gateway.access import (
    READERS,
    check_everything,
    check_list_in_scope,
    check_project_in_scope,
    check_ranking_readable,
    check_scorecard_readable,
    check_source_in_scope,
    check_unit_in_scope,
    guarded,
    sees_everything,
)
from services.gateway.auth import Authenticator
from services.gateway.caller import REVIEW, Caller
from services.gateway.checks import (
    checked_as_of,
    checked_key,
    checked_list_scope,
    checked_log_service,
    checked_moment,
    checked_prefecture,
    checked_project_code,
    checked_quarter,
    checked_source,
    checked_unit,
    no_circular,
    no_project,
    no_ranking,
    no_scorecard,
)
from services.gateway.errors import BatchTooLarge, answering
from services.gateway.ingest import SentBatch
from services.gateway.mapping import (
    VIEW,
    event_from_proto,
    history_entry_to_proto,
    listing,
    merged_history,
    outcome_to_proto,
    ranking_to_proto,
    to_json,
)
from services.gateway.reviewing import checked_review_request, checked_year
from services.gateway.rpc import Rpc
from services.gateway.whatif import whatif_changes
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.ranking import RankingAnswer
from services.kernel.process.metrics import Ingestor, Metrics
from services.kernel.reference import reference
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

Context = grpc.ServicerContext


class IngestServicer(pb_grpc.IngestServicer):
    def __init__(self, ingestor: Ingestor, auth: Authenticator | None = None):
        self.ingestor = ingestor
        self.auth = auth or Authenticator()

    @answering
    def Publish(self, request: pb.PublishRequest, context: Context) -> Any:
        return self._answer(self.ingestor.publish, request, context)

    @answering
    def Validate(self, request: pb.PublishRequest, context: Context) -> Any:
        """As Publish would answer, storing nothing (docs/CONTRACT.md "Validate")."""
        return self._answer(self.ingestor.validate, request, context)

    def _answer(self, judge: Any, request: pb.PublishRequest, context: Context) -> Any:
        if len(request.events) > self.ingestor.max_batch:
            raise BatchTooLarge(len(request.events), self.ingestor.max_batch)
        events = [event_from_proto(e) for e in request.events]
        sender = self.auth.caller(context)
        outcomes = judge(events if sender is None else SentBatch(events, sender))
        return pb.PublishResponse(outcomes=[outcome_to_proto(o) for o in outcomes])


class GuardedServicer:
    """A servicer whose methods are `guarded` (access.py): the services it asks, who calls,
    and where refusals are counted."""

    def __init__(self, rpc: Rpc, auth: Authenticator | None = None, metrics: Metrics | None = None):
        self.rpc = rpc
        self.auth = auth or Authenticator()
        self.metrics = metrics


def check_project_of(rpc: Rpc, caller: Caller, code: str) -> None:
    """A project asked for by its code is in the caller's scope, as registry says where it is
    and what industry it is in."""
    if sees_everything(caller):
        return
    state = rpc.call("registry", "get_project", project_code=code)
    if state is None:
        raise no_project(code)
    check_project_in_scope(caller, state)


class QueryServicer(GuardedServicer, pb_grpc.QueryServicer):
    @guarded(*READERS)
    def GetRanking(self, request: pb.GetRankingRequest, context: Context, caller: Caller) -> Any:
        quarter, view = checked_quarter(request.quarter), VIEW[request.view]
        ranking: RankingAnswer | None = self.rpc.call(
            "scoring", "get_ranking", quarter=quarter, view=view
        )
        if ranking is None:
            raise no_ranking(quarter, view)
        check_ranking_readable(caller, quarter, bool(ranking["published"]))
        return ranking_to_proto(ranking)

    @guarded(*READERS)
    def GetCircular(self, request: pb.GetCircularRequest, context: Context, caller: Caller) -> Any:
        """The circular of a published quarter, circulated to all: readable by every caller."""
        quarter = checked_quarter(request.quarter)
        ranking = self.rpc.call("scoring", "get_ranking", quarter=quarter, view="official")
        if ranking is None or not ranking["published"]:
            raise no_circular(quarter)
        document = self.rpc.call("notify", "circular_document", ranking_hash=ranking["hash"])
        if document is None:
            raise no_circular(quarter)
        return pb.CircularDocument(
            quarter=quarter,
            ranking_hash=ranking["hash"],
            filename=document["filename"],
            sha256=document["sha256"],
            content=base64.b64decode(document["content"]),
        )

    @guarded(*READERS)
    def GetScorecard(
        self, request: pb.GetScorecardRequest, context: Context, caller: Caller
    ) -> Any:
        quarter, view, region = checked_quarter(request.quarter), VIEW[request.view], request.region
        card = audit.scorecard(self.rpc, quarter, region, view)
        if card is None:
            raise no_scorecard(region)
        check_scorecard_readable(caller, quarter, region, card.published)
        return card

    @guarded(*READERS)
    def GetProject(self, request: pb.GetProjectRequest, context: Context, caller: Caller) -> Any:
        code = checked_project_code(request.project_code)
        state = self.rpc.call("registry", "get_project", project_code=code)
        if state is None:
            raise no_project(code)
        check_project_in_scope(caller, state)
        return pb.Project(project_code=code, state_json=to_json(state))

    @guarded(*READERS)
    def ListProjects(
        self, request: pb.ListProjectsRequest, context: Context, caller: Caller
    ) -> Any:
        scope = checked_list_scope(request)
        check_list_in_scope(caller, scope["region"], scope["department"])
        answer = self.rpc.call("registry", "list_projects", **scope)
        for project in answer["projects"]:
            check_project_in_scope(caller, project)
        return listing(answer)

    @guarded(*READERS)
    def GetMilestones(self, request: pb.GetProjectRequest, context: Context, caller: Caller) -> Any:
        code = checked_project_code(request.project_code)
        check_project_of(self.rpc, caller, code)
        milestones = self.rpc.call("tracking", "milestones", project_code=code)
        if milestones is None:
            raise no_project(code)
        return listing(milestones)

    @guarded(*READERS)
    def ListFiveOnesGaps(self, request: pb.UnitRequest, context: Context, caller: Caller) -> Any:
        unit = checked_unit(request.unit)
        check_unit_in_scope(caller, unit)
        return listing(self.rpc.call("registry", "five_ones_gaps", unit=unit))

    @guarded(*READERS)
    def GetLeaderProgress(
        self, request: pb.LeaderProgressRequest, context: Context, caller: Caller
    ) -> Any:
        unit = checked_unit(request.unit)
        check_unit_in_scope(caller, unit)
        year = request.year or datetime.now(SHANGHAI).year
        return listing(self.rpc.call("tracking", "leader_progress", year=year, unit=unit))

    @guarded(*READERS)
    def GetPromotionEvents(self, request: pb.UnitRequest, context: Context, caller: Caller) -> Any:
        unit = checked_prefecture(request.unit)
        check_unit_in_scope(caller, unit)
        return listing(self.rpc.call("tracking", "promotion_events", unit=unit))

    @guarded(*READERS)
    def GetTaskStatus(self, request: pb.TaskStatusRequest, context: Context, caller: Caller) -> Any:
        tasks = reference().tasks
        return self._status(caller, "task_status", request, "task_id", request.task_id, tasks)

    @guarded(*READERS)
    def GetMatterStatus(
        self, request: pb.MatterStatusRequest, context: Context, caller: Caller
    ) -> Any:
        matters = reference().matters
        return self._status(
            caller, "matter_status", request, "matter_id", request.matter_id, matters
        )

    def _status(
        self, caller: Caller, method: str, request: Any, key_field: str, key: str, table: Any
    ) -> Any:
        """附件3 tasks' or 附件4 matters' status as of a day, for a unit or all, one or all."""
        unit = checked_unit(request.unit)
        check_unit_in_scope(caller, unit)
        arguments = {
            "unit": unit,
            key_field: checked_key(key, table, key_field),
            "as_of": checked_as_of(request.as_of),
        }
        return listing(self.rpc.call("tracking", method, **arguments))

    @guarded(*READERS)
    def ListRefusals(self, request: pb.RefusalsRequest, context: Context, caller: Caller) -> Any:
        """The office and auditors see every refusal; any other unit those of a sender in its
        scope, its own when it names none."""
        who = checked_source(request.source)
        if not sees_everything(caller):
            who = who or caller.unit
            check_source_in_scope(caller, who)
        refusals = [
            *self.rpc.call("registry", "refusals", who=who),
            *self.rpc.call("tracking", "refusals", who=who),
        ]
        refusals.sort(key=lambda r: (datetime.fromisoformat(r["recorded_at"]), r["service"]))
        return listing({"source": who, "count": len(refusals), "refusals": refusals})

    @guarded(*READERS, REVIEW)
    def ListAwaitingReview(
        self, request: pb.AwaitingReviewRequest, context: Context, caller: Caller
    ) -> Any:
        """甄别 (十九): the office and auditors see every open report; a 市州 or county those
        about its own area (a 市州 reviews its counties' reports first)."""
        arguments = checked_review_request(request)
        check_unit_in_scope(caller, arguments["unit"])
        return listing(self.rpc.call("tracking", "awaiting_review", **arguments))

    @guarded(REVIEW)
    def TryPolicy(self, request: pb.TryPolicyRequest, context: Context, caller: Caller) -> Any:
        """试算 (services/scoring/whatif.py): the office's; nothing is stored."""
        quarter = checked_quarter(request.quarter)
        changes = whatif_changes(request.changes_json)
        return listing(self.rpc.call("scoring", "try_policy", quarter=quarter, changes=changes))

    @guarded(*READERS)
    def GetYearlyAssessment(
        self, request: pb.YearlyAssessmentRequest, context: Context, caller: Caller
    ) -> Any:
        """A year compares every 市州: circulated once its four quarters are published; before,
        the office's and auditors' alone."""
        year = checked_year(request.year)
        assessment = self.rpc.call("scoring", "yearly_assessment", year=year)
        if not assessment["complete"]:
            check_everything(
                caller,
                "year",
                year,
                f"{year} 年未完成的年度考核",
                f"the unfinished {year} assessment",
            )
        return listing(assessment)

    @guarded(*READERS)
    def ListOpenCommitments(self, request: pb.UnitRequest, context: Context, caller: Caller) -> Any:
        unit = checked_prefecture(request.unit) if request.unit else ""
        check_unit_in_scope(caller, unit)
        commitments = self.rpc.call("scoring", "open_commitments", unit=unit)
        return listing({"unit": unit, "count": len(commitments), "commitments": commitments})


class AuditServicer(GuardedServicer, pb_grpc.AuditServicer):
    @guarded(*READERS)
    def GetHistory(self, request: pb.GetHistoryRequest, context: Context, caller: Caller) -> Any:
        code = checked_project_code(request.project_code)
        check_project_of(self.rpc, caller, code)
        entries = merged_history(
            self.rpc.call("registry", "history", project_code=code),
            self.rpc.call("tracking", "history", project_code=code),
        )
        return pb.History(entries=[history_entry_to_proto(e) for e in entries])

    @guarded(*READERS)
    def Verify(self, request: pb.VerifyRequest, context: Context, caller: Caller) -> Any:
        check_everything(caller, "stores", "", "存储校验", "verifying the stores")
        return audit.verification(self.rpc)

    @guarded(*READERS)
    def RebuildRanking(
        self, request: pb.RebuildRankingRequest, context: Context, caller: Caller
    ) -> Any:
        quarter, as_of = checked_quarter(request.quarter), checked_moment(request.as_of)
        check_everything(
            caller, "quarter", quarter, f"重算 {quarter} 排名", f"rebuilding {quarter}"
        )
        return audit.rebuild(self.rpc, quarter, as_of, ranking_to_proto)

    @guarded(*READERS)
    def ReadLog(self, request: pb.ReadLogRequest, context: Context, caller: Caller) -> Any:
        service = checked_log_service(request.service)
        check_everything(
            caller, "service", service, f"{service} 的原始日志", f"{service}'s raw log"
        )
        page = audit.log_page(self.rpc, service, request.start, request.limit)
        return transparency.with_leaf_hashes(self.rpc, page)

    # Signed tree heads and proofs (transparency.py): an auditor's or the office's, like Verify.

    @guarded(*READERS)
    def GetTreeHead(self, request: pb.GetTreeHeadRequest, context: Context, caller: Caller) -> Any:
        check_everything(caller, "store", request.store, "签名树头", "signed tree heads")
        return transparency.tree_heads(self.rpc, request)

    @guarded(*READERS)
    def GetInclusionProof(
        self, request: pb.GetInclusionProofRequest, context: Context, caller: Caller
    ) -> Any:
        check_everything(caller, "store", request.store, "包含性证明", "inclusion proofs")
        return transparency.inclusion(self.rpc, request)

    @guarded(*READERS)
    def GetConsistencyProof(
        self, request: pb.GetConsistencyProofRequest, context: Context, caller: Caller
    ) -> Any:
        check_everything(caller, "store", request.store, "一致性证明", "consistency proofs")
        return transparency.consistency(self.rpc, request)

    @guarded(*READERS)
    def ReadLeaves(self, request: pb.ReadLeavesRequest, context: Context, caller: Caller) -> Any:
        check_everything(caller, "store", request.store, "原始日志", "raw logs")
        return transparency.leaves(self.rpc, request)


class OfficeServicer(GuardedServicer, pb_grpc.OfficeServicer):
    @guarded(REVIEW)
    def PublishRanking(
        self, request: pb.PublishRankingRequest, context: Context, caller: Caller
    ) -> Any:
        quarter = checked_quarter(request.quarter)
        return ranking_to_proto(self.rpc.call("scoring", "publish_ranking", quarter=quarter))
