"""The gateway's API keys (README "Credentials and access"): each key's id, holder, roles,
creation and expiry, with the key itself kept only as its SHA-256.

The keys file (`GATEWAY_KEYS_FILE`, YAML) is written by `python -m zhaoshang.keys` and only
read here, again whenever it changes:

    keys:
      - id: key-4f1c2a9e0b7d
        holder: pref:420100
        roles: [report, read]
        sha256: <64 lowercase hex digits>
        created_at: '2020-05-06T10:00:00+08:00'
        expires_at: '2021-05-06T00:00:00+08:00'  # optional: refused from that moment
        revoked_at: '2020-09-01T09:30:00+08:00'  # once revoked: refused, kept for the record
        label: 武汉市招商引资系统

An entry written before keys had ids and roles (`source`, `sha256`, `issued_on`, `label`) still
loads: its id is `key-` and the first 12 digits of its hash, its roles its holder's defaults.

A key is `zsk_` and 43 URL-safe characters: 256 random bits. Against a secret that size a slow
hash adds nothing (nobody can guess it to test hashes with), and a fast one lets every call be
checked with one lookup.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from services.gateway.caller import AUDIT, DELEGATE, READ, REPORT, REVIEW, ROLES, Caller
from services.gateway.errors import Unauthenticated
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.lookups import AUDITOR, is_known_holder

API_KEY_HEADER = "x-api-key"
SHOWN = 8  # characters of a presented key repeated in an error
CREDENTIAL_ID = re.compile(r"key-[0-9a-f]{12}")
SHA256 = re.compile(r"[0-9a-f]{64}")


def fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def shown(api_key: str) -> str:
    """Enough of a key to recognise it in a log, not enough to use it."""
    return api_key[:SHOWN] + "…" if len(api_key) > SHOWN else "…"


def now() -> datetime:
    return datetime.now(SHANGHAI)


def default_roles(holder: str) -> frozenset[str]:
    """What a key is issued with unless told otherwise, and what an entry without roles has."""
    if holder == "office":
        return frozenset({REPORT, READ, REVIEW})
    if AUDITOR.fullmatch(holder):
        return frozenset({AUDIT, READ})
    return frozenset({REPORT, READ})


def allowed_roles(holder: str) -> frozenset[str]:
    """The roles a holder's credential, or a person of that unit, may carry: review and
    delegate are the office's; an auditor reads and audits, nothing else."""
    if holder == "office":
        return frozenset(ROLES)
    if AUDITOR.fullmatch(holder):
        return frozenset({AUDIT, READ})
    return frozenset({REPORT, READ})


def roles_problem(holder: str, roles: frozenset[str]) -> str | None:
    """Why `holder` may not hold `roles` (English, for the keys file and the command line)."""
    unknown = sorted(roles - set(ROLES))
    if unknown:
        return f"unknown role(s) {', '.join(unknown)} (roles: {', '.join(ROLES)})"
    if not roles:
        return "no roles"
    beyond = [r for r in ROLES if r in roles - allowed_roles(holder)]
    if beyond:
        return f"{holder} may not hold {', '.join(beyond)}"
    if DELEGATE in roles and roles != {DELEGATE}:
        return "delegate is a credential of its own: it acts for a person, never alone"
    return None


def in_order(roles: frozenset[str]) -> list[str]:
    return [r for r in ROLES if r in roles]


@dataclass(frozen=True)
class Credential:
    id: str
    holder: str  # office, pref:<code>, county:<code>, dept:<key>, auditor:<name>
    roles: frozenset[str]
    sha256: str
    created_at: datetime | None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    label: str = ""

    def to_dict(self) -> dict:
        """The keys file's entry: what is not set is left out."""
        entry: dict[str, Any] = {
            "id": self.id,
            "holder": self.holder,
            "roles": in_order(self.roles),
            "sha256": self.sha256,
        }
        for name in ("created_at", "expires_at", "revoked_at"):
            moment = getattr(self, name)
            if moment is not None:
                entry[name] = moment.isoformat(timespec="seconds")
        if self.label:
            entry["label"] = self.label
        return entry

    def caller(self) -> Caller:
        return Caller(self.id, self.holder, self.roles)


class KeysFileError(ValueError):
    pass


