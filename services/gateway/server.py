"""The gateway: gRPC for outside systems, forwarded to the services over nameko RPC.

A plain grpcio server on real threads (no eventlet in this process), with gRPC health and
server reflection, and the AMQP ingest consumer next to it (`python -m services.gateway.server`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import signal
import threading
from collections.abc import Callable, Iterable
from concurrent import futures
from datetime import date, datetime
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.gateway import audit
from services.gateway.amqp_ingest import DEAD_SUFFIX, INGEST_QUEUE, AmqpIngest
from services.gateway.auth import AmqpUsers, Authenticator, KeyStore, Unauthenticated
from services.gateway.config import Config
from services.gateway.ingest import BatchTooLarge, Ingestor, SentBatch, Undecodable, field_error
from services.gateway.rpc import (
    NamekoRpc,
    Rpc,
    ServiceFailed,
    ServiceRefused,
    ServiceUnavailable,
)
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.contracts import is_known_source
from services.kernel.process.observability import (
    Metrics,
    broker_check,
    configure_logging,
    dead_letters,
    http_address,
    serve_http,
)
from services.kernel.reference.reference import reference
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICES = tuple(service.full_name for service in pb.DESCRIPTOR.services_by_name.values())
QUARTER = re.compile(r"^\d{4}Q[1-4]$")
STATUS = {
    "accepted": pb.Outcome.ACCEPTED,
    "duplicate": pb.Outcome.DUPLICATE,
    "rejected": pb.Outcome.REJECTED,
    "conflict": pb.Outcome.CONFLICT,
}
VIEW = {pb.GetRankingRequest.OFFICIAL: "official", pb.GetRankingRequest.PROVISIONAL: "provisional"}
# Room for a full batch of large reports: an oversized batch must reach us to be told why.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
LISTS = ("promotion", "tracking", "signed", "started")  # (二), registry's list names
PROVINCE = "420000"


class Refused(Exception):
    """A request the gateway answers with `code` and a bilingual message."""

    def __init__(self, code: grpc.StatusCode, message_zh: str, message_en: str):
        super().__init__(f"{message_zh} / {message_en}")
        self.code = code


Handler = TypeVar("Handler", bound=Callable[..., Any])


def answering(handler: Handler) -> Handler:
    """Turn the gateway's errors into gRPC status codes with a message a caller can act on."""

    @functools.wraps(handler)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return handler(self, request, context)
        except Refused as error:
            context.abort(error.code, str(error))
        except Unauthenticated as error:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(error))
        except BatchTooLarge as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except ServiceRefused as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        except ServiceUnavailable as error:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
        except ServiceFailed as error:
            log.error("%s: %s", handler.__qualname__, error)
            context.abort(grpc.StatusCode.INTERNAL, str(error))

    return wrapper  # type: ignore[return-value]


# --- proto <-> the services' simple values ---------------------------------------------------


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def event_from_proto(event: pb.Event) -> dict | Undecodable:
    """The envelope as the contract expects it; payload JSON is decoded exactly as an AMQP
    body is, so both transports validate the same values."""
    raw: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "source": event.source,
        "occurred_on": event.occurred_on,
        "schema_version": event.schema_version,
    }
    if event.payload_json:
        try:
            raw["payload"] = json.loads(event.payload_json)
        except json.JSONDecodeError as error:
            return Undecodable(
                event.event_id,
                (
                    field_error(
                        "payload_json",
                        event.payload_json[:200],
                        "json",
                        f"payload_json 不是合法的 JSON：{error}",
                        f"payload_json is not valid JSON: {error}",
                    ),
                ),
            )
    return raw


def text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value)


def outcome_to_proto(outcome: dict) -> pb.Outcome:
    return pb.Outcome(
        event_id=text(outcome.get("event_id")),
        status=STATUS[outcome["status"]],
        errors=[
            pb.FieldError(
                field=text(error.get("field")),
                value=text(error.get("value")),
                rule=text(error.get("rule")),
                message_zh=text(error.get("message_zh")),
                message_en=text(error.get("message_en")),
            )
            for error in outcome.get("errors", ())
        ],
    )


def ranking_to_proto(ranking: dict) -> pb.Ranking:
    return pb.Ranking(
        quarter=ranking["quarter"],
        policy_version=text(ranking.get("policy_version")),
        published=bool(ranking.get("published")),
        hash=text(ranking.get("hash")),
        rows=[
            pb.RankingRow(
                rank=int(row["rank"]),
                region=text(row["region"]),
                name=text(row.get("name")),
                total=text(row.get("total")),
            )
            for row in ranking.get("rows", ())
        ],
        content_json=to_json(ranking),
    )


