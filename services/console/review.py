"""/review 甄别 (十九), reviewers only: the reports awaiting review grouped by 市州 and type, oldest
first; verifying or rejecting one or many is one batch of `milestone.verified` /
`milestone.rejected` reports published through the gateway as the reviewer (the office), so the
stored events name the reviewer as their operator."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

import grpc
from starlette.requests import Request
from starlette.responses import Response

from services.console import views
from services.console.gateway import PersonClient
from services.console.roles import REVIEWER
from services.console.web import Refused, call, console_of, page, render, session_of

DECISIONS = {"verify": "verified", "reject": "rejected"}
# milestone.* checks name a project's milestone, report.* a leader's trip or a themed event
FIELDS = {"milestone": "milestone_event_id", "report": "report_event_id"}
CHOSEN = re.compile(
    r"(milestone|report):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
MAX_BATCH = 500
MAX_REASON = 500
NAMESPACE = uuid5(NAMESPACE_URL, "zhaoshang:console:review")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def awaiting(client: PersonClient) -> list[dict]:
    """Query.ListAwaitingReview (the first 1,000, oldest first); from each project's milestones
    where the gateway has no such call (an older gateway)."""
    try:
        answer = client.awaiting_review(limit=1000)
        return [views.queue_item(item) for item in answer.get("items", [])]
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNIMPLEMENTED:
            raise
    items: list[dict] = []
    for project in client.list_projects(register=True).get("projects", []):
        milestones = client.milestones(project["project_code"])
        if milestones:
            items += views.awaiting_from_milestones(project, milestones)
    return items


def decisions(action: str, chosen: list[str], reason: str) -> list[dict]:
    """The reports a decision on `chosen` ("milestone:<id>" or "report:<id>") is: one per
    report, its event id derived from the decision and the report, so sending the same form
    twice counts once."""
    today = datetime.now(SHANGHAI).date().isoformat()
    out = []
    for value in chosen:
        family, _, event_id = value.partition(":")
        kind = f"{family}.{DECISIONS[action]}"
        payload = {FIELDS[family]: event_id} | ({"reason": reason} if action == "reject" else {})
        out.append(
            {
                "event_id": str(uuid5(NAMESPACE, f"{kind}:{event_id}")),
                "type": kind,
                "source": "office",
                "occurred_on": today,
                "schema_version": 1,
                "payload": payload,
            }
        )
    return out


@page(REVIEWER)
async def review_desk(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    items = await call(awaiting, console.client(session))
    return render(
        request, "review.html", groups=views.review_groups(items), count=len(items), outcomes=None
    )


@page(REVIEWER)
async def review_decide(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    form = await request.form()
    action = str(form.get("action", ""))
    if action not in DECISIONS:
        raise Refused(400, "请选择“核实”或“退回”")
    chosen = [str(v) for v in form.getlist("event")][: MAX_BATCH + 1]
    if not chosen:
        raise Refused(400, "请至少勾选一条报告")
    if len(chosen) > MAX_BATCH or any(CHOSEN.fullmatch(e) is None for e in chosen):
        raise Refused(400, f"所选报告无效：每次至多 {MAX_BATCH} 条，且须为报告标识")
    reason = str(form.get("reason", "")).strip()
    if action == "reject" and not 1 <= len(reason) <= MAX_REASON:
        raise Refused(400, f"退回须填写理由（1 至 {MAX_REASON} 字）")
    client = console.client(session)
    outcomes = await call(client.publish, decisions(action, chosen, reason))
    items = await call(awaiting, client)
    return render(
        request,
        "review.html",
        groups=views.review_groups(items),
        count=len(items),
        outcomes=outcomes,
        action=action,
    )
