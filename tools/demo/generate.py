"""The demo quarter, 市州 by 市州, in the order a quarter's reports would be published."""

from __future__ import annotations

from services.kernel.reference import Reference, reference
from tools.demo.cast import PROFILES, TEMPLATES
from tools.demo.leaders import Leaders
from tools.demo.projects import Projects
from tools.demo.quarter import Quarter
from tools.demo.scripted import SCRIPTED
from tools.demo.units import matters, promotion_events, tasks


def generate_demo(quarter: str = "2020Q3", seed: int = 2020) -> list[dict]:
    """A quarter of raw reports from all 17 市州 and the office, in publication order."""
    ref = reference()
    q = Quarter(quarter, seed, ref)
    check_in_step(ref)
    leaders, projects = Leaders(q), Projects(q)
    for prefecture in ref.prefectures:
        code, profile = prefecture.code, PROFILES[prefecture.code]
        appointed = leaders.appoint(code, profile)
        drawn = projects.draw(code, profile)
        projects.plan_major_projects(appointed, drawn)
        for project in drawn:
            projects.follow(project, appointed, profile.pace)
        if case := SCRIPTED.get(code):
            case(projects, f"{code}-{quarter}-{len(drawn) + 1:02d}", appointed)
        leaders.trips(appointed, profile.trips)
        promotion_events(q, code, profile.events)
        tasks(q, code, profile.diligence)
        matters(q, code)
    return q.published()


def check_in_step(ref: Reference) -> None:
    """The demo's 市州 and industries are the reference data's."""
    unknown = {t.industry for t in TEMPLATES} - set(ref.industries)
    if unknown or set(PROFILES) != {p.code for p in ref.prefectures}:
        raise ValueError(f"the demo is out of step with the reference data: {unknown}")
