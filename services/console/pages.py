"""The reading pages: 首页/驾驶舱 (ranking and the Hubei map), a 市州's scorecard, 项目库 and a
project's page (facts, milestones with their review state, full history with operators)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date

import grpc
from starlette.requests import Request
from starlette.responses import Response

from services.console import trends, views
from services.console.gateway import PersonClient
from services.console.roles import REPORTER, REVIEWER, VIEWER, region_of
from services.console.web import Refused, call, console_of, page, render, session_of

QUARTER = re.compile(r"20\d\dQ[1-4]")
PROJECT_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
READERS = (REPORTER, REVIEWER, VIEWER)
_CACHE_SECONDS = 60.0
_default_cache: dict[tuple[str, str], tuple[float, str | None]] = {}
# The register a person pages and filters through, per scope, for REGISTER_SECONDS: paging
# through 10,000 projects asks the gateway once (bench/console.py), not once a page.
REGISTER_SECONDS = 20.0
_register_cache: dict[tuple[str, tuple[str, ...], str], tuple[float, dict]] = {}


def quarters(first: str) -> list[str]:
    return views.quarters_back(first, views.quarter_of(date.today()))


def chosen_quarter(request: Request) -> str | None:
    quarter = request.query_params.get("quarter", "")
    if quarter and QUARTER.fullmatch(quarter) is None:
        raise Refused(400, f"季度 {quarter[:20]!r} 无效：应形如 2020Q3")
    return quarter or None


def readable_rankings(client: PersonClient, first: str) -> Iterator[tuple[str, dict]]:
    """Each quarter's official ranking the person may read, newest first."""
    for quarter in quarters(first):
        try:
            yield quarter, client.get_ranking(quarter)
        except grpc.RpcError:
            continue


def default_quarter(client: PersonClient, first: str, unit: str) -> str | None:
    """The latest published quarter, else the latest with reports that the person may read."""
    key = (unit, first)
    cached = _default_cache.get(key)
    if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    with_reports = None
    found = None
    for quarter, ranking in readable_rankings(client, first):
        if ranking.get("published"):
            found = quarter
            break
        if with_reports is None and views.has_reports(ranking):
            with_reports = quarter
    answer = found or with_reports
    _default_cache[key] = (time.monotonic(), answer)
    return answer


def _ranking(client: PersonClient, quarter: str) -> dict | None:
    try:
        return client.get_ranking(quarter)
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
            return None
        raise


@page(*READERS)
async def dashboard(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    client = console.client(session)
    quarter = chosen_quarter(request) or await call(
        default_quarter, client, console.config.first_quarter, session.unit
    )
    ranking = await call(_ranking, client, quarter) if quarter else None
    board = views.dashboard(ranking, session.unit) if ranking else None
    return render(
        request,
        "dashboard.html",
        quarter=quarter,
        quarters=quarters(console.config.first_quarter),
        board=board,
        own_region=region_of(session.unit),
    )


@page(*READERS)
async def scorecard(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    region = request.path_params["region"]
    if re.fullmatch(r"\d{6}", region) is None:
        raise Refused(400, f"市州代码 {region[:20]!r} 无效")
    client = console.client(session)
    quarter = chosen_quarter(request) or await call(
        default_quarter, client, console.config.first_quarter, session.unit
    )
    if quarter is None:
        raise Refused(404, "暂无可查看的季度排名")
    card = await call(client.get_scorecard, quarter, region)
    if card is None:
        raise Refused(404, f"{region} 不是市州")
    await call(
        console.accounts.record, session.username, session.unit, "scorecard", f"{quarter}:{region}"
    )
    return render(
        request,
        "scorecard.html",
        card=card,
        indicators=trends.indicator_rows(card),
        targets=trends.target_rows(card),
        quarter=quarter,
        region=region,
        name=views.map_names().get(region, region),
        quarters=quarters(console.config.first_quarter),
    )


@page(*READERS)
async def projects(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    wanted = views.ProjectFilter.of(dict(request.query_params))
    client = console.client(session)
    listing = await call(register_of, client, session.unit, session.roles, wanted.list_name)
    register = views.project_page(listing, wanted)
    template = "projects_table.html" if request.headers.get("HX-Request") else "projects.html"
    return render(
        request,
        template,
        register=register,
        wanted=wanted,
        lists=views.LISTS,
        title=listing.get("title", "项目库"),
    )


def register_of(client: PersonClient, unit: str, roles: tuple[str, ...], list_name: str) -> dict:
    """The whole register in the person's scope (ListProjects, register=True), kept for
    REGISTER_SECONDS per unit, roles and list."""
    key = (unit, roles, list_name)
    cached = _register_cache.get(key)
    if cached and time.monotonic() - cached[0] < REGISTER_SECONDS:
        return cached[1]
    listing = client.list_projects(list_name, region_of(unit) or "", "", True)
    if len(_register_cache) > 256:
        _register_cache.clear()
    _register_cache[key] = (time.monotonic(), listing)
    return listing


@page(*READERS)
async def project(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    code = request.path_params["code"]
    if PROJECT_CODE.fullmatch(code) is None:
        raise Refused(400, f"项目代码 {code[:20]!r} 无效")
    client = console.client(session)
    facts = await call(client.get_project, code)
    if facts is None:
        raise Refused(404, f"没有项目 {code}")
    milestones = await call(client.milestones, code) or {"milestones": []}
    history = await call(client.history, code)
    await call(console.accounts.record, session.username, session.unit, "project", code)
    await call(console.accounts.record, session.username, session.unit, "history", code)
    return render(
        request,
        "project.html",
        code=code,
        facts=facts,
        milestones=milestones,
        history=history,
        status_zh=views.STATUS_ZH,
    )
