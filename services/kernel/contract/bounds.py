"""The bounds a report keeps before marshmallow reads it (README "Limits"): its size as compact
JSON, how deep its objects and lists nest, how long its numbers are, and that every text (keys
too) can be encoded. One walk without recursion, which stops as soon as the report is too large:
however large or deep the value handed in, the work is bounded, and nothing after it (the
schemas, the copy of a policy, the digest) meets a RecursionError or a lone surrogate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from services.kernel.contract.characters import lone_surrogate
from services.kernel.contract.messages import Found, Violation
from services.kernel.contract.vocabulary import MAX_DEPTH, MAX_EVENT_BYTES, MAX_NUMBER_LENGTH

_LARGEST = 10**MAX_NUMBER_LENGTH
_LITERAL_SIZE = 5  # true, false, null at most
_NUMBER = {"max": MAX_NUMBER_LENGTH}


def out_of_bounds(report: Mapping) -> Iterator[Found]:
    """Each bound `report` breaks; `too_large` ends the walk."""
    size = 0
    pending: list[tuple[str, Any, int]] = [("", report, 1)]  # (path, value, depth)
    while pending and size <= MAX_EVENT_BYTES:
        path, value, depth = pending.pop()
        if isinstance(value, str):
            size += 2 + _text_size(value)
            yield from _encodable(path, value)
        elif isinstance(value, bool) or value is None:
            size += _LITERAL_SIZE
        elif isinstance(value, int):
            if abs(value) >= _LARGEST:
                size += MAX_NUMBER_LENGTH
                yield Found(path, _digits(value), Violation("number_too_large", _NUMBER))
            else:
                size += len(str(value))
        elif isinstance(value, float):
            size += len(repr(value))
            if not math.isfinite(value):
                yield Found(path, repr(value), Violation("not_json_value"))
        elif isinstance(value, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                yield Found(path, _elided(value), Violation("too_deep", {"max": MAX_DEPTH}))
                continue
            size += 2 + len(value)  # brackets and separators: a huge one stops here
            keyed = isinstance(value, Mapping)
            children: list[tuple[str, Any, int]] = []
            for key, child in _items(value):
                if size > MAX_EVENT_BYTES:
                    break
                child_path = f"{path}.{key}" if path else str(key)
                if keyed:
                    size += 3 + (_text_size(key) if isinstance(key, str) else 0)
                    yield from _key(child_path, key)
                children.append((child_path, child, depth + 1))
            pending.extend(reversed(children))  # walked in the order written
        else:
            yield Found(path, f"<{type(value).__name__}>", Violation("not_json_value"))
    if size > MAX_EVENT_BYTES:
        yield Found("", _elided(report), Violation("too_large", {"max": MAX_EVENT_BYTES}))


def _items(value: Mapping | list | tuple) -> Iterable[tuple[Any, Any]]:
    return value.items() if isinstance(value, Mapping) else enumerate(value)


def _key(path: str, key: Any) -> Iterator[Found]:
    if isinstance(key, str):
        yield from _encodable(path, key)
    else:  # JSON keys are text; only a caller in the same process can hand in another
        yield Found(path, f"<{type(key).__name__}>", Violation("not_json_value"))


def _text_size(text: str) -> int:
    if len(text) > MAX_EVENT_BYTES:  # too large whatever its encoding: do not encode it
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _encodable(path: str, text: str) -> Iterator[Found]:
    odd = lone_surrogate(text)
    if odd is not None:
        yield Found(path, text, Violation("lone_surrogate", odd.params()))


def _digits(number: int) -> str:
    """An integer too long to write out (Python refuses over 4,300 digits), by its length."""
    return f"<integer of about {int(number.bit_length() * math.log10(2)) + 1} digits>"


def _elided(value: Mapping | list | tuple) -> str:
    return "{…}" if isinstance(value, Mapping) else "[…]"
