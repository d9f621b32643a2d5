"""/login and /logout: the sign-in form (username, password, and the TOTP code when needed), its
own CSRF token, lockout after repeated failures; every sign-in and sign-out recorded."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from services.console.sessions import COOKIE, CSRF_FIELD, LOGIN_COOKIE, new_token, same
from services.console.web import call, console_of, page, render, session_of, set_cookie

MAX_FIELD = 256


def _form_page(
    request: Request, status: int = 200, message: str = "", totp: bool = False, username: str = ""
) -> Response:
    token = new_token()
    response = render(
        request,
        "login.html",
        status,
        login_csrf=token,
        message=message,
        totp=totp,
        username=username,
        expired=request.query_params.get("expired") == "1",
    )
    set_cookie(response, LOGIN_COOKIE, token, console_of(request).config.secure, max_age=1800)
    return response


async def login_form(request: Request) -> Response:
    return _form_page(request)


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    if not same(str(form.get(CSRF_FIELD, "")), request.cookies.get(LOGIN_COOKIE)):
        return _form_page(request, 403, "表单已失效或来源不明（CSRF 校验失败），请重新登录")
    username = str(form.get("username", ""))[:MAX_FIELD].strip()
    password = str(form.get("password", ""))[:MAX_FIELD]
    code = str(form.get("totp", ""))[:16]
    address = request.client.host if request.client else ""
    outcome = await call(console.accounts.sign_in, username, password, code, address)
    if not outcome.ok or outcome.account is None:
        status = 401 if not outcome.needs_totp else 200
        return _form_page(request, status, outcome.message, outcome.needs_totp, username)
    account = outcome.account
    session = console.sessions.open(account.username, account.unit, tuple(account.roles))
    response = RedirectResponse(landing(session.roles), status_code=303)
    set_cookie(response, COOKIE, session.token, console.config.secure, max_age=None)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def landing(roles: tuple[str, ...]) -> str:
    """Where a person starts: the dashboard, or the page of their one separated role."""
    if {"reporter", "reviewer", "viewer"}.intersection(roles):
        return "/"
    if "auditor" in roles:
        return "/audit"
    return "/admin/users" if "admin" in roles else "/login"


@page()
async def logout(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    console.sessions.close(session.token)
    await call(console.accounts.signed_out, session.username, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
