"""督办 boards (leaders' trips against quotas, themed events against the minimum, 附件3 tasks,
附件4 matters), a scorecard's year (trend and 约谈 follow-up) and a project's chain check, the
last two as htmx partials of the scorecard's and the project's pages. Each reads through the
gateway as the person: a unit outside their scope is the gateway's refusal, a 403 in Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import Response

from services.console import chain, trends
from services.console.gateway import PersonClient
from services.console.pages import PROJECT_CODE, QUARTER, READERS, default_quarter
from services.console.roles import AUDITOR
from services.console.web import Refused, call, console_of, page, render, session_of

UNIT = re.compile(r"|\d{6}|(dept|org):[a-z0-9_-]{1,40}")
BOARDS = {
    "trips": "领导外出招商",
    "events": "主题招商活动",
    "tasks": "附件3 重点任务",
    "matters": "附件4 重点事项",
}


def _readable(function: Callable[..., Any], *args: Any) -> Any:
    """The gateway's answer, or None where the person may not read it."""
    try:
        return function(*args)
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND):
            return None
        raise


def _year(client: PersonClient, quarter: str, region: str) -> tuple[trends.Trend, list | None]:
    cards = {q: _readable(client.get_scorecard, q, region) for q in trends.year_quarters(quarter)}
    commitments = _readable(client.open_commitments, region)
    follow = None if commitments is None else trends.follow_up(commitments, date.today())
    return trends.trend(cards), follow


@page(*READERS)
async def scorecard_year(request: Request) -> Response:
    """The scorecard's year: total and rank per quarter, and the open 约谈 commitments."""
    console, session = console_of(request), session_of(request)
    region, quarter = request.path_params["region"], request.query_params.get("quarter", "")
    if re.fullmatch(r"\d{6}", region) is None or QUARTER.fullmatch(quarter) is None:
        raise Refused(400, "市州代码或季度无效")
    trend, follow = await call(_year, console.client(session), quarter, region)
    return render(request, "scorecard_year.html", trend=trend, follow=follow, quarter=quarter)


def sees_everything(unit: str) -> bool:
    """The office and auditors read every unit, and Audit's proofs (README "Read scopes")."""
    return unit == "office" or unit.startswith("auditor:")


def _chain(client: PersonClient, code: str, keyring_path: str) -> chain.ChainCheck | str:
    ring = chain.keyring(keyring_path)
    if ring is None:
        return f"控制台未找到公钥文件（{keyring_path}），无法核验签名树头"
    heads = {h["store"]: h for h in client.tree_heads()}
    return chain.check_chain(client.history(code), heads, ring, chain.prover(client))


@page(*READERS, AUDITOR)
async def project_chain(request: Request) -> Response:
    """Whether the project's events are in their stores' signed logs (chain.py)."""
    console, session = console_of(request), session_of(request)
    code = request.path_params["code"]
    if PROJECT_CODE.fullmatch(code) is None:
        raise Refused(400, f"项目代码 {code[:20]!r} 无效")
    if not sees_everything(session.unit):
        return render(request, "chain.html", check=None, problem=None)
    found = await call(_chain, console.client(session), code, console.config.keyring)
    problem = found if isinstance(found, str) else None
    check = None if problem else found
    return render(request, "chain.html", check=check, problem=problem)


def _unit(request: Request, own: str) -> str:
    unit = request.query_params.get("unit", own)
    if UNIT.fullmatch(unit) is None:
        raise Refused(
            400, f"单位 {unit[:40]!r} 无效：应为市州或县市区代码、dept:<部门>或 org:<单位>"
        )
    return unit


def _board_year(request: Request, client: PersonClient, first: str, unit: str) -> int:
    given = request.query_params.get("year", "")
    if given:
        if re.fullmatch(r"20\d\d", given) is None:
            raise Refused(400, f"年度 {given[:10]!r} 无效：应形如 2020")
        return int(given)
    quarter = default_quarter(client, first, unit)
    return int(quarter[:4]) if quarter else date.today().year


def _board(client: PersonClient, kind: str, unit: str, year: int) -> dict:
    today = date.today()
    if kind == "trips":
        return trends.trip_board(client.leader_progress(unit, year), today)
    if kind == "events":
        return trends.event_board(client.promotion_events(unit), today)
    if kind == "tasks":
        return trends.task_board(client.task_status(unit=unit))
    return trends.matter_board(client.matter_status(unit=unit))


@page(*READERS)
async def board(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    kind = request.path_params["kind"]
    if kind not in BOARDS:
        raise Refused(404, "没有这个督办看板")
    unit = _unit(request, trends.board_unit(session.unit))
    client = console.client(session)
    year = (
        await call(_board_year, request, client, console.config.first_quarter, session.unit)
        if kind == "trips"
        else 0
    )
    data = await call(_board, client, kind, unit, year)
    return render(
        request,
        f"board_{kind}.html",
        board=data,
        kind=kind,
        boards=BOARDS,
        unit=unit,
        year=year,
        everyone=sees_everything(session.unit),
    )
