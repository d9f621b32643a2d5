"""The four cases a quarter also brings, each once, in one 市州, at fixed days into the
quarter: a corrected total, a withdrawn project, a capital arrival the office rejects, and a
construction start taken back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from tools.demo.cast import template
from tools.demo.leaders import Leader
from tools.demo.projects import Project, Projects
from tools.demo.quarter import OFFICE
from tools.demo.wire import short_place


def scripted(
    projects: Projects,
    code: str,
    region: str,
    stem: str,
    investor: str,
    total: str,
    leaders: list[Leader],
) -> Project:
    """Proposed a month before the quarter, tracked, signed and registered in it."""
    q = projects.q
    name = f"{short_place(q.ref.region(region).name)}{stem}项目"
    proposed_on = max(q.start - timedelta(days=30), date(q.start.year, 1, 1))
    project = projects.propose(
        code,
        name,
        template(stem),
        investor,
        region,
        Decimal(total),
        "platform_event",
        proposed_on,
    )
    for kind, days in (("project.tracking_started", 3), ("project.signed", 10)):
        projects.stage(project, kind, q.on(days), leaders)
    registered = projects.stage(project, "project.company_registered", q.on(18), leaders)
    projects.verify(registered, q.on(22))
    return project


def corrected_project(projects: Projects, code: str, leaders: list[Leader]) -> None:
    """The feasibility study raises the total past 20亿: now a key project, it gets its
    五个一 and its start is a key-project landing."""
    q = projects.q
    project = scripted(projects, code, "420804", "锂电池隔膜材料", "semcorp", "18.5", leaders)
    project.total = Decimal(22)
    q.emit(
        "project.corrected",
        project.source,
        q.on(14),
        {
            "project_code": code,
            "changes": {"total_investment": "22"},
            "reason": "可研批复追加二期产能，总投资由18.5亿元调增至22亿元",
        },
        code,
    )
    projects.assign(project, q.on(15), leaders)
    start = projects.stage(project, "project.construction_started", q.on(30), leaders)
    projects.verify(start, q.on(34))


def withdrawn_project(projects: Projects, code: str, leaders: list[Leader]) -> None:
    """Registered and verified, then dropped: its registration no longer counts."""
    q = projects.q
    project = scripted(projects, code, "421121", "智能装备制造产业园", "sany", "6.8", leaders)
    q.emit(
        "project.withdrawn",
        project.source,
        q.on(40),
        {
            "project_code": code,
            "reason": "投资方经营困难，经双方协商终止合作，项目撤销",
        },
        code,
    )


def rejected_capital(projects: Projects, code: str, leaders: list[Leader]) -> None:
    """A second tranche that was a bank loan, not the investor's capital."""
    q = projects.q
    project = scripted(projects, code, "420303", "新能源汽车零部件产业园", "cummins", "12", leaders)
    start = projects.stage(project, "project.construction_started", q.on(24), leaders)
    projects.verify(start, q.on(27))
    first = projects.milestone(
        "project.capital_arrived", project, q.on(30), {"amount": "2"}, f"{code}/0"
    )
    projects.verify(first, q.on(33))
    second = projects.milestone(
        "project.capital_arrived", project, q.on(45), {"amount": "3.5"}, f"{code}/1"
    )
    q.emit(
        "milestone.rejected",
        OFFICE,
        q.on(50),
        {
            "milestone_event_id": second,
            "reason": "到资凭证为银行流动资金贷款，不属于项目资本金，不予认定",
        },
        second,
    )


def retracted_start(projects: Projects, code: str, leaders: list[Leader]) -> None:
    """A start the office had verified, taken back by the 市州 that reported it."""
    q = projects.q
    project = scripted(projects, code, "421221", "高效光伏组件生产", "tongwei", "15", leaders)
    start = projects.stage(project, "project.construction_started", q.on(25), leaders)
    projects.verify(start, q.on(30))
    q.emit(
        "milestone.retracted",
        project.source,
        q.on(40),
        {
            "milestone_event_id": start,
            "reason": "经现场复核，项目仅完成场地平整，尚未实质性开工，撤回原开工报告",
        },
        start,
    )


# Where each case happens: the 市州 whose reports carry it.
SCRIPTED: dict[str, Callable[[Projects, str, list[Leader]], None]] = {
    "420800": corrected_project,  # 荆门市: a total raised past 20亿 makes a key project
    "421100": withdrawn_project,  # 黄冈市: a registered project dropped
    "420300": rejected_capital,  # 十堰市: a capital arrival the office does not accept
    "421200": retracted_start,  # 咸宁市: a construction start reported falsely, taken back
}
