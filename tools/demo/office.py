"""The office's own work in the demo (docs/CONTRACT.md): the year's targets (一), the 甄别 review
queue worked in one batch (十九), a summons (约谈) with its commitments and the summoned 市州's
progress on them (十九), and the year's rewards decided with 财政厅 (十五).

Each function writes raw reports; their event ids are derived from what they are about, so a
second run of the demo sends the same reports and is answered "duplicate".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid5

from tools.demo.wire import amount, envelope

NAMESPACE = UUID("5b0c1d9e-7f3a-5e21-8c4b-9d2e6a1f0c37")
OFFICE = "office"
# The year's targets the office sets (ours, for the demo): 亿元 of capital and registrations.
TARGETS = {
    "420100": {"capital_arrived": "400", "registrations": "40"},  # 武汉市
    "420500": {"capital_arrived": "120", "registrations": "16"},  # 宜昌市
    "420600": {"capital_arrived": "100", "registrations": "12"},  # 襄阳市
}
SHARES = ("0.2", "0.25", "0.25", "0.3")  # of the year, Q1..Q4


def report(kind: str, source: str, day: date, payload: dict, key: str) -> dict:
    return envelope(uuid5(NAMESPACE, f"{kind}:{key}"), kind, source, day, payload)


def targets(year: int) -> list[dict]:
    """target.set for a few 市州, per indicator, with quarterly shares."""
    day = date(year, 1, 15)
    found = []
    for unit, by_indicator in TARGETS.items():
        for indicator, yearly in by_indicator.items():
            quarterly = [amount(Decimal(yearly) * Decimal(share)) for share in SHARES]
            payload = {
                "unit": unit,
                "year": str(year),
                "indicator": indicator,
                "yearly": yearly,
                "quarterly": quarterly,
            }
            found.append(report("target.set", OFFICE, day, payload, f"{unit}:{year}:{indicator}"))
    return found


def checks(queue: list[dict], day: date) -> list[dict]:
    """The office's decisions on the open reports: a capital report above the project's total
    investment is rejected (flagged for review, (十九)); the rest are verified."""
    found = []
    for item in queue:
        event_id, payload = item["event_id"], item["payload"]
        if item["type"] == "leader.trip_completed":
            kind, body = "report.verified", {"leader_id": payload["leader_id"]}
        elif item["type"] == "promotion.event_held":
            kind, body = "report.verified", {"unit": payload["unit"]}
        elif payload.get("over_total_investment"):
            kind, body = "milestone.rejected", {"reason": "累计到资超过项目总投资，凭证待核"}
        else:
            kind, body = "milestone.verified", {}
        field = "milestone_event_id" if kind.startswith("milestone.") else "report_event_id"
        found.append(report(kind, OFFICE, day, {field: event_id, **body}, event_id))
    return found


def summons(unit: str, quarter: str, day: date) -> dict:
    payload = {
        "unit": unit,
        "quarter": quarter,
        "held_on": day.isoformat(),
        "attendees": ["市人民政府分管副市长", "市商务局局长", "市招商服务中心主任"],
        "commitments": [
            {"key": "c1", "text": "下季度新增注册亿元以上项目 3 个", "due": "2020-12-31"},
            {"key": "c2", "text": "市主要领导赴粤港澳大湾区招商 1 次", "due": "2020-12-31"},
        ],
    }
    return report("summons.held", OFFICE, day, payload, f"{unit}:{quarter}")


def rectification(unit: str, summons_event_id: str, day: date) -> dict:
    payload = {
        "unit": unit,
        "summons_event_id": summons_event_id,
        "progress": [
            {"commitment": "c1", "status": "in_progress", "text": "已注册 1 个，2 个在办"},
            {"commitment": "c2", "status": "done", "text": "市长已于 11 月赴深圳招商"},
        ],
    }
    return report("rectification.reported", f"pref:{unit}", day, payload, summons_event_id)


def rewards(year: str, units: list[str], day: date) -> dict:
    classes = ("一类", "二类", "三类")
    payload = {
        "year": year,
        "rewards": [
            {"unit": unit, "reward_class": classes[min(i, len(classes) - 1)]}
            for i, unit in enumerate(units)
        ],
        "basis": "年度考核成效突出，经省财政厅会商，按产业基础分类分档给予一次性奖励（十五）",
    }
    return report("reward.decided", OFFICE, day, payload, year)
