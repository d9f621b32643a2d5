"""Who a call comes from, once its credential is checked: the unit it acts for, its roles and,
for a call a trusted client (the console) makes for a person, that person (README "Credentials
and access").

`Authenticator.caller(context)` (auth.py) answers a `Caller`; access.py checks its roles
(function level) and the object asked for against its unit's scope (object level).
"""

from __future__ import annotations

from dataclasses import dataclass

# Roles a credential may carry.
REPORT = "report"  # publish reports within the holder's jurisdiction
READ = "read"  # read within the holder's scope
REVIEW = "review"  # office: verify/reject, publish the ranking, adopt a policy
AUDIT = "audit"  # read everything and the Audit calls; nothing else
DELEGATE = "delegate"  # a trusted client acting for a named person of a unit
ROLES = (REPORT, READ, REVIEW, AUDIT, DELEGATE)


@dataclass(frozen=True)
class Caller:
    credential_id: str  # the key's or certificate's id, as `auth list` shows it
    unit: str  # office, pref:<code>, county:<code>, dept:<key>, org:<key>, auditor:<name>
    roles: frozenset[str]
    operator: str | None = None  # the person a delegate acts for (user id), else None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_office(self) -> bool:
        return self.unit == "office"

    @property
    def is_auditor(self) -> bool:
        return self.unit.startswith("auditor:")
