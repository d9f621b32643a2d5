"""The data each page shows, from the gateway's answers: pure functions, no framework, tested
on their own (tests/console/test_views.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from services.console.roles import region_of

MAP_FILE = Path(__file__).parent / "static" / "map" / "hubei.json"
PAGE_SIZE = 50
LISTS = {
    "promotion": "推介清单",
    "tracking": "跟踪清单",
    "signed": "签约清单",
    "started": "开工清单",
}
STATUS_COLOUR = {  # 附件3 tasks and 附件4 matters -> red/amber/green
    "overdue": "red",
    "not_reported": "red",
    "due": "amber",
    "in_progress": "amber",
    "done_late": "amber",
    "done": "green",
}
STATUS_ZH = {
    "overdue": "逾期",
    "due": "待办",
    "done": "已完成",
    "done_late": "逾期完成",
    "in_progress": "推进中",
    "not_reported": "未报送",
    "reported": "待甄别",
    "verified": "已核实",
    "rejected": "已退回",
}


@cache
def map_names() -> dict[str, str]:
    """The 17 市州's codes -> their names on the map (示意图; static/map/hubei.source.md)."""
    features = json.loads(MAP_FILE.read_text(encoding="utf-8"))["features"]
    return {f["id"]: f["properties"]["name"] for f in features}


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarters_back(first: str, last: str) -> list[str]:
    """The quarters from `last` back to `first`, newest first."""
    year, q = int(last[:4]), int(last[5])
    out = []
    while f"{year}Q{q}" >= first:
        out.append(f"{year}Q{q}")
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return out


def has_reports(ranking: dict) -> bool:
    return any(
        Decimal(indicator["actual"] or 0) != 0
        for row in ranking.get("rows", [])
        for indicator in row.get("indicators", {}).values()
    )


@dataclass(frozen=True)
class Dashboard:
    quarter: str
    published: bool
    hash: str
    policy_version: str
    rows: list[dict]  # the ranking's rows; a 市州 user's own first
    own: dict | None  # the 市州 user's own row
    map_data: list[dict]  # {name, value, rank, region} for ECharts
    summons: list[str]


def dashboard(ranking: dict, unit: str) -> Dashboard:
    """The ranking as the dashboard shows it: the table (own card first for a 市州 person) and
    the map's data, each 市州 coloured by its total with its rank and score."""
    names = map_names()
    rows = list(ranking.get("rows", []))
    mine = region_of(unit)
    own = next((r for r in rows if mine and (r["region"] == mine or _county_of(mine, r))), None)
    ordered = ([own] if own else []) + [r for r in rows if r is not own]
    data = [
        {
            "name": names.get(r["region"], r["name"]),
            "value": float(Decimal(r["total"])),
            "rank": r["rank"],
            "region": r["region"],
            "total": r["total"],
        }
        for r in rows
    ]
    by_code = {r["region"]: r["name"] for r in rows}
    return Dashboard(
        quarter=ranking.get("quarter", ""),
        published=bool(ranking.get("published")),
        hash=ranking.get("hash", ""),
        policy_version=ranking.get("policy_version", ""),
        rows=ordered,
        own=own,
        map_data=data,
        summons=[by_code.get(c, c) for c in ranking.get("summons", [])],
    )


def _county_of(county: str, row: dict) -> bool:
    """A county code belongs to the 市州 whose code shares its first four digits."""
    return county[:4] == row["region"][:4] and not county.startswith("429")


@dataclass(frozen=True)
class ProjectFilter:
    list_name: str = ""
    region: str = ""
    industry: str = ""
    text: str = ""
    key_only: bool = False
    page: int = 1

    @classmethod
    def of(cls, query: dict[str, str]) -> ProjectFilter:
        try:
            page = max(1, min(10_000, int(query.get("page") or 1)))
        except ValueError:
            page = 1
        list_name = query.get("list", "")
        return cls(
            list_name=list_name if list_name in LISTS else "",
            region=query.get("region", "")[:6],
            industry=query.get("industry", "")[:40],
            text=query.get("q", "").strip()[:100],
            key_only=query.get("key") == "1",
            page=page,
        )


@dataclass(frozen=True)
class ProjectPage:
    projects: list[dict]
    count: int
    page: int
    pages: int
    industries: list[tuple[str, str]]
    regions: list[tuple[str, str]]


