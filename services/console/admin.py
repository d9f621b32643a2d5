"""/admin/users (account administrators only, 三员分立): add accounts, disable or enable them,
reset a password, grant roles. Every change is an event naming who made it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.console import passwords
from services.console.roles import ADMIN, ROLES, AccountError
from services.console.web import call, console_of, page, render, session_of

MAX_FIELD = 128


def _accounts(console) -> list:
    return [console.accounts.get(name) for name in console.accounts.usernames()]


@page(ADMIN)
async def users(request: Request) -> Response:
    console = console_of(request)
    listed = await call(_accounts, console)
    return render(request, "users.html", accounts=listed, roles=ROLES, message="", password="")


@page(ADMIN)
async def users_change(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    form = await request.form()
    action = str(form.get("action", ""))
    username = str(form.get("username", ""))[:MAX_FIELD].strip()
    roles = [str(r) for r in form.getlist("roles")][: len(ROLES)]
    message, password, status = "", "", 200
    try:
        if action == "add":
            password = passwords.generated()
            unit = str(form.get("unit", ""))[:MAX_FIELD].strip()
            await call(console.accounts.add, username, unit, roles, password, session.username)
            message = f"已添加用户 {username}，初始密码如下（仅显示一次）"
        elif action == "reset":
            password = passwords.generated()
            await call(console.accounts.reset, username, password, session.username)
            console.sessions.end_for(username)
            message = f"已重置 {username} 的密码（仅显示一次）"
        elif action in ("disable", "enable"):
            if username == session.username:
                raise AccountError("username", username, "not_self", "不能停用自己的账号")
            await call(
                console.accounts.set_disabled, username, action == "disable", session.username
            )
            console.sessions.end_for(username)
            message = f"已{'停用' if action == 'disable' else '启用'}用户 {username}"
        elif action == "grant":
            await call(console.accounts.grant, username, roles, session.username)
            console.sessions.end_for(username)
            message = f"已更新 {username} 的角色"
        else:
            raise AccountError("action", action, "action", "未知操作")
    except AccountError as error:
        message, password, status = error.message, "", 400
    listed = await call(_accounts, console)
    return render(
        request,
        "users.html",
        status,
        accounts=listed,
        roles=ROLES,
        message=message,
        password=password,
    )
