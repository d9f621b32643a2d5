"""What a 市州 reports as a unit, beside its projects and leaders: themed events in the three
regions (三), the 附件3 tasks due in the quarter, and progress on its 附件4 matters."""

from __future__ import annotations

from datetime import timedelta

from services.kernel.reference.model import PREFECTURES_AND_COUNTIES
from tools.demo.cast import MATTER_PROGRESS, PROMOTION, PROMOTION_TITLES
from tools.demo.quarter import Quarter
from tools.demo.wire import short_place


def promotion_events(q: Quarter, unit: str, count: int) -> None:
    """Themed events in the three regions (三), a different region each time."""
    name = short_place(q.ref.region(unit).name)
    first = q.rng.randrange(len(PROMOTION))
    for n in range(count):
        target, cities = PROMOTION[(first + n) % len(PROMOTION)]
        title = q.rng.choice(PROMOTION_TITLES).format(unit=name, city=q.rng.choice(cities))
        payload = {"unit": unit, "target_region": target, "title": title}
        q.emit(
            "promotion.event_held",
            f"pref:{unit}",
            q.day_in(q.start, q.end),
            payload,
            f"{unit}/{n}",
        )


def tasks(q: Quarter, unit: str, diligence: float) -> None:
    """The 附件3 tasks due this quarter: reported on time, late, or not at all."""
    for task in q.ref.tasks.values():
        due = task.deadline_date
        if (
            task.responsible != PREFECTURES_AND_COUNTIES
            or unit in task.exempt
            or not q.start <= due <= q.end
        ):
            continue
        if q.rng.random() < diligence:
            day = q.day_in(q.start, due)
        elif due < q.end and q.rng.random() < 0.6:
            day = q.day_in(due + timedelta(days=1), q.end)
        else:
            continue
        q.emit(
            "task.completed",
            f"pref:{unit}",
            day,
            {"task_id": task.id, "unit": unit},
            f"{unit}/{task.id}",
        )


def matters(q: Quarter, unit: str) -> None:
    """Progress on the 附件4 matters the 市州 government is responsible for."""
    for matter in q.ref.matters.values():
        if unit not in matter.responsible or q.rng.random() < 0.3:
            continue
        done = q.rng.random() < 0.2
        partners = "、".join(matter.partners)
        progress = (
            f"{partners}相关事项已落实，企业反馈良好"
            if done
            else q.rng.choice(MATTER_PROGRESS).format(partner=partners)
        )
        payload = {
            "matter_id": matter.id,
            "unit": unit,
            "progress": progress,
            "status": "done" if done else "in_progress",
        }
        q.emit(
            "matter.progress_reported",
            f"pref:{unit}",
            q.day_in(q.start, q.end),
            payload,
            f"{unit}/{matter.id}",
        )
