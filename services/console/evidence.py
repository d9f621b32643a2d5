"""/evidence/<sha256>: a 佐证材料 file through Evidence.Download as the signed-in person — the
gateway gives a 市州 only the files it (or its counties) uploaded, reviewers, the office and
auditors every one. Images are shown inline (the review desk), other files downloaded; each
read is recorded in the console's access records. /evidence/of/<project>/<report>: the files a
milestone report named, for the review desk's rows."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from services.console.forms import EVENT_ID
from services.console.pages import PROJECT_CODE, READERS
from services.console.roles import AUDITOR
from services.console.web import Refused, call, console_of, page, render, session_of

SHA256 = re.compile(r"[0-9a-f]{64}")
INLINE = frozenset({"image/jpeg", "image/png"})


@page(*READERS, AUDITOR)
async def evidence_file(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    sha256 = request.path_params["sha256"]
    if SHA256.fullmatch(sha256) is None:
        raise Refused(400, f"佐证材料标识 {sha256[:20]!r} 无效：应为 64 位十六进制 SHA-256")
    found = await call(console.client(session).download_evidence, sha256)
    if found is None:
        raise Refused(404, "没有该佐证材料")
    file, data = found
    await call(console.accounts.record, session.username, session.unit, "evidence", sha256)
    inline = file["media_type"] in INLINE and request.query_params.get("download") != "1"
    name = file["name"] or sha256
    disposition = (
        f'{"inline" if inline else "attachment"}; filename="{sha256[:16]}"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    return Response(
        data, media_type=file["media_type"], headers={"Content-Disposition": disposition}
    )


@page(*READERS, AUDITOR)
async def evidence_of_milestone(request: Request) -> Response:
    """The files a project's milestone report named (Query.GetMilestones), as a fragment the
    review desk loads for each report as it scrolls into view."""
    console, session = console_of(request), session_of(request)
    code, event_id = request.path_params["code"], request.path_params["event_id"]
    if PROJECT_CODE.fullmatch(code) is None or EVENT_ID.fullmatch(event_id) is None:
        raise Refused(400, "项目代码或报告标识无效")
    milestones = await call(console.client(session).milestones, code) or {}
    files = next(
        (
            m.get("evidence") or []
            for m in milestones.get("milestones", ())
            if m["event_id"] == event_id
        ),
        [],
    )
    return render(request, "evidence_list.html", files=files)
