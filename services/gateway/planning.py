"""Grouping a batch into as few service calls as its order allows.

Reports about one subject (a project, a leader, a unit's record) depend on each other and
must reach the services in the order they were sent: a milestone after its project's signing,
a verification after its milestone. Reports about different subjects do not. So a report may
join an earlier call to its owning service as long as no earlier report about its subject is
in a later call. A batch from a prefecture system, which interleaves projects, then costs one
call per service instead of one per change of owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.kernel.contract.report import Report
from services.kernel.contract.vocabulary import OWNER


@dataclass
class Run:
    """Valid reports for one owning service, forwarded in one call, with their request places."""

    owner: str
    positions: list[int] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)


def subject_of(report: Report, subjects_by_event: dict[str, str]) -> str:
    """What a report is about, as far as ordering goes."""
    payload = report.payload
    if code := payload.get("project_code"):
        return f"project:{code}"
    if referenced := payload.get("milestone_event_id"):
        # The checked report's subject if it is in this batch; else it is stored already.
        return subjects_by_event.get(str(referenced), f"event:{referenced}")
    if leader := payload.get("leader_id"):
        return f"leader:{leader}"
    if unit := payload.get("unit"):
        return f"unit:{unit}"
    if report.type == "policy.adopted":
        return "policy"
    return f"event:{report.event_id}"


def plan(reports: Sequence[tuple[int, Report]]) -> list[Run]:
    """Runs to forward in order; each report after every earlier report on its subject."""
    runs: list[Run] = []
    last_run_of: dict[str, int] = {}
    subjects_by_event: dict[str, str] = {}
    for position, report in reports:
        subject = subject_of(report, subjects_by_event)
        subjects_by_event[str(report.event_id)] = subject
        owner = OWNER[report.type]
        earliest = last_run_of.get(subject, 0)
        index = next((i for i in range(earliest, len(runs)) if runs[i].owner == owner), len(runs))
        if index == len(runs):
            runs.append(Run(owner))
        runs[index].positions.append(position)
        runs[index].reports.append(report.to_primitive())
        last_run_of[subject] = index
    return runs
