"""`make run`: every service and the gateway in one terminal. Ctrl-C stops them all.

First, a local RabbitMQ that does not answer is started, and installed from Debian's packages
when run as root (tools/broker.py). Unless told `--no-demo`, it then loads a demo quarter for
all 17 市州 through the public Ingest API, has the office publish that quarter's ranking, prints
it, and keeps serving.

Unless `GATEWAY_KEYS_FILE` names a keys file, every start issues fresh development API keys for
every source (zhaoshang/keys.py): their hashes in `var/gateway-keys.yaml` for the
gateway, the keys in `var/dev-api-keys.json` for the demo and local scripts.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from amqp.exceptions import ChannelError
from kombu import Connection

from services.kernel.reference import reference
from services.kernel.store.environment import var_dir
from tools.broker import ThisMachine, ensure_broker
from zhaoshang.keys import DEV_KEYS_FILE, dev_sources, issue_dev_keys

NAMEKO_SERVICES = ("registry", "tracking", "scoring", "notify")
DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
ROOT = Path(__file__).resolve().parent.parent


def broker_answers(amqp_uri: str) -> bool:
    try:
        with Connection(amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def no_broker_help(amqp_uri: str) -> str:
    return (
        f"RabbitMQ 未响应（AMQP_URI={amqp_uri}）。No RabbitMQ answers at {amqp_uri}.\n"
        "  RabbitMQ 在别处 / elsewhere:  AMQP_URI=amqp://user:password@host:5672/ make run"
    )


class Supervisor:
    """Starts the processes, stops them all on Ctrl-C or SIGTERM, logs to var/log/."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.logs = var_dir(env) / "log"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.envs: dict[str, dict[str, str]] = {}  # a process's own settings, if any
        self.api_keys: dict[str, str] = {}  # source -> development key, when issued here

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start `name` (again); `env`, once given, is its environment from then on."""
        if env is not None:
            self.envs[name] = env
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.envs.get(name, self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C in the terminal reaches the supervisor alone, which
            # stops each process once (a nameko service stopped twice fails its shutdown).
            process_group=0,
        )

    def start_all(self) -> None:
        if "GATEWAY_KEYS_FILE" not in self.env:
            self.api_keys = issue_dev_keys(var_dir(self.env), dev_sources(reference()))
            self.env["GATEWAY_KEYS_FILE"] = str(var_dir(self.env) / DEV_KEYS_FILE)
        config = str(ROOT / "nameko.yaml")
        for service in NAMEKO_SERVICES:
            module = f"services.{service}.service"
            self.start(service, [sys.executable, "-m", "nameko", "run", "--config", config, module])
        self.start("gateway", [sys.executable, "-m", "services.gateway.server"])

    def dead(self) -> list[str]:
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def revive(self) -> list[str]:
        """Start again every process that exited, with its command line, as an orchestrator
        would (a nameko service exits when its broker connection breaks mid-reply)."""
        dead = self.dead()
        for name in dead:
            self.start(name, list(self.processes[name].args))
        return dead

    def stop_all(self, grace: float = 15.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


def waiting_services(amqp_uri: str) -> list[str]:
    """The nameko services not consuming their RPC queue yet."""
    waiting = []
    with Connection(amqp_uri, connect_timeout=3) as connection:
        for service in NAMEKO_SERVICES:
            channel = connection.channel()
            try:
                consumers = channel.queue_declare(f"rpc-{service}", passive=True).consumer_count
            except ChannelError:  # not declared yet; the failed check closed the channel
                consumers = 0
            else:
                channel.close()
            if consumers == 0:
                waiting.append(service)
    return waiting


def wait_for_gateway(target: str, supervisor: Supervisor, timeout: float = 60.0) -> None:
    """Until the gateway answers SERVING and every service consumes its RPC queue."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if dead := supervisor.dead():
                raise SystemExit(f"{', '.join(dead)} stopped at start-up: see {supervisor.logs}/")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                serving = reply.status == health_pb2.HealthCheckResponse.SERVING
                if serving and not waiting_services(supervisor.env["AMQP_URI"]):
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.5)
    raise SystemExit(
        f"the gateway did not become ready within {timeout:.0f}s: see {supervisor.logs}/"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--no-demo", action="store_true", help="start the services only")
    parser.add_argument("--quarter", default="2020Q3", help="the demo quarter (default 2020Q3)")
    args = parser.parse_args(argv)
    if os.environ.get("ZHAOSHANG_DEMO", "1") == "0":
        args.no_demo = True

    env = dict(os.environ)
    env.setdefault("AMQP_URI", DEFAULT_AMQP_URI)
    broker_up = ensure_broker(env["AMQP_URI"], ThisMachine(), print)
    if not (broker_up and broker_answers(env["AMQP_URI"])):
        print(no_broker_help(env["AMQP_URI"]), file=sys.stderr)
        return 2

    target = env.setdefault("GATEWAY_ADDRESS", "127.0.0.1:50051")
    supervisor = Supervisor(env)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        supervisor.start_all()
        wait_for_gateway(target, supervisor)
        print(f"zhaoshang 已启动 / running: gRPC gateway at {target}; logs in {supervisor.logs}/")
        if not args.no_demo:
            from tools.demo_run import load_demo

            if not supervisor.api_keys:
                print("演示需要开发密钥 / the demo needs development keys: unset GATEWAY_KEYS_FILE")
            else:
                load_demo(target, args.quarter, supervisor.api_keys)
        print("Ctrl-C 停止 / Ctrl-C stops every service.")
        while not stopping:
            if revived := supervisor.revive():
                print(
                    f"{', '.join(revived)} 已退出，重新启动 / exited, started again: "
                    f"see {supervisor.logs}/",
                    file=sys.stderr,
                )
            time.sleep(1)
        return 0
    finally:
        print("正在停止 / stopping …")
        supervisor.stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
