"""What every error zhaoshang answers says: which field, which value, which rule, in Chinese for
the people and prefecture systems and in English for engineers (docs/DECISIONS.md "Errors name the
field, the value and the rule").

`Problem` is the one base: a business rule a domain breaks (`RuleBroken`), a setting that
cannot work (`SettingInvalid`), a caller without credentials, a batch too large, a request the
gateway refuses, a service that did not answer. Each names its field, value and rule the same
way and turns into the same `FieldError` shape (`to_field_error`, `to_dict`); the gateway maps
each kind to a gRPC status in one table (services/gateway/errors.py). Standard library only,
so domain modules may import it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from services.kernel.contract.characters import printable

VALUE_WIDTH = 80  # characters of a value repeated in an error


@dataclass(frozen=True)
class FieldError:
    """One broken rule as a caller is told it; `value` is text, at most VALUE_WIDTH long."""

    field: str
    value: str
    rule: str
    message_zh: str
    message_en: str

    def to_dict(self) -> dict:
        return asdict(self)


def clip(text: str) -> str:
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def shown(value: Any) -> str:
    """A value as the sender wrote it: strings quoted, numbers bare (so 25.5 and "25.5" differ);
    odd characters escaped (characters.py), and never an exception, whatever the value."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # an integer of thousands of digits, a cycle, depth
        text = f"<{type(value).__name__}>"
    return clip(printable(text))


def error(field: str, value: Any, rule: str, zh: str, en: str) -> FieldError:
    """A FieldError; `value` is kept as text, at most VALUE_WIDTH characters, and every text
    safe to encode and show (characters.printable)."""
    text = value if isinstance(value, str) else shown(value)
    return FieldError(printable(field), clip(printable(text)), rule, printable(zh), printable(en))


class Problem(Exception):
    """The base of every error answered to a caller: field, value, rule, in both languages."""

    def __init__(self, field: str, value: Any, rule: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.field = field
        self.value = value
        self.rule = rule
        self.message_zh = message_zh
        self.message_en = message_en

    def to_field_error(self) -> FieldError:
        return error(self.field, self.value, self.rule, self.message_zh, self.message_en)

    def to_dict(self) -> dict:
        return self.to_field_error().to_dict()


class RuleBroken(Problem):
    """A business rule broken by a report or a request (`check_*` methods raise it)."""


class SettingInvalid(Problem, ValueError):
    """A setting (an environment variable, `field`) that cannot work: the process stops at
    start naming it, its value and the rule, rather than run unsafely or fail later."""

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.message_zh} / {self.message_en}"


class ReportInvalid(Exception):
    """A report that breaks the contract, with every `FieldError` found in it."""

    def __init__(self, errors: list[FieldError], event_id: str | None = None):
        super().__init__("; ".join(e.message_en for e in errors))
        self.errors = errors
        self.event_id = event_id
