"""Server-side sessions and CSRF tokens.

A session lives in the console process only: its cookie holds a random token and nothing else
(HttpOnly, SameSite=Strict, Secure when the console serves TLS). It ends on sign-out or after the
idle time; a restart of the console signs everyone out. Every form carries the session's CSRF
token (the sign-in form, before any session, a token that must match its own cookie).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

COOKIE = "zs_session"
LOGIN_COOKIE = "zs_login"  # the sign-in form's CSRF token (double submit)
CSRF_FIELD = "csrf"


@dataclass
class Session:
    token: str
    username: str
    unit: str
    roles: tuple[str, ...]  # console roles (services/console/roles.py)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: datetime = field(default_factory=lambda: datetime.now(UTC))

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


class Sessions:
    def __init__(self, idle: timedelta) -> None:
        self.idle = idle
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, username: str, unit: str, roles: tuple[str, ...]) -> Session:
        session = Session(secrets.token_urlsafe(32), username, unit, roles)
        with self._lock:
            # one session per person: signing in again ends the earlier one
            for token in [t for t, s in self._by_token.items() if s.username == username]:
                del self._by_token[token]
            self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> tuple[Session | None, Session | None]:
        """(the live session, or None; the session that has just expired, or None)."""
        if not token:
            return None, None
        now = datetime.now(UTC)
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None, None
            if now - session.last_seen > self.idle:
                del self._by_token[token]
                return None, session
            session.last_seen = now
            return session, None

    def close(self, token: str | None) -> Session | None:
        with self._lock:
            return self._by_token.pop(token or "", None)

    def end_for(self, username: str) -> None:
        """Ends a person's sessions (disabled, password reset)."""
        with self._lock:
            for token in [t for t, s in self._by_token.items() if s.username == username]:
                del self._by_token[token]


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_token() -> str:
    return secrets.token_urlsafe(32)
