"""Factories and hand-written fakes for notify's tests: a published ranking shaped as scoring
publishes it, the wire messages that carry it, a clock the test moves, transports that record."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from services.kernel.reference import reference
from services.notify.application import NotifyApplication
from services.notify.config import Leader, Recipients, UnitContacts, Webhook
from services.notify.retry import RetryPolicy
from services.notify.transports import DeliveryFailed, Outgoing

MEASURES = (
    "registrations",
    "construction_starts",
    "production_starts",
    "capital_arrived",
    "key_project_landings",
    "leader_trips",
)
WEBHOOK_KEY = hashlib.sha256(b"the key of a unit's webhook").digest()  # 32 bytes
WUHAN, XIANGYANG, QIANJIANG, TIANMEN, SHENNONGJIA = (
    "420100",
    "420600",
    "429005",
    "429006",
    "429021",
)


def make_ranking(quarter: str = "2020Q3", **overrides) -> dict:
    """A published ranking's content (without its hash) as scoring's rank_quarter makes it:
    the 17 市州 in reference order, totals falling by 5.15 from 95.15, bottom 3 summoned."""
    rows = []
    for rank, region in enumerate(reference().prefectures, 1):
        points = [Decimal("15.00") - rank * Decimal("0.50") + i for i in range(6)]
        total = sum(points, Decimal(0)) + Decimal("1.00") - Decimal("0.50")
        rows.append(
            {
                "rank": rank,
                "region": region.code,
                "name": region.name,
                "total": str(total),
                "indicators": {
                    key: {"actual": "1", "target": None, "points": str(p), "basis": "relative"}
                    for key, p in zip(MEASURES, points, strict=True)
                },
                "bonuses": "1.00",
                "deductions": "0.50",
                "adjustments": {},
                "tier": "一档" if rank <= 3 else None,
            }
        )
    codes = [row["region"] for row in rows]
    ranking = {
        "quarter": quarter,
        "policy_version": "2020-default-1",
        "official": True,
        "recorded_by": None,
        "rows": rows,
        "summons": codes[-3:],
        "tiers": {"一档": codes[:3], "二档": codes[3:8]},
        "as_of": {"registry": 10, "tracking": 20},
    }
    ranking.update(overrides)
    return ranking


def ranking_hash(ranking: dict) -> str:
    """Like scoring's: SHA-256 of the content's canonical JSON."""
    text = json.dumps(ranking, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def published(ranking: dict, notification_id: int = 1, on: str = "2020-10-12") -> dict:
    """A wire message from scoring carrying one `ranking.published`."""
    content = {k: v for k, v in ranking.items() if k != "hash"}
    event = {
        "service": "scoring",
        "notification_id": notification_id,
        "version": 1,
        "type": "ranking.published",
        "event_id": str(uuid.uuid4()),
        "source": "office",
        "occurred_on": on,
        "recorded_at": f"{on}T02:00:00+00:00",
        "payload": {
            "quarter": ranking["quarter"],
            "ranking": content,
            "hash": ranking.get("hash") or ranking_hash(content),
            "policy_version": ranking["policy_version"],
            "as_of": ranking["as_of"],
        },
    }
    return {
        "service": "scoring",
        "first": notification_id,
        "last": notification_id,
        "events": [event],
    }


def tracking_message(first: int, events: Iterable[tuple[str, dict, str]]) -> dict:
    """A wire message from tracking: (type, payload, occurred_on) per event."""
    wire = [
        {
            "service": "tracking",
            "notification_id": first + i,
            "version": 1,
            "type": kind,
            "event_id": str(uuid.uuid4()),
            "source": "office",
            "occurred_on": on,
            "recorded_at": f"{on}T02:00:00+00:00",
            "payload": payload,
        }
        for i, (kind, payload, on) in enumerate(events)
    ]
    return {"service": "tracking", "first": first, "last": first + len(wire) - 1, "events": wire}


def task_done(task_id: str, unit: str, on: str) -> tuple[str, dict, str]:
    return "task.completed", {"task_id": task_id, "unit": unit}, on


def no_gap(start: int, stop: int | None) -> None:
    raise AssertionError(f"no gap expected, asked for {start}..{stop}")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = datetime(2020, 10, 12, 2, 0, tzinfo=UTC)) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)

    def set_day(self, day: str, hour: int = 1) -> None:
        """09:00 in Shanghai on `day` when hour=1 (UTC)."""
        self.moment = datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


class RecordingTransport:
    """Accepts everything and remembers it."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, outgoing: Outgoing) -> str:
        self.sent.append(outgoing)
        return f"recorded {outgoing.delivery_id}"


class RefusingTransport:
    """Fails every attempt, the way a server that is down or says no fails it."""

    def __init__(self, reason: str = "connection refused", permanent: bool = False) -> None:
        self.reason, self.permanent = reason, permanent
        self.tries = 0

    def send(self, outgoing: Outgoing) -> str:
        self.tries += 1
        raise DeliveryFailed(self.reason, self.permanent)


def contacts(
    unit: str,
    *emails: str,
    webhook: str | None = None,
    leaders: Iterable[tuple[str, str, str]] = (),
    circulars: bool = True,
) -> UnitContacts:
    return UnitContacts(
        unit=unit,
        email=tuple(emails),
        webhook=Webhook(webhook, WEBHOOK_KEY) if webhook else None,
        leaders=tuple(Leader(*leader) for leader in leaders),
        circulars=circulars,
    )


def default_recipients() -> Recipients:
    """武汉 (circulars), 神农架 (summoned; its leaders named), and one department."""
    return Recipients(
        {
            WUHAN: contacts(WUHAN, "zsj@wuhan.example"),
            SHENNONGJIA: contacts(
                SHENNONGJIA,
                "zsj@snj.example",
                leaders=[("张三", "分管招商的政府负责人", "zhangsan@snj.example")],
            ),
            "dept:shangwu": contacts("dept:shangwu", "office@swt.example", circulars=False),
        }
    )


def make_app(
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    recipients: Recipients | None = None,
    transports: dict | None = None,
    clock: FakeClock | None = None,
    retry: RetryPolicy | None = None,
    **kwargs,
) -> NotifyApplication:
    """A NotifyApplication in memory (unless `env` names a store) writing under tmp_path."""
    return NotifyApplication(
        env or {"PERSISTENCE_MODULE": "eventsourcing.popo"},
        circulars=tmp_path / "circulars",
        recipients=recipients or default_recipients(),
        transports=transports or {},
        clock=clock or FakeClock(),
        retry=retry or RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=1)),
        **kwargs,
    )


def sqlite_env(path: Path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "CREATE_TABLE": "y",
    }
