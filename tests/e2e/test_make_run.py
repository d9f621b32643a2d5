"""`make run`'s supervisor as a terminal uses it: it says how to connect over TLS, and Ctrl-C
stops every service once, cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

pytestmark = [pytest.mark.rabbit, pytest.mark.timeout(180)]


def test_it_says_how_to_connect_and_ctrl_c_stops_every_service_once_and_cleanly(amqp_uri, tmp_path):
    var = tmp_path / "var"
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri,
        "GATEWAY_ADDRESS": f"127.0.0.1:{free_port()}",
        "ZHAOSHANG_VAR": str(var),
        "METRICS_PORT": "0",
        "CONSOLE_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    # A terminal sends Ctrl-C's SIGINT to its whole foreground process group.
    run = subprocess.Popen(
        [sys.executable, "-m", "tools.run", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
    )
    output = []
    deadline = time.monotonic() + 90
    while not any("Ctrl-C" in line for line in output):
        assert run.poll() is None and time.monotonic() < deadline, "".join(output)
        output.append(run.stdout.readline())

    printed = "".join(output)  # how to connect: make run's CA, its keys, grpcurl, Python
    ca = var.resolve() / "dev-ca.pem"
    assert ca.exists() and f"grpcurl -cacert {ca}" in printed
    assert "x-api-key" in printed and f'ca_file="{ca}"' in printed
    assert f"web console: http://{env['CONSOLE_ADDRESS']}" in printed
    assert "dev-console-users.json" in printed

    os.killpg(run.pid, signal.SIGINT)
    assert run.wait(60) == 0

    logs = {path.stem: path.read_text() for path in Path(var, "log").glob("*.log")}
    assert set(logs) == {"registry", "tracking", "scoring", "notify", "gateway", "console"}
    for name, log in logs.items():
        assert "Traceback" not in log, f"{name}:\n{log[-3000:]}"
        if name == "console":
            assert log.count("console: stopped") == 1, log[-3000:]
            continue
        stops = log.count("stopping services") + log.count("gateway: stopping")
        assert stops == 1, f"{name} was stopped {stops} times"
