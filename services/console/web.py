"""The console's web plumbing: who is signed in, CSRF checks on every form, role checks, the
gateway's refusals as pages in Chinese, and rendering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from services.console.accounts import Accounts
from services.console.config import Config
from services.console.gateway import Gateway, Person, PersonClient, status_of
from services.console.roles import ROLE_NAMES, gateway_roles
from services.console.sessions import COOKIE, CSRF_FIELD, Session, Sessions, same

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["ROLE_NAMES"] = ROLE_NAMES


@dataclass
class Console:
    """What every page needs: settings, the accounts store, sessions, the gateway."""

    config: Config
    accounts: Accounts
    sessions: Sessions
    gateway: Gateway

    def client(self, session: Session) -> PersonClient:
        roles = gateway_roles(session.roles) or ("read",)
        return self.gateway.for_person(Person(session.username, session.unit, roles))


class Refused(Exception):
    """A page the person may not see or a form that fails; answered in Chinese."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def console_of(request: Request) -> Console:
    return request.app.state.console


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    session = getattr(request.state, "session", None)
    context.update(request=request, session=session, csrf=session.csrf if session else "")
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def page(*roles: str) -> Callable[[Handler], Handler]:
    """A page for signed-in people holding one of `roles` (any role if none named): without a
    session, the sign-in page; without the role, 403; a form without its CSRF token, 403."""

    def decorate(handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            console = console_of(request)
            session, expired = console.sessions.get(request.cookies.get(COOKIE))
            if expired is not None:
                await run_in_threadpool(console.accounts.signed_out, expired.username, "idle")
            if session is None:
                target = "/login" + ("?expired=1" if expired else "")
                return RedirectResponse(target, status_code=303)
            request.state.session = session
            try:
                if roles and not session.has(*roles):
                    raise Refused(403, "您没有访问此页面的权限")
                if request.method == "POST":
                    form = await request.form()
                    if not same(str(form.get(CSRF_FIELD, "")), session.csrf):
                        raise Refused(
                            403, "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试"
                        )
                return await handler(request)
            except Refused as refused:
                return render(request, "error.html", refused.status, message=refused.message)
            except grpc.RpcError as error:
                status, message = refused_by_gateway(error)
                return render(request, "error.html", status, message=message)

        checked.__name__ = handler.__name__
        return checked

    return decorate


def refused_by_gateway(error: grpc.RpcError) -> tuple[int, str]:
    code, details = status_of(error)
    message = details.split(" / ")[0] or "网关未响应"
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return 403, f"无权查看：{message}"
    if code == grpc.StatusCode.NOT_FOUND:
        return 404, f"未找到：{message}"
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        return 400, message
    return 502, f"后台服务暂时不可用，请稍后再试（{message}）"


async def call(function: Callable[..., Any], *args: Any) -> Any:
    """A blocking call (the gateway, the store) off the event loop."""
    return await run_in_threadpool(function, *args)


def session_of(request: Request) -> Session:
    return request.state.session


def set_cookie(
    response: Response, name: str, value: str, secure: bool, max_age: int | None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
    )
