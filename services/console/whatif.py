"""/whatif 试算 (the office's reviewers): another policy's weights or tie-break tried on a past
quarter, its ranking beside the real one; nothing is stored (Query.TryPolicy)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import Response

from services.console.pages import chosen_quarter, default_quarter, quarters
from services.console.roles import REVIEWER
from services.console.web import Refused, call, console_of, page, render, session_of

KEY = re.compile(r"[a-z_]{1,40}")


def weights_of(form: dict[str, str]) -> dict[str, str]:
    """weight.<indicator> fields -> {indicator: weight}, each a number from 0 to 100."""
    weights = {}
    for name, value in form.items():
        key = name.removeprefix("weight.")
        if name.startswith("weight.") and KEY.fullmatch(key):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                raise Refused(400, f"{key} 的权重 {value[:20]!r} 不是数字") from None
            if not 0 <= number <= 100:
                raise Refused(400, f"{key} 的权重 {value[:20]!r} 应在 0 至 100 之间")
            weights[key] = str(number)
    return weights


@page(REVIEWER)
async def whatif(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    client = console.client(session)
    changes: dict = {}
    if request.method == "POST":
        form = await request.form()
        quarter = str(form.get("quarter", ""))
        if re.fullmatch(r"20\d\dQ[1-4]", quarter) is None:
            raise Refused(400, f"季度 {quarter[:20]!r} 无效")
        plain = {k: str(v) for k, v in form.items()}
        changes = {"weights": weights_of(plain)}
    else:
        quarter = chosen_quarter(request) or await call(
            default_quarter, client, console.config.first_quarter, session.unit
        )
    if not quarter:
        raise Refused(404, "暂无可试算的季度")
    tried = await call(client.try_policy, quarter, changes)
    weights = changes.get("weights") or {}
    return render(
        request,
        "whatif.html",
        tried=tried,
        quarter=quarter,
        weights=weights,
        quarters=quarters(console.config.first_quarter),
        tried_changes=bool(changes),
    )
