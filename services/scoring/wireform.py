"""The form of a wire event's fields as scoring reads them: each checked, a FactsError naming
the field when it is not what the contract says, and the values the facts keep shared (one
object per date, project code and amount as written). Standard library only.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from services.scoring.domain import FactsError


def read_field(mapping: Mapping, key: str, path: str, kind: Any) -> Any:
    """`mapping[key]` if it is a `kind`; `path` is where the mapping lies in the wire event."""
    value = mapping.get(key)
    if value.__class__ is kind:  # the common case, checked first
        return value
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise FactsError(
            _at(path, key), value, "wire_form", f"expected {kind}", zh=f"形式不符，应为 {kind}"
        )
    return value


def read_decimal(mapping: Mapping, key: str, path: str) -> Decimal:
    value = read_field(mapping, key, path, str)
    number = _decimal_of(value)
    if not number.is_finite():
        raise FactsError(
            _at(path, key),
            value,
            "decimal_string",
            'a decimal string, "2.5"',
            zh='须为十进制字符串（如 "2.5"）',
        )
    return number


@lru_cache(maxsize=4096)  # one object per amount as written: amounts of 亿元 repeat, to the cent
def _decimal_of(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("NaN")


def read_code(payload: Mapping, key: str) -> str:
    """A project's or a 市州's code: one string however many facts name it."""
    return sys.intern(read_field(payload, key, "payload", str))


@lru_cache(maxsize=4096)  # one object per day, however many reports fall on it
def read_day(value: str, path: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FactsError(path, value, "iso_date", "YYYY-MM-DD", zh="日期须为 YYYY-MM-DD") from None


def read_moment(value: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FactsError(
            path,
            value,
            "iso_datetime",
            "an ISO date and time in UTC",
            zh="须为 ISO 格式的 UTC 时刻",
        ) from None
    return aware(moment, path)


def aware(moment: datetime, path: str) -> datetime:
    if moment.tzinfo is None:
        raise FactsError(
            path, moment.isoformat(), "aware_datetime", "needs a UTC offset", zh="时刻须带 UTC 偏移"
        )
    return moment


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def utc_iso(moment: datetime) -> str:
    """An aware moment as ISO text in UTC, as a ranking shows it."""
    return aware(moment, "recorded_by").astimezone(UTC).isoformat()
