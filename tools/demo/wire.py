"""How a demo report is written: the v1 envelope (docs/CONTRACT.md), amounts in 亿元, place
names as project names use them, and 统一社会信用代码. The load generator writes its reports so too.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.kernel.contract.fields import credit_code_check_character

CENT = Decimal("0.01")


def envelope(event_id: UUID, kind: str, source: str, day: date, payload: dict) -> dict:
    return {
        "event_id": str(event_id),
        "type": kind,
        "source": source,
        "occurred_on": day.isoformat(),
        "schema_version": 1,
        "payload": payload,
    }


def amount(value: Decimal) -> str:
    """An amount of 亿元 as the contract writes it: a decimal string, no exponent."""
    return format(value.normalize(), "f")


def short_place(name: str) -> str:
    """A place as project names use it: 夷陵区 -> 夷陵, 长阳土家族自治县 -> 长阳, 随县 -> 随县."""
    for marker in ("土家族", "自治", "林区"):
        if marker in name:
            return name[: name.index(marker)]
    return name[:-1] if len(name) > 2 and name[-1] in "市区县" else name


def credit_code(region: str, rng: random.Random) -> str:
    """A 统一社会信用代码 (GB 32100-2015) of a company registered in `region`.

    91 (工商, 企业) + the registering authority's region + a 9-character organisation code
    (GB 11714: 8 digits and a mod-11 check) + the mod-31 check character.
    """
    body = "".join(rng.choice("0123456789") for _ in range(8))
    weighted = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - weighted % 11
    first17 = "91" + region + body + {10: "X", 11: "0"}.get(check, str(check))
    return first17 + credit_code_check_character(first17)
