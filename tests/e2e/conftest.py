"""The running system, started as its operators start it: one process per service."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from services.gateway.client import GatewayClient
from services.run import Supervisor, wait_for_gateway


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningSystem:
    def __init__(self, env: dict[str, str], supervisor: Supervisor) -> None:
        self.env = env
        self.supervisor = supervisor
        self.target = env["GATEWAY_ADDRESS"]

    def client(self) -> GatewayClient:
        return GatewayClient(self.target)


@pytest.fixture
def system(store_env, amqp_uri, tmp_path) -> Iterator[RunningSystem]:
    env = {
        **os.environ,
        **store_env,
        "AMQP_URI": amqp_uri,
        "GATEWAY_ADDRESS": f"127.0.0.1:{free_port()}",
        "ZHAOSHANG_VAR": store_env.get("ZHAOSHANG_VAR", str(tmp_path / "var")),
    }
    supervisor = Supervisor(env)
    supervisor.start_all()
    try:
        wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
        yield RunningSystem(env, supervisor)
    finally:
        supervisor.stop_all()
