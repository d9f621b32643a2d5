"""Notify's configuration, read in one place: environment variables for the mail server, the
retries and the reminder schedule; a YAML file (`NOTIFY_RECIPIENTS`) for who gets what.

Both are checked at start-up. A mail server reached without TLS other than on loopback, or a
password that would be sent without it, stops the start with a `SettingInvalid` naming the
variable. In the recipients file, a unit that is no unit, an address that is no address, a
webhook that is not https (plain http only to loopback, for tests) or whose secret is missing,
shorter than 32 bytes or another unit's too stops it with a `RecipientsError` naming the file,
the unit and the problem. See services/notify/README.md for the format.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from services.kernel.contract.errors import SettingInvalid
from services.kernel.loopback import is_loopback
from services.kernel.reference import Reference
from services.notify.domain import EMAIL, WEBHOOK
from services.notify.notices import OFFICE
from services.notify.reminders import ReminderSchedule
from services.notify.retry import RetryPolicy

DEFAULT_WEBHOOK_SECRET_ENV = "NOTIFY_WEBHOOK_SECRET"
SECRET_PREFIX = "whsec_"  # Standard Webhooks: whsec_<base64 of the key>
MIN_SECRET_BYTES = 32
STARTTLS, IMPLICIT_TLS, NO_TLS = "starttls", "implicit", "none"
SMTP_TLS_MODES = (STARTTLS, IMPLICIT_TLS, NO_TLS)
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


class RecipientsError(Exception):
    def __init__(self, file: str, unit: str | None, problem: str):
        super().__init__(f"{file}, unit {unit}: {problem}" if unit else f"{file}: {problem}")
        self.file, self.unit, self.problem = file, unit, problem


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    tls: str = STARTTLS  # or IMPLICIT_TLS (port 465), or NO_TLS (loopback only)
    ca_file: str = ""  # the CAs the server's certificate must chain to; empty: the system's
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    sender: str = "zhaoshang@localhost"
    message_id_domain: str = "localhost"


@dataclass(frozen=True)
class NotifySettings:
    smtp: SmtpSettings
    retry: RetryPolicy
    reminders: ReminderSchedule
    recipients_file: Path | None
    webhook_timeout: float = 10.0
    webhook_ca_file: str = ""  # the CAs webhook servers' certificates must chain to

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> NotifySettings:
        recipients = environ.get("NOTIFY_RECIPIENTS", "")
        return cls(
            smtp=_smtp(environ),
            retry=RetryPolicy(
                max_attempts=int(environ.get("NOTIFY_MAX_ATTEMPTS", "6")),
                first_delay=timedelta(
                    seconds=float(environ.get("NOTIFY_RETRY_FIRST_SECONDS", "60"))
                ),
                max_delay=timedelta(seconds=float(environ.get("NOTIFY_RETRY_MAX_SECONDS", "3600"))),
            ),
            reminders=ReminderSchedule(
                before_days=_days(environ.get("NOTIFY_REMIND_BEFORE_DAYS", "7,1")),
                overdue_days=_days(environ.get("NOTIFY_OVERDUE_AFTER_DAYS", "1")),
                grace_days=int(environ.get("NOTIFY_REMINDER_GRACE_DAYS", "7")),
            ),
            recipients_file=Path(recipients) if recipients else None,
            webhook_timeout=float(environ.get("NOTIFY_WEBHOOK_TIMEOUT", "10")),
            webhook_ca_file=_file(environ, "NOTIFY_WEBHOOK_CA"),
        )


def _smtp(environ: Mapping[str, str]) -> SmtpSettings:
    """The mail server's settings; TLS unless it is on loopback and plaintext is asked for,
    and never a password without TLS."""
    sender = environ.get("NOTIFY_MAIL_FROM", SmtpSettings.sender)
    host = environ.get("NOTIFY_SMTP_HOST", SmtpSettings.host)
    tls = environ.get("NOTIFY_SMTP_TLS", STARTTLS)
    if tls not in SMTP_TLS_MODES:
        raise SettingInvalid(
            "NOTIFY_SMTP_TLS",
            tls,
            "one_of",
            f"须为 {'、'.join(SMTP_TLS_MODES)} 之一",
            f"must be one of {', '.join(SMTP_TLS_MODES)}",
        )
    username = environ.get("NOTIFY_SMTP_USER", "")
    if tls == NO_TLS and not is_loopback(host):
        raise SettingInvalid(
            "NOTIFY_SMTP_TLS",
            tls,
            "tls_off_loopback",
            f"邮件服务器 {host} 不在本机回环地址上，必须使用 TLS（starttls 或 implicit）",
            f"the mail server {host} is not on loopback: use TLS (starttls or implicit)",
        )
    if tls == NO_TLS and username:
        raise SettingInvalid(
            "NOTIFY_SMTP_TLS",
            tls,
            "password_needs_tls",
            "设置了 NOTIFY_SMTP_USER：密码不得在未加密的连接上发送",
            "NOTIFY_SMTP_USER is set: a password is never sent without TLS",
        )
    return SmtpSettings(
        host=host,
        port=int(environ.get("NOTIFY_SMTP_PORT", 465 if tls == IMPLICIT_TLS else 25)),
        tls=tls,
        ca_file=_file(environ, "NOTIFY_SMTP_CA"),
        username=username,
        password=environ.get("NOTIFY_SMTP_PASSWORD", ""),
        timeout=float(environ.get("NOTIFY_SMTP_TIMEOUT", SmtpSettings.timeout)),
        sender=sender,
        message_id_domain=environ.get("NOTIFY_MESSAGE_ID_DOMAIN", sender.split("@")[-1]),
    )


def _file(environ: Mapping[str, str], variable: str) -> str:
    """A file the variable names (empty when unset), which must exist."""
    path = environ.get(variable, "")
    if path and not Path(path).is_file():
        raise SettingInvalid(variable, path, "file_exists", "文件不存在", "no such file")
    return path


def _days(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


# Recipients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leader:
    """A leader a 约谈通知 goes to (十九): the unit's 分管负责人 or its 招商部门主要负责人."""

    name: str
    role: str
    email: str


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: bytes = field(repr=False)  # the unit's own signing key, at least 32 bytes


