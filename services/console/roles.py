"""The console's people: their roles and units, and what each role may do at the gateway.

Roles (等保三级 三员分立: the account administrator, the security administrator and the
auditor are three people; none of them holds another of the three):

    reporter  填报员  reports and follows the unit's projects
    reviewer  审核员  the office's 甄别 (十九): verifies or rejects reports
    viewer    领导    reads the ranking, scorecards and projects
    admin     管理员  manages accounts (never reads business data by that role)
    security  安全员  the security settings (lockout, idle time, second factor)
    auditor   审计    reads the console's sign-in and access records and the Audit calls

A person calls the gateway as the console's delegate credential naming their unit and the gateway
roles below (services/gateway/delegation.py checks the unit may hold them).
"""

from __future__ import annotations

import re

REPORTER, REVIEWER, VIEWER = "reporter", "reviewer", "viewer"
ADMIN, SECURITY, AUDITOR = "admin", "security", "auditor"
ROLES = (REPORTER, REVIEWER, VIEWER, ADMIN, SECURITY, AUDITOR)
ROLE_NAMES = {
    REPORTER: "填报员",
    REVIEWER: "审核员",
    VIEWER: "领导",
    ADMIN: "管理员",
    SECURITY: "安全员",
    AUDITOR: "审计",
}
SEPARATED = frozenset({ADMIN, SECURITY, AUDITOR})  # 三员分立: at most one of these per person

# The gateway's roles a console role calls with (services/gateway/caller.py's names).
GATEWAY_ROLES = {
    REPORTER: ("report", "read"),
    REVIEWER: ("report", "read", "review"),
    VIEWER: ("read",),
    AUDITOR: ("audit", "read"),
    ADMIN: (),
    SECURITY: (),
}
UNIT = re.compile(
    r"office|pref:\d{6}|county:\d{6}|dept:[a-z0-9_-]{1,40}|auditor:[A-Za-z0-9._-]{1,40}"
)
USERNAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")  # what the gateway accepts as a user id


class AccountError(ValueError):
    """A request about an account that breaks a rule; `message` is for people (Chinese)."""

    def __init__(self, field: str, value: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field, self.value, self.rule, self.message = field, value, rule, message


def checked_roles(roles: list[str] | tuple[str, ...], unit: str) -> tuple[str, ...]:
    """Known roles, at least one, 三员分立 kept, and only roles the unit may hold."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise AccountError(
            "roles",
            ",".join(roles),
            "known_roles",
            f"角色 {','.join(roles) or '（空）'} 无效：应为 {', '.join(ROLES)} 中的一个或多个",
        )
    separated = sorted(SEPARATED.intersection(roles))
    if len(separated) > 1:
        raise AccountError(
            "roles",
            ",".join(roles),
            "three_separated",
            f"三员分立：{'、'.join(ROLE_NAMES[r] for r in separated)} 不能由同一人担任",
        )
    if REVIEWER in roles and unit != "office":
        raise AccountError(
            "roles", "reviewer", "reviewer_is_office", "审核员只能属于省商务厅（office）"
        )
    if AUDITOR in roles and not unit.startswith("auditor:"):
        raise AccountError("roles", "auditor", "auditor_unit", "审计角色的单位应为 auditor:<名称>")
    if unit.startswith("auditor:") and set(roles) - {AUDITOR}:
        raise AccountError("roles", ",".join(roles), "auditor_only", "审计单位的人员只能担任审计")
    return tuple(r for r in ROLES if r in roles)


def checked_unit(unit: str) -> str:
    if UNIT.fullmatch(unit) is None:
        raise AccountError(
            "unit",
            unit,
            "known_unit",
            f"单位 {unit!r} 无效：应为 office、pref:<市州代码>、county:<县市区代码>、dept:<部门>"
            "或 auditor:<名称>",
        )
    return unit


def checked_username(username: str) -> str:
    if USERNAME.fullmatch(username) is None:
        raise AccountError(
            "username",
            username,
            "username",
            f"用户名 {username!r} 无效：应为 1 至 64 个字母、数字或 ._@+-",
        )
    return username


def gateway_roles(roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The gateway's roles a person with these console roles calls with, in order."""
    wanted = {g for r in roles for g in GATEWAY_ROLES.get(r, ())}
    return tuple(g for g in ("report", "read", "review", "audit") if g in wanted)


def region_of(unit: str) -> str | None:
    """The 市州 or county code of a pref:/county: unit, else None."""
    kind, _, code = unit.partition(":")
    return code if kind in ("pref", "county") else None