def history_entry_to_proto(entry: dict) -> pb.HistoryEntry:
    return pb.HistoryEntry(
        service=entry["service"],
        notification_id=entry.get("notification_id") or 0,
        type=entry["type"],
        event_id=text(entry.get("event_id")),
        source=text(entry.get("source")),
        occurred_on=text(entry.get("occurred_on")),
        recorded_at=entry["recorded_at"],
        payload_json=to_json(entry.get("payload")),
    )


def merged_history(*histories: Iterable[dict]) -> list[dict]:
    """One timeline across services; a stable sort keeps each service's own order on ties."""
    return sorted(
        (entry for history in histories for entry in history),
        key=lambda e: (
            datetime.fromisoformat(e["recorded_at"]),
            e["service"],
            e.get("notification_id") or 0,
        ),
    )


def checked_quarter(quarter: str) -> str:
    if not QUARTER.match(quarter):
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"quarter 应形如 2020Q3，收到 {quarter!r}",
            f"quarter must look like 2020Q3, got {quarter!r}",
        )
    return quarter


def checked_project_code(code: str) -> str:
    if not code:
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT, "缺少 project_code", "project_code is required"
        )
    return code


def invalid_argument(field: str, value: Any, rule: str, zh: str, en: str) -> Refused:
    return Refused(
        grpc.StatusCode.INVALID_ARGUMENT, f"{field} [{rule}]: {zh}", f"{field} [{rule}]: {en}"
    )


def checked_unit(unit: str, field: str = "unit") -> str:
    """Empty (every unit), a Hubei region code, or dept:<key>."""
    ref = reference()
    if not unit or ref.is_hubei_region(unit):
        return unit
    if unit.startswith("dept:") and unit[5:] in ref.departments:
        return unit
    raise invalid_argument(
        field,
        unit,
        "unknown_unit",
        f"{unit!r} 不是湖北省行政区划代码或 dept:<部门键>",
        f"{unit!r} is neither a Hubei region code nor dept:<department key>",
    )


def checked_list_scope(request: pb.ListProjectsRequest) -> dict[str, str]:
    ref = reference()
    if request.list and request.list not in LISTS:
        raise invalid_argument(
            "list",
            request.list,
            "unknown_list",
            f"{request.list!r} 不是清单名：应为 {', '.join(LISTS)}",
            f"{request.list!r} is not a list; expected one of {', '.join(LISTS)}",
        )
    if request.region and request.region != PROVINCE and not ref.is_hubei_region(request.region):
        raise invalid_argument(
            "region",
            request.region,
            "not_hubei_region",
            f"{request.region!r} 不是湖北省行政区划代码（GB/T 2260）",
            f"{request.region!r} is not a Hubei region code (GB/T 2260)",
        )
    if request.department and request.department not in ref.departments:
        raise invalid_argument(
            "department",
            request.department,
            "unknown_department",
            f"{request.department!r} 不是已知的省有关部门",
            f"{request.department!r} is not a known provincial department",
        )
    return {
        "list_name": request.list,
        "region": request.region,
        "department": request.department,
    }


def checked_as_of(as_of: str) -> str:
    if not as_of:
        return datetime.now(SHANGHAI).date().isoformat()
    try:
        return date.fromisoformat(as_of).isoformat()
    except ValueError:
        raise invalid_argument(
            "as_of", as_of, "date_format", f"{as_of!r} 不是 ISO 日期", f"{as_of!r} is no ISO date"
        ) from None


def checked_key(value: str, table: Any, field: str) -> str:
    if value and value not in table:
        raise invalid_argument(
            field, value, f"unknown_{field}", f"{value!r} 未知", f"{value!r} is not known"
        )
    return value


def listing(content: Any) -> pb.Listing:
    return pb.Listing(content_json=to_json(content))


def no_ranking(quarter: str, view: str) -> Refused:
    return Refused(
        grpc.StatusCode.NOT_FOUND,
        f"{quarter} 没有{'正式' if view == 'official' else '临时'}排名",
        f"there is no {view} ranking for {quarter}",
    )


# --- the four services ------------------------------------------------------------------------


