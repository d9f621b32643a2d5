"""The console's settings, from its environment (README "Console").

CONSOLE_ADDRESS          host:port it serves (default 127.0.0.1:8080)
CONSOLE_TLS_CERT/_KEY    serve https with this certificate (cookies are then Secure)
GATEWAY_ADDRESS          the gateway (default 127.0.0.1:50051)
CONSOLE_API_KEY          the console's delegate key; or CONSOLE_API_KEY_FILE, a JSON object
                         name -> key (make run's var/dev-api-keys.json), read under
                         CONSOLE_API_KEY_NAME (default console-delegate)
ZHAOSHANG_CA_FILE        the CA the gateway's certificate is checked against
GATEWAY_PLAINTEXT=1      the gateway serves plaintext on loopback
CONSOLE_IDLE_MINUTES     idle time before a session ends (default 30)
CONSOLE_MAX_FAILURES     failed sign-ins in a row before a lockout (default 5)
CONSOLE_LOCKOUT_MINUTES  how long the lockout lasts (default 15)
CONSOLE_REQUIRE_TOTP=1   reviewers and administrators must use a TOTP second factor
CONSOLE_FIRST_QUARTER    the first quarter the quarter selector offers (default 2020Q1)
ZHAOSHANG_KEYRING        the published keyring tree heads are checked with (default
                         $ZHAOSHANG_VAR/signing/keyring.json, as make run writes it)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from services.console.accounts import Policy


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    gateway: str
    api_key: str
    ca_file: str | None
    plaintext: bool
    tls_cert: str | None
    tls_key: str | None
    idle: timedelta
    policy: Policy
    first_quarter: str
    behind_tls: bool = False
    keyring: str = "var/signing/keyring.json"

    @property
    def secure(self) -> bool:
        return bool(self.tls_cert) or self.behind_tls

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.port}"


def api_key_of(environ: Mapping[str, str]) -> str:
    if environ.get("CONSOLE_API_KEY"):
        return environ["CONSOLE_API_KEY"]
    named = environ.get("CONSOLE_API_KEY_FILE")
    if not named:
        raise SystemExit(
            "控制台需要代理密钥 / the console needs CONSOLE_API_KEY or CONSOLE_API_KEY_FILE"
        )
    keys = json.loads(Path(named).read_text(encoding="utf-8"))
    return str(keys[environ.get("CONSOLE_API_KEY_NAME", "console-delegate")])


def config_from(environ: Mapping[str, str] = os.environ) -> Config:
    host, _, port = environ.get("CONSOLE_ADDRESS", "127.0.0.1:8080").rpartition(":")
    return Config(
        host=host or "127.0.0.1",
        port=int(port),
        gateway=environ.get("GATEWAY_ADDRESS", "127.0.0.1:50051"),
        api_key=api_key_of(environ),
        ca_file=environ.get("ZHAOSHANG_CA_FILE") or None,
        plaintext=environ.get("GATEWAY_PLAINTEXT") == "1",
        tls_cert=environ.get("CONSOLE_TLS_CERT") or None,
        tls_key=environ.get("CONSOLE_TLS_KEY") or None,
        idle=timedelta(minutes=float(environ.get("CONSOLE_IDLE_MINUTES", "30"))),
        policy=Policy(
            max_failures=int(environ.get("CONSOLE_MAX_FAILURES", "5")),
            lockout=timedelta(minutes=float(environ.get("CONSOLE_LOCKOUT_MINUTES", "15"))),
            require_totp=environ.get("CONSOLE_REQUIRE_TOTP") == "1",
        ),
        first_quarter=environ.get("CONSOLE_FIRST_QUARTER", "2020Q1"),
        behind_tls=environ.get("CONSOLE_BEHIND_TLS") == "1",
        keyring=environ.get("ZHAOSHANG_KEYRING")
        or str(Path(environ.get("ZHAOSHANG_VAR", "var")) / "signing" / "keyring.json"),
    )
