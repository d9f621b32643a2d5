"""Raw JSON as the contract reads it: `parse_json(data, field=...)`, for every transport that
hands reports in (an AMQP body, a gRPC event's `payload_json`), so both refuse alike.

It reads UTF-8 only, at most `max_bytes` (checked before decoding), numbers of at most
MAX_NUMBER_LENGTH characters (checked before `int` or `float` sees them: Python refuses integers
over 4,300 digits with a ValueError), no NaN or Infinity, no key twice in one object, and
nothing nested deeper than the parser's own recursion allows. Anything else raises
`JsonRefused`, a `Problem` naming the field, the value (an excerpt) and the rule; never another
exception. How deep a report may nest is then `validate_report`'s check (bounds.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, NoReturn

from services.kernel.contract.errors import Problem
from services.kernel.contract.messages import Violation, field_error
from services.kernel.contract.vocabulary import MAX_DEPTH, MAX_EVENT_BYTES, MAX_NUMBER_LENGTH

EXCERPT = 200  # characters of refused text kept as its value (errors clip it further)


class JsonRefused(Problem, ValueError):
    """JSON text the contract will not read; its rule is one of `not_json`, `too_large`,
    `too_deep`, `number_too_large` or `duplicate_key` (messages.py words each)."""

    def __init__(self, field: str, value: Any, violation: Violation):
        worded = field_error(field, value, violation)
        super().__init__(field, value, violation.rule, worded.message_zh, worded.message_en)


class _Refusal(Exception):
    """Raised inside the parser's hooks; becomes a JsonRefused with the field's name."""

    def __init__(self, value: str, violation: Violation):
        super().__init__(violation.rule)
        self.value = value
        self.violation = violation


def parse_json(data: bytes | str, *, field: str, max_bytes: int = MAX_EVENT_BYTES) -> Any:
    """The value `data` holds, or JsonRefused naming `field`."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JsonRefused(field, _excerpt(data), Violation("too_large", {"max": max_bytes}))
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(
            text,
            parse_int=_integer,
            parse_float=_real,
            parse_constant=_no_constant,
            object_pairs_hook=_object,
        )
    except _Refusal as refusal:
        raise JsonRefused(field, refusal.value, refusal.violation) from None
    except RecursionError:  # far deeper than any report may nest
        raise JsonRefused(field, _excerpt(data), Violation("too_deep", _DEPTH)) from None
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError among them
        reason = {"reason": _reason(error)}
        raise JsonRefused(field, _excerpt(data), Violation("not_json", reason)) from None


_DEPTH = {"max": MAX_DEPTH}
_NUMBER = {"max": MAX_NUMBER_LENGTH}


def _integer(text: str) -> int:
    return int(_short(text))


def _real(text: str) -> float:
    value = float(_short(text))
    if math.isinf(value):  # 1e999: beyond any finite float
        raise _Refusal(text, Violation("number_too_large", _NUMBER))
    return value


def _short(text: str) -> str:
    if len(text) > MAX_NUMBER_LENGTH:
        raise _Refusal(text[:EXCERPT], Violation("number_too_large", _NUMBER))
    return text


def _no_constant(name: str) -> NoReturn:
    raise _Refusal(name, Violation("not_json", {"reason": f"{name} is not JSON"}))


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        raise _Refusal(_repeated(key for key, _ in pairs)[:EXCERPT], Violation("duplicate_key"))
    return value


def _repeated(keys: Iterable[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return ""


def _excerpt(data: bytes | str) -> str:
    excerpt = data[:EXCERPT]
    return excerpt.decode("utf-8", "replace") if isinstance(excerpt, bytes) else excerpt


def _reason(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} (line {error.lineno}, column {error.colno})"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 at byte {error.start}"
    return str(error)[:EXCERPT]
