"""Rules on a project that every service taking reports about projects applies: registry to
its own aggregates, tracking to the projects' states it checks a run against.

Standard library only (and errors.py), so domain modules may import it.
"""

from __future__ import annotations

from services.kernel.contract.errors import RuleBroken


def unknown_project(code: str) -> RuleBroken:
    """A report about a project nobody proposed (project.proposed) yet."""
    return RuleBroken(
        "payload.project_code",
        code,
        "unknown_project",
        f"项目 {code} 不存在：请先报送 project.proposed",
        f"project {code} is unknown: report project.proposed first",
    )


def check_not_withdrawn(code: str, withdrawn: bool) -> None:
    """A withdrawn project (project.withdrawn) takes no further report."""
    if withdrawn:
        raise RuleBroken(
            "payload.project_code",
            code,
            "project_withdrawn",
            f"项目 {code} 已撤销，不能再报告",
            f"project {code} was withdrawn; nothing more can be reported on it",
        )
