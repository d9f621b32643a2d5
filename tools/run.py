"""`make run`: every service and the gateway in one terminal. Ctrl-C stops them all.

First, a local RabbitMQ that does not answer is started, and installed from Debian's packages
when run as root (tools/broker.py). Unless told `--no-demo`, it then loads a demo quarter for
all 17 市州 through the public Ingest API, has the office publish that quarter's ranking, prints
it, and keeps serving.

Unless `GATEWAY_KEYS_FILE` names a keys file, every start issues fresh development API keys for
every source, for the auditor `auditor:dev` and, under `console-delegate`, a delegate key for
the console (zhaoshang/keys.py): their hashes in `var/gateway-keys.yaml` for the gateway, the
keys in `var/dev-api-keys.json` (name -> key) for the demo and local scripts. It creates no
RabbitMQ users for the sources: a deployment does (README "Credentials and access").

The gateway serves TLS. Unless `GATEWAY_TLS_CERT` names a certificate, it serves one for
localhost, 127.0.0.1 and ::1 signed by a development CA made once under var/ (tools/devca.py):
clients trust `var/dev-ca.pem`. With a certificate of its own, the supervisor's clients trust
`ZHAOSHANG_CA_FILE` (else the system's roots); `GATEWAY_PLAINTEXT=1` serves plaintext on a
loopback address. Once ready, it prints how to connect.
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

from services.kernel.bus import broker
from services.kernel.reference import reference
from services.kernel.store.environment import var_dir
from services.kernel.store.signing import ensure_key, keyring_path
from tools.broker import ThisMachine, ensure_broker
from tools.devca import ensure_dev_tls
from zhaoshang.client import GatewayClient, open_channel
from zhaoshang.keys import DEV_API_KEYS, DEV_CONSOLE, DEV_KEYS_FILE, dev_sources, issue_dev_keys

NAMEKO_SERVICES = ("registry", "tracking", "scoring", "notify")
DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
ROOT = Path(__file__).resolve().parent.parent


def broker_answers(amqp_uri: str) -> bool:
    # Outside the try: TLS settings that cannot work are an error, not a broker that is down.
    connection = broker.connection(amqp_uri, connect_timeout=3)
    try:
        with connection:
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
        # source (and auditor:dev, console-delegate) -> development key, when issued here
        self.api_keys: dict[str, str] = {}
        self.ca_file: Path | None = None  # the CA the gateway's certificate is checked against
        self.plaintext = False  # the gateway serves plaintext (GATEWAY_PLAINTEXT=1, loopback)
        self.console_users: Path | None = None  # the console's development accounts, if made
        self.signing_key_id: str | None = None  # the tree-head signing key's id (start_all)

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
        self.serve_tls()
        # The tree-head signing key, made once under var/signing/ and kept across restarts; its
        # public keys (var/signing/keyring.json) are what auditors check heads with.
        self.signing_key_id = ensure_key(self.env)
        if "GATEWAY_KEYS_FILE" not in self.env:
            self.api_keys = issue_dev_keys(var_dir(self.env), dev_sources(reference()))
            self.env["GATEWAY_KEYS_FILE"] = str(var_dir(self.env) / DEV_KEYS_FILE)
        config = str(ROOT / "nameko.yaml")
        for service in NAMEKO_SERVICES:
            module = f"services.{service}.service"
            self.start(service, [sys.executable, "-m", "nameko", "run", "--config", config, module])
        self.start("gateway", [sys.executable, "-m", "services.gateway.server"])

    def start_console(self, address: str = "127.0.0.1:8080") -> str | None:
        """The web console (services/console) as a delegate of the gateway, with development
        accounts in var/dev-console-users.json; its address, or None without a delegate key."""
        from services.console.users import issue_dev_accounts

        env = {**self.env, "CONSOLE_ADDRESS": self.env.get("CONSOLE_ADDRESS", address)}
        if DEV_CONSOLE in self.api_keys:
            env["CONSOLE_API_KEY_FILE"] = str(var_dir(self.env) / DEV_API_KEYS)
        elif not env.get("CONSOLE_API_KEY"):
            return None
        if self.ca_file:
            env["ZHAOSHANG_CA_FILE"] = str(self.ca_file)
        codes = [p.code for p in reference().prefectures]
        self.console_users = issue_dev_accounts(env, var_dir(env), codes)
        self.start("console", [sys.executable, "-m", "services.console.server"], env)
        scheme = "https" if env.get("CONSOLE_TLS_CERT") else "http"
        return f"{scheme}://{env['CONSOLE_ADDRESS']}"

    def serve_tls(self) -> None:
        """The gateway's certificate: the development CA's, unless the environment names one
        or asks for plaintext; and the CA this supervisor's clients trust."""
        self.plaintext = self.env.get("GATEWAY_PLAINTEXT") == "1"
        if self.plaintext:
            return
        if "GATEWAY_TLS_CERT" in self.env:
            named = self.env.get("ZHAOSHANG_CA_FILE")
            self.ca_file = Path(named) if named else None
            return
        ca, server = ensure_dev_tls(var_dir(self.env).resolve())
        self.env.update(GATEWAY_TLS_CERT=str(server.cert), GATEWAY_TLS_KEY=str(server.key))
        self.ca_file = ca.cert

    def client(self, api_key: str | None = None) -> GatewayClient:
        """A client of the gateway started here, calling with `api_key`."""
        return GatewayClient(
            self.env["GATEWAY_ADDRESS"],
            api_key=api_key,
            ca_file=self.ca_file,
            plaintext=self.plaintext,
        )

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
    with broker.connection(amqp_uri, connect_timeout=3) as connection:
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
    with open_channel(target, supervisor.ca_file, plaintext=supervisor.plaintext) as channel:
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


