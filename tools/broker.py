"""`make run`'s broker: when nothing answers at AMQP_URI's host and port and that host is this
machine, start the installed RabbitMQ, installing it from Debian's packages first where we may
(as root), as .ci/run does for CI; say plainly what was done, or what to run instead.

The decision is `ensure_broker`'s; `Machine` is what it asks of the machine (the unit tests
give it a fake one).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from services.kernel.loopback import is_loopback

AMQP_PORT = 5672
START_TIMEOUT = 60.0  # seconds for a started RabbitMQ to open its port
# Debian installs the server in /usr/sbin, which an ordinary user's PATH often lacks.
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
INSTALL = ("apt-get", "install", "-y", "-qq", "rabbitmq-server")


class Machine(Protocol):
    def answers(self, host: str, port: int) -> bool: ...
    def find(self, program: str) -> str | None: ...
    def is_root(self) -> bool: ...
    def run(self, argv: list[str]) -> int: ...
    def wait_for(self, host: str, port: int, timeout: float) -> bool: ...


def broker_address(amqp_uri: str) -> tuple[str, int]:
    """The host and port of AMQP_URI (of the first, if it lists several separated by ";")."""
    parts = urlsplit(amqp_uri.split(";")[0])
    return parts.hostname or "localhost", parts.port or AMQP_PORT


def ensure_broker(amqp_uri: str, machine: Machine, say: Callable[[str], None]) -> bool:
    """True once something answers at AMQP_URI's host and port, having started (and, as root,
    installed) a local RabbitMQ if need be; False, having said what to run, if it could not."""
    host, port = broker_address(amqp_uri)
    if machine.answers(host, port):
        return True
    if not is_loopback(host):
        say(
            f"{host}:{port} 上的 RabbitMQ 未响应；它不在本机，请在那台机器上启动它。\n"
            f"No RabbitMQ answers at {host}:{port}, which is not this machine: start it there."
        )
        return False
    if machine.find("rabbitmq-server") is None:
        if not install(machine, say):
            return False
        if machine.answers(host, port):  # the package started the server it installed
            say(f"RabbitMQ 已在 {host}:{port} 响应 / RabbitMQ answers at {host}:{port}.")
            return True
    return start(machine, host, port, say)


def install(machine: Machine, say: Callable[[str], None]) -> bool:
    """Installs RabbitMQ from Debian's packages if we are root; else says how to."""
    if not machine.is_root():
        say(
            "本机未安装 RabbitMQ。请以 root 身份安装后再运行 make run：\n"
            "RabbitMQ is not installed. Install it as root, then make run again:\n"
            "  sudo apt-get install rabbitmq-server   (Debian/Ubuntu)"
        )
        return False
    say(
        "本机未安装 RabbitMQ，正在从 Debian 软件包安装 / RabbitMQ is not installed, "
        "installing it from Debian's packages: apt-get update && " + " ".join(INSTALL)
    )
    if machine.run(["apt-get", "update", "-qq"]) != 0 or machine.run(list(INSTALL)) != 0:
        say("安装 RabbitMQ 失败，见上方 apt-get 的输出 / installing RabbitMQ failed: see above.")
        return False
    say("RabbitMQ 已安装 / RabbitMQ is installed.")
    return True


def start(machine: Machine, host: str, port: int, say: Callable[[str], None]) -> bool:
    """Starts the installed RabbitMQ and waits until its port answers."""
    server = machine.find("rabbitmq-server") or "rabbitmq-server"
    say(f"RabbitMQ 未运行，正在启动 / RabbitMQ is not running, starting it: {server} -detached")
    if machine.run([server, "-detached"]) != 0:
        advice = "" if machine.is_root() else "\n  sudo rabbitmq-server -detached"
        say(f"启动 RabbitMQ 失败 / starting RabbitMQ failed: see its output above.{advice}")
        return False
    if not machine.wait_for(host, port, START_TIMEOUT):
        say(
            f"RabbitMQ 已启动，但 {START_TIMEOUT:.0f} 秒内 {host}:{port} 仍未响应。\n"
            f"RabbitMQ started, but nothing answers at {host}:{port} after "
            f"{START_TIMEOUT:.0f}s: see /var/log/rabbitmq/"
        )
        return False
    say(f"RabbitMQ 已启动，在 {host}:{port} 响应 / RabbitMQ started, answering at {host}:{port}.")
    return True


class ThisMachine:
    """The machine `make run` runs on."""

    def answers(self, host: str, port: int) -> bool:
        try:
            with socket.create_connection((host, port), timeout=2):
                return True
        except OSError:
            return False

    def find(self, program: str) -> str | None:
        path = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN])
        return shutil.which(program, path=path)

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def run(self, argv: list[str]) -> int:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            return subprocess.run(argv, env=env, check=False).returncode
        except OSError:
            return 127

    def wait_for(self, host: str, port: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers(host, port):
                return True
            time.sleep(1)
        return False
