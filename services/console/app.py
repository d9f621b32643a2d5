"""The console's ASGI application: its routes (/login, /, /projects, /review fixed by the issue;
the rest its own), the static assets it ships (htmx, ECharts, the Hubei map; no CDN), and
security headers on every answer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console import (
    admin,
    boards,
    desk,
    evidence,
    filing,
    pages,
    review,
    sheets,
    signin,
    whatif,
)
from services.console.accounts import Accounts
from services.console.config import Config
from services.console.gateway import Gateway
from services.console.sessions import Sessions
from services.console.web import Console

STATIC = Path(__file__).parent / "static"
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        self.headers = HEADERS + (
            [(b"strict-transport-security", b"max-age=31536000")] if secure else []
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000  # bench/console.py reads it
                timing = [(b"server-timing", f"app;dur={spent:.1f}".encode())]
                message["headers"] = list(message.get("headers", [])) + self.headers + timing
                if not scope["path"].startswith("/static/"):
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, with_headers)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


ROUTES = [
    Route("/healthz", healthz),
    Route("/login", signin.login_form, methods=["GET"]),
    Route("/login", signin.login, methods=["POST"]),
    Route("/logout", signin.logout, methods=["POST"]),
    Route("/", pages.dashboard),
    Route("/scorecard/{region}", pages.scorecard),
    Route("/scorecard/{region}/year", boards.scorecard_year),
    Route("/projects", pages.projects),
    Route("/projects/{code}", pages.project),
    Route("/projects/{code}/chain", boards.project_chain),
    Route("/boards/{kind}", boards.board),
    Route("/review", review.review_desk, methods=["GET"]),
    Route("/review", review.review_decide, methods=["POST"]),
    Route("/whatif", whatif.whatif, methods=["GET", "POST"]),
    Route("/todo", desk.todo),
    Route("/circulars", desk.circulars),
    Route("/circulars/{quarter}.docx", desk.circular_download),
    Route("/audit", desk.audit),
    Route("/audit/verify", desk.audit_verify, methods=["POST"]),
    Route("/audit/rebuild", desk.audit_rebuild, methods=["POST"]),
    Route("/audit/trail", desk.trail),
    Route("/admin/users", admin.users, methods=["GET"]),
    Route("/admin/users", admin.users_change, methods=["POST"]),
    Route("/forms", filing.form_list),
    Route("/forms/{type}", filing.form_page, methods=["GET"]),
    Route("/forms/{type}", filing.form_send, methods=["POST"]),
    Route("/evidence/{sha256}", evidence.evidence_file),
    Route("/evidence/of/{code}/{event_id}", evidence.evidence_of_milestone),
    Route("/import", sheets.import_page, methods=["GET"]),
    Route("/import", sheets.import_upload, methods=["POST"]),
    Route("/import/template.xlsx", sheets.template_download),
    Route("/import/{token}", sheets.import_confirm, methods=["POST"]),
    Route("/import/{token}/errors.xlsx", sheets.error_copy_download),
    Route("/exports", sheets.exports_page),
    Route("/exports/download", sheets.export_download),
    Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
]


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    app.state.console.gateway.close()
    print("console: stopped", flush=True)  # once, when SIGTERM has been served (make run)


def create_app(config: Config, accounts: Accounts, gateway: Gateway) -> Starlette:
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(SecurityHeaders, secure=config.secure)],
        lifespan=lifespan,
    )
    app.state.console = Console(config, accounts, Sessions(config.idle), gateway)
    return app
