"""The quarterly circular (通报) of (十九): the office's ranking of the 17 市州, in Chinese.

The words, the table and the sections are made here once; `document.py` lays them out as a
Word document, `render_markdown` and `render_html` as the text copies. Every rendering is a pure
function of the published ranking and its publication date, so writing it again for the same
ranking gives the same bytes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from html import escape

from services.kernel.contract.ranking import Ranking
from services.notify import heads as tree_heads

ISSUER = "湖北省招商引资工作领导小组办公室"
ADDRESSEES = "各市、州、县人民政府，省政府各部门："
PLAN = "《2020年全省招商引资工作方案》（鄂政办发〔2020〕22号）"
QUARTER_ZH = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}
INDICATORS_ZH = (
    ("registrations", "注册"),
    ("construction_starts", "开工（开业）"),
    ("production_starts", "投产"),
    ("capital_arrived", "到资"),
    ("key_project_landings", "重大项目落地"),
    ("leader_trips", "市州领导外出招商"),
)


def quarter_zh(quarter: str) -> str:
    year, q = quarter.split("Q")
    return f"{year}年{QUARTER_ZH[q]}"


def date_zh(day: date) -> str:
    """GB/T 9704 writes the date of an official document in Arabic numerals: 2020年10月12日."""
    return f"{day.year}年{day.month}月{day.day}日"


def title(ranking: Ranking) -> str:
    return f"关于{quarter_zh(ranking['quarter'])}全省招商引资工作评分排名情况的通报"


def docx_filename(ranking: Ranking) -> str:
    """The attachment's name as units see it."""
    return f"{title(ranking)}.docx"


def names(ranking: Ranking) -> dict[str, str]:
    return {row["region"]: row["name"] for row in ranking["rows"]}


@dataclass(frozen=True)
class Sections:
    """What the circular says, in reading order around its table and chart."""

    opening: str
    summons: list[str]  # names of the summoned 市州
    summons_text: str
    tiers: list[tuple[str, list[str]]]  # (tier, names of its 市州)
    provenance: str
    ranking_hash: str


def sections(ranking: Ranking) -> Sections:
    unit_names = names(ranking)
    summoned = [unit_names[code] for code in ranking.get("summons", [])]
    tiers = [
        (tier, [unit_names[code] for code in codes])
        for tier, codes in ranking.get("tiers", {}).items()
    ]
    opening = (
        f"根据{PLAN}第（十九）项，省招商引资工作领导小组办公室对各市州"
        f"{quarter_zh(ranking['quarter'])}招商引资亿元以上项目的注册、开工（开业）、投产、到资、"
        "重大项目落地情况和市州领导外出招商情况进行了评分排名。现将结果通报如下。"
    )
    if summoned:
        summons_text = (
            f"对排名靠后的{'、'.join(summoned)}，由省招商引资工作领导小组负责人分别对其分管"
            "负责人和招商部门主要负责人进行约谈（第（十九）项）。约谈通知另行送达。"
        )
    else:
        summons_text = "本季度无约谈对象。"
    provenance = (
        f"本通报依据评分政策 {ranking['policy_version']} 生成。排名内容哈希（SHA256）如下，"
        "可由审计按原始事件复算核对："
    )
    return Sections(opening, summoned, summons_text, tiers, provenance, ranking["hash"])


def last_sections(ranking: Ranking) -> tuple[str | None, str]:
    """The headings after 二、约谈: 三、奖励分档 only in a circular of a ranking made under a
    policy with reward tiers (2020.1: rewards are the yearly assessment's since, (十五)), then
    the number of the tree heads' section."""
    if ranking.get("tiers"):
        return "三、奖励分档", "四"
    return None, "三"


def tiers_text(ranking: Ranking) -> str:
    parts = [f"{tier}：{'、'.join(units)}" for tier, units in sections(ranking).tiers if units]
    if not parts:
        return "本季度无分档结果。"
    return f"按排名分档（第（十五）项），省财政分类分档给予一次性奖励：{'；'.join(parts)}。"


def table_rows(ranking: Ranking) -> list[list[str]]:
    """The ranking table: header, then one row per 市州 in rank order. The total is the sum of
    the indicator points plus bonuses minus deductions, so those columns are shown too."""
    header = ["名次", "市州", *(name for _, name in INDICATORS_ZH), "加分", "扣分", "总分"]
    rows = [header]
    for row in ranking["rows"]:
        points = [row["indicators"][key]["points"] for key, _ in INDICATORS_ZH]
        rows.append(
            [
                str(row["rank"]),
                row["name"],
                *points,
                row["bonuses"],
                row["deductions"],
                row["total"],
            ]
        )
    return rows


def render_markdown(ranking: Ranking, published_on: date, heads: list[dict] | None = None) -> str:
    rows = table_rows(ranking)
    text = sections(ranking)
    lines = [f"# {title(ranking)}", "", f"{ISSUER}　{date_zh(published_on)}", ""]
    lines += [ADDRESSEES, "", text.opening, "", "## 一、评分排名", ""]
    lines.append("| " + " | ".join(rows[0]) + " |")
    lines.append("|" + "---|" * len(rows[0]))
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    lines += ["", "## 二、约谈", "", text.summons_text, ""]
    tiers_heading, heads_number = last_sections(ranking)
    if tiers_heading:
        lines += [f"## {tiers_heading}", "", tiers_text(ranking), ""]
    lines += [text.provenance, "", f"`{text.ranking_hash}`", ""]
    lines += tree_heads.markdown(heads or [], text.ranking_hash, heads_number)
    lines += [ISSUER, date_zh(published_on), ""]
    return "\n".join(lines)


def render_html(
    ranking: Ranking, published_on: date, chart_png: bytes, heads: list[dict] | None = None
) -> str:
    rows = table_rows(ranking)
    text = sections(ranking)
    tiers_heading, heads_number = last_sections(ranking)
    tiers = f"<h2>{tiers_heading}</h2><p>{escape(tiers_text(ranking))}</p>" if tiers_heading else ""
    head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    chart = base64.b64encode(chart_png).decode("ascii")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title(ranking))}</title>"
        "<style>body{font-family:'Noto Serif CJK SC','SimSun',serif;max-width:60em;margin:2em auto}"
        ".issuer{color:#c00000;text-align:center;font-size:1.8em;border-bottom:3px solid #c00000}"
        "h1{text-align:center;font-size:1.6em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #333;padding:.3em;text-align:center}img{max-width:100%}"
        ".sign{text-align:right}</style></head><body>"
        f'<p class="issuer">{escape(ISSUER)}</p><h1>{escape(title(ranking))}</h1>'
        f"<p>{escape(ADDRESSEES)}</p><p>{escape(text.opening)}</p><h2>一、评分排名</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f'<p><img alt="各市州总分" src="data:image/png;base64,{chart}"></p>'
        f"<h2>二、约谈</h2><p>{escape(text.summons_text)}</p>"
        f"{tiers}<p>{escape(text.provenance)}</p><p><code>{escape(text.ranking_hash)}</code></p>"
        f"{tree_heads.html(heads or [], text.ranking_hash, heads_number)}"
        f'<p class="sign">{escape(ISSUER)}<br>{escape(date_zh(published_on))}</p>'
        "</body></html>\n"
    )
