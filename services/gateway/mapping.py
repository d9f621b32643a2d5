"""Proto messages <-> the simple values the services speak (dicts, lists, JSON text).

Reports in: a proto `Event` becomes the envelope the contract validates, its payload JSON
decoded exactly as an AMQP body is. Answers out: outcomes, rankings and history entries become
their proto messages; anything richer travels as JSON text (`content_json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.gateway.errors import Undecodable
from services.kernel.contract.jsontext import JsonRefused, parse_json
from services.kernel.contract.ranking import RankingAnswer
from zhaoshang.api import zhaoshang_pb2 as pb

OUTCOME_STATUS = {
    "accepted": pb.Outcome.ACCEPTED,
    "duplicate": pb.Outcome.DUPLICATE,
    "rejected": pb.Outcome.REJECTED,
    "conflict": pb.Outcome.CONFLICT,
}
VIEW = {pb.GetRankingRequest.OFFICIAL: "official", pb.GetRankingRequest.PROVISIONAL: "provisional"}


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def event_from_proto(event: pb.Event) -> dict | Undecodable:
    """The envelope as the contract expects it; payload JSON is decoded exactly as an AMQP
    body is (services/kernel/contract/jsontext.py), so both transports validate the same values
    and refuse the same text: too large, too deep, numbers too long, not JSON."""
    raw: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "source": event.source,
        "occurred_on": event.occurred_on,
        "schema_version": event.schema_version,
    }
    if event.payload_json:
        try:
            raw["payload"] = parse_json(event.payload_json, field="payload_json")
        except JsonRefused as refused:
            return Undecodable(
                event.event_id,
                refused.field,
                refused.value,
                refused.rule,
                refused.message_zh,
                refused.message_en,
            )
    return raw


def text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value)


def outcome_to_proto(outcome: dict) -> pb.Outcome:
    return pb.Outcome(
        event_id=text(outcome.get("event_id")),
        status=OUTCOME_STATUS[outcome["status"]],
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


def ranking_to_proto(ranking: RankingAnswer) -> pb.Ranking:
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
        operator=text(entry.get("operator")),
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


def listing(content: Any) -> pb.Listing:
    return pb.Listing(content_json=to_json(content))