def moment(value: Any) -> datetime:
    """A time from the keys file: an ISO date-time, or a date (its start, Asia/Shanghai); a
    time without a zone is Asia/Shanghai."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=SHANGHAI)
    raise ValueError(f"{value!r} is not a date or a date-time")


def credential_from(entry: Any) -> Credential:
    """One entry of the keys file, checked; an old entry (`source`, `issued_on`) read as the
    module's docstring says. Raises ValueError naming what is wrong."""
    if not isinstance(entry, dict) or "sha256" not in entry:
        raise ValueError("needs `holder` (or `source`) and `sha256`")
    holder, digest = str(entry.get("holder", entry.get("source", ""))), str(entry["sha256"])
    if not is_known_holder(holder):
        raise ValueError(f"{holder!r} is not a known holder")
    if not SHA256.fullmatch(digest):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    credential_id = str(entry.get("id", "key-" + digest[:12]))
    if not CREDENTIAL_ID.fullmatch(credential_id):
        raise ValueError(f"id {credential_id!r} is not key- and 12 hex digits")
    roles = entry.get("roles")
    roles = default_roles(holder) if roles is None else frozenset(map(str, roles))
    if problem := roles_problem(holder, roles):
        raise ValueError(problem)
    created = entry.get("created_at", entry.get("issued_on"))
    return Credential(
        id=credential_id,
        holder=holder,
        roles=roles,
        sha256=digest,
        created_at=moment(created) if created else None,
        expires_at=moment(entry["expires_at"]) if entry.get("expires_at") else None,
        revoked_at=moment(entry["revoked_at"]) if entry.get("revoked_at") else None,
        label=str(entry.get("label") or ""),
    )


def read_keys(path: Path) -> list[Credential]:
    """The keys file's entries, checked; a missing file holds no keys."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return []
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise KeysFileError(f"{path}: expected a mapping with a list `keys`")
    found: list[Credential] = []
    for number, entry in enumerate(entries, start=1):
        try:
            credential = credential_from(entry)
        except ValueError as error:
            raise KeysFileError(f"{path}, key {number}: {error}") from None
        if any(c.id == credential.id for c in found):
            raise KeysFileError(f"{path}, key {number}: id {credential.id} is used twice")
        found.append(credential)
    return found


class KeyStore:
    """The keys file as a lookup from a presented key to its credential; re-read when it
    changes, so a key issued, revoked or rotated counts from the next call."""

    def __init__(self, path: Path | str, clock: Callable[[], datetime] = now) -> None:
        self.path = Path(path)
        self.clock = clock
        self._stamp: tuple[int, int, int] | None = None
        self._by_hash: dict[str, Credential] = {}
        self._lock = threading.Lock()

    def _current(self) -> Mapping[str, Credential]:
        try:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                keys = read_keys(self.path) if stamp is not None else []
                self._by_hash = {k.sha256: k for k in keys}
                self._stamp = stamp
            return self._by_hash

    def credential(self, api_key: str | None) -> Credential:
        """The credential a key is, or Unauthenticated naming what is wrong."""
        if not api_key:
            raise refused(
                "",
                "api_key_missing",
                f"缺少 API 密钥：请在 gRPC 元数据 {API_KEY_HEADER} 中提供本系统的密钥",
                f"no API key: send your system's key in the gRPC metadata {API_KEY_HEADER}",
            )
        found = self._current().get(fingerprint(api_key))
        if found is None:
            raise refused(
                shown(api_key),
                "api_key_unknown",
                f"{API_KEY_HEADER} 的值 {shown(api_key)} 不是有效的 API 密钥"
                "（未签发，或已从密钥文件删除）",
                f"{API_KEY_HEADER}: {shown(api_key)} is not a valid API key (never issued, or "
                "removed from the keys file)",
            )
        if found.revoked_at is not None:
            at = found.revoked_at.isoformat(timespec="seconds")
            raise refused(
                found.id,
                "api_key_revoked",
                f"API 密钥 {found.id} 已于 {at} 吊销，请使用新签发的密钥",
                f"API key {found.id} was revoked at {at}; use the key issued in its place",
            )
        if found.expires_at is not None and self.clock() >= found.expires_at:
            at = found.expires_at.isoformat(timespec="seconds")
            raise refused(
                found.id,
                "api_key_expired",
                f"API 密钥 {found.id} 已于 {at} 过期，请向管理员申请新密钥",
                f"API key {found.id} expired at {at}; ask for a new key",
            )
        return found


def refused(value: str, rule: str, zh: str, en: str) -> Unauthenticated:
    return Unauthenticated(API_KEY_HEADER, value, rule, zh, en)


def default_keys_file(environ: Mapping[str, str] = os.environ) -> Path:
    """GATEWAY_KEYS_FILE, else the keys file in the var directory (ZHAOSHANG_VAR)."""
    return Path(
        environ.get("GATEWAY_KEYS_FILE")
        or Path(environ.get("ZHAOSHANG_VAR", "var")) / "gateway-keys.yaml"
    )
