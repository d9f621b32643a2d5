"""The demo as its systems send it: each 市州's system and the office publish under their own
credentials, so a quarter's reports go out in runs of one sender each."""

from __future__ import annotations


def by_sender(reports: list[dict]) -> list[tuple[str, list[dict]]]:
    """`reports` in runs of one sender each, for systems that each publish under their own
    credentials. Every report still reaches the system after the earlier reports it depends
    on, whoever sent them: those about the same subject (a project, a leader, a unit, the
    checks of one milestone) and the report a check names. A run waits for the phase before
    it; the runs of one phase share no subject."""
    phase_of_sender: dict[str, int] = {}
    last: dict[str, tuple[int, str]] = {}  # subject or event -> (phase, sender) of its latest
    runs: dict[tuple[int, str], list[dict]] = {}
    for report in reports:
        sender = report["source"]
        subjects, after = _dependencies(report)
        phase = phase_of_sender.get(sender, 0)
        for key in (*subjects, *after):
            if key in last:
                before, by = last[key]
                phase = max(phase, before if by == sender else before + 1)
        phase_of_sender[sender] = phase
        for key in (*subjects, f"event:{report['event_id']}"):
            last[key] = (phase, sender)
        runs.setdefault((phase, sender), []).append(report)
    return [(sender, run) for (_, sender), run in sorted(runs.items(), key=lambda i: i[0][0])]


def _dependencies(report: dict) -> tuple[list[str], list[str]]:
    """What a report is about, and what it must come after (the report a check names, the
    leader a planned project names)."""
    payload = report.get("payload", {})
    subjects, after = [], []
    if "project_code" in payload:
        subjects.append(f"project:{payload['project_code']}")
    if "milestone_event_id" in payload:
        subjects.append(f"milestone:{payload['milestone_event_id']}")
        after.append(f"event:{payload['milestone_event_id']}")
    if "leader_id" in payload:
        subjects.append(f"leader:{payload['leader_id']}")
    if "unit" in payload and not subjects:
        subjects.append(f"unit:{payload['unit']}")
    if leader := payload.get("planned_by_leader"):
        after.append(f"leader:{leader}")
    return subjects, after
