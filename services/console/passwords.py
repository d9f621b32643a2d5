"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommendation) and the
password policy 等保三级 asks for: long enough, of several kinds of character, not the username."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.console.roles import AccountError

MIN_LENGTH = 12
MAX_LENGTH = 128
_HASHER = PasswordHasher()
# Verified when the username is unknown, so a guess takes as long either way.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


def policy_problem(password: str, username: str) -> str | None:
    """Why a password breaks the policy (Chinese), or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"密码长度应为 {MIN_LENGTH} 至 {MAX_LENGTH} 个字符"
    kinds = sum(
        any(c in chars for c in password)
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + any(not c.isalnum() for c in password)
    if kinds < 3:
        return "密码应包含小写字母、大写字母、数字、符号中的至少三类"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名"
    return None


def hashed(password: str, username: str) -> str:
    """The argon2 hash of a password that keeps the policy; AccountError if it does not."""
    problem = policy_problem(password, username)
    if problem:
        raise AccountError("password", "***", "password_policy", problem)
    return _HASHER.hash(password)


def matches(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generated() -> str:
    """A random password that keeps the policy (for development accounts and resets)."""
    while True:
        candidate = secrets.token_urlsafe(12) + "-7a"
        if policy_problem(candidate, "") is None:
            return candidate
