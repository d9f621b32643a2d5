"""The running system, started as its operators start it: one process per service."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.e2e.credentials import RabbitUsers, new_user_prefix
from tools.run import Supervisor, wait_for_gateway
from zhaoshang.client import GatewayClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningSystem:
    def __init__(self, env: dict[str, str], supervisor: Supervisor) -> None:
        self.env = env
        self.supervisor = supervisor
        self.target = env["GATEWAY_ADDRESS"]
        self.api_keys = supervisor.api_keys  # source -> the development key run.py issued
        self._rabbit_users = RabbitUsers(env["AMQP_URI"], env["GATEWAY_AMQP_USER_PREFIX"])

    def client(self, source: str = "office") -> GatewayClient:
        """A client calling as `source`, with its API key, over TLS trusting make run's CA."""
        return self.supervisor.client(self.api_keys[source])

    def rabbit_users(self, sources: list[str]) -> RabbitUsers:
        """RabbitMQ users publishing as `sources`; deleted when the system stops."""
        return self._rabbit_users.add(sources)

    def delete_rabbit_users(self) -> None:
        self._rabbit_users.delete()


@pytest.fixture
def system(store_env, amqp_uri, tmp_path) -> Iterator[RunningSystem]:
    env = {
        **os.environ,
        **store_env,
        "AMQP_URI": amqp_uri,
        "GATEWAY_ADDRESS": f"127.0.0.1:{free_port()}",
        "ZHAOSHANG_VAR": store_env.get("ZHAOSHANG_VAR", str(tmp_path / "var")),
        "GATEWAY_AMQP_USER_PREFIX": new_user_prefix(),
    }
    supervisor = Supervisor(env)
    supervisor.start_all()
    try:
        wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
        running = RunningSystem(env, supervisor)
        try:
            yield running
        finally:
            running.delete_rabbit_users()
    finally:
        supervisor.stop_all()