class IngestServicer(pb_grpc.IngestServicer):
    def __init__(self, ingestor: Ingestor, auth: Authenticator | None = None):
        self.ingestor = ingestor
        self.auth = auth or Authenticator()

    @answering
    def Publish(self, request: pb.PublishRequest, context: grpc.ServicerContext) -> Any:
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
    def GetRanking(self, request: pb.GetRankingRequest, context: grpc.ServicerContext) -> Any:
        quarter, view = checked_quarter(request.quarter), VIEW[request.view]
        ranking = self.rpc.call("scoring", "get_ranking", quarter=quarter, view=view)
        if ranking is None:
            raise no_ranking(quarter, view)
        return ranking_to_proto(ranking)

    @answering
    def GetScorecard(self, request: pb.GetScorecardRequest, context: grpc.ServicerContext) -> Any:
        quarter, view, region = checked_quarter(request.quarter), VIEW[request.view], request.region
        card = audit.scorecard(self.rpc, quarter, region, view)
        if card is None:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f"{region!r} 不是市州代码，没有它的评分卡",
                f"{region!r} is not a 市州 code: it has no scorecard",
            )
        return card

    @answering
    def GetProject(self, request: pb.GetProjectRequest, context: grpc.ServicerContext) -> Any:
        code = checked_project_code(request.project_code)
        state = self.rpc.call("registry", "get_project", project_code=code)
        if state is None:
            raise Refused(
                grpc.StatusCode.NOT_FOUND, f"没有编号为 {code} 的项目", f"no project {code}"
            )
        return pb.Project(project_code=code, state_json=to_json(state))

    @answering
    def ListProjects(self, request: pb.ListProjectsRequest, context: grpc.ServicerContext) -> Any:
        return listing(self.rpc.call("registry", "list_projects", **checked_list_scope(request)))

    @answering
    def GetMilestones(self, request: pb.GetProjectRequest, context: grpc.ServicerContext) -> Any:
        code = checked_project_code(request.project_code)
        milestones = self.rpc.call("tracking", "milestones", project_code=code)
        if milestones is None:
            raise Refused(
                grpc.StatusCode.NOT_FOUND, f"没有编号为 {code} 的项目", f"no project {code}"
            )
        return listing(milestones)

    @answering
    def ListFiveOnesGaps(self, request: pb.UnitRequest, context: grpc.ServicerContext) -> Any:
        unit = checked_unit(request.unit)
        return listing(self.rpc.call("registry", "five_ones_gaps", unit=unit))

    @answering
    def GetLeaderProgress(
        self, request: pb.LeaderProgressRequest, context: grpc.ServicerContext
    ) -> Any:
        unit = checked_unit(request.unit)
        year = request.year or datetime.now(SHANGHAI).year
        return listing(self.rpc.call("tracking", "leader_progress", year=year, unit=unit))

    @answering
    def GetPromotionEvents(self, request: pb.UnitRequest, context: grpc.ServicerContext) -> Any:
        unit = checked_unit(request.unit)
        if unit and unit not in {p.code for p in reference().prefectures}:
            raise invalid_argument(
                "unit",
                unit,
                "not_prefecture",
                f"{unit!r} 不是 17 个市州之一：专题招商活动按市州统计（三）",
                f"{unit!r} is not one of the 17 prefectures; themed events are counted per "
                "prefecture ((三))",
            )
        return listing(self.rpc.call("tracking", "promotion_events", unit=unit))

    @answering
    def GetTaskStatus(self, request: pb.TaskStatusRequest, context: grpc.ServicerContext) -> Any:
        arguments = {
            "unit": checked_unit(request.unit),
            "task_id": checked_key(request.task_id, reference().tasks, "task_id"),
            "as_of": checked_as_of(request.as_of),
        }
        return listing(self.rpc.call("tracking", "task_status", **arguments))

    @answering
    def GetMatterStatus(
        self, request: pb.MatterStatusRequest, context: grpc.ServicerContext
    ) -> Any:
        arguments = {
            "unit": checked_unit(request.unit),
            "matter_id": checked_key(request.matter_id, reference().matters, "matter_id"),
            "as_of": checked_as_of(request.as_of),
        }
        return listing(self.rpc.call("tracking", "matter_status", **arguments))

    @answering
    def ListRefusals(self, request: pb.RefusalsRequest, context: grpc.ServicerContext) -> Any:
        """The office sees every refusal; any other sender only those it was refused."""
        caller = self.auth.caller(context)
        who = request.source or None
        if who is not None and not is_known_source(who):
            raise invalid_argument(
                "source", who, "unknown_source", f"{who!r} 不是已知的报送系统", f"unknown {who!r}"
            )
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
    def GetHistory(self, request: pb.GetHistoryRequest, context: grpc.ServicerContext) -> Any:
        code = checked_project_code(request.project_code)
        entries = merged_history(
            self.rpc.call("registry", "history", project_code=code),
            self.rpc.call("tracking", "history", project_code=code),
        )
        return pb.History(entries=[history_entry_to_proto(e) for e in entries])

    @answering
    def Verify(self, request: pb.VerifyRequest, context: grpc.ServicerContext) -> Any:
        return audit.verification(self.rpc)

    @answering
    def RebuildRanking(
        self, request: pb.RebuildRankingRequest, context: grpc.ServicerContext
    ) -> Any:
        quarter = checked_quarter(request.quarter)
        if request.as_of and not audit.valid_as_of(request.as_of):
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"as_of 应为日期 2020-10-15 或带时区的时刻，收到 {request.as_of!r}",
                f"as_of must be a date like 2020-10-15 or a moment with its offset, "
                f"got {request.as_of!r}",
            )
        return audit.rebuild(self.rpc, quarter, request.as_of, ranking_to_proto)

    @answering
    def ReadLog(self, request: pb.ReadLogRequest, context: grpc.ServicerContext) -> Any:
        if request.service not in audit.LOG_SERVICES:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"service 应为 {' 或 '.join(audit.LOG_SERVICES)}，收到 {request.service!r}",
                f"service must be one of {', '.join(audit.LOG_SERVICES)}, "
                f"got {request.service!r}",
            )
        return audit.log_page(self.rpc, request.service, request.start, request.limit)


