"""The console's own event store: its people's accounts and every sign-in, read and export.

Each account is an aggregate whose events are its history (created, password set, roles granted,
disabled, signed in, failed, locked, signed out), so who could do what, and when they came in,
is auditable. Each read of a project or its history and each export is an `Access` record of its
own. The store follows the services' conventions (services/kernel/store/environment.py): a
SQLite file `var/console.sqlite` by default, a PostgreSQL schema `console` when configured, its
events hash-chained like every other store.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event

from services.console import passwords
from services.console.roles import (
    AccountError,
    checked_roles,
    checked_unit,
    checked_username,
)
from services.kernel.store.environment import ServiceApplication, store_env

NAMESPACE = uuid5(NAMESPACE_URL, "zhaoshang:console:account")


def account_id(username: str) -> UUID:
    return uuid5(NAMESPACE, username.lower())


def now() -> datetime:
    return datetime.now(UTC)


class Account(Aggregate):
    @classmethod
    def create_id(cls, username: str) -> UUID:
        return account_id(username)

    @event("Created")
    def __init__(self, username: str, unit: str, roles: list[str], password_hash: str, by: str):
        self.username = username
        self.unit = unit
        self.roles = list(roles)
        self.password_hash = password_hash
        self.disabled = False
        self.failures = 0
        self.locked_until: str | None = None
        self.totp_secret: str | None = None
        self.last_sign_in: str | None = None

    @event("PasswordSet")
    def set_password(self, password_hash: str, by: str) -> None:
        self.password_hash = password_hash
        self.failures = 0
        self.locked_until = None

    @event("RolesGranted")
    def grant(self, roles: list[str], by: str) -> None:
        self.roles = list(roles)

    @event("Disabled")
    def disable(self, by: str) -> None:
        self.disabled = True

    @event("Enabled")
    def enable(self, by: str) -> None:
        self.disabled = False
        self.failures = 0
        self.locked_until = None

    @event("TotpEnrolled")
    def enrol_totp(self, secret: str, by: str) -> None:
        self.totp_secret = secret

    @event("SignedIn")
    def signed_in(self, at: str, address: str) -> None:
        self.failures = 0
        self.locked_until = None
        self.last_sign_in = at

    @event("SignInFailed")
    def sign_in_failed(self, at: str, address: str, reason: str, locked_until: str | None) -> None:
        self.failures += 1
        self.locked_until = locked_until

    @event("SignedOut")
    def signed_out(self, at: str, why: str) -> None:
        pass

    def locked(self, at: datetime) -> bool:
        return self.locked_until is not None and datetime.fromisoformat(self.locked_until) > at


class Access(Aggregate):
    """One read or export through the console: who, of which unit, what, when."""

    @event("Recorded")
    def __init__(self, username: str, unit: str, what: str, target: str, at: str) -> None:
        self.username, self.unit, self.what, self.target, self.at = (
            username,
            unit,
            what,
            target,
            at,
        )


@dataclass(frozen=True)
class Policy:
    """Security settings (the security administrator's): lockout and the second factor."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    require_totp: bool = False  # for reviewers and administrators


@dataclass(frozen=True)
class SignIn:
    ok: bool
    account: Account | None
    message: str = ""  # why not, in Chinese, saying no more than a stranger may know
    needs_totp: bool = False


class Accounts(ServiceApplication):
    name = "console"

    def __init__(self, env: Mapping[str, str] | None = None, policy: Policy | None = None):
        super().__init__(env=env)
        self.policy = policy or Policy()
        self._lock = threading.Lock()  # one writer per account at a time in this process
        self._names: dict[UUID, str] = {}  # account and record ids -> username, for the trail

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], policy: Policy | None = None):
        return cls(env=store_env("console", environ), policy=policy)

    def find(self, username: str) -> Account | None:
        try:
            account: Aggregate = self.repository.get(account_id(username))
        except AggregateNotFoundError:
            return None
        assert isinstance(account, Account)
        return account

    def get(self, username: str) -> Account:
        account = self.find(username)
        if account is None:
            raise AccountError("username", username, "unknown_user", f"没有用户 {username}")
        return account

    def add(self, username: str, unit: str, roles: list[str], password: str, by: str) -> Account:
        checked_username(username)
        checked_unit(unit)
        roles = list(checked_roles(roles, unit))
        with self._lock:
            if self.find(username) is not None:
                raise AccountError("username", username, "user_exists", f"用户 {username} 已存在")
            account = Account(username, unit, roles, passwords.hashed(password, username), by)
            self.save(account)
        return account

    def reset(self, username: str, password: str, by: str) -> None:
        with self._lock:
            account = self.get(username)
            account.set_password(passwords.hashed(password, username), by)
            self.save(account)

    def grant(self, username: str, roles: list[str], by: str) -> None:
        with self._lock:
            account = self.get(username)
            account.grant(list(checked_roles(roles, account.unit)), by)
            self.save(account)

    def set_disabled(self, username: str, disabled: bool, by: str) -> None:
        with self._lock:
            account = self.get(username)
            if disabled:
                account.disable(by)
            else:
                account.enable(by)
            self.save(account)

    def enrol_totp(self, username: str, secret: str, by: str) -> None:
        with self._lock:
            account = self.get(username)
            account.enrol_totp(secret, by)
            self.save(account)

    def sign_in(self, username: str, password: str, code: str, address: str) -> SignIn:
        """Checks a password (and the TOTP code where one is needed), recording the outcome;
        after `max_failures` failures in a row the account is locked for `lockout`."""
        at = now()
        refused = "用户名或密码错误"
        with self._lock:
            account = self.find(username) if len(username) <= 64 else None
            if account is None:
                passwords.matches(None, password)  # the same time as for a known name
                return SignIn(False, None, refused)
            if account.locked(at):
                return SignIn(False, None, "连续登录失败次数过多，账号已临时锁定，请稍后再试")
            if account.disabled:
                passwords.matches(None, password)
                return SignIn(False, None, refused)
            if not passwords.matches(account.password_hash, password):
                return self._failed(account, at, address, "password", refused)
            if self._totp_needed(account):
                if account.totp_secret is None:
                    return SignIn(False, None, "该账号须启用双因素认证：请联系管理员登记动态口令")
                if not code:
                    return SignIn(False, None, "请输入动态口令", needs_totp=True)
                if not totp_matches(account.totp_secret, code):
                    return self._failed(account, at, address, "totp", "动态口令错误")
            account.signed_in(at.isoformat(), address)
            self.save(account)
            return SignIn(True, account)

    def _totp_needed(self, account: Account) -> bool:
        if account.totp_secret is not None:
            return True
        privileged = {"reviewer", "admin", "security"}.intersection(account.roles)
        return self.policy.require_totp and bool(privileged)

    def _failed(self, account: Account, at: datetime, address: str, reason: str, message: str):
        locked_until = None
        if account.failures + 1 >= self.policy.max_failures:
            locked_until = (at + self.policy.lockout).isoformat()
            message = "连续登录失败次数过多，账号已临时锁定，请稍后再试"
        account.sign_in_failed(at.isoformat(), address, reason, locked_until)
        self.save(account)
        return SignIn(False, None, message)

    def signed_out(self, username: str, why: str) -> None:
        with self._lock:
            account = self.find(username)
            if account is not None:
                account.signed_out(now().isoformat(), why)
                self.save(account)

    def record(self, username: str, unit: str, what: str, target: str) -> None:
        """A read of a project or its history, or an export (who, what, when)."""
        self.save(Access(username, unit, what, target[:200], now().isoformat()))

    def usernames(self) -> list[str]:
        return sorted(
            {e.username for e in self.trail(limit=100_000) if e.kind == "Account.Created"}
        )

    def trail(self, limit: int = 200) -> list[TrailEntry]:
        """The newest `limit` records of the store (sign-ins, accounts, reads), newest first."""
        last = self.recorder.max_notification_id() or 0
        start = max(1, last - limit + 1)
        entries = []
        for notification in self.recorder.select_notifications(start=start, limit=limit):
            domain_event = self.mapper.to_domain_event(notification)
            name = self._name_of(domain_event.originator_id)
            entries.append(TrailEntry.of(notification.id, domain_event, name))
        return entries[::-1]

    def _name_of(self, originator_id: UUID) -> str:
        if originator_id not in self._names:
            try:
                aggregate: Aggregate = self.repository.get(originator_id)
            except AggregateNotFoundError:
                return ""
            self._names[originator_id] = getattr(aggregate, "username", "")
        return self._names[originator_id]


def totp_matches(secret: str, code: str) -> bool:
    import pyotp

    return pyotp.TOTP(secret).verify(code.strip(), valid_window=1)


@dataclass(frozen=True)
class TrailEntry:
    position: int
    kind: str  # e.g. "Account.SignedIn", "Access.Recorded"
    username: str
    detail: str
    at: str

    @classmethod
    def of(cls, position: int, domain_event: object, username: str) -> TrailEntry:
        cls_name = type(domain_event).__qualname__
        fields = vars(domain_event)
        detail = {
            k: v
            for k, v in fields.items()
            if k not in ("originator_id", "originator_version", "timestamp", "password_hash")
            and k not in ("secret",)
        }
        at = str(fields.get("at") or fields.get("timestamp", ""))
        return cls(position, cls_name, str(username), _detail(detail), at)


def _detail(fields: dict) -> str:
    return "；".join(f"{k}={v}" for k, v in fields.items() if k != "username")