def project_page(listing: dict, wanted: ProjectFilter, size: int = PAGE_SIZE) -> ProjectPage:
    """The register filtered by region, industry, key project and text (name, code, investor),
    one page of `size`."""
    projects = listing.get("projects", [])
    industries = sorted(
        {(p["industry"], p.get("industry_name") or p["industry"]) for p in projects}
    )
    regions = sorted({(p["prefecture"], _region_name(p)) for p in projects})
    text = wanted.text.lower()
    chosen = [
        p
        for p in projects
        if (not wanted.region or wanted.region in (p["region"], p["prefecture"]))
        and (not wanted.industry or p["industry"] == wanted.industry)
        and (not wanted.key_only or p.get("key_project"))
        and (
            not text
            or text in p["name"].lower()
            or text in p["project_code"].lower()
            or text in (p.get("investor") or "").lower()
        )
    ]
    pages = max(1, -(-len(chosen) // size))
    page = min(wanted.page, pages)
    return ProjectPage(
        projects=chosen[(page - 1) * size : page * size],
        count=len(chosen),
        page=page,
        pages=pages,
        industries=industries,
        regions=regions,
    )


def _region_name(project: dict) -> str:
    return map_names().get(project["prefecture"], project.get("region_name") or project["region"])


@dataclass(frozen=True)
class ReviewGroup:
    region: str
    region_name: str
    report_type: str
    items: list[dict]


def review_groups(items: list[dict]) -> list[ReviewGroup]:
    """The queue grouped by 市州 and report type, each group oldest first, the groups in the
    order of their oldest item."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for item in items:
        region = item.get("prefecture") or item.get("region") or ""
        groups[(region, item.get("type", ""))].append(item)
    names = map_names()
    out = [
        ReviewGroup(region, names.get(region, region), kind, sorted(group, key=_age))
        for (region, kind), group in groups.items()
    ]
    return sorted(out, key=lambda g: (_age(g.items[0]), g.region, g.report_type))


def _age(item: dict) -> tuple[str, str]:
    return (item.get("recorded_at") or item.get("occurred_on") or "", item.get("event_id", ""))


REPORT_TYPES_ZH = {
    "project.company_registered": "注册",
    "project.construction_started": "开工",
    "project.production_started": "投产",
    "project.capital_arrived": "到资",
    "leader.trip_completed": "领导外出招商",
    "promotion.event_held": "主题招商活动",
}


def prefecture_of(code: str | None) -> str:
    """The 市州 of a region code: itself for a 市州 or 省直管 unit, else its first four digits."""
    if not code or not code.isdigit():
        return ""
    return code if code.startswith("429") or code.endswith("00") else code[:4] + "00"


def queue_item(item: dict) -> dict:
    """An item of Query.ListAwaitingReview as the review desk shows it; `decision` says which
    checks close it: milestone.* for a project's milestone, report.* for a trip or an event."""
    project = item.get("project") or {}
    payload = item.get("payload") or {}
    return {
        **item,
        "decision": "milestone" if item.get("project_code") else "report",
        "type_zh": REPORT_TYPES_ZH.get(item.get("type", ""), item.get("type", "")),
        "project_name": project.get("name") or payload.get("name") or "",
        "prefecture": prefecture_of(item.get("unit")),
        "amount": payload.get("amount"),
    }


def awaiting_from_milestones(project: dict, milestones: dict) -> list[dict]:
    """A project's milestones still awaiting review, as queue items."""
    return [
        {
            "event_id": m["event_id"],
            "type": f"milestone.{m['kind']}",
            "decision": "milestone",
            "type_zh": m.get("kind_zh") or m["kind"],
            "project_code": project["project_code"],
            "project_name": project.get("name", ""),
            "region": project.get("region", ""),
            "prefecture": project.get("prefecture", ""),
            "occurred_on": m.get("occurred_on", ""),
            "recorded_at": m.get("recorded_at", ""),
            "source": m.get("source", ""),
            "amount": m.get("amount"),
        }
        for m in milestones.get("milestones", [])
        if m.get("status") == "reported"
    ]


@dataclass(frozen=True)
class Warning:
    colour: str  # red, amber, green
    kind: str  # 附件3, 附件4, 退回, 约谈整改
    title: str
    unit: str
    due: str
    status: str


def warnings(
    tasks: dict, matters: dict, sent_back: list[dict], commitments: list[dict] | None = None
) -> list[Warning]:
    """待办/预警: 附件3 tasks, 附件4 matters, reports sent back and open 约谈 commitments
    (coloured by trends.follow_up), red first."""
    out = [
        Warning(
            STATUS_COLOUR.get(t["status"], "amber"),
            "附件3",
            t["title"],
            t["unit"],
            t.get("deadline") or "",
            STATUS_ZH.get(t["status"], t["status"]),
        )
        for t in tasks.get("tasks", [])
    ]
    for m in matters.get("matters", []):
        status = "overdue" if m.get("overdue") and m["status"] != "done" else m["status"]
        out.append(
            Warning(
                STATUS_COLOUR.get(status, "amber"),
                "附件4",
                m["item"],
                m["unit"],
                m.get("due") or "",
                STATUS_ZH.get(m["status"], m["status"]),
            )
        )
    out += [
        Warning(
            "red",
            "退回",
            f"{s['project_code']} {s['type_zh']}：{s.get('reason') or ''}",
            s.get("source", ""),
            s.get("occurred_on", ""),
            "已退回",
        )
        for s in sent_back
    ]
    out += [
        Warning(
            c["colour"],
            "约谈整改",
            f"{c['quarter']} 约谈承诺：{c['text']}",
            c["unit"],
            c.get("due") or "",
            c["status_zh"],
        )
        for c in commitments or []
    ]
    order = {"red": 0, "amber": 1, "green": 2}
    return sorted(out, key=lambda w: (order[w.colour], w.due, w.kind))


def sent_back(project: dict, milestones: dict) -> list[dict]:
    """A project's milestones the office rejected, with the reason."""
    out = []
    for m in milestones.get("milestones", []):
        if m.get("status") == "rejected":
            reason = next((c.get("reason") for c in m.get("checks", []) if c.get("reason")), "")
            out.append(
                {
                    **m,
                    "project_code": project["project_code"],
                    "reason": reason,
                    "type_zh": m.get("kind_zh") or m["kind"],
                }
            )
    return out


def decimal_text(value: object) -> str:
    try:
        return f"{Decimal(str(value)):,}"
    except (InvalidOperation, ValueError):
        return str(value or "")
