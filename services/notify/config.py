"""Notify's configuration, read in one place: environment variables for the mail server, the
retries and the reminder schedule; a YAML file (`NOTIFY_RECIPIENTS`) for who gets what.

The recipients file is checked at start-up: a unit that is no unit, an address that is no
address or a webhook without its secret stops the start with a `RecipientsError` naming the
file, the unit and the problem. See services/notify/README.md for the format.
"""

from __future__ import annotations

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

from services.kernel.reference import Reference
from services.notify.domain import EMAIL, WEBHOOK
from services.notify.notices import OFFICE
from services.notify.reminders import ReminderSchedule
from services.notify.retry import RetryPolicy

DEFAULT_WEBHOOK_SECRET_ENV = "NOTIFY_WEBHOOK_SECRET"
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


class RecipientsError(Exception):
    def __init__(self, file: str, unit: str | None, problem: str):
        super().__init__(f"{file}, unit {unit}: {problem}" if unit else f"{file}: {problem}")
        self.file, self.unit, self.problem = file, unit, problem


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> NotifySettings:
        sender = environ.get("NOTIFY_MAIL_FROM", SmtpSettings.sender)
        recipients = environ.get("NOTIFY_RECIPIENTS", "")
        return cls(
            smtp=SmtpSettings(
                host=environ.get("NOTIFY_SMTP_HOST", SmtpSettings.host),
                port=int(environ.get("NOTIFY_SMTP_PORT", SmtpSettings.port)),
                starttls=environ.get("NOTIFY_SMTP_STARTTLS", "0") == "1",
                username=environ.get("NOTIFY_SMTP_USER", ""),
                password=environ.get("NOTIFY_SMTP_PASSWORD", ""),
                timeout=float(environ.get("NOTIFY_SMTP_TIMEOUT", SmtpSettings.timeout)),
                sender=sender,
                message_id_domain=environ.get("NOTIFY_MESSAGE_ID_DOMAIN", sender.split("@")[-1]),
            ),
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
        )


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
    secret: str = field(repr=False)


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

    def webhook_secrets(self) -> dict[str, str]:
        return {c.webhook.url: c.webhook.secret for c in self.units.values() if c.webhook}


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
    return Recipients(
        {
            str(unit): _contacts(name, str(unit), entry, known, environ)
            for unit, entry in units.items()
        }
    )


def known_units(ref: Reference) -> frozenset[str]:
    """Keys a recipients file may use: `office`, a region code, `dept:<key>`, and the other
    units 附件4 names in its own words (武汉铁路局, …)."""
    departments = {f"dept:{key}" for key in ref.departments}
    named = {unit for m in ref.matters.values() for unit in m.responsible}
    return frozenset({OFFICE, *ref.regions, *departments, *(u for u in named if not u.isascii())})


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
    secret_env = entry.get("secret_env", DEFAULT_WEBHOOK_SECRET_ENV)
    secret = environ.get(secret_env, "")
    if not secret:
        raise fail(f"webhook secret: environment variable {secret_env} is not set")
    return Webhook(url=url, secret=secret)