@dataclass(frozen=True)
class UnitContacts:
    unit: str
    email: tuple[str, ...] = ()
    webhook: Webhook | None = None
    leaders: tuple[Leader, ...] = ()
    circulars: bool = True

    def channels(self, emails: tuple[str, ...] | None = None) -> list[dict]:
        """Where a notice goes: each address (the unit's, unless `emails` is given) and the
        webhook."""
        addresses = self.email if emails is None else emails
        channels = [{"channel": EMAIL, "address": a} for a in addresses]
        if self.webhook is not None:
            channels.append({"channel": WEBHOOK, "address": self.webhook.url})
        return channels

    def summons_channels(self) -> list[dict]:
        """A 约谈通知 goes to the leaders' own addresses when configured, else the unit's."""
        leaders = tuple(dict.fromkeys(leader.email for leader in self.leaders))
        return self.channels(leaders or None)


class Recipients:
    def __init__(self, units: Mapping[str, UnitContacts] | None = None) -> None:
        self.units = MappingProxyType(dict(units or {}))

    def contacts(self, unit: str) -> UnitContacts | None:
        return self.units.get(unit)

    def reaches(self, unit: str) -> bool:
        contacts = self.units.get(unit)
        return contacts is not None and bool(contacts.channels())

    def circular_contacts(self) -> list[tuple[str, UnitContacts]]:
        """The units that receive every circular, in a stable order."""
        return sorted((u, c) for u, c in self.units.items() if c.circulars and c.channels())

    def webhooks(self) -> dict[str, Webhook]:
        """Each unit's webhook: where its notices go and the key they are signed with."""
        return {unit: c.webhook for unit, c in self.units.items() if c.webhook}


def load_recipients(
    path: Path | None, ref: Reference, environ: Mapping[str, str] = os.environ
) -> Recipients:
    """The recipients file; none configured means nobody is sent anything (a local default)."""
    if path is None:
        return Recipients()
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipientsError(name, None, "file is missing") from None
    except yaml.YAMLError as error:
        raise RecipientsError(name, None, f"not valid YAML: {error}") from None
    if not isinstance(data, dict) or set(data) - {"units"}:
        raise RecipientsError(name, None, "expected one top-level key, `units`")
    units = data.get("units") or {}
    if not isinstance(units, dict):
        raise RecipientsError(name, None, "`units` maps unit keys to their contacts")
    known = known_units(ref)
    contacts = {
        str(unit): _contacts(name, str(unit), entry, known, environ)
        for unit, entry in units.items()
    }
    _one_secret_per_unit(name, contacts)
    return Recipients(contacts)


