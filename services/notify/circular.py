"""The quarterly circular (通报) of (十九): the office's ranking of the 17 市州, in Chinese.

Rendering is a pure function of the published ranking, so writing it again for the same
ranking gives the same bytes.
"""

from __future__ import annotations

from html import escape

ISSUER = "湖北省招商引资工作领导小组办公室"
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


def title(ranking: dict) -> str:
    return f"关于{quarter_zh(ranking['quarter'])}全省招商引资工作评分排名情况的通报"


def _names(ranking: dict) -> dict[str, str]:
    return {row["region"]: row["name"] for row in ranking["rows"]}


def paragraphs(ranking: dict, published_on: str) -> list[str]:
    names = _names(ranking)
    summons = "、".join(names[code] for code in ranking.get("summons", []))
    tiers = "；".join(
        f"{tier}：{'、'.join(names[c] for c in codes)}"
        for tier, codes in ranking.get("tiers", {}).items()
        if codes
    )
    text = [
        "各市、州、县人民政府，省政府各部门：",
        f"根据《2020年全省招商引资工作方案》（鄂政办发〔2020〕22号）第（十九）项，省招商引资工作"
        f"领导小组办公室对各市州{quarter_zh(ranking['quarter'])}招商引资亿元以上项目的注册、开工（开业）、"
        "投产、到资、重大项目落地情况和市州领导外出招商情况进行了评分排名。现将结果通报如下。",
    ]
    if summons:
        text.append(
            f"对排名靠后的{summons}，由省招商引资工作领导小组负责人分别对其分管负责人和招商部门"
            "主要负责人进行约谈（第（十九）项）。"
        )
    if tiers:
        text.append(f"按排名分档（第（十五）项）：{tiers}。")
    text.append(
        f"本通报依据评分政策 {ranking['policy_version']} 生成，排名内容哈希 {ranking['hash']}，"
        "可由审计按原始事件复算核对。"
    )
    text.append(f"{ISSUER}\n{published_on}")
    return text


def table_rows(ranking: dict) -> list[list[str]]:
    header = ["名次", "市州"] + [name for _, name in INDICATORS_ZH] + ["总分"]
    rows = [header]
    for row in ranking["rows"]:
        points = [row["indicators"][key]["points"] for key, _ in INDICATORS_ZH]
        rows.append([str(row["rank"]), row["name"], *points, row["total"]])
    return rows


def render_markdown(ranking: dict, published_on: str) -> str:
    rows = table_rows(ranking)
    lines = [f"# {title(ranking)}", "", f"{ISSUER}　{published_on}", ""]
    text = paragraphs(ranking, published_on)
    lines += [text[0], "", text[1], ""]
    lines.append("| " + " | ".join(rows[0]) + " |")
    lines.append("|" + "---|" * len(rows[0]))
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    lines.append("")
    for paragraph in text[2:]:
        lines += [paragraph, ""]
    return "\n".join(lines)


def render_html(ranking: dict, published_on: str) -> str:
    rows = table_rows(ranking)
    text = paragraphs(ranking, published_on)
    head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    after = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text[2:])
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title(ranking))}</title>"
        "<style>body{font-family:'Noto Serif CJK SC','SimSun',serif;max-width:60em;margin:2em auto}"
        "h1{text-align:center;font-size:1.6em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #333;padding:.3em;text-align:center}</style></head><body>"
        f"<h1>{escape(title(ranking))}</h1><p>{escape(text[0])}</p><p>{escape(text[1])}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{after}"
        "</body></html>\n"
    )
