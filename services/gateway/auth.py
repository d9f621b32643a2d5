"""Who is calling (README "Credentials"): per-source API keys over gRPC, RabbitMQ users over AMQP.

gRPC: each call carries `x-api-key: <key>` in its metadata. A key belongs to one source
(`office`, `pref:<市州>`, `county:<code>`, `dept:<key>`) and is stored only as its SHA-256, in
the keys file `GATEWAY_KEYS_FILE` (YAML), which the gateway re-reads when it changes:

    keys:
      - {source: "pref:420100", sha256: "<64 hex>", issued_on: "2020-05-06", label: "武汉市"}

A key is `zsk_` and 43 URL-safe characters: 256 random bits. Against a secret that size a slow
hash adds nothing (nobody can guess it to test hashes with), and a fast one lets every call be
checked with one lookup. The gateway only reads the file; keys are issued, listed and revoked
with the command line beside the runtime (zhaoshang/keys.py):

    python -m zhaoshang.keys issue pref:420100 --label 武汉市招商引资系统
    python -m zhaoshang.keys list
    python -m zhaoshang.keys revoke pref:420100

AMQP: the message's `user_id` property names the source. RabbitMQ refuses a message whose
`user_id` is not the user of the connection it came on (unless that user has the `impersonator`
tag: never give it to a source's user), so it cannot be forged. A deployment may prefix its
users' names (`GATEWAY_AMQP_USER_PREFIX`, e.g. `staging/`): user `staging/pref:420100` is
source `pref:420100`. Create a source's user as docs say in README "Credentials".
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml

from services.gateway.errors import Unauthenticated
from services.kernel.contract.lookups import is_known_source

API_KEY_HEADER = "x-api-key"
PROTECTED = "/zhaoshang.v1."  # every method of the public API; health and reflection stay open
SHOWN = 8  # characters of a presented key repeated in an error


def fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def shown(api_key: str) -> str:
    """Enough of a key to recognise it in a log, not enough to use it."""
    return api_key[:SHOWN] + "…" if len(api_key) > SHOWN else "…"


@dataclass(frozen=True)
class IssuedKey:
    source: str
    sha256: str
    issued_on: str
    label: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class KeysFileError(ValueError):
    pass


def read_keys(path: Path) -> list[IssuedKey]:
    """The keys file's entries, checked; a missing file holds no keys."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return []
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise KeysFileError(f"{path}: expected a mapping with a list `keys`")
    found = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not {"source", "sha256"} <= entry.keys():
            raise KeysFileError(f"{path}, key {number}: needs `source` and `sha256`")
        source, digest = str(entry["source"]), str(entry["sha256"])
        if not is_known_source(source):
            raise KeysFileError(f"{path}, key {number}: {source!r} is not a known source")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise KeysFileError(f"{path}, key {number}: sha256 must be 64 lowercase hex digits")
        found.append(
            IssuedKey(source, digest, str(entry.get("issued_on", "")), str(entry.get("label", "")))
        )
    return found


class KeyStore:
    """The keys file as a lookup from a presented key to its source; re-read when it changes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()

    def _current(self) -> Mapping[str, str]:
        try:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                keys = read_keys(self.path) if stamp is not None else []
                self._sources = {k.sha256: k.source for k in keys}
                self._stamp = stamp
            return self._sources

    def source_of(self, api_key: str | None) -> str:
        """The source a key belongs to, or Unauthenticated naming what is wrong."""
        if not api_key:
            raise Unauthenticated(
                API_KEY_HEADER,
                "",
                "api_key_missing",
                f"缺少 API 密钥：请在 gRPC 元数据 {API_KEY_HEADER} 中提供本系统的密钥",
                f"no API key: send your system's key in the gRPC metadata {API_KEY_HEADER}",
            )
        source = self._current().get(fingerprint(api_key))
        if source is None:
            raise Unauthenticated(
                API_KEY_HEADER,
                shown(api_key),
                "api_key_unknown",
                f"{API_KEY_HEADER} 的值 {shown(api_key)} 不是有效的 API 密钥（未签发或已吊销）",
                f"{API_KEY_HEADER}: {shown(api_key)} is not a valid API key "
                "(never issued, or revoked)",
            )
        return source


class AmqpUsers:
    """Sources named by an AMQP message's `user_id` (checked by RabbitMQ)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def source_of(self, user_id: str | None) -> str:
        if not user_id:
            raise Unauthenticated(
                "user_id",
                "",
                "amqp_user_id_missing",
                "消息缺少 user_id 属性：请以本系统的 RabbitMQ 用户发布，并将 user_id 设为该用户名",
                "the message has no user_id property: publish as your system's RabbitMQ user "
                "and set user_id to that user's name",
            )
        source = user_id.removeprefix(self.prefix) if user_id.startswith(self.prefix) else None
        if source is None or not is_known_source(source):
            raise Unauthenticated(
                "user_id",
                user_id,
                "amqp_user_not_a_source",
                f"user_id 的值 {user_id} 不对应任何报送系统（应为 {self.prefix}office、"
                f"{self.prefix}pref:<市州代码> 等）",
                f"user_id: {user_id} names no sending system (expected {self.prefix}office, "
                f"{self.prefix}pref:<prefecture code>, …)",
            )
        return source


class Authenticator:
    """Who a gRPC call comes from. Without a key store authentication is off: `caller` is
    None and reports are taken as their `source` states (a gateway built around fakes)."""

    def __init__(self, keys: KeyStore | None = None) -> None:
        self.keys = keys

    def caller(self, context: grpc.ServicerContext) -> str | None:
        if self.keys is None:
            return None
        return self.keys.source_of(_api_key(context.invocation_metadata()))

    def interceptors(self) -> list[grpc.ServerInterceptor]:
        return [] if self.keys is None else [_KeyRequired(self.keys)]


def _api_key(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    for name, value in metadata or ():
        if name == API_KEY_HEADER:
            return value if isinstance(value, str) else value.decode()
    return None


class _KeyRequired(grpc.ServerInterceptor):
    """Refuses every call to the public API that carries no valid key, before any handler."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        if not handler_call_details.method.startswith(PROTECTED):
            return continuation(handler_call_details)
        try:
            self.keys.source_of(_api_key(handler_call_details.invocation_metadata))
        except Unauthenticated as refused:
            code, message = grpc.StatusCode.UNAUTHENTICATED, str(refused)

            def deny(request: Any, context: grpc.ServicerContext) -> None:
                context.abort(code, message)

            return grpc.unary_unary_rpc_method_handler(deny)
        return continuation(handler_call_details)


def default_keys_file(environ: Mapping[str, str] = os.environ) -> Path:
    """GATEWAY_KEYS_FILE, else the keys file in the var directory (ZHAOSHANG_VAR)."""
    return Path(
        environ.get("GATEWAY_KEYS_FILE")
        or Path(environ.get("ZHAOSHANG_VAR", "var")) / "gateway-keys.yaml"
    )
