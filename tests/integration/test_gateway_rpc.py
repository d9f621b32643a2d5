"""The gateway's RPC to the nameko services (services/gateway/rpc.py, rpc_line.py) against the
machine's RabbitMQ and a real service under `nameko run`: each call gets its own answer, and
each way a call can go wrong comes back as the error the gateway answers its callers with."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from services.gateway.errors import ServiceFailed, ServiceRefused, ServiceUnavailable
from services.gateway.rpc import NamekoRpc
from tests.conftest import RABBIT_HOST, rabbitmqctl
from tests.integration.nameko_run import serving
from tests.integration.test_observability import eventually

pytestmark = pytest.mark.rabbit
TIMEOUT = 2.0  # the gateway's RPC_TIMEOUT here: the service's `echo(after=...)` outlasts it


@pytest.fixture(scope="module")
def answering(amqp_uri_module: str, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("answering") / "answering.log"
    env = {**os.environ, "AMQP_URI": amqp_uri_module}
    with serving(
        "tests.integration.answering_service",
        env,
        log,
        lambda rpc: rpc.call("answering", "echo", value=1) == 1,
    ):
        yield amqp_uri_module


@pytest.fixture
def rpc(answering: str) -> Iterator[NamekoRpc]:
    rpc = NamekoRpc(answering, timeout=TIMEOUT)
    yield rpc
    rpc.close()


def test_each_call_gets_its_own_answer_from_many_threads(rpc):
    values = [{"n": n, "text": f"第{n}号项目", "amount": "12.50"} for n in range(200)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda value: rpc.call("answering", "echo", value=value), values))
    assert answers == values


def test_a_late_answer_is_never_taken_for_the_next_calls(rpc):
    with pytest.raises(ServiceUnavailable) as late:
        rpc.call("answering", "echo", value="first", after=TIMEOUT * 1.25)
    assert "did not answer within 2s" in late.value.message_en
    # "first" is answered half-way through this call's wait for its own answer, which comes
    # well within the timeout (margins of half a second and more on a busy machine).
    assert rpc.call("answering", "echo", value="second", after=TIMEOUT * 0.5) == "second"
    assert rpc.call("answering", "echo", value="third") == "third"


def test_a_service_no_one_runs_is_unavailable_without_waiting_for_the_timeout(answering):
    rpc = NamekoRpc(answering, timeout=600)  # a wait for the timeout would outlast the test run
    try:
        with pytest.raises(ServiceUnavailable) as unknown:
            rpc.call("nobody", "echo", value=1)
        assert unknown.value.message_en == "service nobody is not running; retry later"
        assert unknown.value.message_zh == "服务 nobody 未运行，请稍后重试"
        assert rpc.call("answering", "echo", value="after") == "after"  # the line still works
    finally:
        rpc.close()


def test_a_refusal_and_a_failure_come_back_as_different_errors(rpc):
    with pytest.raises(ServiceRefused) as refused:
        rpc.call("answering", "refuse")
    assert "no such quarter" in refused.value.message_en
    with pytest.raises(ServiceFailed) as failed:
        rpc.call("answering", "fail")
    assert "ValueError a bug in the service" in failed.value.message_en


def test_a_closed_client_refuses_calls(rpc):
    rpc.close()
    with pytest.raises(ServiceUnavailable) as closed:
        rpc.call("answering", "echo", value=1)
    assert closed.value.message_en == "the gateway is shutting down"


def test_a_gateway_without_the_rights_for_its_reply_queue_is_unavailable_and_keeps_no_connection(
    answering,
):
    user, password = f"zs-norights-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    vhost = urlsplit(answering).path.lstrip("/")
    rabbitmqctl("add_user", user, password)
    try:
        # it may publish and read, but not declare its reply queue
        rabbitmqctl("set_permissions", "-p", vhost, user, "^$", ".*", ".*")
        rpc = NamekoRpc(f"amqp://{user}:{password}@{RABBIT_HOST}/{vhost}", timeout=TIMEOUT)
        for _ in range(3):
            with pytest.raises(ServiceUnavailable) as refused:
                rpc.call("answering", "echo", value=1)
            assert "ACCESS_REFUSED" in refused.value.message_en
        rpc.close()
        eventually(lambda: user not in connected_users(), timeout=10)
    finally:
        rabbitmqctl("delete_user", user)


def connected_users() -> str:
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "user"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return listed.stdout
