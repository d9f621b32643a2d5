"""A test's own nameko service, run as a process the way the services run (`nameko run` with
nameko.yaml), ready once it answers an RPC."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from services.gateway.errors import ServiceUnavailable
from services.gateway.rpc import NamekoRpc
from tests.integration.test_observability import eventually

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(
    module: str, env: Mapping[str, str], log: Path, answers: Callable[[NamekoRpc], bool]
) -> Iterator[None]:
    """`nameko run module` with `env` (its AMQP_URI among them), its output in `log`; entered
    once `answers(rpc)` holds, terminated on exit."""
    command = [sys.executable, "-m", "nameko", "run", "--config", "nameko.yaml", module]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=out, stderr=out)
    probe = NamekoRpc(env["AMQP_URI"], timeout=5)

    def up() -> bool:
        try:
            return answers(probe)
        except ServiceUnavailable:
            return False

    up.__doc__ = f"{module} answers its RPC"
    try:
        eventually(up)
        yield
    finally:
        probe.close()
        process.terminate()
        process.wait(15)
