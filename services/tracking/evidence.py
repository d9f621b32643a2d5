"""佐证材料 on reports: a milestone report, a trip or a themed event may name files by their
SHA-256 (`evidence`, docs/CONTRACT.md "Evidence"); each must have been uploaded first
(Evidence.Upload, into evidence_store.py) with the size and kind the report states, or the
report is rejected with its rule. An accepted report's files are recorded with it, in the same
transaction (`CitedEvidence`), so the review desk can show them and the hash chain covers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.report import Report
from services.kernel.ingest.refusals import refusal_id
from services.kernel.ingest.reports import Apply, Batch
from services.tracking.evidence_store import EvidenceStore


class CitedEvidence(Aggregate):
    """The files an accepted report named, by its event_id."""

    write_once: ClassVar[bool] = True

    class Recorded(Aggregate.Created):
        event_id: str
        type: str
        source: str
        project_code: str | None
        files: list[dict]

    @staticmethod
    def create_id(event_id: str, **_: Any) -> UUID:
        return cited_id(event_id)

    @event(Recorded)
    def __init__(
        self, event_id: str, type: str, source: str, project_code: str | None, files: list[dict]
    ):
        self.event_id = event_id
        self.type = type
        self.source = source
        self.project_code = project_code
        self.files = files


def cited_id(event_id: str) -> UUID:
    return ids.named_id("evidence_cited", event_id)


def not_uploaded(index: int, sha256: str) -> RuleBroken:
    return RuleBroken(
        f"payload.evidence.{index}.sha256",
        sha256,
        "evidence_not_uploaded",
        f"佐证材料 {sha256} 尚未上传：请先通过 Evidence.Upload（或控制台）上传该文件，"
        "再报送引用它的报告",
        f"evidence {sha256} was not uploaded: upload the file (Evidence.Upload or the console) "
        "before the report that names it",
    )


def mismatch(index: int, field: str, stated: Any, stored: Any) -> RuleBroken:
    return RuleBroken(
        f"payload.evidence.{index}.{field}",
        str(stated),
        "evidence_mismatch",
        f"佐证材料第 {index + 1} 项的 {field} 为 {stated}，与已上传文件的 {stored} 不符",
        f"evidence item {index + 1}: {field} {stated} is not the uploaded file's {stored}",
    )


def check_uploaded(files: list[Mapping[str, Any]], store: EvidenceStore) -> None:
    for index, named in enumerate(files):
        stored = store.info(named["sha256"])
        if stored is None:
            raise not_uploaded(index, named["sha256"])
        for field in ("size", "media_type"):
            if stored[field] != named[field]:
                raise mismatch(index, field, named[field], stored[field])


def evidence_checked(apply: Apply, store: EvidenceStore) -> Apply:
    """`apply`, with a report's evidence checked before it and recorded after it (unless the
    report was refused: its sender may not send it)."""

    def checked(report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        payload: Mapping[str, Any] = report.payload
        files = payload.get("evidence") or []
        if files:
            check_uploaded(files, store)
        apply(report, batch, context)
        if files and batch.get(refusal_id(str(report.event_id), report.digest())) is None:
            batch.add(
                CitedEvidence(
                    event_id=str(report.event_id),
                    type=report.type,
                    source=report.source,
                    project_code=report.project_code,
                    files=[dict(f) for f in files],
                )
            )

    return checked


def cited(batch: Batch, event_id: str) -> list[dict]:
    """The files an accepted report named (none: it named none, or it is unknown)."""
    record = batch.get(cited_id(event_id))
    return [] if record is None else list(record.files)
