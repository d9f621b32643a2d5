"""The gateway's side of scorecards and audit: which service answers, and the proto shapes.

Verification asks every event-sourced service that feeds a ranking (registry, tracking,
scoring) to check its own store; rebuilds are scoring's; raw log pages are registry's and
tracking's `read_wire`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from services.gateway.rpc import Rpc
from services.kernel.contract.ranking import RankingAnswer, Rebuild, Scorecard
from zhaoshang.api import zhaoshang_pb2 as pb

VERIFIED_STORES = ("registry", "tracking", "scoring")
LOG_SERVICES = ("registry", "tracking")
MAX_LOG_PAGE = 5000


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def valid_as_of(as_of: str) -> bool:
    """An ISO date, or an ISO moment with its UTC offset."""
    try:
        if "T" in as_of:
            return datetime.fromisoformat(as_of).tzinfo is not None
        date.fromisoformat(as_of)
    except ValueError:
        return False
    return True


def scorecard(rpc: Rpc, quarter: str, region: str, view: str) -> pb.Scorecard | None:
    card: Scorecard | None = rpc.call(
        "scoring", "get_scorecard", quarter=quarter, region=region, view=view
    )
    if card is None:
        return None
    row = card["row"]
    return pb.Scorecard(
        quarter=card["quarter"],
        region=row["region"],
        name=row["name"],
        rank=int(row["rank"]),
        total=row["total"],
        policy_version=card["policy_version"],
        published=bool(card["published"]),
        hash=card["hash"],
        content_json=to_json(card),
    )


def verification(rpc: Rpc) -> pb.Verification:
    stores = [rpc.call(service, "verify") for service in VERIFIED_STORES]
    return pb.Verification(
        ok=all(store["ok"] for store in stores),
        stores=[
            pb.StoreVerification(
                service=store["service"],
                ok=store["ok"],
                events=store["events"],
                aggregates=store["aggregates"],
                checkpoints=store["checkpoints"],
                covered_to=store["covered_to"],
                last=store["last"],
                findings=[
                    pb.Finding(
                        kind=f["kind"],
                        aggregate_id=f["aggregate_id"] or "",
                        aggregate_type=f["aggregate_type"] or "",
                        version=f["version"] or 0,
                        notification_id=f["notification_id"] or 0,
                        detail_zh=f["detail_zh"],
                        detail_en=f["detail_en"],
                    )
                    for f in store["findings"]
                ],
            )
            for store in stores
        ],
    )


def rebuild(
    rpc: Rpc, quarter: str, as_of: str, ranking_to_proto: Callable[[RankingAnswer], pb.Ranking]
) -> pb.Rebuild:
    result: Rebuild = rpc.call("scoring", "rebuild_ranking", quarter=quarter, as_of=as_of or None)
    return pb.Rebuild(
        quarter=quarter,
        as_of=result["as_of"] or "",
        rebuilt=ranking_to_proto({**result["rebuilt"], "published": False}),
        today=ranking_to_proto(result["today"]),
        matches_published=bool(result["matches_published"]),
        content_json=to_json(result),
    )


def log_page(rpc: Rpc, service: str, start: int, limit: int) -> pb.LogPage:
    limit = min(limit or 1000, MAX_LOG_PAGE)
    body = rpc.call(service, "read_wire", start=max(start, 1), stop=None, limit=limit)
    if body is None:
        return pb.LogPage(service=service, first=start, last=start - 1, end=True, events_json="[]")
    return pb.LogPage(
        service=service,
        first=body["first"],
        last=body["last"],
        end=False,
        events_json=to_json(body["events"]),
    )