def known_units(ref: Reference) -> frozenset[str]:
    """Keys a recipients file may use: `office`, a region code, `dept:<key>`, `org:<key>` (an
    附件4 organisation: 武汉铁路局, 湖北机场集团), and the groups 附件4 names in its own words
    (省直有关部门, …)."""
    departments = {f"dept:{key}" for key in ref.departments}
    organisations = {f"org:{key}" for key in ref.organisations}
    named = {unit for m in ref.matters.values() for unit in m.responsible}
    groups = {u for u in named if not u.isascii() and ref.unit_named(u) is None}
    return frozenset({OFFICE, *ref.regions, *departments, *organisations, *groups})


def _contacts(
    file: str, unit: str, entry: Any, known: frozenset[str], environ: Mapping[str, str]
) -> UnitContacts:
    def fail(problem: str) -> RecipientsError:
        return RecipientsError(file, unit, problem)

    if unit not in known:
        raise fail("not a unit: use a region code, dept:<key>, office, or a name 附件4 uses")
    if not isinstance(entry, dict):
        raise fail("expected a mapping with email / webhook / leaders / circulars")
    unknown = set(entry) - {"email", "webhook", "leaders", "circulars"}
    if unknown:
        raise fail(f"unknown field(s) {sorted(unknown)}")
    emails = entry.get("email", [])
    if isinstance(emails, str):
        emails = [emails]
    if not isinstance(emails, list):
        raise fail("email is an address or a list of addresses")
    for address in emails:
        _check_email(fail, address)
    leaders = tuple(_leader(fail, item) for item in entry.get("leaders", []) or [])
    circulars = entry.get("circulars", True)
    if not isinstance(circulars, bool):
        raise fail(f"circulars must be true or false, got {circulars!r}")
    return UnitContacts(
        unit=unit,
        email=tuple(dict.fromkeys(emails)),
        webhook=_webhook(fail, entry.get("webhook"), environ),
        leaders=leaders,
        circulars=circulars,
    )


def _check_email(fail: Any, address: Any) -> None:
    if not isinstance(address, str) or not _EMAIL.fullmatch(address):
        raise fail(f"{address!r} is not an e-mail address")


def _leader(fail: Any, item: Any) -> Leader:
    if not isinstance(item, dict) or set(item) != {"name", "role", "email"}:
        raise fail(f"a leader has exactly name, role and email, got {item!r}")
    _check_email(fail, item["email"])
    return Leader(str(item["name"]), str(item["role"]), item["email"])


def _webhook(fail: Any, entry: Any, environ: Mapping[str, str]) -> Webhook | None:
    if entry is None:
        return None
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict) or not set(entry) <= {"url", "secret_env"} or "url" not in entry:
        raise fail("webhook is a URL, or a mapping with url and (optionally) secret_env")
    url = entry["url"]
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail(f"webhook url {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise fail(f"webhook url {url!r} is plain http: use https (http only to loopback)")
    secret_env = entry.get("secret_env", DEFAULT_WEBHOOK_SECRET_ENV)
    secret = environ.get(secret_env, "")
    if not secret:
        raise fail(f"webhook secret: environment variable {secret_env} is not set")
    return Webhook(url=url, secret=_key(fail, secret_env, secret))


def _key(fail: Any, secret_env: str, secret: str) -> bytes:
    """The signing key a Standard Webhooks secret (`whsec_` and base64) holds."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise fail(f"webhook secret in {secret_env} is not {SECRET_PREFIX}<base64>") from None
    if len(key) < MIN_SECRET_BYTES:
        raise fail(
            f"webhook secret in {secret_env} holds {len(key)} bytes: "
            f"at least {MIN_SECRET_BYTES} random bytes are needed"
        )
    return key


def _one_secret_per_unit(file: str, contacts: Mapping[str, UnitContacts]) -> None:
    """A unit's key signs for it alone: a receiver holding it must not be able to sign for
    another unit."""
    owners: dict[bytes, str] = {}
    for unit, unit_contacts in contacts.items():
        if unit_contacts.webhook is None:
            continue
        owner = owners.setdefault(unit_contacts.webhook.secret, unit)
        if owner != unit:
            raise RecipientsError(
                file, unit, f"webhook secret is {owner}'s too: each unit needs its own"
            )
