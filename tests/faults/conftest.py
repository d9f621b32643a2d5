"""The running system on PostgreSQL (the issue's target store), with handles to hurt it."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import free_port
from tools.run import Supervisor, wait_for_gateway


class FaultySystem:
    """The system as `make run` starts it, one process per service, plus what an operator (or
    an outage) does to those processes."""

    def __init__(self, env: dict[str, str], supervisor: Supervisor, keys: dict[str, str]):
        self.env = env
        self.supervisor = supervisor
        self.target = env["GATEWAY_ADDRESS"]
        self.keys = keys  # source -> API key: the office and every 市州's system

    def process(self, name: str) -> subprocess.Popen:
        return self.supervisor.processes[name]

    def kill(self, name: str) -> None:
        """kill -9: no shutdown, nothing drained, nothing acknowledged."""
        process = self.process(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def terminate(self, name: str, grace: float = 60.0) -> int:
        """SIGTERM, as Kubernetes stops a pod: the process finishes what it holds and exits by
        itself; its exit code."""
        process = self.process(name)
        process.send_signal(signal.SIGTERM)
        return process.wait(grace)

    def add_replica(self, name: str, **settings: str) -> str:
        """A second process running `name`'s command, as a second replica of its Deployment,
        with `settings` over the system's environment."""
        replica = f"{name}-2"
        self.supervisor.start(replica, list(self.process(name).args), {**self.env, **settings})
        return replica

    def restart(self, name: str) -> None:
        """Start `name` again with the command line it had (its log is appended to)."""
        old = self.process(name)
        assert old.poll() is not None, f"{name} is still running"
        self.supervisor.start(name, list(old.args))

    def pause(self, name: str) -> None:
        self.process(name).send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.process(name).send_signal(signal.SIGCONT)


@pytest.fixture
def faulty_system(postgres_env, amqp_uri, tmp_path) -> Iterator[FaultySystem]:
    env = {
        **os.environ,
        **postgres_env,
        "AMQP_URI": amqp_uri,
        "GATEWAY_ADDRESS": f"127.0.0.1:{free_port()}",
        "ZHAOSHANG_VAR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
        "METRICS_PORT": "0",  # any free port: another system may be running on this machine
        "GATEWAY_PLAINTEXT": "1",  # on loopback: the load generator's channels are plaintext
        "GATEWAY_FAIR_SHARE": "0",  # the load speaks for a province through one key a source
    }
    supervisor = Supervisor(env)
    supervisor.start_all()  # issues an API key for every source
    system = FaultySystem(env, supervisor, supervisor.api_keys)
    try:
        wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
        yield system
    finally:
        for process in supervisor.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a paused process cannot stop
        supervisor.stop_all()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def postgres_cluster() -> tuple[str, str]:
    """(version, name) of this machine's PostgreSQL cluster on port 5432."""
    lines = subprocess.run(
        ["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    for line in lines:
        version, name, port, *_ = line.split()
        if port == "5432":
            return version, name
    raise AssertionError(f"no PostgreSQL cluster on port 5432: {lines}")


def pg_ctlcluster(action: str) -> None:
    version, name = postgres_cluster()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def postgres_online() -> bool:
    version, name = postgres_cluster()
    lines = subprocess.run(
        ["pg_lsclusters", "--no-header", version, name], capture_output=True, text=True
    ).stdout.split()
    return "online" in lines
