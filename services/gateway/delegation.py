"""Delegation (README "Credentials and access"): a trusted client, the console, calls for a
signed-in person of a unit and names that person in the call's metadata:

    x-on-behalf-of-user:  the person's user id (ASCII, as the console knows them)
    x-on-behalf-of-unit:  the person's unit: office, pref:<code>, county:<code>, dept:<key>,
                          auditor:<name>
    x-on-behalf-of-roles: the person's roles, comma-separated (report,read)

Only a credential with the `delegate` role may send them, and it may do nothing without them:
the call is then the person's, with that unit's scope and only the roles named (never
`delegate`, nor a role the unit may not hold), and what it stores records the person as its
operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.gateway.caller import DELEGATE, ROLES, Caller
from services.gateway.credentials import allowed_roles, in_order
from services.gateway.errors import InvalidRequest, PermissionDenied
from services.kernel.contract.lookups import is_known_holder

ON_BEHALF_OF_USER = "x-on-behalf-of-user"
ON_BEHALF_OF_UNIT = "x-on-behalf-of-unit"
ON_BEHALF_OF_ROLES = "x-on-behalf-of-roles"
HEADERS = (ON_BEHALF_OF_USER, ON_BEHALF_OF_UNIT, ON_BEHALF_OF_ROLES)
USER_ID = re.compile(r"[A-Za-z0-9._@+-]{1,128}")


def acting_for(credential: Caller, metadata: Mapping[str, str]) -> Caller:
    """The caller a call is: the credential's own, or, from a delegate credential, the person
    it names. Raises PermissionDenied or InvalidRequest naming the header and the rule."""
    named = {header: metadata[header] for header in HEADERS if header in metadata}
    if not credential.has(DELEGATE):
        if named:
            header, value = next(iter(named.items()))
            raise PermissionDenied(
                header,
                value,
                "delegation_needs_delegate",
                f"{header} 只能由具有 delegate 角色的凭据（控制台）发送，凭据 "
                f"{credential.credential_id} 没有该角色（规则 delegation_needs_delegate）",
                f"{header} may only be sent by a credential with the delegate role (the "
                f"console); credential {credential.credential_id} has none (rule "
                "delegation_needs_delegate)",
            )
        return credential
    missing = [header for header in HEADERS if not named.get(header, "").strip()]
    if missing:
        raise PermissionDenied(
            missing[0],
            "",
            "delegate_needs_person",
            f"代理凭据 {credential.credential_id} 必须以某人的名义调用：缺少 {', '.join(missing)}"
            "（规则 delegate_needs_person）",
            f"delegate credential {credential.credential_id} acts only for a person: "
            f"{', '.join(missing)} missing (rule delegate_needs_person)",
        )
    unit = checked_unit(named[ON_BEHALF_OF_UNIT].strip())
    return Caller(
        credential_id=credential.credential_id,
        unit=unit,
        roles=checked_roles(named[ON_BEHALF_OF_ROLES], unit),
        operator=checked_user(named[ON_BEHALF_OF_USER].strip()),
    )


def checked_user(user: str) -> str:
    if USER_ID.fullmatch(user) is None:
        raise InvalidRequest(
            ON_BEHALF_OF_USER,
            user,
            "delegation_user",
            f"{ON_BEHALF_OF_USER} 的值 {user!r} 不是用户标识：应为 1 至 128 个字母、数字或 "
            "._@+-（规则 delegation_user）",
            f"{ON_BEHALF_OF_USER}: {user!r} is no user id: 1 to 128 letters, digits or ._@+- "
            "(rule delegation_user)",
        )
    return user


def checked_unit(unit: str) -> str:
    if not is_known_holder(unit):
        raise InvalidRequest(
            ON_BEHALF_OF_UNIT,
            unit,
            "delegation_unit",
            f"{ON_BEHALF_OF_UNIT} 的值 {unit!r} 不是已知单位（office、pref:<市州代码>、"
            "county:<县市区代码>、dept:<部门>、org:<附件4单位>、auditor:<名称>）"
            "（规则 delegation_unit）",
            f"{ON_BEHALF_OF_UNIT}: {unit!r} is no known unit (office, pref:<code>, "
            "county:<code>, dept:<key>, org:<key>, auditor:<name>) (rule delegation_unit)",
        )
    return unit


def checked_roles(text: str, unit: str) -> frozenset[str]:
    """The roles the person names: known ones, at least one, never delegate, each one the unit
    may hold."""
    roles = frozenset(r.strip() for r in text.split(",") if r.strip())
    unknown = sorted(roles - set(ROLES))
    if unknown or not roles:
        raise InvalidRequest(
            ON_BEHALF_OF_ROLES,
            text,
            "delegation_roles",
            f"{ON_BEHALF_OF_ROLES} 的值 {text!r} 应为以逗号分隔的角色（{', '.join(ROLES)}）"
            "（规则 delegation_roles）",
            f"{ON_BEHALF_OF_ROLES}: {text!r} must be roles separated by commas "
            f"({', '.join(ROLES)}) (rule delegation_roles)",
        )
    if DELEGATE in roles:
        raise PermissionDenied(
            ON_BEHALF_OF_ROLES,
            text,
            "delegate_not_passed_on",
            f"{ON_BEHALF_OF_ROLES} 不能包含 delegate：代理权不能转授"
            "（规则 delegate_not_passed_on）",
            f"{ON_BEHALF_OF_ROLES} may not name delegate: delegation is never passed on "
            "(rule delegate_not_passed_on)",
        )
    beyond = in_order(roles - allowed_roles(unit))
    if beyond:
        raise PermissionDenied(
            ON_BEHALF_OF_ROLES,
            text,
            "role_not_for_unit",
            f"{unit} 的人员不能具有角色 {', '.join(beyond)}（规则 role_not_for_unit）",
            f"a person of {unit} may not hold {', '.join(beyond)} (rule role_not_for_unit)",
        )
    return roles
