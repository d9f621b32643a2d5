"""Tracking's RPCs for 佐证材料, used by the gateway's Evidence service (services/gateway/
evidence.py): chunks in, a file sealed, its description and chunks out, a report's files.

Chunks travel base64-encoded (the RPC's JSON has no bytes), at most CHUNK_BYTES each. The
service module imports this module, not its class (nameko runs every class with entrypoints
in a service module's namespace).
"""

from __future__ import annotations

import base64
from typing import Any

from services.kernel.ingest.reports import Batch
from services.kernel.process.prompt import rpc
from services.tracking.evidence import cited, cited_id
from services.tracking.evidence_store import CHUNK_BYTES, SealFailed


class EvidenceEntrypoints:
    app: Any

    @rpc
    def evidence_put(self, sha256: str, index: int, data: str) -> None:
        piece = base64.b64decode(data, validate=True)
        if len(piece) > CHUNK_BYTES:
            raise ValueError(f"a chunk holds at most {CHUNK_BYTES} bytes")
        self.app.evidence.put_chunk(sha256, index, piece)

    @rpc
    def evidence_seal(self, file: dict, chunks: int, unit: str) -> dict | None:
        """The file as stored, with every unit that uploaded it; None when its chunks are not
        the file announced."""
        try:
            return self.app.evidence.seal(file, chunks, unit)
        except SealFailed:
            return None

    @rpc
    def evidence_info(self, sha256: str) -> dict | None:
        return self.app.evidence.info(sha256)

    @rpc
    def evidence_chunk(self, sha256: str, index: int) -> str | None:
        piece = self.app.evidence.chunk(sha256, index)
        return None if piece is None else base64.b64encode(piece).decode("ascii")

    @rpc
    def evidence_of(self, event_id: str) -> list[dict]:
        """The files an accepted report named."""
        return cited(Batch(self.app), event_id)


def with_evidence(app: Any, reports: list[dict]) -> list[dict]:
    """Each report (of a project's milestones view, Query.GetMilestones, or of the review
    queue, Query.ListAwaitingReview) with the 佐证材料 it named (`evidence`, empty when none),
    for the review desk."""
    batch = Batch(app)
    batch.preload(cited_id(report["event_id"]) for report in reports)
    for report in reports:
        report["evidence"] = cited(batch, report["event_id"])
    return reports
