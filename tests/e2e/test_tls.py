"""The running system serves TLS as `make run` starts it: with its development CA under var/,
which the client library and the command line trust, and nothing in plaintext."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tools.devca import ensure_dev_tls
from zhaoshang.client import open_channel

pytestmark = [pytest.mark.rabbit, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING


def health(channel: grpc.Channel) -> int:
    request = health_pb2.HealthCheckRequest(service="zhaoshang.v1.Query")
    return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def zhaoshang(system, *argv: str) -> subprocess.CompletedProcess:
    """The auditor's command line as a developer runs it beside make run: its CA by default."""
    env = {
        **os.environ,
        "GATEWAY_ADDRESS": system.target,
        "ZHAOSHANG_API_KEY": system.api_keys["office"],
        "ZHAOSHANG_VAR": system.env["ZHAOSHANG_VAR"],
    }
    env.pop("ZHAOSHANG_CA_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "zhaoshang.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_system_serves_tls_with_the_dev_ca_and_refuses_plaintext_and_strangers(
    system, tmp_path
):
    ca = system.supervisor.ca_file
    assert ca == Path(system.env["ZHAOSHANG_VAR"]).resolve() / "dev-ca.pem"

    with open_channel(system.target, ca) as channel:
        assert health(channel) == SERVING  # no key needed for health
    with system.client("office") as office:
        assert office.list_projects()["count"] == 0

    other_ca, _ = ensure_dev_tls(tmp_path / "other")
    for channel in (
        open_channel(system.target, plaintext=True),
        open_channel(system.target, other_ca.cert),
    ):
        with channel, pytest.raises(grpc.RpcError) as refused:
            health(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_command_line_trusts_make_runs_ca_by_default(system):
    verified = zhaoshang(system, "--json", "audit", "verify")
    assert verified.returncode == 0, verified.stderr

    cleartext = zhaoshang(system, "--plaintext", "--json", "audit", "verify")
    assert cleartext.returncode == 2
    assert system.target in cleartext.stderr
