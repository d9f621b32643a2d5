"""The four gRPC services of the public API (zhaoshang/api): Ingest, Query, Audit, Office.

Each method checks its arguments (checks.py), asks the services over RPC, and maps the answer
to its proto message (mapping.py); `answering` turns the errors into gRPC status codes
(errors.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc

from services.gateway import audit
from services.gateway.auth import Authenticator
from services.gateway.checks import (
    check_office,
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
from services.gateway.rpc import Rpc
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.ranking import RankingAnswer
from services.kernel.process.metrics import Ingestor
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
        if len(request.events) > self.ingestor.max_batch:
            raise BatchTooLarge(len(request.events), self.ingestor.max_batch)
        events = [event_from_proto(e) for e in request.events]
        sender = self.auth.caller(context)
        outcomes = self.ingestor.publish(events if sender is None else SentBatch(events, sender))
        return pb.PublishResponse(outcomes=[outcome_to_proto(o) for o in outcomes])


class QueryServicer(pb_grpc.QueryServicer):
    def __init__(self, rpc: Rpc, auth: Authenticator | None = None):
        self.rpc = rpc
        self.auth = auth or Authenticator()

    @answering
    def GetRanking(self, request: pb.GetRankingRequest, context: Context) -> Any:
        quarter, view = checked_quarter(request.quarter), VIEW[request.view]
        ranking: RankingAnswer | None = self.rpc.call(
            "scoring", "get_ranking", quarter=quarter, view=view
        )
        if ranking is None:
            raise no_ranking(quarter, view)
        return ranking_to_proto(ranking)

    @answering
    def GetScorecard(self, request: pb.GetScorecardRequest, context: Context) -> Any:
        quarter, view, region = checked_quarter(request.quarter), VIEW[request.view], request.region
        card = audit.scorecard(self.rpc, quarter, region, view)
        if card is None:
            raise no_scorecard(region)
        return card

    @answering
    def GetProject(self, request: pb.GetProjectRequest, context: Context) -> Any:
        code = checked_project_code(request.project_code)
        state = self.rpc.call("registry", "get_project", project_code=code)
        if state is None:
            raise no_project(code)
        return pb.Project(project_code=code, state_json=to_json(state))

    @answering
    def ListProjects(self, request: pb.ListProjectsRequest, context: Context) -> Any:
        return listing(self.rpc.call("registry", "list_projects", **checked_list_scope(request)))

    @answering
    def GetMilestones(self, request: pb.GetProjectRequest, context: Context) -> Any:
        code = checked_project_code(request.project_code)
        milestones = self.rpc.call("tracking", "milestones", project_code=code)
        if milestones is None:
            raise no_project(code)
        return listing(milestones)

    @answering
    def ListFiveOnesGaps(self, request: pb.UnitRequest, context: Context) -> Any:
        unit = checked_unit(request.unit)
        return listing(self.rpc.call("registry", "five_ones_gaps", unit=unit))

    @answering
    def GetLeaderProgress(self, request: pb.LeaderProgressRequest, context: Context) -> Any:
        unit = checked_unit(request.unit)
        year = request.year or datetime.now(SHANGHAI).year
        return listing(self.rpc.call("tracking", "leader_progress", year=year, unit=unit))

    @answering
    def GetPromotionEvents(self, request: pb.UnitRequest, context: Context) -> Any:
        unit = checked_prefecture(request.unit)
        return listing(self.rpc.call("tracking", "promotion_events", unit=unit))

    @answering
    def GetTaskStatus(self, request: pb.TaskStatusRequest, context: Context) -> Any:
        return self._status("task_status", request, "task_id", request.task_id, reference().tasks)

    @answering
    def GetMatterStatus(self, request: pb.MatterStatusRequest, context: Context) -> Any:
        matters = reference().matters
        return self._status("matter_status", request, "matter_id", request.matter_id, matters)

    def _status(self, method: str, request: Any, key_field: str, key: str, table: Any) -> Any:
        """附件3 tasks' or 附件4 matters' status as of a day, for a unit or all, one or all."""
        arguments = {
            "unit": checked_unit(request.unit),
            key_field: checked_key(key, table, key_field),
            "as_of": checked_as_of(request.as_of),
        }
        return listing(self.rpc.call("tracking", method, **arguments))

    @answering
    def ListRefusals(self, request: pb.RefusalsRequest, context: Context) -> Any:
        """The office sees every refusal; any other sender only those it was refused."""
        caller = self.auth.caller(context)
        who = checked_source(request.source)
        if caller not in (None, "office"):
            who = caller
        refusals = [
            *self.rpc.call("registry", "refusals", who=who),
            *self.rpc.call("tracking", "refusals", who=who),
        ]
        refusals.sort(key=lambda r: (datetime.fromisoformat(r["recorded_at"]), r["service"]))
        return listing({"source": who, "count": len(refusals), "refusals": refusals})


class AuditServicer(pb_grpc.AuditServicer):
    def __init__(self, rpc: Rpc):
        self.rpc = rpc

    @answering
    def GetHistory(self, request: pb.GetHistoryRequest, context: Context) -> Any:
        code = checked_project_code(request.project_code)
        entries = merged_history(
            self.rpc.call("registry", "history", project_code=code),
            self.rpc.call("tracking", "history", project_code=code),
        )
        return pb.History(entries=[history_entry_to_proto(e) for e in entries])

    @answering
    def Verify(self, request: pb.VerifyRequest, context: Context) -> Any:
        return audit.verification(self.rpc)

    @answering
    def RebuildRanking(self, request: pb.RebuildRankingRequest, context: Context) -> Any:
        quarter, as_of = checked_quarter(request.quarter), checked_moment(request.as_of)
        return audit.rebuild(self.rpc, quarter, as_of, ranking_to_proto)

    @answering
    def ReadLog(self, request: pb.ReadLogRequest, context: Context) -> Any:
        service = checked_log_service(request.service)
        return audit.log_page(self.rpc, service, request.start, request.limit)


class OfficeServicer(pb_grpc.OfficeServicer):
    def __init__(self, rpc: Rpc, auth: Authenticator | None = None):
        self.rpc = rpc
        self.auth = auth or Authenticator()

    @answering
    def PublishRanking(self, request: pb.PublishRankingRequest, context: Context) -> Any:
        check_office(self.auth.caller(context))
        quarter = checked_quarter(request.quarter)
        return ranking_to_proto(self.rpc.call("scoring", "publish_ranking", quarter=quarter))
