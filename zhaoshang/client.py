"""A small Python client of the gateway, for prefecture systems' scripts, operators and tests.

    with GatewayClient("127.0.0.1:50051", api_key=..., ca_file="var/dev-ca.pem") as gateway:
        outcomes = gateway.publish([{"event_id": ..., "type": "project.signed", ...,
                                     "payload": {"project_code": "WH-001",
                                                 "contract_investment": "25.5"}}])

Values are plain dicts; failures other than "not found" raise `grpc.RpcError`. With
`api_key`, every call carries the system's key (`x-api-key`, services/gateway/auth.py);
`publish(..., api_key=...)` sends one batch under another system's key.

The channel is TLS: the gateway's certificate is checked against `ca_file` (PEM; without it,
the system's trusted roots), and with `cert_file` and `key_file` the client presents its own
certificate (mutual TLS). `plaintext=True` only for a gateway serving plaintext on loopback.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf.message import Message

from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

VIEWS = {"official": pb.GetRankingRequest.OFFICIAL, "provisional": pb.GetRankingRequest.PROVISIONAL}
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # what the gateway reads of one call (README "Limits")
API_KEY_HEADER = "x-api-key"
EVIDENCE_CHUNK_BYTES = 1024 * 1024  # per streamed message of Evidence.Upload


class _WithApiKey(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor):
    """Adds the client's key to every call that does not carry one of its own."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def _keyed(self, details: Any) -> Any:
        metadata = list(details.metadata or ())
        if not any(name == API_KEY_HEADER for name, _ in metadata):
            metadata.append((API_KEY_HEADER, self.api_key))
            details = details._replace(metadata=metadata)
        return details

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._keyed(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._keyed(details), requests)


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
        "operator": entry.operator or None,
    }


def _fields(message: Message) -> Any:
    """A message as plain values, every field present (ints stay ints)."""
    return {
        field.name: (
            [_fields(m) for m in getattr(message, field.name)]
            if field.is_repeated
            else getattr(message, field.name)
        )
        for field in message.DESCRIPTOR.fields
    }


def _plain(message: Message) -> dict:
    """A flat message (scalars and repeated scalars) as plain values."""
    return {
        field.name: (
            list(getattr(message, field.name))
            if field.is_repeated
            else getattr(message, field.name)
        )
        for field in message.DESCRIPTOR.fields
    }


def open_channel(
    target: str,
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    plaintext: bool = False,
) -> grpc.Channel:
    """A channel to the gateway: TLS trusting `ca_file` (else the system's roots), presenting
    the client certificate `cert_file` with its `key_file` if given; plaintext only if asked."""
    options = [
        ("grpc.max_send_message_length", MAX_REQUEST_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ]
    if plaintext:
        return grpc.insecure_channel(target, options=options)
    if bool(cert_file) != bool(key_file):
        raise ValueError(
            "cert_file 与 key_file 须同时给出（客户端证书及其私钥）/ "
            "cert_file and key_file go together: a client certificate and its private key"
        )
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(ca_file).read_bytes() if ca_file else None,
        private_key=Path(key_file).read_bytes() if key_file else None,
        certificate_chain=Path(cert_file).read_bytes() if cert_file else None,
    )
    return grpc.secure_channel(target, credentials, options=options)


