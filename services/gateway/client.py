"""A small Python client of the gateway, for prefecture systems' scripts, operators and tests.

    with GatewayClient("127.0.0.1:50051") as gateway:
        outcomes = gateway.publish([{"event_id": ..., "type": "project.signed", ...,
                                     "payload": {"project_code": "WH-001",
                                                 "contract_investment": "25.5"}}])

Values are plain dicts; failures other than "not found" raise `grpc.RpcError`.
"""

from __future__ import annotations

import json
from types import TracebackType

import grpc

from services.gateway.api import zhaoshang_pb2 as pb
from services.gateway.api import zhaoshang_pb2_grpc as pb_grpc

VIEWS = {"official": pb.GetRankingRequest.OFFICIAL, "provisional": pb.GetRankingRequest.PROVISIONAL}
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def event_to_proto(event: dict) -> pb.Event:
    """Decimals, dates and UUIDs in the payload become strings, as the contract wants them."""
    payload = event.get("payload")
    payload_json = "" if payload is None else json.dumps(payload, ensure_ascii=False, default=str)
    return pb.Event(
        event_id=str(event.get("event_id", "")),
        type=event.get("type", ""),
        source=event.get("source", ""),
        occurred_on=str(event.get("occurred_on", "")),
        schema_version=event.get("schema_version", 1),  # a v1 client writes v1 reports
        payload_json=payload_json,
    )


def outcome_from_proto(outcome: pb.Outcome) -> dict:
    return {
        "event_id": outcome.event_id,
        "status": pb.Outcome.Status.Name(outcome.status).lower(),
        "errors": [
            {
                "field": e.field,
                "value": e.value,
                "rule": e.rule,
                "message_zh": e.message_zh,
                "message_en": e.message_en,
            }
            for e in outcome.errors
        ],
    }


def ranking_from_proto(ranking: pb.Ranking) -> dict:
    return {
        **json.loads(ranking.content_json),
        "hash": ranking.hash,
        "published": ranking.published,
    }


def entry_from_proto(entry: pb.HistoryEntry) -> dict:
    return {
        "service": entry.service,
        "notification_id": entry.notification_id,
        "type": entry.type,
        "event_id": entry.event_id,
        "source": entry.source,
        "occurred_on": entry.occurred_on,
        "recorded_at": entry.recorded_at,
        "payload": json.loads(entry.payload_json),
    }


class GatewayClient:
    def __init__(self, target: str = "127.0.0.1:50051", timeout: float | None = 60.0):
        self.timeout = timeout
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        self._ingest = pb_grpc.IngestStub(self._channel)
        self._query = pb_grpc.QueryStub(self._channel)
        self._audit = pb_grpc.AuditStub(self._channel)
        self._office = pb_grpc.OfficeStub(self._channel)

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def publish(self, events: list[dict]) -> list[dict]:
        """One outcome per event, in order: {"event_id", "status", "errors"}."""
        request = pb.PublishRequest(events=[event_to_proto(e) for e in events])
        response = self._ingest.Publish(request, timeout=self.timeout)
        return [outcome_from_proto(o) for o in response.outcomes]

    def get_ranking(self, quarter: str, view: str = "official") -> dict:
        request = pb.GetRankingRequest(quarter=quarter, view=VIEWS[view])
        return ranking_from_proto(self._query.GetRanking(request, timeout=self.timeout))

    def publish_ranking(self, quarter: str) -> dict:
        request = pb.PublishRankingRequest(quarter=quarter)
        return ranking_from_proto(self._office.PublishRanking(request, timeout=self.timeout))

    def get_project(self, project_code: str) -> dict | None:
        request = pb.GetProjectRequest(project_code=project_code)
        try:
            project = self._query.GetProject(request, timeout=self.timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return json.loads(project.state_json)

    def history(self, project_code: str) -> list[dict]:
        request = pb.GetHistoryRequest(project_code=project_code)
        history = self._audit.GetHistory(request, timeout=self.timeout)
        return [entry_from_proto(e) for e in history.entries]
