"""The data of a 市州's scorecard beyond its quarter (its trend over the year's quarters, its
summons and their follow-up), of the 督办 boards (leaders' trips against quotas, themed events
against the minimum, 附件3 tasks, 附件4 matters) and of a project's chain check: pure functions
over the gateway's answers, no framework (tests/console/test_console_boards.py).

Colours say where a row stands, never a rule of the plan: green done or met; red past its
deadline (or its year) and not done; amber still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.console.roles import region_of
from services.console.views import STATUS_COLOUR, STATUS_ZH, map_names

# The indicators' names as the default policy names them (services/kernel/reference/data/
# policy-2020.yaml, (十九)); a key a later policy adds shows as its key.
INDICATOR_ZH = {
    "registrations": "注册",
    "construction_starts": "开工（开业）",
    "production_starts": "投产",
    "capital_arrived": "到资（亿元）",
    "key_project_landings": "重大项目落地",
    "leader_trips": "市州领导外出招商",
}
BASIS_ZH = {"relative": "相对计分", "target": "对照目标", "pro_rata": "按比例"}
KEY_REGIONS_ORDER = ("greater_bay_area", "yangtze_delta", "beijing_tianjin_hebei")


def year_quarters(quarter: str) -> list[str]:
    """The quarters of `quarter`'s year up to it, oldest first."""
    return [f"{quarter[:4]}Q{q}" for q in range(1, int(quarter[5]) + 1)]


@dataclass(frozen=True)
class Trend:
    quarters: list[str]
    totals: list[float | None]  # None: a quarter the person may not read
    ranks: list[int | None]
    published: list[bool]
    rows: list[dict]  # per quarter: quarter, total, rank, published, summoned (for the table)


def trend(cards: dict[str, dict | None]) -> Trend:
    """A 市州's total and rank over the quarters given (oldest first); a quarter without a
    readable card (another 市州's unpublished one) is a gap, not a zero."""
    rows: list[dict[str, Any]] = [
        {
            "quarter": quarter,
            "total": card["row"]["total"] if card else None,
            "rank": card["row"]["rank"] if card else None,
            "published": bool(card and card.get("published")),
            "summoned": bool(card and card.get("summoned")),
        }
        for quarter, card in cards.items()
    ]
    return Trend(
        quarters=list(cards),
        totals=[float(Decimal(r["total"])) if r["total"] is not None else None for r in rows],
        ranks=[r["rank"] for r in rows],
        published=[r["published"] for r in rows],
        rows=rows,
    )


def indicator_rows(card: dict) -> list[dict]:
    """Each indicator's actual, target, points and basis, named in Chinese."""
    return [
        {
            "key": key,
            "name": INDICATOR_ZH.get(key, key),
            "actual": indicator.get("actual"),
            "target": indicator.get("target"),
            "points": indicator.get("points"),
            "basis": BASIS_ZH.get(indicator.get("basis", ""), indicator.get("basis", "")),
        }
        for key, indicator in card["row"].get("indicators", {}).items()
    ]


def target_rows(card: dict) -> list[dict]:
    """Progress against the year's targets the office set (target.set, (一))."""
    return [
        {**t, "name": INDICATOR_ZH.get(t["indicator"], t["indicator"]), "colour": _share(t)}
        for t in card.get("targets", [])
    ]


def _share(target: dict) -> str:
    """green: the quarter's target reached; amber: short of it; red: nothing yet."""
    actual, wanted = Decimal(target["quarter_actual"]), Decimal(target["quarter_target"])
    return "green" if actual >= wanted else ("amber" if actual > 0 else "red")


def follow_up(commitments: dict, today: date) -> list[dict]:
    """约谈 (十九): the commitments not reported done, each with its latest progress; red once
    past its due day."""
    out = []
    for c in commitments.get("commitments", []):
        late = bool(c.get("due")) and c["due"] < today.isoformat()
        latest = c.get("latest") or {}
        out.append(
            {
                **c,
                "colour": "red" if late else "amber",
                "status_zh": STATUS_ZH.get(c.get("status", ""), c.get("status", "")),
                "latest_text": latest.get("text", ""),
                "latest_on": latest.get("on", ""),
            }
        )
    return out


def year_colour(met: bool, year: int, today: date) -> str:
    return "green" if met else ("red" if year < today.year else "amber")


def trip_board(progress: dict, today: date) -> dict:
    """(二十一)(二十二): each leader's and unit's trips in the year against the quota, the major
    project each leader planned, and the 拉练 sites."""
    year = int(progress.get("year") or today.year)
    names = map_names()
    leaders = [
        {
            **leader,
            "unit_name": names.get(leader["unit"], leader["unit"]),
            "colour": "green" if leader.get("exempt") else year_colour(leader["met"], year, today),
        }
        for leader in progress.get("leaders", [])
    ]
    units = [
        {
            **unit,
            "unit_name": names.get(unit["unit"], unit["unit"]),
            "colour": year_colour(unit["met"], year, today),
        }
        for unit in progress.get("units", [])
    ]
    return {
        "year": year,
        "leaders": _red_first(leaders),
        "units": _red_first(units),
        "lalian_sites": progress.get("lalian_sites", []),
        "counts": _counts(leaders),
    }


def event_board(events: dict, today: date) -> dict:
    """(三): each 市州's themed events in the three key regions against the minimum."""
    regions = events.get("key_regions", {})
    year = int(events.get("year") or today.year)
    rows = [
        {
            **p,
            "colour": year_colour(p["met"], year, today),
            "by_region_list": [p["by_region"].get(k, 0) for k in regions],
        }
        for p in events.get("prefectures", [])
    ]
    return {
        "year": year,
        "minimum": events.get("minimum"),
        "regions": list(regions.values()),
        "region_names": regions,
        "rows": _red_first(rows),
        "counts": _counts(rows),
    }


def task_board(tasks: dict) -> dict:
    """附件3: per task and responsible unit, its status at `as_of`."""
    names = map_names()
    rows = [
        {
            **t,
            "unit_name": names.get(t["unit"], t["unit"]),
            "colour": STATUS_COLOUR.get(t["status"], "amber"),
            "status_zh": STATUS_ZH.get(t["status"], t["status"]),
        }
        for t in tasks.get("tasks", [])
    ]
    return {"as_of": tasks.get("as_of", ""), "rows": _red_first(rows), "counts": _counts(rows)}


def matter_board(matters: dict) -> dict:
    """附件4: per key matter and responsible unit, its latest progress; red once overdue."""
    names = map_names()
    rows = []
    for m in matters.get("matters", []):
        status = "overdue" if m.get("overdue") and m["status"] != "done" else m["status"]
        rows.append(
            {
                **m,
                "unit_name": names.get(m["unit"], m["unit"]),
                "colour": STATUS_COLOUR.get(status, "amber"),
                "status_zh": STATUS_ZH.get(m["status"], m["status"]),
                "latest_text": (m.get("latest") or {}).get("progress", ""),
            }
        )
    return {"as_of": matters.get("as_of", ""), "rows": _red_first(rows), "counts": _counts(rows)}


def _red_first(rows: list[dict]) -> list[dict]:
    order = {"red": 0, "amber": 1, "green": 2}
    return sorted(rows, key=lambda r: order[r["colour"]])


def _counts(rows: list[dict]) -> dict[str, int]:
    return {c: sum(1 for r in rows if r["colour"] == c) for c in ("red", "amber", "green")}


def board_unit(unit: str) -> str:
    """The unit a person's boards show by default: a 市州's or county's code, a department's
    unit, or every unit ("") for the office and auditors."""
    return region_of(unit) or (unit if unit.startswith("dept:") else "")