class GatewayClient:
    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        timeout: float | None = 60.0,
        api_key: str | None = None,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        plaintext: bool = False,
    ):
        self.timeout = timeout
        self._channel = open_channel(target, ca_file, cert_file, key_file, plaintext)
        if api_key:
            self._channel = grpc.intercept_channel(self._channel, _WithApiKey(api_key))
        self._ingest = pb_grpc.IngestStub(self._channel)
        self._query = pb_grpc.QueryStub(self._channel)
        self._audit = pb_grpc.AuditStub(self._channel)
        self._office = pb_grpc.OfficeStub(self._channel)
        self._evidence = pb_grpc.EvidenceStub(self._channel)

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

    def publish(self, events: list[dict], api_key: str | None = None) -> list[dict]:
        """One outcome per event, in order: {"event_id", "status", "errors"}."""
        request = pb.PublishRequest(events=[event_to_proto(e) for e in events])
        metadata = [(API_KEY_HEADER, api_key)] if api_key else None
        response = self._ingest.Publish(request, timeout=self.timeout, metadata=metadata)
        return [outcome_from_proto(o) for o in response.outcomes]

    def validate(self, events: list[dict], api_key: str | None = None) -> list[dict]:
        """What `publish` would answer now, storing nothing (Ingest.Validate)."""
        request = pb.PublishRequest(events=[event_to_proto(e) for e in events])
        metadata = [(API_KEY_HEADER, api_key)] if api_key else None
        response = self._ingest.Validate(request, timeout=self.timeout, metadata=metadata)
        return [outcome_from_proto(o) for o in response.outcomes]

    def upload_evidence(self, data: bytes, name: str) -> dict:
        """A 佐证材料 file streamed to the gateway in 1 MiB chunks: {"sha256", "name",
        "media_type", "size"}, what a report's `evidence` names it by."""
        size = EVIDENCE_CHUNK_BYTES
        chunks = (
            pb.EvidenceChunk(name=name if start == 0 else "", data=data[start : start + size])
            for start in range(0, max(len(data), 1), size)
        )
        return _fields(self._evidence.Upload(chunks, timeout=self.timeout))

    def download_evidence(self, sha256: str) -> tuple[dict, bytes] | None:
        """A file's description and bytes; None when no file has this hash."""
        try:
            content = self._evidence.Download(
                pb.EvidenceRequest(sha256=sha256), timeout=self.timeout
            )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return _fields(content.file), content.data

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

    def get_scorecard(self, quarter: str, region: str, view: str = "official") -> dict | None:
        """One 市州's quarter: {"row": {indicators, trips, bonuses, deductions, total, rank,
        tier}, "late": [...], "summoned", "hash", ...}; None for a code that is no 市州."""
        request = pb.GetScorecardRequest(quarter=quarter, region=region, view=VIEWS[view])
        try:
            card = self._query.GetScorecard(request, timeout=self.timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return json.loads(card.content_json)

    def verify(self) -> dict:
        """{"ok", "stores": [{"service", "ok", "events", ..., "findings": [...]}]}."""
        verification = self._audit.Verify(pb.VerifyRequest(), timeout=self.timeout)
        return {"ok": verification.ok, "stores": [_fields(s) for s in verification.stores]}

    def rebuild_ranking(self, quarter: str, as_of: str = "") -> dict:
        """The quarter rebuilt from the upstream logs: {"rebuilt", "today", "differences",
        "matches_published", "policy", "events_read", ...}. Without `as_of`, the published
        ranking is rebuilt; with it (an ISO date or moment), only what was recorded by then."""
        request = pb.RebuildRankingRequest(quarter=quarter, as_of=as_of)
        return json.loads(self._audit.RebuildRanking(request, timeout=self.timeout).content_json)

    def read_log(self, service: str, start: int, limit: int = 1000) -> dict | None:
        """A page of registry's or tracking's log as a wire message; None past its end."""
        request = pb.ReadLogRequest(service=service, start=start, limit=limit)
        page = self._audit.ReadLog(request, timeout=self.timeout)
        if page.end:
            return None
        events = json.loads(page.events_json)
        return {
            "service": page.service,
            "first": page.first,
            "last": page.last,
            "events": events,
            "leaf_hashes": dict(page.leaf_hashes),  # notification id -> Merkle leaf hash
        }

    # Signed tree heads and proofs (README "How an auditor verifies") -------------------------

    def tree_heads(self, store: str = "", fresh: bool = False) -> list[dict]:
        """The latest signed head of one store, or of every store (`fresh`: newly signed)."""
        request = pb.GetTreeHeadRequest(store=store, fresh=fresh)
        return [_fields(h) for h in self._audit.GetTreeHead(request, timeout=self.timeout).heads]

    def inclusion_proof(
        self, store: str, notification_id: int = 0, event_id: str = "", tree_size: int = 0
    ) -> dict:
        request = pb.GetInclusionProofRequest(
            store=store, notification_id=notification_id, event_id=event_id, tree_size=tree_size
        )
        proof = self._audit.GetInclusionProof(request, timeout=self.timeout)
        return _plain(proof)

    def read_leaves(self, store: str, start_index: int, after: int, limit: int = 500) -> list:
        """Rows of a store's log as stored now: [{"index", "notification_id", "data",
        "tree_leaf_hash"}]."""
        request = pb.ReadLeavesRequest(
            store=store, start_index=start_index, after_notification_id=after, limit=limit
        )
        answer = self._audit.ReadLeaves(request, timeout=self.timeout)
        return [_plain(leaf) for leaf in answer.leaves]

    def consistency_proof(self, store: str, old_size: int, new_size: int = 0) -> dict:
        request = pb.GetConsistencyProofRequest(store=store, old_size=old_size, new_size=new_size)
        proof = self._audit.GetConsistencyProof(request, timeout=self.timeout)
        return _plain(proof)

    # Registry's and tracking's views (README "Queries") -------------------------------------

    def _listing(self, method: str, request: Message) -> dict:
        return json.loads(getattr(self._query, method)(request, timeout=self.timeout).content_json)

    def list_projects(
        self, list_name: str = "", region: str = "", department: str = "", register: bool = False
    ) -> dict:
        """A list of (二): {"title", "count", "total_investment", "by_list", "projects"}; with
        `register`, every project of the scope, key project or not."""
        request = pb.ListProjectsRequest(
            list=list_name, region=region, department=department, register=register
        )
        return self._listing("ListProjects", request)

    def milestones(self, project_code: str) -> dict | None:
        """{"milestones": [...with "cumulative"], "views": {"provisional", "official"}, ...}."""
        try:
            return self._listing("GetMilestones", pb.GetProjectRequest(project_code=project_code))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def five_ones_gaps(self, unit: str = "") -> dict:
        return self._listing("ListFiveOnesGaps", pb.UnitRequest(unit=unit))

    def leader_progress(self, unit: str = "", year: int = 0) -> dict:
        return self._listing("GetLeaderProgress", pb.LeaderProgressRequest(unit=unit, year=year))

    def promotion_events(self, unit: str = "") -> dict:
        return self._listing("GetPromotionEvents", pb.UnitRequest(unit=unit))

    def task_status(self, unit: str = "", task_id: str = "", as_of: str = "") -> dict:
        request = pb.TaskStatusRequest(unit=unit, task_id=task_id, as_of=as_of)
        return self._listing("GetTaskStatus", request)

    def matter_status(self, unit: str = "", matter_id: str = "", as_of: str = "") -> dict:
        request = pb.MatterStatusRequest(unit=unit, matter_id=matter_id, as_of=as_of)
        return self._listing("GetMatterStatus", request)

    def refusals(self, source: str = "") -> dict:
        return self._listing("ListRefusals", pb.RefusalsRequest(source=source))

    # The office's work (README "Queries") ----------------------------------------------------

    def awaiting_review(
        self,
        unit: str = "",
        report_type: str = "",
        min_age_days: int = 0,
        limit: int = 0,
        page: int = 0,
    ) -> dict:
        """甄别: {"total", "items": [{"event_id", "type", "project", "review", ...}], ...}."""
        request = pb.AwaitingReviewRequest(
            unit=unit, report_type=report_type, min_age_days=min_age_days, limit=limit, page=page
        )
        return self._listing("ListAwaitingReview", request)

    def yearly_assessment(self, year: str) -> dict:
        """{"year", "rule", "complete", "units": [{"region", "result", "rank", ...}], "rewards"}."""
        return self._listing("GetYearlyAssessment", pb.YearlyAssessmentRequest(year=year))

    def circular(self, quarter: str) -> dict:
        """A published quarter's circular as the units received it: {"quarter", "ranking_hash",
        "filename", "sha256", "content" (the .docx bytes)}."""
        document = self._query.GetCircular(
            pb.GetCircularRequest(quarter=quarter), timeout=self.timeout
        )
        return {
            "quarter": document.quarter,
            "ranking_hash": document.ranking_hash,
            "filename": document.filename,
            "sha256": document.sha256,
            "content": document.content,
        }

    def try_policy(self, quarter: str, changes: dict) -> dict:
        """试算: the quarter ranked under its policy changed by `changes` (weights, targets,
        tie-break), beside the real ranking; nothing is stored. {"tried", "real", "moves", ...}."""
        request = pb.TryPolicyRequest(quarter=quarter, changes_json=json.dumps(changes))
        return self._listing("TryPolicy", request)

    def open_commitments(self, unit: str = "") -> dict:
        """{"unit", "count", "commitments": [...]} made at 约谈 and not reported done."""
        return self._listing("ListOpenCommitments", pb.UnitRequest(unit=unit))