class OfficeServicer(pb_grpc.OfficeServicer):
    def __init__(self, rpc: Rpc, auth: Authenticator | None = None):
        self.rpc = rpc
        self.auth = auth or Authenticator()

    @answering
    def PublishRanking(
        self, request: pb.PublishRankingRequest, context: grpc.ServicerContext
    ) -> Any:
        if self.auth.caller(context) not in (None, "office"):
            raise Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                "只有省招商引资工作领导小组办公室可以发布排名（十九）",
                "only the office (领导小组办公室) publishes a ranking ((十九))",
            )
        quarter = checked_quarter(request.quarter)
        return ranking_to_proto(self.rpc.call("scoring", "publish_ranking", quarter=quarter))


# --- the server -------------------------------------------------------------------------------


def serve(
    config: Config,
    rpc: Rpc | None = None,
    metrics: Metrics | None = None,
    ingestor: Ingestor | None = None,
) -> grpc.Server:
    """Build and start the gRPC server on `config.address`. The caller stops it.

    `ingestor`: the one the process's other transports share, so their calls group together.
    """
    rpc = rpc or NamekoRpc(config.amqp_uri, config.rpc_timeout)
    metrics = metrics or Metrics("gateway")
    auth = Authenticator(KeyStore(config.keys_file) if config.keys_file else None)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="grpc"),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
        interceptors=[metrics.grpc_interceptor(), *auth.interceptors()],
    )
    counted = metrics.counting(ingestor or Ingestor(rpc, config.max_batch))
    pb_grpc.add_IngestServicer_to_server(IngestServicer(counted, auth), server)
    pb_grpc.add_QueryServicer_to_server(QueryServicer(rpc, auth), server)
    pb_grpc.add_AuditServicer_to_server(AuditServicer(rpc), server)
    pb_grpc.add_OfficeServicer_to_server(OfficeServicer(rpc, auth), server)

    health_servicer = health.HealthServicer()
    for name in ("", *SERVICES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    port = server.add_insecure_port(config.address)  # raises when the address is taken
    server.start()
    log.info("gateway: gRPC on %s (port %d)", config.address, port)
    return server


def main() -> None:
    configure_logging()
    config = Config.from_env()
    rpc = NamekoRpc(config.amqp_uri, config.rpc_timeout)
    dead = dead_letters(config.amqp_uri, lambda: [INGEST_QUEUE + DEAD_SUFFIX])
    metrics = Metrics("gateway", dead)
    ingestor = Ingestor(rpc, config.max_batch)
    server = serve(config, rpc, metrics, ingestor)
    consumer = AmqpIngest(
        config.amqp_uri,
        metrics.counting(ingestor),
        users=AmqpUsers(config.amqp_user_prefix),
    )
    consumer.start()
    probes = serve_http(http_address("gateway"), metrics, {"broker": broker_check(config.amqp_uri)})

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()

    log.info("gateway: stopping (grace %gs)", config.grace)
    consumer.stop()
    server.stop(config.grace).wait()
    rpc.close()
    probes.stop()
    log.info("gateway: stopped")


if __name__ == "__main__":
    main()
