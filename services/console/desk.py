"""待办/预警, 通报 and 审计 pages, and the console's own access records (auditors)."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import grpc
from starlette.requests import Request
from starlette.responses import Response

from services.console import trends, views
from services.console.gateway import PersonClient
from services.console.pages import QUARTER, READERS, quarters, readable_rankings
from services.console.roles import AUDITOR, REVIEWER, region_of
from services.console.web import Refused, call, console_of, page, render, session_of

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _todo(client: PersonClient, unit: str) -> list[views.Warning]:
    region = region_of(unit) or ""
    scope = region if region else ("" if unit == "office" else unit)
    tasks = client.task_status(unit=scope)
    matters = client.matter_status(unit=scope)
    back: list[dict] = []
    if region:  # a 市州's or county's clerks: their reports the office sent back
        for project in client.list_projects(region=region, register=True).get("projects", []):
            milestones = client.milestones(project["project_code"])
            if milestones:
                back += views.sent_back(project, milestones)
    follow: list[dict] = []
    if unit == "office" or (region and region == views.prefecture_of(region)):
        follow = trends.follow_up(client.open_commitments(region or ""), date.today())
    return views.warnings(tasks, matters, back, follow)


@page(*READERS)
async def todo(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    items = await call(_todo, console.client(session), session.unit)
    counts = {c: sum(1 for w in items if w.colour == c) for c in ("red", "amber", "green")}
    return render(request, "todo.html", items=items[:500], counts=counts, total=len(items))


def _published(client: PersonClient, first: str) -> list[dict]:
    return [
        {"quarter": quarter, "hash": r["hash"], "policy_version": r.get("policy_version", "")}
        for quarter, r in readable_rankings(client, first)
        if r.get("published")
    ]


@page(*READERS, AUDITOR)
async def circulars(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    published = await call(_published, console.client(session), console.config.first_quarter)
    return render(request, "circulars.html", published=published)


@page(*READERS, AUDITOR)
async def circular_download(request: Request) -> Response:
    """The circular as the units received it (notify's .docx, with its signed tree heads)."""
    console, session = console_of(request), session_of(request)
    quarter = request.path_params["quarter"]
    if QUARTER.fullmatch(quarter) is None:
        raise Refused(400, f"季度 {quarter[:20]!r} 无效")
    try:
        document = await call(console.client(session).circular, quarter)
    except grpc.RpcError as refused:
        if refused.code() != grpc.StatusCode.NOT_FOUND:
            raise
        raise Refused(404, f"{quarter} 尚无通报：排名未发布，或通报尚在生成") from None
    await call(
        console.accounts.record, session.username, session.unit, "export", f"circular:{quarter}"
    )
    disposition = (
        f'attachment; filename="circular-{quarter}.docx"; '
        f"filename*=UTF-8''{quote(document['filename'])}"
    )
    headers = {"Content-Disposition": disposition, "X-Content-SHA256": document["sha256"]}
    return Response(document["content"], media_type=DOCX, headers=headers)


@page(AUDITOR, REVIEWER)
async def audit(request: Request) -> Response:
    console = console_of(request)
    return render(
        request,
        "audit.html",
        quarters=quarters(console.config.first_quarter),
        verification=None,
        rebuild=None,
    )


@page(AUDITOR, REVIEWER)
async def audit_verify(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    verification = await call(console.client(session).verify)
    return render(request, "audit_result.html", verification=verification, rebuild=None)


@page(AUDITOR, REVIEWER)
async def audit_rebuild(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    form = await request.form()
    quarter = str(form.get("quarter", ""))
    as_of = str(form.get("as_of", "")).strip()
    if QUARTER.fullmatch(quarter) is None:
        raise Refused(400, f"季度 {quarter[:20]!r} 无效")
    if as_of and re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of) is None:
        raise Refused(400, f"截至日期 {as_of[:20]!r} 无效：应形如 2020-10-15")
    rebuild = await call(console.client(session).rebuild_ranking, quarter, as_of)
    return render(request, "audit_result.html", verification=None, rebuild=rebuild, quarter=quarter)


@page(AUDITOR)
async def trail(request: Request) -> Response:
    console = console_of(request)
    entries = await call(console.accounts.trail, 300)
    return render(request, "trail.html", entries=entries)
