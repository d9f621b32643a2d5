"""The office's work in `make run`'s demo, through the public API (tools/demo/office.py writes
the reports): the 甄别 queue worked, progress against targets, a summons with its follow-up, and
the year's assessment with its rewards."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from services.kernel.contract.calendar import quarter_bounds
from tools.demo import office
from zhaoshang.client import GatewayClient

BATCH = 500
TYPE_ZH = {
    "project.company_registered": "注册",
    "project.construction_started": "开工",
    "project.production_started": "投产",
    "project.capital_arrived": "到资",
    "leader.trip_completed": "领导外出",
    "promotion.event_held": "主题招商活动",
}
INDICATOR_ZH = {"capital_arrived": "到资(亿元)", "registrations": "注册(个)"}


def publish(client: GatewayClient, reports: list[dict], api_key: str) -> list[dict]:
    outcomes: list[dict] = []
    for start in range(0, len(reports), BATCH):
        outcomes += client.publish(reports[start : start + BATCH], api_key=api_key)
    for outcome in outcomes:
        if outcome["status"] not in ("accepted", "duplicate"):
            print(f"  {outcome['status']}: {outcome['errors']}")
    return outcomes


def set_targets(client: GatewayClient, quarter: str, api_keys: dict[str, str]) -> None:
    reports = office.targets(int(quarter[:4]))
    publish(client, reports, api_keys["office"])
    print(f"年度目标 / targets (一): {len(reports)} 项，{len(office.TARGETS)} 个市州")


def work_queue(client: GatewayClient, quarter: str, api_keys: dict[str, str]) -> None:
    """(十九) 甄别: the open reports, oldest first, decided in one batch."""
    queue = client.awaiting_review(limit=1000)
    kinds = Counter(TYPE_ZH.get(i["type"], i["type"]) for i in queue["items"])
    print(
        f"\n待甄别 / awaiting review: {queue['total']} 条（"
        + "、".join(f"{k} {n}" for k, n in kinds.most_common())
        + "）"
    )
    for item in queue["items"][:3]:
        facts = item["project"] or {}
        print(
            f"  {item['recorded_at'][:19]} {TYPE_ZH.get(item['type'], item['type'])} "
            f"{item['unit'] or ''} {facts.get('name', '')}"
        )
    decided_on = quarter_bounds(quarter)[1] + timedelta(days=3)
    checks = office.checks(queue["items"], decided_on)
    publish(client, checks, api_keys["office"])
    decisions = Counter(r["type"] for r in checks)
    left = client.awaiting_review(limit=1)["total"]
    print(
        f"甄别完成 / worked in one call: 核实 {decisions['milestone.verified']} 个里程碑、"
        f"{decisions['report.verified']} 次外出与活动，驳回 {decisions['milestone.rejected']} "
        f"个；仍待甄别 {left} 条"
    )


def show_targets(client: GatewayClient, quarter: str) -> None:
    for unit in office.TARGETS:
        card = client.get_scorecard(quarter, unit)
        if not card:
            continue
        parts = [
            f"{INDICATOR_ZH.get(t['indicator'], t['indicator'])} 季度 {t['quarter_actual']}/"
            f"{t['quarter_target']}，全年 {t['year_to_date']}/{t['yearly_target']}"
            f"（{float(t['share_of_year']):.0%}）"
            for t in card["targets"]
        ]
        print(f"  目标进度 / targets {card['row']['name']}: " + "；".join(parts))


def follow_up(client: GatewayClient, ranking: dict, api_keys: dict[str, str]) -> None:
    """(十九) 约谈 of the first unit summoned, and its progress report."""
    if not ranking["summons"]:
        return
    unit, quarter = ranking["summons"][0], ranking["quarter"]
    held_on = quarter_bounds(quarter)[1] + timedelta(days=20)
    summons = office.summons(unit, quarter, held_on)
    publish(client, [summons], api_keys["office"])
    progress = office.rectification(unit, summons["event_id"], held_on + timedelta(days=40))
    publish(client, [progress], api_keys[f"pref:{unit}"])
    names = {row["region"]: row["name"] for row in ranking["rows"]}
    left = client.open_commitments(unit)["commitments"]
    print(
        f"\n约谈 / summons: {names[unit]}，{held_on}，承诺 2 项；整改报告后仍未完成："
        + "；".join(
            f"{c['text']}（{c['latest']['text'] if c['latest'] else '未报告'}）" for c in left
        )
    )


def year_end(client: GatewayClient, year: str, api_keys: dict[str, str]) -> None:
    """(十九)(十五) the year from its quarters; rewards to the best not summoned."""
    assessment = client.yearly_assessment(year)
    eligible = [u["region"] for u in assessment["units"] if u["may_be_rewarded"]][:3]
    publish(
        client, [office.rewards(year, eligible, date(int(year) + 1, 1, 20))], api_keys["office"]
    )
    assessment = client.yearly_assessment(year)
    complete = "四个季度均已发布" if assessment["complete"] else "尚有季度未发布，按当前官方排名计"
    print(f"\n{year} 年度考核 / yearly assessment（{assessment['rule']}，{complete}）:")
    for unit in assessment["units"][:5]:
        reward = f"，奖励 {unit['reward_class']}" if unit["reward_class"] else ""
        summoned = "，曾被约谈" if unit["summoned_in_year"] else ""
        print(f"  {unit['rank']:>2} {unit['name']} {unit['result']}{summoned}{reward}")
