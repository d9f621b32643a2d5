"""One running system per test module for the console's tests: every service, the gateway and
the console started as `make run` starts them (tools/run.py's Supervisor), on SQLite, in a vhost
of its own, with the demo quarter loaded and published; and Debian's chromium for the browser
tests (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RABBIT_HOST, rabbitmqctl
from tests.e2e.conftest import free_port
from tools.run import Supervisor, wait_for_console, wait_for_gateway

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path("var/screenshots")
QUARTER = "2020Q3"


class ConsoleSystem:
    def __init__(self, supervisor: Supervisor, url: str, users: list[dict]) -> None:
        self.supervisor = supervisor
        self.url = url
        self.users = {u["username"]: u for u in users}

    def user(self, username: str) -> dict:
        return self.users[username]

    def office(self):
        return self.supervisor.client(self.supervisor.api_keys["office"])


@pytest.fixture(scope="module")
def console_system(tmp_path_factory) -> Iterator[ConsoleSystem]:
    from tools.demo_run import load_demo

    vhost = f"zhaoshang-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    var = tmp_path_factory.mktemp("console") / "var"
    env = {
        **os.environ,
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "ZHAOSHANG_VAR": str(var),
        "AMQP_URI": f"amqp://guest:guest@{RABBIT_HOST}/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{free_port()}",
        "CONSOLE_ADDRESS": f"127.0.0.1:{free_port()}",
        "METRICS_PORT": "0",  # probes on any free port: other systems may run beside this one
    }
    supervisor = Supervisor(env)
    try:
        supervisor.start_all()
        wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
        load_demo(supervisor.client(supervisor.api_keys["office"]), QUARTER, supervisor.api_keys)
        url = supervisor.start_console()
        assert url and supervisor.console_users
        wait_for_console(url, supervisor)
        users = json.loads(supervisor.console_users.read_text(encoding="utf-8"))
        yield ConsoleSystem(supervisor, url, users)
    finally:
        supervisor.stop_all()
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("fc-list") is None:
        pytest.fail("needs chromium and fonts-noto-cjk: apt-get install chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies) and page, 1280 px wide."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, system: ConsoleSystem, username: str, password: str | None = None) -> None:
    page.goto(f"{system.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or system.user(username)["password"])
    page.click("button[type=submit]")
