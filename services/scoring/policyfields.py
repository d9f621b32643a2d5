"""The checked fields a scoring policy is written in (services/scoring/policy.py): each broken
rule a PolicyError naming its field. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from services.scoring.domain import PolicyError


def fields(
    value: Any, path: str, required: Sequence[str], optional: Sequence[str] | None
) -> Mapping:
    """A mapping with the required keys and, unless `optional` is None, no others."""
    where = path or "policy"
    if not isinstance(value, Mapping):
        raise PolicyError(where, value, "mapping", "a mapping of keys to values", zh="须为键值映射")
    for key in required:
        if key not in value:
            raise PolicyError(at(path, key), None, "required", "missing", zh="缺少此项")
    if optional is not None:
        for key in value:
            if key not in required and key not in optional:
                allowed = sorted([*required, *optional])
                raise PolicyError(
                    at(path, key),
                    value[key],
                    "known_key",
                    f"one of {allowed}",
                    zh=f"未知的键，须为 {allowed} 之一",
                )
    return value


def at(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def items(value: Any, path: str) -> list:
    if not isinstance(value, list | tuple):
        raise PolicyError(path, value, "list", "a list", zh="须为列表")
    return list(value)


def text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(path, value, "text", "a non-empty string", zh="须为非空文本")
    return value


def count(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(
            path,
            value,
            "whole_number",
            f"a whole number ≥ {minimum}",
            zh=f"须为不小于 {minimum} 的整数",
        )
    return value


def decimal(value: Any, path: str, positive: bool = True) -> Decimal:
    """Whole numbers or decimal strings; floats are refused (they lose cents)."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise PolicyError(
            path,
            value,
            "decimal",
            'a whole number or a decimal string, "2.5"',
            zh='须为整数或十进制字符串（如 "2.5"），不接受浮点数',
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise PolicyError(
            path, value, "decimal", "not a decimal number", zh="不是十进制数"
        ) from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        rule, zh = ("greater than 0", "须大于 0") if positive else ("0 or more", "须不小于 0")
        raise PolicyError(path, value, "decimal_range", rule, zh=zh)
    return number
