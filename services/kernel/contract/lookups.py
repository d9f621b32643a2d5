"""The reference data the contract checks against (services/kernel/reference), as sets: one
membership test per check, built on first use rather than at import.

`is_known_holder` is the gateway's test of a credential's holder: a source, or an auditor.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import NamedTuple

from services.kernel.reference import reference


class Lookups(NamedTuple):
    """The reference data the fields check against, as sets: one membership test each."""

    is_hubei: Callable[[str], bool]
    prefectures: frozenset[str]
    counties: frozenset[str]
    departments: frozenset[str]
    industries: frozenset[str]
    tasks: frozenset[str]
    matters: frozenset[str]
    organisations: frozenset[str]


@functools.cache
def lookups() -> Lookups:
    ref = reference()
    return Lookups(
        is_hubei=ref.is_hubei_region,
        prefectures=frozenset(p.code for p in ref.prefectures),
        counties=frozenset(c.code for p in ref.prefectures for c in ref.counties_of(p.code)),
        departments=frozenset(ref.departments),
        industries=frozenset(ref.industries) | frozenset(ref.national_industries),
        tasks=frozenset(ref.tasks),
        matters=frozenset(ref.matters),
        organisations=frozenset(ref.organisations),
    )


def known_sources() -> tuple[str, ...]:
    """Every source there is, in a stable order: office, then the 市州, counties, departments
    and 附件4 organisations by their codes and keys."""
    known = lookups()
    return (
        "office",
        *(f"pref:{code}" for code in sorted(known.prefectures)),
        *(f"county:{code}" for code in sorted(known.counties)),
        *(f"dept:{key}" for key in sorted(known.departments)),
        *(f"org:{key}" for key in sorted(known.organisations)),
    )


def is_known_source(value: str) -> bool:
    """office, pref:<市州>, county:<Hubei county>, dept:<department> or org:<organisation> (an
    附件4 organisation such as 武汉铁路局; docs/ARCHITECTURE.md "Identities")."""
    kind, _, key = value.partition(":")
    known = lookups()
    return (
        value == "office"
        or (kind == "pref" and key in known.prefectures)
        or (kind == "county" and key in known.counties)
        or (kind == "dept" and key in known.departments)
        or (kind == "org" and key in known.organisations)
    )


AUDITOR = re.compile(r"auditor:[\w.-]{1,64}")  # an auditor holds credentials, never reports


def is_known_holder(value: str) -> bool:
    """A source, or `auditor:<name>` (README "Credentials and access")."""
    return is_known_source(value) or AUDITOR.fullmatch(value) is not None
