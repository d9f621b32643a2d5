"""Once a year (十九)(十五): the yearly circular of the assessment and the rewards decided with
财政厅 (`reward.decided`, whose wire event carries the year's results as scoring assessed
them), and the reminders of the commitments made at 约谈 (`summons.held`) that are still open.

Pure functions of their inputs: the application writes the circular's file and saves the
notices; the service asks scoring for the open commitments when the reminders are due.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from services.notify.circular import ISSUER, PLAN, date_zh
from services.notify.notices import Text
from services.notify.reminders import Deadline

RULES_ZH = {"mean_of_quarters": "四个季度总分的平均", "sum_of_quarters": "四个季度总分之和"}


def title(year: str) -> str:
    return f"关于{year}年度全省招商引资工作考核结果的通报"


def file_name(year: str, event_id: str) -> str:
    return f"{year}-yearly-{event_id[:12]}.md"


def yearly_markdown(payload: Mapping[str, Any], decided_on: date) -> str:
    """The yearly circular: the year's results per 市州 and the rewards (十五)."""
    year = payload["year"]
    results = payload.get("results") or []
    names = {r["region"]: r["name"] for r in results}
    rule = RULES_ZH.get(payload.get("rule", ""), "评分政策规定的办法")
    lines = [
        f"# {title(year)}",
        "",
        "各市、州、直管市、神农架林区人民政府，省直有关部门：",
        "",
        f"根据{PLAN}第（十九）项、第（十五）项，现将{year}年度各市州招商引资工作考核结果"
        f"（按{rule}计）和奖励决定通报如下。",
        "",
        "## 一、年度考核结果",
        "",
        "| 名次 | 市州 | 年度得分 | 年内约谈 |",
        "|---|---|---|---|",
        *(
            f"| {r['rank']} | {r['name']} | {r['result']} | {'是' if r['summoned_in_year'] else ''}"
            " |"
            for r in results
        ),
        "",
        "## 二、奖励",
        "",
        f"经商省财政厅，{payload['basis']}：",
        "",
        *(f"- {names.get(r['unit'], r['unit'])}：{r['reward_class']}" for r in payload["rewards"]),
        "",
        "年内被约谈的市州不予奖励（评分政策另有规定的除外）。",
        "",
        ISSUER,
        date_zh(decided_on),
        "",
    ]
    return "\n".join(lines)


def write(directory: Path, payload: Mapping[str, Any], event_id: str, decided_on: date) -> Path:
    """The circular's Markdown file, written whole (the same bytes each time)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(payload["year"], event_id)
    partial = path.with_suffix(".part")
    partial.write_text(yearly_markdown(payload, decided_on), encoding="utf-8")
    os.replace(partial, path)
    return path


def letter(payload: Mapping[str, Any], decided_on: date, addressee: str) -> Text:
    names = {r["region"]: r["name"] for r in payload.get("results") or []}
    rewarded = "、".join(names.get(r["unit"], r["unit"]) for r in payload["rewards"]) or "无"
    return Text(
        subject=title(payload["year"]),
        body=(
            f"{addressee}：\n\n现将《{title(payload['year'])}》印发给你们。{payload['year']}年度"
            f"成效突出、给予一次性奖励的市州：{rewarded}（第（十五）项）。\n\n"
            f"{ISSUER}\n{date_zh(decided_on)}\n"
        ),
    )


def commitment_deadlines(open_commitments: Iterable[Mapping[str, Any]]) -> list[Deadline]:
    """A deadline per open commitment with a due date, owed by the summoned 市州 (十九)."""
    return [
        Deadline(
            item=f"commitment:{c['summons_event_id']}:{c['key']}",
            due=date.fromisoformat(c["due"]),
            units=frozenset({c["unit"]}),
            name=c["text"],
        )
        for c in open_commitments
        if c.get("due")
    ]
