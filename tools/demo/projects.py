"""The 市州's projects along the four lists (二) and through their milestones (十九), the office
checking most milestones (甄别), and each leader's major project (二十一)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from services.kernel.contract.vocabulary import MILESTONE_TYPES
from tools.demo.cast import (
    ALUMNI,
    CHUSHANG,
    FREE_TRADE_ZONE_PREFECTURES,
    GENERAL_CHANNELS,
    INVESTORS,
    NAMED,
    OPENED_NOT_BUILT,
    TEMPLATES,
    Named,
    Profile,
    Template,
)
from tools.demo.leaders import Leader
from tools.demo.quarter import OFFICE, Quarter
from tools.demo.wire import CENT, amount, credit_code, short_place

VERIFIED_SHARE = 0.9  # the office checks most milestones within the quarter
# A project's way along the lists (二) and through the milestones (十九):
# (report type, (fewest, most) days after the stage before).
STAGES = (
    ("project.tracking_started", (2, 20)),
    ("project.signed", (4, 20)),
    ("project.company_registered", (3, 12)),
    ("project.construction_started", (4, 16)),
    ("project.production_started", (8, 25)),
)


@dataclass
class Project:
    code: str
    name: str
    template: Template
    investor: str
    region: str
    prefecture: str
    total: Decimal
    proposed_on: date

    @property
    def source(self) -> str:
        return f"pref:{self.prefecture}"


class Projects:
    """Proposes projects and reports each stage they reach within the quarter."""

    def __init__(self, quarter: Quarter):
        self.q = quarter
        self.proposals: dict[str, tuple[date, dict]] = {}  # code -> (proposed on, payload)

    def draw(self, prefecture: str, profile: Profile) -> list[Project]:
        """The 市州's projects: those the plan names there, then some drawn from the templates."""
        q = self.q
        named = [n for n in NAMED if q.ref.prefecture_of(n.region).code == prefecture]
        templates = q.rng.sample(TEMPLATES, profile.projects)
        projects = []
        for n, item in enumerate([*named, *templates], 1):
            code = f"{prefecture}-{q.quarter}-{n:02d}"
            if isinstance(item, Named):
                projects.append(
                    self.propose(
                        code,
                        item.name,
                        item.template,
                        item.investor,
                        item.region,
                        Decimal(item.total),
                        item.channel,
                    )
                )
            else:
                projects.append(self.drawn(code, prefecture, item))
        return projects

    def drawn(self, code: str, prefecture: str, template: Template) -> Project:
        q = self.q
        counties = q.ref.counties_of(prefecture)
        in_county = counties and q.rng.random() < 0.7
        region = q.rng.choice(counties).code if in_county else prefecture
        investor = q.rng.choice(template.investors)
        low, high = (int(Decimal(x) * 10) for x in (template.low, template.high))
        total = Decimal(q.rng.randint(low, high)) / 10
        if investor in CHUSHANG:
            channel = "chushang_return"
        elif investor in ALUMNI:
            channel = "alumni"
        else:
            zone = ("free_trade_zone",) if prefecture in FREE_TRADE_ZONE_PREFECTURES else ()
            channel = q.rng.choice(GENERAL_CHANNELS + zone)
        name = f"{short_place(q.ref.region(region).name)}{template.stem}项目"
        return self.propose(code, name, template, investor, region, total, channel)

    def propose(
        self,
        code: str,
        name: str,
        template: Template,
        investor: str,
        region: str,
        total: Decimal,
        channel: str,
        proposed_on: date | None = None,
    ) -> Project:
        q = self.q
        if proposed_on is None and q.rng.random() < 0.65:
            # Most were on the promotion list (推介) before the quarter, all within the plan year.
            earlier = q.start - timedelta(days=q.rng.randint(1, 150))
            proposed_on = max(earlier, date(q.start.year, 1, 1))
        elif proposed_on is None:
            proposed_on = q.start + timedelta(days=q.rng.randint(0, 40))
        prefecture = q.ref.prefecture_of(region).code
        project = Project(code, name, template, investor, region, prefecture, total, proposed_on)
        categories = list(template.categories)
        if INVESTORS[investor].origin[:3] != "CN-" and "foreign_investment" not in categories:
            categories.append("foreign_investment")
        payload = {
            "project_code": code,
            "name": name,
            "investor": INVESTORS[investor].payload(),
            "industry": template.industry,
            "region": region,
            "total_investment": amount(total),
            "categories": categories,
            "channel": channel,
        }
        q.emit("project.proposed", project.source, proposed_on, payload, code)
        self.proposals[code] = (proposed_on, payload)
        return project

    def plan_major_projects(self, leaders: list[Leader], projects: list[Project]) -> None:
        """(二十一): each leader plans one major project of about 30 / 20 / 10亿 by role, not real
        estate or a 特色小镇. A leader takes the project proposed after their appointment whose
        total is nearest their target, if one is within half of it; some find none."""
        taken: set[str] = set()
        for leader in leaders:
            role = self.q.ref.leader_roles[leader.role]
            target = role.planned_project_yi
            fitting = [
                p
                for p in projects
                if target is not None
                and p.code not in taken
                and self.proposals[p.code][0] >= leader.appointed_on
                and role.excluded_categories.isdisjoint(p.template.categories)
                and abs(p.total - target) <= target / 2
            ]
            if fitting:
                chosen = min(fitting, key=lambda p: (abs(p.total - target), p.code))
                taken.add(chosen.code)
                self.proposals[chosen.code][1]["planned_by_leader"] = leader.leader_id

    def follow(self, project: Project, leaders: list[Leader], pace: float) -> None:
        """Moves a project along the lists and milestones as far as its pace and the quarter
        allow: a stage that would fall after the quarter does not happen in it."""
        q = self.q
        day = max(project.proposed_on, q.start + timedelta(days=2))
        for reached, (kind, (fewest, most)) in enumerate(STAGES):
            day += timedelta(days=q.rng.randint(fewest, most))
            if (reached and q.rng.random() > pace) or day > q.end:
                return
            event_id = self.stage(project, kind, day, leaders)
            if kind in MILESTONE_TYPES:
                self.maybe_verify(event_id, day)
            if kind == "project.company_registered":
                self.capital(project, day, q.rng.randint(1, 4))

    def stage(self, project: Project, kind: str, day: date, leaders: list[Leader]) -> str:
        """Reports one stage; its event id."""
        q = self.q
        code, source = project.code, project.source
        match kind:
            case "project.tracking_started":
                event_id = q.emit(kind, source, day, {"project_code": code}, code)
                if self.is_key(project):
                    self.assign(project, day + timedelta(days=q.rng.randint(1, 7)), leaders)
                return event_id
            case "project.signed":
                share = Decimal(q.rng.randint(80, 100)) / 100
                contract = amount((project.total * share).quantize(CENT))
                fields = {"project_code": code, "contract_investment": contract}
                return q.emit(kind, source, day, fields, code)
            case "project.company_registered":
                place = short_place(q.ref.region(project.region).name)
                brand = INVESTORS[project.investor].brand
                return self.milestone(
                    kind,
                    project,
                    day,
                    {
                        "credit_code": credit_code(project.region, q.rng),
                        "company_name": f"{brand}（{place}）{project.template.business}有限公司",
                    },
                    code,
                )
            case "project.construction_started":
                opening = project.template.stem in OPENED_NOT_BUILT
                fields = {"kind": "opening" if opening else "construction"}
                return self.milestone(kind, project, day, fields, code)
            case _:  # project.production_started
                return self.milestone(kind, project, day, {}, code)

    def is_key(self, project: Project) -> bool:
        return self.q.ref.key_project.is_key_project(project.total, project.template.categories)

    def assign(self, project: Project, day: date, leaders: list[Leader]) -> None:
        """五个一 (二): the principal takes the largest projects, another leader the rest."""
        q = self.q
        leader = leaders[0] if project.total >= 30 else q.rng.choice(leaders[1:])
        stem = project.name.removesuffix("项目")
        q.emit(
            "project.assigned",
            project.source,
            min(day, q.end),
            {
                "project_code": project.code,
                "leader": leader.name,
                "task_force": f"{stem}项目专班",
                "plan": f"《{stem}项目推进方案》：倒排工期、挂图作战，按月调度用地、环评和施工许可",
            },
            project.code,
        )

    def capital(self, project: Project, registered_on: date, tranches: int) -> None:
        """到资 into the registered company, in tranches that stay well below the total."""
        q = self.q
        day = registered_on
        for n in range(tranches):
            day += timedelta(days=q.rng.randint(3, 20))
            if day > q.end:
                return
            share = Decimal(q.rng.randint(4, 18)) / 100
            arrived = max((project.total * share).quantize(CENT), CENT)
            event_id = self.milestone(
                "project.capital_arrived",
                project,
                day,
                {"amount": amount(arrived)},
                f"{project.code}/{n}",
            )
            self.maybe_verify(event_id, day)

    def milestone(self, kind: str, project: Project, day: date, fields: dict, key: str) -> str:
        payload = {"project_code": project.code, **fields}
        return self.q.emit(kind, project.source, day, payload, key)

    def maybe_verify(self, milestone: str, reported_on: date) -> None:
        """The office's check (甄别), unless it does not get to it within the quarter."""
        q = self.q
        checked_on = reported_on + timedelta(days=q.rng.randint(2, 12))
        if q.rng.random() < VERIFIED_SHARE and checked_on <= q.end:
            self.verify(milestone, checked_on)

    def verify(self, milestone: str, day: date) -> None:
        self.q.emit("milestone.verified", OFFICE, day, {"milestone_event_id": milestone}, milestone)
