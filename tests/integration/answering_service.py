"""A nameko service that answers, refuses, fails or takes its time, as it is asked (run by
tests/integration/test_gateway_rpc.py with `nameko run`)."""

from __future__ import annotations

from typing import Any

import eventlet

from services.kernel.contract.errors import RuleBroken
from services.kernel.process.prompt import rpc


class Answering:
    name = "answering"

    @rpc
    def echo(self, value: Any, after: float = 0.0) -> Any:
        eventlet.sleep(after)
        return value

    @rpc
    def refuse(self) -> None:
        raise RuleBroken("quarter", "2020Q5", "quarter_format", "季度格式错误", "no such quarter")

    @rpc
    def fail(self) -> None:
        raise ValueError("a bug in the service")
