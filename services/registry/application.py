"""Registry: the use cases on projects and leaders, in simple values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from services.common import ids
from services.common.contracts import Report
from services.common.reference import Reference, reference
from services.common.reports import Batch, ReportApplication
from services.common.rules import RuleBroken
from services.registry.domain import Leader, Project


def envelope(report: Report) -> dict[str, Any]:
    return {
        "event_id": str(report.event_id),
        "source": report.source,
        "occurred_on": report.occurred_on,
    }


def unknown_project(code: str) -> RuleBroken:
    return RuleBroken(
        "payload.project_code",
        code,
        "unknown_project",
        f"项目 {code} 不存在：请先报送 project.proposed",
        f"project {code} is unknown: report project.proposed first",
    )


class RegistryApplication(ReportApplication):
    name = "registry"
    service = "registry"

    def __init__(self, env: Mapping[str, str] | None = None, ref: Reference | None = None):
        self.ref = ref or reference()
        super().__init__(env)
        self._handlers: dict[str, Callable[[Report, Batch], None]] = {
            "project.proposed": self._propose,
            "project.tracking_started": self._start_tracking,
            "project.signed": self._sign,
            "project.assigned": self._assign,
            "project.corrected": self._correct,
            "project.withdrawn": self._withdraw,
            "leader.appointed": self._appoint,
        }

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        self._handlers[report.type](report, batch)

    # Reports ------------------------------------------------------------------------------

    def _propose(self, report: Report, batch: Batch) -> None:
        p = report.payload
        if batch.get(ids.project_id(p["project_code"])) is not None:
            raise RuleBroken(
                "payload.project_code",
                p["project_code"],
                "project_exists",
                f"项目 {p['project_code']} 已存在；修改事实请发送 project.corrected",
                f"project {p['project_code']} exists; send project.corrected to change its facts",
            )
        batch.add(
            Project(
                **envelope(report),
                project_code=p["project_code"],
                name=p["name"],
                investor=dict(p["investor"]),
                industry=p["industry"],
                region=p["region"],
                prefecture=self.ref.prefecture_of(p["region"]).code,
                total_investment=p["total_investment"],
                categories=list(p.get("categories", [])),
                channel=p["channel"],
                key_project=self._is_key(p["total_investment"], p.get("categories", [])),
            )
        )

    def _project(self, report: Report, batch: Batch) -> Project:
        code = report.payload["project_code"]
        project = batch.get(ids.project_id(code))
        if project is None:
            raise unknown_project(code)
        return project

    def _start_tracking(self, report: Report, batch: Batch) -> None:
        self._project(report, batch).start_tracking(**envelope(report))

    def _sign(self, report: Report, batch: Batch) -> None:
        project = self._project(report, batch)
        project.sign(**envelope(report), contract=report.payload["contract_investment"])

    def _assign(self, report: Report, batch: Batch) -> None:
        p = report.payload
        self._project(report, batch).assign(
            **envelope(report), leader=p["leader"], task_force=p["task_force"], plan=p["plan"]
        )

    def _correct(self, report: Report, batch: Batch) -> None:
        project = self._project(report, batch)
        changes = dict(report.payload["changes"])
        facts = {**project.facts, **changes}
        project.correct(
            **envelope(report),
            changes=changes,
            reason=report.payload["reason"],
            prefecture=self.ref.prefecture_of(facts["region"]).code,
            key_project=self._is_key(facts["total_investment"], facts["categories"]),
        )

    def _withdraw(self, report: Report, batch: Batch) -> None:
        self._project(report, batch).withdraw(**envelope(report), reason=report.payload["reason"])

    def _appoint(self, report: Report, batch: Batch) -> None:
        p = report.payload
        unit = p["unit"]
        fields = {
            **envelope(report),
            "leader_id": p["leader_id"],
            "name": p["name"],
            "unit": unit,
            "role": p["role"],
            "prefecture": None if unit.startswith("dept:") else self.ref.prefecture_of(unit).code,
        }
        leader = batch.get(ids.leader_id(p["leader_id"]))
        if leader is None:
            batch.add(Leader(**fields))
        else:
            leader.reappoint(**fields)

    def _is_key(self, total_investment: Any, categories: Iterable[str]) -> bool:
        return self.ref.key_project.is_key_project(total_investment, categories)

    # Queries ------------------------------------------------------------------------------

    def get_project(self, project_code: str) -> dict | None:
        project = Batch(self).get(ids.project_id(project_code))
        return None if project is None else project.state()

    def project_states(self, project_codes: Iterable[str]) -> dict[str, dict]:
        batch = Batch(self)
        codes = set(project_codes)
        batch.preload(ids.project_id(code) for code in codes)
        projects = (batch.get(ids.project_id(code)) for code in codes)
        return {p.code: p.state() for p in projects if p is not None}

    def history(self, project_code: str) -> list[dict]:
        return self.wire_history(ids.project_id(project_code))
