"""What the notices say, in Chinese: the circular's covering letter, the 约谈通知 (十九) and the
deadline reminders (附件3 tasks, 附件4 matters). Pure functions of their inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.kernel.contract.ranking import Ranking
from services.kernel.reference import Reference
from services.notify import heads as tree_heads
from services.notify.circular import ISSUER, PLAN, date_zh, quarter_zh, title
from services.notify.reminders import Stage

OFFICE = "office"  # the 领导小组办公室 itself, as a recipient
OFFICE_CONTACT = "省招商引资工作领导小组办公室（省商务厅）"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def unit_name(unit: str, ref: Reference) -> str:
    """How a notice addresses a unit: 武汉市人民政府, 省商务厅, or the name configured as is."""
    if unit == OFFICE:
        return ISSUER
    if unit.startswith("dept:") and unit[5:] in ref.departments:
        return ref.departments[unit[5:]].name
    if unit in ref.regions:
        return f"{ref.regions[unit].name}人民政府"
    if unit.startswith("org:") and unit[4:] in ref.organisations:
        return ref.organisations[unit[4:]].name
    return unit


def circular_letter(
    ranking: Ranking,
    published_on: date,
    addressee: str,
    commitments: Sequence[Mapping] = (),
    heads: Sequence[dict] = (),
) -> Text:
    return Text(
        subject=title(ranking),
        body=(
            f"{addressee}：\n\n"
            f"现将《{title(ranking)}》印发给你们（见附件 Word 文档），请结合实际认真研究，"
            "抓好落实。\n\n"
            f"{open_commitments_text(commitments, ranking)}"
            f"评分政策：{ranking['policy_version']}；排名内容哈希：{ranking['hash']}。\n\n"
            f"{heads_text(heads, ranking['hash'])}"
            f"{ISSUER}\n{date_zh(published_on)}\n"
        ),
    )


def heads_text(heads: Sequence[dict], ranking_hash: str) -> str:
    """The signed tree heads the circular was made under, as it prints them: each recipient
    keeps a copy beyond the operator's reach, and `zhaoshang audit verify --against` reads this
    letter as it reads the circular (README "How an auditor verifies")."""
    if not heads:
        return ""
    listed = "\n".join(f"- {line}" for line in tree_heads.lines(list(heads)))
    return (
        f"本通报据以生成的各库签名树头（请留存，供审计核验日志未被改写）：\n{listed}\n"
        f"{tree_heads.payload(list(heads), ranking_hash)}\n\n"
    )


def open_commitments_text(commitments: Sequence[Mapping], ranking: Ranking) -> str:
    """约谈整改 (十九): the commitments made at earlier summonses and not reported done."""
    if not commitments:
        return ""
    names = {row["region"]: row["name"] for row in ranking["rows"]}
    lines = [
        f"- {names.get(c['unit'], c['unit'])}（{c['quarter']} 约谈）：{c['text']}"
        + (f"，时限 {c['due']}" if c.get("due") else "")
        + (f"；最新进展：{c['latest']['text']}" if c.get("latest") else "；尚未报告进展")
        for c in commitments
    ]
    return "约谈整改承诺尚未完成的事项（第（十九）项）：\n" + "\n".join(lines) + "\n\n"


def summons_letter(
    ranking: Ranking, region: str, published_on: date, addressee: str, leaders: list[str]
) -> Text:
    row = next(r for r in ranking["rows"] if r["region"] == region)
    named = f"（{'、'.join(leaders)}）" if leaders else ""
    return Text(
        subject=f"关于对{row['name']}招商引资工作进行约谈的通知",
        body=(
            f"{addressee}分管负责人、招商部门主要负责人{named}：\n\n"
            f"根据{PLAN}第（十九）项，{quarter_zh(ranking['quarter'])}全省招商引资工作评分排名中，"
            f"{row['name']}总分 {row['total']} 分，位列第 {row['rank']} 名"
            f"（共 {len(ranking['rows'])} 个市州），列入约谈名单。经研究，由省招商引资工作领导小组"
            "负责人对你单位分管负责人和招商部门主要负责人进行约谈。约谈时间、地点另行通知，"
            "请提前准备招商引资工作情况及整改措施的书面说明。\n\n"
            f"评分排名详见所附《{title(ranking)}》。\n"
            f"评分政策：{ranking['policy_version']}；排名内容哈希：{ranking['hash']}。\n\n"
            f"{ISSUER}\n{date_zh(published_on)}\n"
        ),
    )


@dataclass(frozen=True)
class Item:
    """An owed item as a reminder names it."""

    label: str  # 附件3任务 / 附件4重点事项
    name: str
    due: date
    reports_to: str


def task_item(task_id: str, unit: str, ref: Reference) -> Item:
    task = ref.tasks[task_id]
    return Item("附件3重点任务", task.title, task.deadline_date, reports_to(unit, ref))


def matter_item(matter_id: str, unit: str, ref: Reference) -> Item:
    matter = ref.matters[matter_id]
    name = f"{'、'.join(matter.partners)}：{matter.item}"
    return Item("附件4招商引资重点事项", name, matter.due, reports_to(unit, ref))


def reports_to(unit: str, ref: Reference) -> str:
    """附件3 备注: counties report to their 市（州）'s office, everyone else to the province's."""
    region = ref.regions.get(unit)
    if region is not None and not region.is_prefecture:
        prefecture = ref.regions[region.prefecture_code].name
        return f"{prefecture}招商引资工作领导小组办公室"
    return OFFICE_CONTACT


def reminder_text(
    about: str, unit: str, stage: Stage, today: date, ref: Reference, deadline: Any = None
) -> Text:
    """The reminder to `unit` about `about` ("task:<id>", "matter:<id>", or "commitment:…" of
    a 约谈, named and dated by its `deadline`) at `stage`."""
    kind, key = about.split(":", 1)
    if kind == "commitment":
        owed = Item("约谈整改承诺事项（十九）", deadline.name, deadline.due, OFFICE_CONTACT)
    else:
        owed = (task_item if kind == "task" else matter_item)(key, unit, ref)
    return reminder_letter(owed, stage, today, unit_name(unit, ref))


def reminder_letter(item: Item, stage: Stage, today: date, addressee: str) -> Text:
    days = (item.due - today).days
    if stage.days_late < 0:
        subject = f"【到期提醒】{item.label}将于{date_zh(item.due)}到期：{_short(item.name)}"
        when = f"距完成时限还有 {days} 天" if days > 0 else "今天为完成时限"
        ask = f"请于{date_zh(item.due)}前将落实情况报{item.reports_to}。"
    else:
        subject = f"【逾期通知】{item.label}已逾期：{_short(item.name)}"
        when = f"已逾期 {-days} 天"
        ask = f"请尽快将落实情况报{item.reports_to}，并说明逾期原因。"
    body = (
        f"{addressee}：\n\n"
        f"根据{PLAN}{item.label}分工，你单位负责的“{item.name}”完成时限为"
        f"{date_zh(item.due)}。截至{date_zh(today)}，尚未收到你单位的落实情况报告，{when}。"
        f"{ask}\n\n{ISSUER}\n{date_zh(today)}\n"
    )
    return Text(subject=subject, body=body)


def _short(name: str, limit: int = 30) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
