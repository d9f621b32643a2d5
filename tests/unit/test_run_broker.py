"""`make run` makes its own broker: a local RabbitMQ that does not answer is started, installed
first from Debian's packages when run as root; otherwise it says what to run. On a fake machine."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tools.broker import broker_address, ensure_broker

LOCAL = "amqp://guest:guest@localhost:5672/"
REMOTE = "amqp://zs:secret@rabbit.example.org:5673/"
SERVER = "/usr/sbin/rabbitmq-server"


@dataclass
class FakeMachine:
    """A machine whose broker answers once started (or, with `package_starts`, once installed)."""

    installed: bool = True
    root: bool = False
    running: bool = False
    package_starts: bool = False
    fails: frozenset[str] = frozenset()  # programs that exit non-zero
    starts_but_never_answers: bool = False
    ran: list[list[str]] = field(default_factory=list)

    def answers(self, host: str, port: int) -> bool:
        return self.running

    def find(self, program: str) -> str | None:
        return SERVER if self.installed else None

    def is_root(self) -> bool:
        return self.root

    def run(self, argv: list[str]) -> int:
        self.ran.append(argv)
        if argv[0] in self.fails:
            return 1
        if argv[:2] == ["apt-get", "install"]:
            self.installed = True
            self.running = self.package_starts
        if argv == [SERVER, "-detached"] and self.installed:
            self.running = not self.starts_but_never_answers
        return 0

    def wait_for(self, host: str, port: int, timeout: float) -> bool:
        return self.running


def ensure(uri: str, machine: FakeMachine) -> tuple[bool, str]:
    said: list[str] = []
    return ensure_broker(uri, machine, said.append), "\n".join(said)


def test_a_broker_that_answers_is_left_alone_and_nothing_is_said():
    machine = FakeMachine(running=True)

    assert ensure(LOCAL, machine) == (True, "")
    assert machine.ran == []


def test_an_installed_local_broker_that_is_not_running_is_started_and_awaited():
    machine = FakeMachine()

    up, said = ensure(LOCAL, machine)

    assert up
    assert machine.ran == [[SERVER, "-detached"]]
    assert "正在启动" in said and "RabbitMQ started, answering at localhost:5672" in said


def test_a_loopback_address_counts_as_this_machine():
    machine = FakeMachine()

    assert ensure("amqp://guest:guest@127.0.0.1:5672/", machine)[0]
    assert machine.ran == [[SERVER, "-detached"]]


def test_a_remote_broker_is_never_started_or_installed_here():
    machine = FakeMachine(installed=False, root=True)

    up, said = ensure(REMOTE, machine)

    assert not up
    assert machine.ran == []
    assert "rabbit.example.org:5673" in said and "start it there" in said


def test_as_root_a_missing_broker_is_installed_from_debian_packages_then_started():
    machine = FakeMachine(installed=False, root=True)

    up, said = ensure(LOCAL, machine)

    assert up
    assert machine.ran == [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "rabbitmq-server"],
        [SERVER, "-detached"],
    ]
    assert "正在从 Debian 软件包安装" in said and "RabbitMQ is installed" in said


def test_a_broker_the_package_started_on_install_is_not_started_again():
    machine = FakeMachine(installed=False, root=True, package_starts=True)

    assert ensure(LOCAL, machine)[0]
    assert [SERVER, "-detached"] not in machine.ran


def test_without_root_a_missing_broker_is_not_installed_and_the_command_is_given():
    machine = FakeMachine(installed=False, root=False)

    up, said = ensure(LOCAL, machine)

    assert not up
    assert machine.ran == []
    assert "sudo apt-get install rabbitmq-server" in said


def test_a_failed_install_stops_before_starting_anything():
    machine = FakeMachine(installed=False, root=True, fails=frozenset({"apt-get"}))

    up, said = ensure(LOCAL, machine)

    assert not up
    assert machine.ran == [["apt-get", "update", "-qq"]]
    assert "installing RabbitMQ failed" in said


def test_a_start_refused_without_root_says_to_start_it_as_root():
    machine = FakeMachine(fails=frozenset({SERVER}))

    up, said = ensure(LOCAL, machine)

    assert not up
    assert "sudo rabbitmq-server -detached" in said


def test_a_started_broker_that_never_answers_points_at_its_logs():
    machine = FakeMachine(starts_but_never_answers=True)

    up, said = ensure(LOCAL, machine)

    assert not up
    assert "/var/log/rabbitmq/" in said


@pytest.mark.parametrize(
    ("uri", "address"),
    [
        (LOCAL, ("localhost", 5672)),
        (REMOTE, ("rabbit.example.org", 5673)),
        ("amqp://", ("localhost", 5672)),
        ("amqp://guest:guest@[::1]:5672/;amqp://guest:guest@other:5672/", ("::1", 5672)),
    ],
)
def test_the_broker_address_is_amqp_uris_host_and_port(uri, address):
    assert broker_address(uri) == address