def wait_for_console(url: str, supervisor: Supervisor, timeout: float = 30.0) -> None:
    """Until the console answers /healthz (plain http, or https trusting make run's CA)."""
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=supervisor.ca_file) if supervisor.ca_file else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "console" in supervisor.dead():
            raise SystemExit(f"the console stopped at start-up: see {supervisor.logs}/")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2, context=context) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the console did not answer within {timeout:.0f}s: see {supervisor.logs}/")


def how_to_connect(supervisor: Supervisor, quarter: str) -> str:
    """What a developer types to reach the gateway: grpcurl, Python, the files they need."""
    target = supervisor.env["GATEWAY_ADDRESS"]
    keys = shown_path(var_dir(supervisor.env) / DEV_API_KEYS) if supervisor.api_keys else None
    ca = shown_path(supervisor.ca_file) if supervisor.ca_file else None
    if supervisor.plaintext:
        transport, grpcurl_tls, python_tls = "明文 / plaintext", ["-plaintext"], ["plaintext=True"]
    else:
        transport = f"TLS，CA 证书 / CA file {ca}" if ca else "TLS"
        grpcurl_tls = [f"-cacert {ca}"] if ca else []
        python_tls = [f'ca_file="{ca}"'] if ca else []
    shell_key = f"$(jq -r .office {keys})" if keys else "<API key>"
    python_key = f'json.load(open("{keys}"))["office"]' if keys else '"<API key>"'
    grpcurl = [
        "grpcurl",
        *grpcurl_tls,
        f'-H "x-api-key: {shell_key}"',
        f'-d \'{{"quarter": "{quarter}"}}\'',
        target,
        "zhaoshang.v1.Query/GetRanking",
    ]
    client = ", ".join([f'"{target}"', *python_tls, f"api_key={python_key}"])
    python = (
        f"{shown_path(Path(sys.executable))} -c 'import json; from zhaoshang.client import "
        f'GatewayClient; print(GatewayClient({client}).get_ranking("{quarter}")["hash"])\''
    )
    return "\n".join(
        [
            "连接方式 / how to connect:",
            f"  网关 / gateway: {target}（{transport}）",
            f"  开发密钥 / development keys: {keys or '—'}（报送系统 → 密钥 / source → key）",
            f"  树头签名公钥 / tree-head keyring: {shown_path(keyring_path(supervisor.env))}"
            "（zhaoshang audit verify --against <通报>）",
            f"  {' '.join(grpcurl)}",
            f"  {python}",
        ]
    )


def shown_path(path: Path) -> str:
    """A path as the developer in the project's directory types it."""
    return os.path.relpath(path) if Path(path).absolute().is_relative_to(Path.cwd()) else str(path)


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
        if console := supervisor.start_console():
            wait_for_console(console, supervisor)
            users = shown_path(supervisor.console_users) if supervisor.console_users else "—"
            print(f"控制台 / web console: {console}（开发账号 / development accounts: {users}）")
        if not args.no_demo:
            from tools.demo_run import load_demo

            if not supervisor.api_keys:
                print("演示需要开发密钥 / the demo needs development keys: unset GATEWAY_KEYS_FILE")
            else:
                client = supervisor.client(supervisor.api_keys["office"])
                load_demo(client, args.quarter, supervisor.api_keys)
        print(how_to_connect(supervisor, args.quarter))
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
